package augment

import (
	"fmt"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

// FlipBatch mirrors every face of a batch left to right, exactly (the
// pixel columns are reversed, no resampling): images [N, 1, 96, 96] and,
// unless nil, their normalised coordinates [N, 30], whose x is mirrored
// about the image's centre and whose left and right keypoints trade places
// (see FlipCoords). It
// serves test-time augmentation: predict on FlipBatch's images too, map
// those predictions back with UnflipCoords and average.
func FlipBatch(images, coords *torch.Tensor) (flippedImages, flippedCoords *torch.Tensor) {
	if s := images.Shape(); len(s) != 4 || s[1] != 1 || s[2] != size || s[3] != size {
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("images have shape %v, want [N 1 %d %d]", s, size, size)})
	}
	flippedImages = images.Flip(3)
	if coords != nil {
		flippedCoords = FlipCoords(coords)
	}
	return flippedImages, flippedCoords
}

// FlipCoords returns normalised coordinates [N, 30] as they are on the
// mirrored faces: every x is mirrored about the image's centre (pixel x
// becomes 2·dataset.ImageCentre - x = 97 - x) and the left and right
// keypoints trade places (dataset.FlipCoordPerm). A missing coordinate's
// 0 is mirrored too: mask the result with FlipMask. Flipping twice gives
// the coordinates back, up to rounding.
func FlipCoords(coords *torch.Tensor) *torch.Tensor {
	if s := coords.Shape(); len(s) != 2 || s[1] != dataset.NumCoords {
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("coordinates have shape %v, want [N %d]", s, dataset.NumCoords)})
	}
	sign := make([]float32, dataset.NumCoords)
	shift := make([]float32, dataset.NumCoords)
	for i := range sign {
		sign[i] = 1
		if i%2 == 0 {
			sign[i], shift[i] = -1, float32(2*centre)
		}
	}
	dev := coords.Device()
	signs := torch.FromFloat32(sign, 1, dataset.NumCoords).To(dev, coords.DType())
	shifts := torch.FromFloat32(shift, 1, dataset.NumCoords).To(dev, coords.DType())
	return coords.IndexSelect(1, flipPerm(dev)).Mul(signs).Add(shifts)
}

// FlipMask returns a mask [N, 30] with the left and right keypoints
// trading places, to go with FlipCoords.
func FlipMask(mask *torch.Tensor) *torch.Tensor {
	if s := mask.Shape(); len(s) != 2 || s[1] != dataset.NumCoords {
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("mask has shape %v, want [N %d]", s, dataset.NumCoords)})
	}
	return mask.IndexSelect(1, flipPerm(mask.Device()))
}

// UnflipCoords maps predictions made on mirrored faces (FlipBatch's
// images) back to the original faces. A flip is its own inverse, so this
// is FlipCoords; the name says which way the data goes.
func UnflipCoords(pred *torch.Tensor) *torch.Tensor { return FlipCoords(pred) }
