package eval

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
	// FlipShiftTTA averages FlipTTA's prediction for the face with those
	// for four copies of it moved by ShiftTTAPixels left, right, up and
	// down (edge rows and columns repeated), each moved back. It costs ten
	// times the computation. A heatmap net decodes keypoints from maps at
	// a quarter of the image's resolution; half-cell shifts average out
	// where the keypoint falls in its cell.
	FlipShiftTTA
)

// ShiftTTAPixels is how far FlipShiftTTA moves the face, in pixels: half a
// cell of the 24×24 heatmaps. On fkd-ytf's hold-out faces it scored better
// than 1 pixel for each of the first eight members of the best ensemble
// (docs/results/README.md).
const ShiftTTAPixels = 2

// ttaNames are the names ParseTTA reads and String writes.
var ttaNames = [...]string{NoTTA: "none", FlipTTA: "flip", FlipShiftTTA: "flip+shift"}

// String returns the name ParseTTA reads: "none", "flip" or "flip+shift".
func (t TTA) String() string {
	if t < 0 || int(t) >= len(ttaNames) {
		return fmt.Sprintf("TTA(%d)", int(t))
	}
	return ttaNames[t]
}

// ParseTTA reads a test-time augmentation by name: "none", "flip" or
// "flip+shift".
func ParseTTA(s string) (TTA, error) {
	for t, name := range ttaNames {
		if s == name {
			return TTA(t), nil
		}
	}
	return NoTTA, fmt.Errorf("test-time augmentation %q: want none, flip or flip+shift", s)
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
	case FlipShiftTTA:
		return shiftAveraged{m}
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

// shiftAveraged is a model under FlipShiftTTA.
type shiftAveraged struct {
	models.Model
}

// Forward averages FlipTTA's predictions for the faces x [N, 1, 96, 96]
// and for four shifted copies of them. Each copy's keypoints moved with it,
// but the moves are opposite in pairs, so the mean of the moved-back
// predictions is the mean of the predictions: nothing is subtracted. Each
// view runs in its own scope, so that only one view's activations are
// alive at a time.
func (s shiftAveraged) Forward(x *torch.Tensor) *torch.Tensor {
	const d = ShiftTTAPixels
	shifts := [...][2]int64{{0, 0}, {d, 0}, {-d, 0}, {0, d}, {0, -d}}
	var sum *torch.Tensor
	for _, sh := range shifts {
		var y *torch.Tensor
		torch.WithScope(func() {
			y = torch.Keep(flipAveraged{s.Model}.Forward(shiftFaces(x, sh[0], sh[1])))
		})
		if sum == nil {
			sum = y
			continue
		}
		next := sum.Add(y)
		sum.Free()
		y.Free()
		sum = next
	}
	return sum.MulScalar(1 / float64(len(shifts)))
}

// shiftFaces moves faces [N, C, H, W] by dx pixels to the right and dy
// down: the new pixel (x, y) is the old (x-dx, y-dy), clamped to the
// image, so the edge rows and columns repeat into the gap.
func shiftFaces(x *torch.Tensor, dx, dy int64) *torch.Tensor {
	if dx == 0 && dy == 0 {
		return x
	}
	s := x.Shape()
	out := x
	if dx != 0 {
		out = out.IndexSelect(3, shiftIndex(s[3], dx, x.Device()))
	}
	if dy != 0 {
		out = out.IndexSelect(2, shiftIndex(s[2], dy, x.Device()))
	}
	if x.IsChannelsLast() {
		out = out.ChannelsLast()
	}
	return out
}

// shiftIndex returns the source index of each of n positions moved by d:
// clamp(i - d, 0, n-1), as int64 on dev.
func shiftIndex(n, d int64, dev torch.Device) *torch.Tensor {
	idx := make([]int64, n)
	for i := range idx {
		idx[i] = min(max(int64(i)-d, 0), n-1)
	}
	return torch.FromInt64(idx, n).To(dev, torch.Int64)
}
