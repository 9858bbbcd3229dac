package augment

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

// facePoints are 15 keypoints in pixels, laid out like a face (the
// subject's left eye on the image's right) but asymmetric, with at least
// 9 pixels between any two so that each one's blob can be measured alone.
var facePoints = [dataset.NumKeypoints][2]float64{
	{62.3, 36.1}, // left_eye_center
	{33.2, 37.4}, // right_eye_center
	{53.1, 38.2}, // left_eye_inner_corner
	{71.4, 35.3}, // left_eye_outer_corner
	{43.0, 38.6}, // right_eye_inner_corner
	{24.2, 36.5}, // right_eye_outer_corner
	{55.6, 26.2}, // left_eyebrow_inner_end
	{68.2, 24.7}, // left_eyebrow_outer_end
	{40.4, 27.3}, // right_eyebrow_inner_end
	{27.5, 25.1}, // right_eyebrow_outer_end
	{48.3, 52.2}, // nose_tip
	{61.1, 66.4}, // mouth_left_corner
	{35.2, 67.3}, // mouth_right_corner
	{48.0, 61.0}, // mouth_center_top_lip
	{48.6, 71.2}, // mouth_center_bottom_lip
}

const blobSigma = 1.2 // pixels

// blobImage draws a Gaussian blob of peak 1 at each point (pixels) on a
// black 96x96 image; pixel (r, c) is sampled at its centre (c+0.5, r+0.5).
func blobImage(points [][2]float64) []float32 {
	img := make([]float32, dataset.PixelCount)
	for r := range size {
		for c := range size {
			var v float64
			for _, p := range points {
				dx, dy := float64(c)+0.5-p[0], float64(r)+0.5-p[1]
				v += math.Exp(-(dx*dx + dy*dy) / (2 * blobSigma * blobSigma))
			}
			img[r*size+c] = float32(min(v, 1))
		}
	}
	return img
}

// centroid returns the intensity-weighted mean position, in pixels, of
// img (96x96) within radius pixels of (x, y).
func centroid(img []float32, x, y, radius float64) (cx, cy float64) {
	var sum, sx, sy float64
	for r := max(0, int(y-radius)); r <= min(size-1, int(y+radius)); r++ {
		for c := max(0, int(x-radius)); c <= min(size-1, int(x+radius)); c++ {
			px, py := float64(c)+0.5, float64(r)+0.5
			if math.Hypot(px-x, py-y) > radius {
				continue
			}
			w := float64(img[r*size+c])
			sum += w
			sx += w * px
			sy += w * py
		}
	}
	return sx / sum, sy / sum
}

// faceBatch returns n copies of the blob face with its coordinates
// (normalised) and a full mask, as CPU tensors.
func faceBatch(n int) (images, coords, mask *torch.Tensor) {
	img := blobImage(facePoints[:])
	var c [dataset.NumCoords]float32
	for k, p := range facePoints {
		c[2*k], c[2*k+1] = float32(normalise(p[0])), float32(normalise(p[1]))
	}
	imgs := make([]float32, 0, n*len(img))
	cs := make([]float32, 0, n*len(c))
	for range n {
		imgs = append(imgs, img...)
		cs = append(cs, c[:]...)
	}
	return torch.FromFloat32(imgs, int64(n), 1, size, size),
		torch.FromFloat32(cs, int64(n), dataset.NumCoords),
		torch.Ones([]int64{int64(n), dataset.NumCoords}, torch.Float32, torch.CPU)
}

// normalise turns a continuous pixel position (pixel c spans [c, c+1))
// into a normalised keypoint coordinate: keypoints count pixels from 1.
func normalise(px float64) float64 {
	return (px + dataset.PixelOrigin - halfWidth) / halfWidth
}

// pixel is the continuous pixel position of normalised keypoint
// coordinate u.
func pixel(u float32) float64 { return float64(u)*halfWidth + halfWidth - dataset.PixelOrigin }

// checkBlobsFollow checks that every present keypoint of face i lies on a
// blob of its augmented image: the blob's centroid is within tol pixels of
// the keypoint. Keypoints within margin pixels of the edge, whose blobs
// the edge cuts, are skipped. It returns how many keypoints it checked and
// the largest distance found.
func checkBlobsFollow(t *testing.T, images, coords, mask []float32, i int, tol float64) (checked int, worst float64) {
	t.Helper()
	const margin = 5
	img := images[i*dataset.PixelCount : (i+1)*dataset.PixelCount]
	for k := range dataset.NumKeypoints {
		j := i*dataset.NumCoords + 2*k
		if mask[j] == 0 {
			continue
		}
		x, y := pixel(coords[j]), pixel(coords[j+1])
		if x < margin || x > size-margin || y < margin || y > size-margin {
			continue
		}
		cx, cy := centroid(img, x, y, 4)
		d := math.Hypot(cx-x, cy-y)
		worst = max(worst, d)
		if !(d <= tol) {
			t.Errorf("face %d %s: keypoint at (%.2f, %.2f), blob centroid at (%.2f, %.2f): %.2f px apart",
				i, dataset.Keypoints[k], x, y, cx, cy, d)
		}
		checked++
	}
	return checked, worst
}

func TestApplyMatrixMovesKeypointsWithPixels(t *testing.T) {
	tests := []struct {
		name string
		tr   Transform
	}{
		{"identity", Transform{}},
		{"rotate", Transform{RotateDeg: 20}},
		{"zoom in", Transform{Scale: 1.15}},
		{"zoom out", Transform{Scale: 0.9}},
		{"shift", Transform{ShiftXPx: 5.3, ShiftYPx: -3.7}},
		{"flip", Transform{Flip: true}},
		{"all", Transform{Flip: true, RotateDeg: -12, Scale: 0.93, ShiftXPx: -2.5, ShiftYPx: 4.25}},
	}
	torch.WithScope(func() {
		images, coords, mask := faceBatch(len(tests))
		ts := make([]Transform, len(tests))
		for i, tt := range tests {
			ts[i] = tt.tr
		}
		outImages, outCoords, outMask := ApplyMatrix(images, coords, mask, Matrices(ts, torch.CPU))
		imgs, cs, ms := outImages.Float32s(), outCoords.Float32s(), outMask.Float32s()
		perm := dataset.FlipCoordPerm()
		for i, tt := range tests {
			// Where the keypoints should go, worked out here in float64.
			m := tt.tr.Matrix()
			for k := range dataset.NumKeypoints {
				src := k
				if tt.tr.Flip {
					src = perm[2*k] / 2
				}
				// In the pixel grid's normalised coordinates, where the
				// matrix applies, then back to keypoint coordinates.
				p := facePoints[src]
				x, y := (p[0]-halfWidth)/halfWidth, (p[1]-halfWidth)/halfWidth
				wantX := m[0][0]*x + m[0][1]*y + m[0][2] + centre
				wantY := m[1][0]*x + m[1][1]*y + m[1][2] + centre
				j := i*dataset.NumCoords + 2*k
				if math.Abs(float64(cs[j])-wantX) > 1e-5 || math.Abs(float64(cs[j+1])-wantY) > 1e-5 || ms[j] != 1 || ms[j+1] != 1 {
					t.Errorf("%s: %s at (%g, %g) mask %g, want (%g, %g) mask 1",
						tt.name, dataset.Keypoints[k], cs[j], cs[j+1], ms[j], wantX, wantY)
				}
			}
			n, worst := checkBlobsFollow(t, imgs, cs, ms, i, 0.15)
			if n != dataset.NumKeypoints {
				t.Errorf("%s: checked %d keypoints, want all %d", tt.name, n, dataset.NumKeypoints)
			}
			t.Logf("%s: blob centroids within %.3f px of the keypoints", tt.name, worst)
		}
		// The identity moves nothing: pixels are read at their own centres.
		in := images.Float32s()
		for p := range dataset.PixelCount {
			if d := math.Abs(float64(imgs[p] - in[p])); d > 1e-4 {
				t.Fatalf("identity changed pixel %d from %g to %g", p, in[p], imgs[p])
			}
		}
	})
}

func TestApplyMatrixFlipMatchesFlipBatch(t *testing.T) {
	torch.WithScope(func() {
		torch.ManualSeed(2)
		images := torch.Rand([]int64{3, 1, size, size}, torch.Float32, torch.CPU)
		coords := torch.Rand([]int64{3, dataset.NumCoords}, torch.Float32, torch.CPU).MulScalar(1.6).SubScalar(0.8)
		mask := torch.Ones([]int64{3, dataset.NumCoords}, torch.Float32, torch.CPU)
		flip := Transform{Flip: true}
		gotImages, gotCoords, gotMask := ApplyMatrix(images, coords, mask, Matrices([]Transform{flip, flip, flip}, torch.CPU))
		wantImages, wantCoords := FlipBatch(images, coords)
		// Both read every pixel at a pixel centre; float32 rounding of the
		// grid leaves differences of about 1e-5.
		if d := gotImages.Sub(wantImages).Abs().Max().Item(); d > 1e-4 {
			t.Errorf("mirroring through the affine grid differs from reversing the columns by up to %g", d)
		}
		if d := gotCoords.Sub(wantCoords).Abs().Max().Item(); d > 1e-6 {
			t.Errorf("mirrored coordinates differ from FlipCoords by up to %g", d)
		}
		if !slices.Equal(gotMask.Float32s(), mask.Float32s()) {
			t.Errorf("a full mask changed under a flip")
		}
	})
}

func TestApplyMatrixMasksKeypointsThatLeave(t *testing.T) {
	torch.WithScope(func() {
		images, coords, mask := faceBatch(1)
		// Keypoint 10 (nose tip) is missing to begin with.
		m := mask.Float32s()
		m[20], m[21] = 0, 0
		c := coords.Float32s()
		c[20], c[21] = 0, 0
		coords, mask = torch.FromFloat32(c, 1, dataset.NumCoords), torch.FromFloat32(m, 1, dataset.NumCoords)
		const shift = 30.0 // pixels right: x > 66 leaves the image
		_, outCoords, outMask := ApplyMatrix(images, coords, mask, Matrices([]Transform{{ShiftXPx: shift}}, torch.CPU))
		gc, gm := outCoords.Float32s(), outMask.Float32s()
		gone := 0
		for k, p := range facePoints {
			wantPresent := k != 10 && p[0]+shift <= size
			for _, j := range []int{2 * k, 2*k + 1} {
				want := float64(c[j])
				if j%2 == 0 {
					want += shift / halfWidth
				}
				switch {
				case wantPresent && (gm[j] != 1 || math.Abs(float64(gc[j])-want) > 1e-5):
					t.Errorf("%s: coordinate %d = %g mask %g, want %g mask 1", dataset.Keypoints[k], j, gc[j], gm[j], want)
				case !wantPresent && (gm[j] != 0 || gc[j] != 0):
					t.Errorf("%s: coordinate %d = %g mask %g, want 0 mask 0", dataset.Keypoints[k], j, gc[j], gm[j])
				}
			}
			if !wantPresent && k != 10 {
				gone++
			}
		}
		if gone == 0 {
			t.Fatal("test set-up: no keypoint left the image")
		}
	})
}

// TestApplyMatrixKeepsWeights checks masks that are weights (a
// pseudo-label weighing less than a true label): each weight moves with
// its keypoint, a flip carrying it to the mirror keypoint, and the
// coordinates are those of a 0/1 mask, not scaled by the weight.
func TestApplyMatrixKeepsWeights(t *testing.T) {
	tests := []struct {
		name string
		tr   Transform
	}{
		{"identity", Transform{}},
		{"flip", Transform{Flip: true}},
		{"rotate and shift", Transform{RotateDeg: 10, ShiftXPx: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			torch.WithScope(func() {
				images, coords, ones := faceBatch(1)
				w := make([]float32, dataset.NumCoords)
				for k := range dataset.NumKeypoints {
					w[2*k], w[2*k+1] = 1, 1
					if k%3 == 0 {
						w[2*k], w[2*k+1] = 0.5, 0.5
					}
				}
				weights := torch.FromFloat32(w, 1, dataset.NumCoords)
				mats := Matrices([]Transform{tt.tr}, torch.CPU)
				_, wantCoords, _ := ApplyMatrix(images, coords, ones, mats)
				_, gotCoords, gotWeights := ApplyMatrix(images, coords, weights, mats)
				if !slices.Equal(gotCoords.Float32s(), wantCoords.Float32s()) {
					t.Errorf("coordinates under weights %v differ from those under a mask of ones", w)
				}
				perm := dataset.FlipCoordPerm()
				gw := gotWeights.Float32s()
				for j := range dataset.NumCoords {
					src := j
					if tt.tr.Flip {
						src = perm[j]
					}
					if gw[j] != w[src] {
						t.Errorf("weight of coordinate %d = %g, want %g", j, gw[j], w[src])
					}
				}
			})
		})
	}
}

func TestApplyKeypointsFollowPixels(t *testing.T) {
	const n = 12
	o := Options{Flip: true, RotateDeg: 25, JitterPx: 8, Scale: 0.2}
	torch.WithScope(func() {
		torch.ManualSeed(11)
		images, coords, mask := faceBatch(n)
		outImages, outCoords, outMask := Apply(images, coords, mask, o)
		imgs, cs, ms := outImages.Float32s(), outCoords.Float32s(), outMask.Float32s()
		checked, worst := 0, 0.0
		for i := range n {
			c, w := checkBlobsFollow(t, imgs, cs, ms, i, 0.5)
			checked, worst = checked+c, max(worst, w)
			// Labels follow the subject: whether or not the face was
			// mirrored, its left keypoints are on the image's right.
			for _, p := range dataset.FlipPairs {
				l, r := i*dataset.NumCoords+2*p[0], i*dataset.NumCoords+2*p[1]
				if ms[l] == 1 && ms[r] == 1 && !(cs[l] > cs[r]) {
					t.Errorf("face %d: %s at x=%.3f is not right of %s at x=%.3f",
						i, dataset.Keypoints[p[0]], cs[l], dataset.Keypoints[p[1]], cs[r])
				}
			}
		}
		if checked < n*dataset.NumKeypoints/2 {
			t.Errorf("checked only %d keypoints", checked)
		}
		t.Logf("%d keypoints of %d faces: blob centroids within %.3f px", checked, n, worst)
		if d := outImages.Sub(images).Abs().Max().Item(); d < 0.1 {
			t.Errorf("the images barely changed (by at most %g)", d)
		}
	})
}

func TestRandomMatricesMatchTransform(t *testing.T) {
	o := Options{Flip: true, RotateDeg: 15, JitterPx: 4, Scale: 0.1}
	draws := [][numDraws]float32{
		{0.2, 0.5, 0.5, 0.5, 0.5, 0, 0},
		{0.7, 0, 1, 0.25, 0.9, 0, 0},
		{0.49, 0.9, 0.1, 1, 0, 0, 0},
	}
	torch.WithScope(func() {
		flat := make([]float32, 0, len(draws)*numDraws)
		for _, d := range draws {
			flat = append(flat, d[:]...)
		}
		for _, flip := range []bool{true, false} {
			o.Flip = flip
			got := randomMatrices(torch.FromFloat32(flat, int64(len(draws)), numDraws), o).Float64s()
			for i, d := range draws {
				sym := func(k int, r float64) float64 { return (2*float64(d[k]) - 1) * r }
				want := Transform{
					Flip:      flip && d[drawFlip] < 0.5,
					RotateDeg: sym(drawRotate, o.RotateDeg),
					Scale:     1 + sym(drawScale, o.Scale),
					ShiftXPx:  sym(drawShiftX, o.JitterPx),
					ShiftYPx:  sym(drawShiftY, o.JitterPx),
				}.Matrix()
				for r := range 2 {
					for c := range 3 {
						if g := got[i*6+r*3+c]; math.Abs(g-want[r][c]) > 1e-5 {
							t.Errorf("flip %v, draws %v: matrix[%d][%d] = %g, want %g", flip, d, r, c, g, want[r][c])
						}
					}
				}
			}
		}
	})
}

func TestRandomMatricesStayInRange(t *testing.T) {
	const n = 400
	o, _ := Recipe("default")
	torch.WithScope(func() {
		torch.ManualSeed(5)
		m := randomMatrices(torch.Rand([]int64{n, numDraws}, torch.Float32, torch.CPU), o).Float64s()
		flipped := 0
		for i := range n {
			a, b, tx, c, d, ty := m[6*i], m[6*i+1], m[6*i+2], m[6*i+3], m[6*i+4], m[6*i+5]
			det := a*d - b*c
			if det < 0 {
				flipped++
			}
			zoom := math.Sqrt(math.Abs(det))
			angle := math.Atan2(c*math.Copysign(1, det), d) * 180 / math.Pi
			const eps = 1e-4
			if zoom < 1-o.Scale-eps || zoom > 1+o.Scale+eps || math.Abs(angle) > o.RotateDeg+eps ||
				math.Abs(tx)*halfWidth > o.JitterPx+eps || math.Abs(ty)*halfWidth > o.JitterPx+eps {
				t.Errorf("face %d: zoom %.4f, angle %.3f°, shift (%.3f, %.3f) px: outside %v",
					i, zoom, angle, tx*halfWidth, ty*halfWidth, o)
			}
		}
		if flipped < n*35/100 || flipped > n*65/100 {
			t.Errorf("%d of %d faces mirrored, want about half", flipped, n)
		}
	})
}

func TestApplyGreyLevels(t *testing.T) {
	const n = 16
	torch.WithScope(func() {
		torch.ManualSeed(3)
		images := torch.Rand([]int64{n, 1, size, size}, torch.Float32, torch.CPU)
		coords := torch.Rand([]int64{n, dataset.NumCoords}, torch.Float32, torch.CPU).SubScalar(0.5)
		mask := torch.Rand([]int64{n, dataset.NumCoords}, torch.Float32, torch.CPU).GtScalar(0.3).ToDType(torch.Float32)

		outImages, outCoords, outMask := Apply(images, coords, mask, Options{Brightness: 0.9, Contrast: 0.9})
		if lo, hi := outImages.Min().Item(), outImages.Max().Item(); lo < 0 || hi > 1 {
			t.Errorf("grey levels span [%g, %g], want within [0, 1]", lo, hi)
		}
		if !slices.Equal(outCoords.Float32s(), coords.Float32s()) || !slices.Equal(outMask.Float32s(), mask.Float32s()) {
			t.Error("brightness and contrast moved keypoints")
		}
		if d := outImages.Sub(images).Abs().Mean().Item(); d < 0.05 {
			t.Errorf("grey levels changed by %g on average, want a visible change", d)
		}

		// Brightness alone scales each face by one factor of its own.
		torch.ManualSeed(4)
		const b = 0.3
		faint := images.MulScalar(0.4).AddScalar(0.05) // in [0.05, 0.45): factors up to 2 need no clamping
		bright, _, _ := Apply(faint, coords, mask, Options{Brightness: b})
		ratio := bright.Div(faint).Reshape(n, -1)
		lo, hi := ratio.MinDims([]int64{1}, false).Float64s(), ratio.MaxDims([]int64{1}, false).Float64s()
		for i := range n {
			if hi[i]-lo[i] > 1e-3 || lo[i] < 1-b-1e-4 || hi[i] > 1+b+1e-4 {
				t.Errorf("face %d: brightness factors span [%g, %g], want one factor within [%g, %g]", i, lo[i], hi[i], 1-b, 1+b)
			}
		}
		if slices.Min(lo) == slices.Max(lo) {
			t.Error("every face got the same brightness factor")
		}
	})
}

func TestApplyReproducible(t *testing.T) {
	o, _ := Recipe("heavy")
	torch.WithScope(func() {
		images, coords, mask := faceBatch(6)
		run := func(seed uint64) []float32 {
			torch.ManualSeed(seed)
			x, y, m := Apply(images, coords, mask, o)
			return slices.Concat(x.Float32s(), y.Float32s(), m.Float32s())
		}
		a, b, c := run(7), run(7), run(8)
		if !slices.Equal(a, b) {
			t.Error("the same seed gave different augmentations")
		}
		if slices.Equal(a, c) {
			t.Error("different seeds gave the same augmentation")
		}
	})
}

func TestApplyZeroOptionsIsIdentity(t *testing.T) {
	torch.WithScope(func() {
		images, coords, mask := faceBatch(4)
		torch.ManualSeed(9)
		x, y, m := Apply(images, coords, mask, Options{})
		after := torch.Rand([]int64{8}, torch.Float32, torch.CPU).Float32s()
		torch.ManualSeed(9)
		fresh := torch.Rand([]int64{8}, torch.Float32, torch.CPU).Float32s()
		if !slices.Equal(x.Float32s(), images.Float32s()) || !slices.Equal(y.Float32s(), coords.Float32s()) ||
			!slices.Equal(m.Float32s(), mask.Float32s()) {
			t.Error("zero Options changed the batch")
		}
		if !slices.Equal(after, fresh) {
			t.Error("zero Options drew random numbers")
		}
		x.Fill(0) // the results are copies
		if images.Sum().Item() == 0 {
			t.Error("Apply returned the input images themselves")
		}
	})
}

func TestApplyRejectsBadShapes(t *testing.T) {
	tests := []struct {
		name                 string
		images, coords, mask []int64
		imageType            torch.DType
		want                 string // in the panic's message
	}{
		{"images 3-D", []int64{2, 96, 96}, []int64{2, 30}, []int64{2, 30}, torch.Float32,
			"augment: images have shape [2 96 96], want [N 1 96 96]"},
		{"images small", []int64{2, 1, 48, 48}, []int64{2, 30}, []int64{2, 30}, torch.Float32,
			"augment: images have shape [2 1 48 48], want [N 1 96 96]"},
		{"images colour", []int64{2, 3, 96, 96}, []int64{2, 30}, []int64{2, 30}, torch.Float32,
			"augment: images have shape [2 3 96 96], want [N 1 96 96]"},
		{"coords count", []int64{2, 1, 96, 96}, []int64{3, 30}, []int64{3, 30}, torch.Float32,
			"augment: coordinates [3 30] and mask [3 30] do not match images [2 1 96 96]: want [2 30]"},
		{"coords width", []int64{2, 1, 96, 96}, []int64{2, 15}, []int64{2, 15}, torch.Float32,
			"augment: coordinates [2 15] and mask [2 15] do not match images [2 1 96 96]: want [2 30]"},
		{"mask width", []int64{2, 1, 96, 96}, []int64{2, 30}, []int64{2, 15}, torch.Float32,
			"augment: coordinates [2 30] and mask [2 15] do not match images [2 1 96 96]: want [2 30]"},
		{"images float64", []int64{2, 1, 96, 96}, []int64{2, 30}, []int64{2, 30}, torch.Float64,
			"augment: want float32 images, coordinates and mask, got float64, float32 and float32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			torch.WithScope(func() {
				defer func() {
					r := recover()
					if r == nil {
						t.Fatal("Apply did not panic")
					}
					// fmt.Sprint reads a string and an error alike.
					if msg := fmt.Sprint(r); !strings.Contains(msg, tt.want) {
						t.Errorf("Apply panicked with %q, want a message containing %q", msg, tt.want)
					}
				}()
				z := func(s []int64, dt torch.DType) *torch.Tensor { return torch.Zeros(s, dt, torch.CPU) }
				Apply(z(tt.images, tt.imageType), z(tt.coords, torch.Float32), z(tt.mask, torch.Float32), Options{Flip: true})
			})
		})
	}
}
