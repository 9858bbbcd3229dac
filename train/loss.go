package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/fkd-project/fkd/torch"
)

// Loss names a regression loss on keypoint coordinates.
type Loss string

// Losses. Their thresholds are set in pixels and applied to coordinates
// normalised to [-1, 1] (one unit is CoordScale pixels).
const (
	MSE   Loss = "mse"   // squared error
	Huber Loss = "huber" // squared below HuberDeltaPx, linear above
	Wing  Loss = "wing"  // Feng et al. 2018: logarithmic below WingWidthPx, linear above
)

// Loss thresholds in pixels.
const (
	HuberDeltaPx  = 1.0
	WingWidthPx   = 10.0
	WingCurvatePx = 2.0
	CoordScale    = 48.0 // pixels per normalised unit: x_norm = (x - 48) / 48
	CoordCentre   = 48.0
)

// ParseLoss reads a loss name.
func ParseLoss(s string) (Loss, error) {
	switch l := Loss(strings.ToLower(s)); l {
	case MSE, Huber, Wing:
		return l, nil
	}
	return "", fmt.Errorf("loss %q: want mse, huber or wing", s)
}

// MaskedLoss returns the mean of the loss over the coordinates present in
// mask (a float tensor of 1 for present and 0 for missing, shaped like
// pred). Missing coordinates contribute nothing to the loss or to its
// gradient, whatever target holds there. A batch with no coordinate
// present gives 0.
func MaskedLoss(l Loss, pred, target, mask *torch.Tensor) *torch.Tensor {
	diff := pred.Sub(target)
	var per *torch.Tensor
	switch l {
	case MSE:
		per = diff.Square()
	case Huber:
		per = torch.HuberLoss(pred, target, torch.ReduceNone, HuberDeltaPx/CoordScale)
	case Wing:
		w, eps := WingWidthPx/CoordScale, WingCurvatePx/CoordScale
		c := w - w*math.Log1p(w/eps)
		abs := diff.Abs()
		small := abs.DivScalar(eps).AddScalar(1).Log().MulScalar(w)
		large := abs.SubScalar(c)
		per = torch.Where(abs.LtScalar(w), small, large)
	default:
		panic(fmt.Sprintf("train: unknown loss %q", l))
	}
	// Multiplying by the mask zeroes both the missing terms and their
	// gradients (missing targets hold 0, never NaN).
	return per.Mul(mask).Sum().Div(mask.Sum().ClampMin(1))
}
