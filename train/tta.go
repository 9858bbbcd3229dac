package train

import (
	"fmt"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// TTA is a test-time augmentation: extra views of every face that a
// prediction also looks at, mapping each view's keypoints back to the
// face and averaging.
type TTA int

const (
	// NoTTA predicts from the face alone.
	NoTTA TTA = iota
	// FlipTTA averages the prediction for the face with the one for its
	// mirror image, whose left and right keypoints are swapped back and
	// whose x coordinates are mirrored back (augment.FlipBatch and
	// augment.UnflipCoords). It costs twice the computation.
	FlipTTA
)

// ttaNames are the names ParseTTA reads and String writes.
var ttaNames = [...]string{NoTTA: "none", FlipTTA: "flip"}

// String returns the name ParseTTA reads: "none" or "flip".
func (t TTA) String() string {
	if t < 0 || int(t) >= len(ttaNames) {
		return fmt.Sprintf("TTA(%d)", int(t))
	}
	return ttaNames[t]
}

// ParseTTA reads a test-time augmentation by name: "none" or "flip".
func ParseTTA(s string) (TTA, error) {
	for t, name := range ttaNames {
		if s == name {
			return TTA(t), nil
		}
	}
	return NoTTA, fmt.Errorf("test-time augmentation %q: want none or flip", s)
}

// WithTTA returns m predicting with the test-time augmentation tta: a
// Model sharing m's store and spec whose Forward runs m on every view of
// the faces and returns the average of the views' predictions mapped back
// to the faces. Pass it wherever a model goes, to models.Predict,
// Evaluate or a submission. With NoTTA it returns m itself.
//
// With FlipTTA the result is mirror-equivariant, whatever m learnt: its
// prediction for a mirrored face is the mirror of its prediction for the
// face (up to rounding). So for a face that is its own mirror image it
// predicts mirror-symmetric keypoints, and for a model that is already
// mirror-equivariant FlipTTA changes nothing.
func WithTTA(m models.Model, tta TTA) models.Model {
	switch tta {
	case NoTTA:
		return m
	case FlipTTA:
		return flipAveraged{m}
	}
	panic(&torch.Error{Op: "tta", Msg: fmt.Sprintf("unknown test-time augmentation %v", tta)})
}

// flipAveraged is a model under FlipTTA.
type flipAveraged struct {
	models.Model
}

// Forward runs the model once on the faces x [N, 1, 96, 96] and their
// mirror images together, and averages the two predictions [N, 30] after
// mapping the mirror images' back.
func (f flipAveraged) Forward(x *torch.Tensor) *torch.Tensor {
	n := x.Size(0)
	mirrored, _ := augment.FlipBatch(x, nil)
	y := f.Model.Forward(torch.Cat([]*torch.Tensor{x, mirrored}, 0))
	back := augment.UnflipCoords(y.Narrow(0, n, n))
	return y.Narrow(0, 0, n).Add(back).MulScalar(0.5)
}
