package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/fkd-project/fkd/models"
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

// minWeightSum is the least divisor of MaskedLoss.
const minWeightSum = 1e-12

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
//
// More generally mask holds each coordinate's weight, 0 for a missing one
// (a pseudo-label weighs less than a true label's 1), and the loss is the
// weighted mean Σ w·loss / Σ w.
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
	// gradients (missing targets hold 0, never NaN). The clamp only keeps
	// an empty batch from dividing 0 by 0: any weight that is present is
	// far above it.
	return per.Mul(mask).Sum().Div(mask.Sum().ClampMin(minWeightSum))
}

// HeatmapLoss is a loss on the heatmaps a model reads its keypoints off
// (models.Heatmaps): for each coordinate, the expected squared distance,
// in normalised units, between the cell centres along its axis and the
// target, under the map's marginal distribution along that axis. That is
// the squared error of the soft-argmax coordinate plus the variance of
// the map along the axis, so beside the coordinate loss it rewards maps
// that are sharp as well as well placed. maps is [N, 15, H, W] of
// probabilities, target and mask [N, 30] as for MaskedLoss, whose
// weighting of coordinates it shares.
func HeatmapLoss(maps, target, mask *torch.Tensor) *torch.Tensor {
	n, k, h, w := maps.Size(0), maps.Size(1), maps.Size(2), maps.Size(3)
	t := target.Reshape(n, k, 2, 1)
	along := func(marginal *torch.Tensor, cells int64, axis int64) *torch.Tensor {
		centres := models.CellCentres(cells, marginal.DType(), marginal.Device()) // [cells]
		dist := centres.Sub(t.Narrow(2, axis, 1).Squeeze(2))                      // [N, K, cells]
		return marginal.Mul(dist.Square()).SumDims([]int64{2}, false)             // [N, K]
	}
	ex := along(maps.SumDims([]int64{2}, false), w, 0) // across: sum over rows
	ey := along(maps.SumDims([]int64{3}, false), h, 1) // down: sum over columns
	per := torch.Stack([]*torch.Tensor{ex, ey}, 2).Reshape(n, 2*k)
	return per.Mul(mask).Sum().Div(mask.Sum().ClampMin(minWeightSum))
}
