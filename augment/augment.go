// Package augment perturbs batches of training faces at random (mirroring,
// rotation, zoom, shift, brightness and contrast) and moves their
// keypoints exactly with the pixels, so that a keypoint detector sees more
// varied faces than the data set holds.
//
// Everything runs as tensor operations on the device that holds the batch:
// one affine matrix per face, sampled with torch.AffineGrid and
// torch.GridSample, and the same matrix applied to the coordinates.
//
// # Coordinates
//
// Images are float32 [N, 1, 96, 96] with grey levels in [0, 1].
// Coordinates are float32 [N, 30], x then y for each keypoint in
// dataset.Keypoints order, normalised as (c - 48) / 48 for a pixel
// coordinate c, with 0 where a keypoint is missing; masks are float32
// [N, 30], 1 where the coordinate is present and 0 where not, or more
// generally the coordinate's weight in a loss, 0 where it is missing (a
// pseudo-label may weigh less than a true label's 1): a mask moves with
// its coordinate and keeps its value. Pixel column
// c spans [c, c+1), so the image spans [-1, 1] in normalised units on both
// axes: this is LibTorch's convention for AffineGrid and GridSample with
// alignCorners false, which this package uses throughout.
//
// # Randomness
//
// Apply draws its random numbers with torch.Rand on the batch's device, so
// torch.ManualSeed before the call makes it reproducible on that device
// (the CPU and CUDA generators give different numbers for one seed). A
// training loop that reseeds LibTorch before every step therefore gets the
// same augmentation when it repeats or resumes a step.
package augment

import (
	"fmt"
	"math"
	"slices"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

// Geometry of the batches: pixels per side and per normalised unit.
const (
	size      = dataset.ImageSize
	halfWidth = dataset.ImageSize / 2.0
	// centre is the image's centre in normalised keypoint coordinates,
	// (x - 48) / 48: keypoints count pixels from 1 (dataset.ImageCentre is
	// 48.5), so the pixel grid's own normalised coordinates, which the
	// faces turn, zoom and mirror about, are a keypoint's minus centre.
	centre = (dataset.ImageCentre - halfWidth) / halfWidth
)

// Columns of the uniform draws Apply makes per face.
const (
	drawFlip = iota
	drawRotate
	drawScale
	drawShiftX
	drawShiftY
	drawContrast
	drawBrightness
	numDraws
)

// Apply returns a randomly perturbed copy of a batch: images [N, 1, 96, 96]
// in [0, 1], coordinates and mask [N, 30] (see the package comment). Each
// face gets its own perturbation, drawn from the ranges o allows:
//
//   - with Flip, a mirror image with probability 1/2, the subject's left
//     and right keypoints trading places (dataset.FlipCoordPerm);
//   - a rotation about the image centre, a zoom about it and a shift;
//   - a contrast factor about the face's mean grey level, then a
//     brightness factor, the result clamped to [0, 1].
//
// The image is resampled bilinearly, the border pixels extending outwards
// to fill what moves into view. Keypoints move exactly as the image does;
// those that leave the image become missing (mask 0, coordinate 0).
//
// The results are new tensors, in the caller's scope. The zero Options
// returns copies of the inputs and draws no random numbers, so turning
// augmentation off leaves the rest of a run's random stream as it was.
func Apply(images, coords, mask *torch.Tensor, o Options) (augImages, augCoords, augMask *torch.Tensor) {
	n := checkBatch(images, coords, mask)
	if o.IsZero() {
		return images.Clone(), coords.Clone(), mask.Clone()
	}
	u := torch.Rand([]int64{n, numDraws}, torch.Float32, images.Device())
	augImages, augCoords, augMask = images, coords, mask
	if o.geometric() {
		augImages, augCoords, augMask = ApplyMatrix(images, coords, mask, randomMatrices(u, o))
	}
	if o.photometric() {
		augImages = adjustGrey(augImages, u, o)
	}
	if !o.geometric() {
		augCoords, augMask = coords.Clone(), mask.Clone()
	}
	return augImages, augCoords, augMask
}

// checkBatch panics unless the three tensors form a batch of faces, and
// returns its size.
func checkBatch(images, coords, mask *torch.Tensor) int64 {
	is, cs, ms := images.Shape(), coords.Shape(), mask.Shape()
	n := int64(-1)
	if len(is) == 4 {
		n = is[0]
	}
	switch {
	case !slices.Equal(is, []int64{n, 1, size, size}):
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("images have shape %v, want [N 1 %d %d]", is, size, size)})
	case !slices.Equal(cs, []int64{n, dataset.NumCoords}) || !slices.Equal(ms, cs):
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("coordinates %v and mask %v do not match images %v: want [%d %d]",
			cs, ms, is, n, dataset.NumCoords)})
	case images.DType() != torch.Float32 || coords.DType() != torch.Float32 || mask.DType() != torch.Float32:
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("want float32 images, coordinates and mask, got %s, %s and %s",
			images.DType(), coords.DType(), mask.DType())})
	}
	return n
}

// column returns column k of u [N, numDraws] as [N, 1].
func column(u *torch.Tensor, k int64) *torch.Tensor { return u.Narrow(1, k, 1) }

// symmetric maps uniform draws in [0, 1) to [-r, r).
func symmetric(u *torch.Tensor, r float64) *torch.Tensor {
	return u.MulScalar(2 * r).SubScalar(r)
}

// randomMatrices turns the uniform draws u [N, numDraws] into forward
// matrices [N, 2, 3] (see ApplyMatrix) within the ranges of o.
func randomMatrices(u *torch.Tensor, o Options) *torch.Tensor {
	// mirror is -1 for a flipped face and 1 for the others.
	mirror := torch.Ones([]int64{u.Size(0), 1}, torch.Float32, u.Device())
	if o.Flip {
		mirror = column(u, drawFlip).LtScalar(0.5).ToDType(torch.Float32).MulScalar(-2).AddScalar(1)
	}
	angle := symmetric(column(u, drawRotate), o.RotateDeg*math.Pi/180)
	zoom := symmetric(column(u, drawScale), o.Scale).AddScalar(1)
	shift := o.JitterPx / halfWidth
	zc, zs := zoom.Mul(angle.Cos()), zoom.Mul(angle.Sin())
	return torch.Cat([]*torch.Tensor{
		zc.Mul(mirror), zs.Neg(), symmetric(column(u, drawShiftX), shift),
		zs.Mul(mirror), zc, symmetric(column(u, drawShiftY), shift),
	}, 1).Reshape(-1, 2, 3)
}

// adjustGrey applies the contrast and brightness factors drawn in u to
// images and clamps the result to [0, 1].
func adjustGrey(images, u *torch.Tensor, o Options) *torch.Tensor {
	factor := func(k int64, r float64) *torch.Tensor {
		return symmetric(column(u, k), r).AddScalar(1).Reshape(-1, 1, 1, 1)
	}
	out := images
	if o.Contrast != 0 {
		mean := images.MeanDims([]int64{1, 2, 3}, true)
		out = out.Sub(mean).Mul(factor(drawContrast, o.Contrast)).Add(mean)
	}
	if o.Brightness != 0 {
		out = out.Mul(factor(drawBrightness, o.Brightness))
	}
	return out.Clamp(0, 1)
}

// ApplyMatrix moves each face of a batch (shaped as for Apply) by its own
// affine map, given as forward matrices [N, 2, 3] on the batch's device
// that send a point p of the input, in the pixel grid's normalised
// coordinates (the image spans [-1, 1], its centre is 0), to A·p + t in
// the output, where [A | t] is the face's matrix. The image is
// resampled bilinearly with the border pixels extended outwards; the
// keypoints are mapped by the same matrix. Where A mirrors the face
// (det A < 0) the left and right keypoints trade places, as a label
// follows the subject's own left. Keypoints mapped outside the image
// become missing (mask 0, coordinate 0). Matrices builds matrices from
// parameters.
func ApplyMatrix(images, coords, mask, forward *torch.Tensor) (augImages, augCoords, augMask *torch.Tensor) {
	n := checkBatch(images, coords, mask)
	if fs := forward.Shape(); !slices.Equal(fs, []int64{n, 2, 3}) {
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("matrices have shape %v, want [%d 2 3]", fs, n)})
	}
	flat := forward.Reshape(n, 6)
	a, b, tx := column(flat, 0), column(flat, 1), column(flat, 2)
	c, d, ty := column(flat, 3), column(flat, 4), column(flat, 5)
	det := a.Mul(d).Sub(b.Mul(c))

	// GridSample reads each output pixel at θ·(x, y, 1) in the input, so
	// θ is the inverse map: p = A⁻¹·(q - t).
	ia, ib, ic, id := d.Div(det), b.Neg().Div(det), c.Neg().Div(det), a.Div(det)
	theta := torch.Cat([]*torch.Tensor{
		ia, ib, ia.Mul(tx).Add(ib.Mul(ty)).Neg(),
		ic, id, ic.Mul(tx).Add(id.Mul(ty)).Neg(),
	}, 1).Reshape(n, 2, 3)
	grid := torch.AffineGrid(theta, [4]int64{n, 1, size, size}, false)
	augImages = torch.GridSample(images, grid, torch.Bilinear, torch.PadBorder, false)

	// Keypoints as rows (x, y) in the grid's coordinates: q = p·Aᵀ + tᵀ.
	points := coords.Reshape(n, dataset.NumKeypoints, 2).SubScalar(centre)
	moved := points.Matmul(forward.Narrow(2, 0, 2).Transpose(1, 2)).Add(forward.Narrow(2, 2, 1).Transpose(1, 2))
	inside := moved.Abs().LeScalar(1).ToDType(torch.Float32).MinDims([]int64{2}, true) // [N, 15, 1]
	augMask = mask.Reshape(n, dataset.NumKeypoints, 2).Mul(inside).Reshape(n, dataset.NumCoords)
	// Missing coordinates are 0; present ones keep their value whatever
	// their weight.
	augCoords = moved.AddScalar(centre).Reshape(n, dataset.NumCoords).Mul(augMask.GtScalar(0).ToDType(torch.Float32))

	mirrored := det.LtScalar(0) // [N, 1]
	perm := flipPerm(images.Device())
	augCoords = torch.Where(mirrored, augCoords.IndexSelect(1, perm), augCoords)
	augMask = torch.Where(mirrored, augMask.IndexSelect(1, perm), augMask)
	return augImages, augCoords, augMask
}

// flipPerm returns dataset.FlipCoordPerm as an int64 tensor on dev.
func flipPerm(dev torch.Device) *torch.Tensor {
	perm := dataset.FlipCoordPerm()
	idx := make([]int64, len(perm))
	for i, j := range perm {
		idx[i] = int64(j)
	}
	t := torch.FromInt64(idx, int64(len(idx)))
	if dev != torch.CPU {
		t = t.ToDevice(dev)
	}
	return t
}

// Transform is one face's geometric perturbation with fixed parameters,
// for deterministic augmentation and tests. The zero Transform changes
// nothing.
type Transform struct {
	Flip      bool    // first mirror the face left to right,
	RotateDeg float64 // then turn it about the image centre, clockwise as displayed (y points down),
	Scale     float64 // then zoom about the centre by this factor (0 is taken as 1),
	ShiftXPx  float64 // then move it this many pixels right
	ShiftYPx  float64 // and down.
}

// Matrix returns the forward matrix [A | t] of t in normalised
// coordinates, as ApplyMatrix takes it.
func (t Transform) Matrix() [2][3]float64 {
	zoom := t.Scale
	if zoom == 0 {
		zoom = 1
	}
	mirror := 1.0
	if t.Flip {
		mirror = -1
	}
	sin, cos := math.Sincos(t.RotateDeg * math.Pi / 180)
	return [2][3]float64{
		{zoom * cos * mirror, -zoom * sin, t.ShiftXPx / halfWidth},
		{zoom * sin * mirror, zoom * cos, t.ShiftYPx / halfWidth},
	}
}

// Matrices returns the forward matrices of ts as a float32 tensor
// [len(ts), 2, 3] on dev, for ApplyMatrix.
func Matrices(ts []Transform, dev torch.Device) *torch.Tensor {
	vals := make([]float32, 0, 6*len(ts))
	for _, t := range ts {
		m := t.Matrix()
		for _, row := range m {
			for _, v := range row {
				vals = append(vals, float32(v))
			}
		}
	}
	out := torch.FromFloat32(vals, int64(len(ts)), 2, 3)
	if dev != torch.CPU {
		out = out.ToDevice(dev)
	}
	return out
}
