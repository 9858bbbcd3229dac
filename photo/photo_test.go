package photo

import (
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

func TestResampleWeights(t *testing.T) {
	tests := []struct {
		name    string
		in, out int
		check   map[int]taps // some pixels' taps, exactly
	}{
		{"same size", 96, 96, map[int]taps{0: {0, []float64{1}}, 95: {95, []float64{1}}}},
		{"halve", 192, 96, map[int]taps{0: {0, []float64{0.5, 0.5}}, 95: {190, []float64{0.5, 0.5}}}},
		{"two thirds", 144, 96, map[int]taps{0: {0, []float64{2.0 / 3, 1.0 / 3}}, 1: {1, []float64{1.0 / 3, 2.0 / 3}}}},
		{"double", 48, 96, map[int]taps{
			0:  {0, []float64{1}},          // centre 0.25, left of the first centre: held
			1:  {0, []float64{0.75, 0.25}}, // centre 0.75
			2:  {0, []float64{0.25, 0.75}}, // centre 1.25
			95: {47, []float64{1}},
		}},
		{"from one pixel", 1, 96, map[int]taps{0: {0, []float64{1}}, 50: {0, []float64{1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := resampleWeights(tt.in, tt.out)
			if len(ts) != tt.out {
				t.Fatalf("%d outputs, want %d", len(ts), tt.out)
			}
			for o, tp := range ts {
				var sum float64
				for _, w := range tp.weights {
					sum += w
					if w < 0 {
						t.Errorf("pixel %d: negative weight %g", o, w)
					}
				}
				if math.Abs(sum-1) > 1e-12 || tp.first < 0 || tp.first+len(tp.weights) > tt.in {
					t.Errorf("pixel %d: taps %+v (sum %g) outside %d pixels or not an average", o, tp, sum, tt.in)
				}
			}
			for o, want := range tt.check {
				got := ts[o]
				ok := got.first == want.first && len(got.weights) == len(want.weights)
				for j := 0; ok && j < len(want.weights); j++ {
					ok = math.Abs(got.weights[j]-want.weights[j]) < 1e-12
				}
				if !ok {
					t.Errorf("pixel %d: taps %+v, want %+v", o, got, want)
				}
			}
		})
	}
}

// TestCutRampKeepsCoordinates resamples a linear ramp of grey levels,
// g(X, Y) = 0.8137X + 0.6071Y at continuous photo position (X, Y), and checks
// that every face pixel holds about the ramp's value at the photo
// position ToPhoto gives for its centre: the resampling and the mapping
// of coordinates agree, with pixel c spanning [c, c+1) on both sides.
// Rounding to grey levels, and area averaging of pixels that lie partly
// in a face pixel, make each pixel off by up to 0.75 levels, but not on
// average; a mapping off by half a face pixel would be off by half a
// level or more on average.
func TestCutRampKeepsCoordinates(t *testing.T) {
	const w, h = 170, 150
	ramp := func(x, y float64) float64 { return 0.8137*x + 0.6071*y }
	img := image.NewGray16(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray16(x, y, color.Gray16{Y: uint16(math.Round(ramp(float64(x)+0.5, float64(y)+0.5) * 257))})
		}
	}
	tests := []struct {
		name   string
		box    image.Rectangle
		margin int // face pixels next to the edges not checked (clamped when enlarging)
	}{
		{"shrink", image.Rect(10, 5, 140, 125), 0},
		{"shrink oblong", image.Rect(0, 0, w, h), 0},
		{"same size", image.Rect(50, 50, 146, 146), 0},
		{"enlarge", image.Rect(33, 40, 93, 88), 1},
		{"enlarge one way", image.Rect(20, 30, 60, 150), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Cut(img, tt.box)
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			var n int
			for y := tt.margin; y < dataset.ImageSize-tt.margin; y++ {
				for x := tt.margin; x < dataset.ImageSize-tt.margin; x++ {
					want := ramp(f.ToPhoto(float64(x)+0.5, float64(y)+0.5))
					got := float64(f.Pixels[y*dataset.ImageSize+x])
					if math.Abs(got-want) > 0.75 {
						t.Fatalf("face pixel (%d, %d) = %g, want %.3f", x, y, got, want)
					}
					sum += got - want
					n++
				}
			}
			if mean := sum / float64(n); math.Abs(mean) > 0.05 {
				t.Errorf("face pixels are %.3f grey levels off on average", mean)
			}
		})
	}
}

func TestToPhoto(t *testing.T) {
	tests := []struct {
		box          image.Rectangle
		x, y         float64
		wantX, wantY float64
	}{
		{image.Rect(0, 0, 96, 96), 30.5, 60.25, 30.5, 60.25},
		{image.Rect(0, 0, 192, 144), 48, 48, 96, 72},            // the centre
		{image.Rect(24, 10, 168, 154), 0, 96, 24, 154},          // corners map to corners
		{image.Rect(24, 10, 168, 154), 10.5, 2, 24 + 15.75, 13}, // scale 1.5
		{image.Rect(-5, 3, 43, 51), 96, 0, 43, 3},               // scale 0.5
	}
	for _, tt := range tests {
		f := &Face{Box: tt.box}
		gx, gy := f.ToPhoto(tt.x, tt.y)
		if math.Abs(gx-tt.wantX) > 1e-12 || math.Abs(gy-tt.wantY) > 1e-12 {
			t.Errorf("box %v: ToPhoto(%g, %g) = (%g, %g), want (%g, %g)", tt.box, tt.x, tt.y, gx, gy, tt.wantX, tt.wantY)
		}
	}
	f := &Face{Box: image.Rect(24, 10, 168, 154)}
	coords := make([]float32, dataset.NumCoords)
	for i := range coords {
		coords[i] = float32(2 * i)
	}
	got := f.KeypointsToPhoto(coords)
	for k := range dataset.NumKeypoints {
		// Keypoints count pixels from 1; ToPhoto takes pixel positions.
		wx, wy := f.ToPhoto(float64(coords[2*k])-dataset.PixelOrigin, float64(coords[2*k+1])-dataset.PixelOrigin)
		if got[2*k] != wx || got[2*k+1] != wy {
			t.Errorf("keypoint %d: (%g, %g), want (%g, %g)", k, got[2*k], got[2*k+1], wx, wy)
		}
	}
}

func TestCutErrors(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 100, 80))
	tests := []struct {
		name string
		img  image.Image
		box  image.Rectangle
		want string
	}{
		{"box too wide", img, image.Rect(10, 10, 101, 50), "not inside the 100x80 image"},
		{"box above", img, image.Rect(0, -1, 50, 50), "not inside"},
		{"empty image", image.NewGray(image.Rect(0, 0, 0, 0)), image.Rectangle{}, "empty"},
	}
	for _, tt := range tests {
		if _, err := Cut(tt.img, tt.box); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	f, err := Cut(img, image.Rectangle{})
	if err != nil || f.Box != img.Bounds() {
		t.Errorf("an empty box: %v, %v; want the whole image", f, err)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(notImage, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{notImage, "not a PNG or JPEG image"},
		{filepath.Join(dir, "missing.jpg"), "no such file"},
	}
	for _, tt := range tests {
		if _, err := Read(tt.path, 0); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Read(%s): error %v, want one containing %q", tt.path, err, tt.want)
		}
	}
}
