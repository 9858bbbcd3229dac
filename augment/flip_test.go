package augment

import (
	"slices"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

func TestFlipTwiceIsIdentity(t *testing.T) {
	torch.WithScope(func() {
		torch.ManualSeed(1)
		images := torch.Rand([]int64{5, 1, size, size}, torch.Float32, torch.CPU)
		coords := torch.Rand([]int64{5, dataset.NumCoords}, torch.Float32, torch.CPU).MulScalar(2).SubScalar(1)
		mask := torch.Rand([]int64{5, dataset.NumCoords}, torch.Float32, torch.CPU).GtScalar(0.5).ToDType(torch.Float32)
		coords = coords.Mul(mask) // missing coordinates are 0

		onceImages, onceCoords := FlipBatch(images, coords)
		twiceImages, twiceCoords := FlipBatch(onceImages, onceCoords)
		if !slices.Equal(twiceImages.Float32s(), images.Float32s()) {
			t.Error("flipping images twice changed them")
		}
		// Mirroring about the centre, 1/96 in normalised coordinates,
		// rounds in float32.
		if d := twiceCoords.Sub(coords).Abs().Max().Item(); d > 1e-6 {
			t.Errorf("flipping coordinates twice changed them by up to %g", d)
		}
		if !slices.Equal(FlipMask(FlipMask(mask)).Float32s(), mask.Float32s()) {
			t.Error("flipping a mask twice changed it")
		}
		if d := UnflipCoords(onceCoords).Sub(coords).Abs().Max().Item(); d > 1e-6 {
			t.Errorf("UnflipCoords does not undo FlipCoords: %g apart", d)
		}
		if slices.Equal(onceImages.Float32s(), images.Float32s()) {
			t.Error("flipping random images once left them unchanged")
		}
	})
}

func TestFlipBatchMirrorsAndSwapsPairs(t *testing.T) {
	// One face in pixels: a single bright pixel at column 10, row 20, and
	// keypoints at distinct positions with one missing.
	const col, row = 10, 20
	pixels := make([]float32, dataset.PixelCount)
	pixels[row*size+col] = 1
	var px [dataset.NumCoords]float32
	present := make([]bool, dataset.NumCoords)
	for i := range px {
		px[i] = float32(5 + 3*i)
		present[i] = i != 6 && i != 7 // left_eye_outer_corner missing
	}
	norm := make([]float32, dataset.NumCoords)
	maskVals := make([]float32, dataset.NumCoords)
	for i, v := range px {
		if present[i] {
			norm[i], maskVals[i] = (v-halfWidth)/halfWidth, 1
		}
	}
	// What dataset.FlipCoords, the pixel-space reference, makes of them.
	wantPx, wantPresent := px, slices.Clone(present)
	for i := range wantPx {
		if !present[i] {
			wantPx[i] = 0
		}
	}
	dataset.FlipCoords(wantPx[:], wantPresent)

	torch.WithScope(func() {
		images := torch.FromFloat32(pixels, 1, 1, size, size)
		coords := torch.FromFloat32(norm, 1, dataset.NumCoords)
		fi, fc := FlipBatch(images, coords)
		fm := FlipMask(torch.FromFloat32(maskVals, 1, dataset.NumCoords)).Float32s()

		img := fi.Float32s()
		if img[row*size+size-1-col] != 1 || fi.Sum().Item() != 1 {
			t.Errorf("the bright pixel did not move to column %d", size-1-col)
		}
		got := fc.Mul(FlipMask(torch.FromFloat32(maskVals, 1, dataset.NumCoords))).Float32s() // missing: 0
		for i := range got {
			if (fm[i] == 1) != wantPresent[i] {
				t.Errorf("%s: mask %g, want present=%v", dataset.CoordNames()[i], fm[i], wantPresent[i])
			}
			want := float32(0)
			if wantPresent[i] {
				want = (wantPx[i] - halfWidth) / halfWidth
			}
			if d := got[i] - want; d > 1e-6 || d < -1e-6 {
				t.Errorf("%s = %g, want %g (as dataset.FlipCoords)", dataset.CoordNames()[i], got[i], want)
			}
		}
		// The pairs trade places: the left eye centre's x is the mirror,
		// about the centre, of the right eye centre's x before the flip.
		mirror := func(u float32) float32 { return float32(2*centre) - u }
		if got[0] != mirror(norm[2]) || got[2] != mirror(norm[0]) || got[1] != norm[3] {
			t.Errorf("eye centres after flip (%g, %g), (%g, %g); before (%g, %g), (%g, %g)",
				got[0], got[1], got[2], got[3], norm[0], norm[1], norm[2], norm[3])
		}
		// The nose tip (keypoint 10) stays itself, mirrored.
		if got[20] != mirror(norm[20]) || got[21] != norm[21] {
			t.Errorf("nose tip after flip (%g, %g), want (%g, %g)", got[20], got[21], mirror(norm[20]), norm[21])
		}
	})
}
