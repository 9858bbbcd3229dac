package models

import (
	"fmt"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

// DefaultBatch is the batch size Predict uses when given none.
const DefaultBatch = 128

// Predict runs m on n faces, images holding n·9216 grey levels (row-major
// 96×96 each), and returns the n·30 keypoint coordinates in pixels, face
// by face in dataset.CoordNames() order. It feeds batches of batch faces
// (DefaultBatch when batch <= 0) to dev, which must be the device of m's
// store, in evaluation mode and without recording gradients, and leaves
// the mode as it found it. It panics if len(images) is not a multiple of
// 9216.
func Predict(m Model, images []uint8, batch int, dev torch.Device) []float32 {
	out := make([]float32, 0, len(images)/dataset.PixelCount*dataset.NumCoords)
	forBatches(m, images, batch, dev, func(x *torch.Tensor, n int) {
		out = append(out, m.Forward(x).MulScalar(CoordScale).AddScalar(CoordCentre).Float32s()...)
	})
	return out
}

// forBatches calls f with each batch of at most batch faces of images
// (DefaultBatch when batch <= 0) as a float32 tensor [n, 1, 96, 96] on
// dev, scaled to [0, 1], with m's store in evaluation mode, without
// recording gradients and inside a torch.Scope that frees what f makes.
// It leaves the mode as it found it, and panics if len(images) is not a
// multiple of 9216.
func forBatches(m Model, images []uint8, batch int, dev torch.Device, f func(x *torch.Tensor, n int)) {
	if len(images)%dataset.PixelCount != 0 {
		panic(&torch.Error{Op: "predict", Msg: fmt.Sprintf("%d pixels is not a whole number of %d-pixel faces",
			len(images), dataset.PixelCount)})
	}
	if batch <= 0 {
		batch = DefaultBatch
	}
	n := len(images) / dataset.PixelCount
	store := m.Store()
	wasTraining := store.Training()
	store.Eval()
	defer store.SetTraining(wasTraining)
	torch.NoGrad(func() {
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			torch.WithScope(func() {
				pixels := images[start*dataset.PixelCount : end*dataset.PixelCount]
				x := torch.FromUint8(pixels, int64(end-start), 1, dataset.ImageSize, dataset.ImageSize).
					ToDevice(dev).ToDType(torch.Float32).DivScalar(255)
				f(x, end-start)
			})
		}
	})
}

// The normalisation of the outputs: a coordinate c in pixels is
// (c - CoordCentre) / CoordScale, so the image spans [-1, 1].
const (
	CoordCentre = dataset.ImageSize / 2
	CoordScale  = dataset.ImageSize / 2
)
