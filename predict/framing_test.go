package predict

import (
	"image"
	"math"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
)

func TestFramingOf(t *testing.T) {
	f, err := FramingOf(ytfMeans)
	if err != nil {
		t.Fatal(err)
	}
	// The means' anchor is at (48.45, 58.4) in keypoint coordinates,
	// which count pixels from 1; the framing is in pixel positions.
	if math.Abs(f.X-47.95) > 1e-4 || math.Abs(f.Y-57.9) > 1e-4 || math.Abs(f.Length-41.2) > 1e-4 {
		t.Errorf("framing %+v, want (47.95, 57.9), 41.2", f)
	}
	if d := DefaultFraming; math.Abs(f.X-d.X) > 1e-4 || math.Abs(f.Y-d.Y) > 1e-4 || math.Abs(f.Length-d.Length) > 1e-4 {
		t.Errorf("framing of fkd-ytf's means %+v, DefaultFraming %+v", f, d)
	}
	var flat [dataset.NumCoords]float32
	if _, err := FramingOf(flat); err == nil {
		t.Error("keypoint means all at 0: no error")
	}
}

// TestCrop checks that a crop framed from a face's anchor, cut and
// resampled to 96×96, puts the anchor where the training faces have it.
func TestCrop(t *testing.T) {
	f := Framing{X: 48.45, Y: 58.4, Length: 41.2}
	tests := []Anchor{
		{X: 48.45, Y: 58.4, Length: 41.2}, // the frame itself
		{X: 300, Y: 200, Length: 82.4},    // twice as big
		{X: 10, Y: 5, Length: 20.6},       // half, reaching past the top-left
		{X: 1000.3, Y: 700.8, Length: 133.7},
	}
	for _, a := range tests {
		c := f.Crop(a)
		if c.Dx() != c.Dy() {
			t.Errorf("crop %v of %+v is not square", c, a)
		}
		s := float64(c.Dx()) / dataset.ImageSize
		x, y, l := (a.X-float64(c.Min.X))/s, (a.Y-float64(c.Min.Y))/s, a.Length/s
		// Rounding the crop to whole pixels moves the anchor by at most
		// half a photo pixel, and the scale by half a pixel in the side.
		tol := 0.5/s + 0.01
		if math.Abs(x-f.X) > tol+f.X/float64(c.Dx()) || math.Abs(y-f.Y) > tol+f.Y/float64(c.Dx()) || math.Abs(l-f.Length) > f.Length/float64(c.Dx())+0.01 {
			t.Errorf("anchor %+v in crop %v lands at (%.2f, %.2f), %.2f long; want %+v", a, c, x, y, l, f)
		}
	}
	if got := f.Crop(Anchor{X: 48.45, Y: 58.4, Length: 41.2}); got != image.Rect(0, 0, 96, 96) {
		t.Errorf("the training frame's own anchor gives crop %v, want the frame", got)
	}
}

func TestBoxAnchor(t *testing.T) {
	b := BoxAnchor{X: 0.5, Y: 0.6, Length: 0.5}
	a := b.Anchor(image.Rect(100, 200, 200, 300))
	if a != (Anchor{X: 150, Y: 260, Length: 50}) {
		t.Errorf("anchor %+v", a)
	}
}

func TestBoxAnchorOf(t *testing.T) {
	for _, c := range []struct {
		det  detect.Detector
		want BoxAnchor
	}{
		{&detect.Dlib{}, DlibFrontalFace},
		{&detect.Cascade{}, HaarFrontalFace},
		{detect.Fixed{}, HaarFrontalFace},
	} {
		if got := BoxAnchorOf(c.det); got != c.want {
			t.Errorf("%T: %+v, want %+v", c.det, got, c.want)
		}
	}
	// The two detectors' boxes of one face differ: a dlib box is smaller
	// than a Haar box of the same face, and its anchor sits higher in it
	// (the box reaches the chin, the Haar box stops at the lip).
	if DlibFrontalFace.Length <= HaarFrontalFace.Length || DlibFrontalFace.Y >= HaarFrontalFace.Y {
		t.Errorf("dlib %+v against Haar %+v", DlibFrontalFace, HaarFrontalFace)
	}
}
