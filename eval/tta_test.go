package eval_test

import (
	"math"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// lopsidedModel returns a random cnn3 whose predictions are far from
// mirror-symmetric: its output bias puts every keypoint at a different
// place, and its output weights are enlarged so that the pixels move the
// predictions by several pixels too.
func lopsidedModel(t *testing.T) models.Model {
	t.Helper()
	m := fkdtest.NewModel(t, "cnn3:width=4", 3)
	bias, _ := m.Store().Get("head.out.bias")
	weight, _ := m.Store().Get("head.out.weight")
	b := make([]float32, dataset.NumCoords)
	for i := range b {
		b[i] = float32(0.3 * math.Sin(1.7*float64(i)+0.4))
	}
	torch.NoGrad(func() {
		torch.WithScope(func() { bias.CopyFrom(torch.FromFloat32(b, dataset.NumCoords)) })
		weight.MulScalarInPlace(30)
	})
	return m
}

// mirrorCoords returns pixel coordinates of faces, 30 per face, as they
// are on the mirror images (dataset.FlipCoords, every coordinate present).
func mirrorCoords(c []float32) []float32 {
	out := append([]float32(nil), c...)
	all := make([]bool, dataset.NumCoords)
	for i := 0; i < len(out); i += dataset.NumCoords {
		for j := range all {
			all[j] = true
		}
		dataset.FlipCoords(out[i:i+dataset.NumCoords], all)
	}
	return out
}

// maxDiff is the largest absolute difference between a and b, in pixels.
func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestFlipTTAAveragesFaceAndMirror computes flip TTA by hand, with the
// pure-Go mirror functions of dataset: predict the faces and, separately,
// their mirror images; mirror the second prediction back; average.
func TestFlipTTAAveragesFaceAndMirror(t *testing.T) {
	m := lopsidedModel(t)
	faces := synth.Generate(5, 1, synth.Options{})
	mirrored := make([]uint8, len(faces.Images))
	for i := range faces.Len() {
		dataset.FlipImage(mirrored[i*dataset.PixelCount:(i+1)*dataset.PixelCount], faces.Image(i))
	}
	plain := models.Predict(m, faces.Images, 0, torch.CPU)
	back := mirrorCoords(models.Predict(m, mirrored, 0, torch.CPU))
	want := make([]float32, len(plain))
	for i := range want {
		want[i] = (plain[i] + back[i]) / 2
	}
	// An odd batch size checks that the views stay paired across batches.
	got := models.Predict(eval.WithTTA(m, eval.FlipTTA), faces.Images, 3, torch.CPU)
	if d := maxDiff(got, want); d > 1e-3 {
		t.Errorf("flip TTA differs from the average of the two views by up to %g pixels", d)
	}
	// The two views disagree, so the average is not the plain prediction.
	if d := maxDiff(plain, back); d < 1 {
		t.Errorf("the views differ by only %g pixels; the test needs a lopsided model", d)
	}
}

// TestFlipTTAOfSymmetricFace checks the issue's property "TTA of a
// left/right-symmetric face equals the plain prediction" in the form in
// which it holds. A face that is its own mirror image gives FlipTTA two
// identical views, whose predictions m(face) and mirror(m(face)) differ
// unless m is mirror-equivariant. So:
//
//   - for any model, the TTA prediction of a symmetric face is itself
//     symmetric (the mirror of the keypoints is the keypoints), though the
//     plain prediction need not be;
//   - for a mirror-equivariant model, such as any model under FlipTTA,
//     the TTA prediction equals the plain one; a well-trained model is
//     nearly equivariant, and TTA changes its predictions little.
func TestFlipTTAOfSymmetricFace(t *testing.T) {
	m := lopsidedModel(t)
	equivariant := eval.WithTTA(m, eval.FlipTTA)
	faces := synth.Generate(4, 2, synth.Options{Symmetric: true})
	tests := []struct {
		name             string
		model            models.Model
		plainSymmetric   bool // whether the plain prediction is symmetric
		ttaEqualsToPlain bool
	}{
		{"lopsided model", m, false, false},
		{"mirror-equivariant model", equivariant, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := models.Predict(tt.model, faces.Images, 0, torch.CPU)
			tta := models.Predict(eval.WithTTA(tt.model, eval.FlipTTA), faces.Images, 0, torch.CPU)
			if d := maxDiff(tta, mirrorCoords(tta)); d > 1e-3 {
				t.Errorf("TTA prediction is %g pixels from its mirror image", d)
			}
			if d := maxDiff(plain, mirrorCoords(plain)); (d <= 1e-3) != tt.plainSymmetric {
				t.Errorf("plain prediction is %g pixels from its mirror image; symmetric: want %v", d, tt.plainSymmetric)
			}
			if d := maxDiff(tta, plain); (d <= 1e-3) != tt.ttaEqualsToPlain {
				t.Errorf("TTA and plain prediction differ by %g pixels; equal: want %v", d, tt.ttaEqualsToPlain)
			}
		})
	}
}

// shiftImages moves 96×96 faces by dx pixels right and dy down in pure
// Go, repeating the edge rows and columns, as FlipShiftTTA does on the
// device.
func shiftImages(src []uint8, dx, dy int) []uint8 {
	out := make([]uint8, len(src))
	const n = dataset.ImageSize
	for f := 0; f < len(src); f += dataset.PixelCount {
		for y := range n {
			sy := min(max(y-dy, 0), n-1)
			for x := range n {
				out[f+y*n+x] = src[f+sy*n+min(max(x-dx, 0), n-1)]
			}
		}
	}
	return out
}

// TestFlipShiftTTAAveragesShiftedViews computes flip+shift TTA by hand:
// flip TTA's predictions for the faces moved by ±2 pixels in x and in y,
// made in pure Go, each moved back, averaged with the unmoved faces'.
func TestFlipShiftTTAAveragesShiftedViews(t *testing.T) {
	m := lopsidedModel(t)
	faces := synth.Generate(5, 4, synth.Options{})
	flip := eval.WithTTA(m, eval.FlipTTA)
	const d = eval.ShiftTTAPixels
	shifts := [][2]int{{0, 0}, {d, 0}, {-d, 0}, {0, d}, {0, -d}}
	want := make([]float32, faces.Len()*dataset.NumCoords)
	for _, sh := range shifts {
		p := models.Predict(flip, shiftImages(faces.Images, sh[0], sh[1]), 0, torch.CPU)
		for i := range p {
			want[i] += (p[i] - float32(sh[i%2])) / float32(len(shifts))
		}
	}
	got := models.Predict(eval.WithTTA(m, eval.FlipShiftTTA), faces.Images, 3, torch.CPU)
	if d := maxDiff(got, want); d > 1e-3 {
		t.Errorf("flip+shift TTA differs from the average of the shifted views by up to %g pixels", d)
	}
	if d := maxDiff(got, models.Predict(flip, faces.Images, 0, torch.CPU)); d < 0.1 {
		t.Errorf("flip+shift TTA is within %g pixels of flip TTA; the test needs views that differ", d)
	}
}

func TestWithTTA(t *testing.T) {
	m := lopsidedModel(t)
	if got := eval.WithTTA(m, eval.NoTTA); got != m {
		t.Error("WithTTA(m, NoTTA) is not m")
	}
	f := eval.WithTTA(m, eval.FlipTTA)
	if f.Store() != m.Store() || f.Spec().String() != m.Spec().String() {
		t.Error("the TTA model has another store or spec")
	}
}

func TestParseTTA(t *testing.T) {
	tests := []struct {
		in      string
		want    eval.TTA
		wantErr bool
	}{
		{"none", eval.NoTTA, false},
		{"flip", eval.FlipTTA, false},
		{"flip+shift", eval.FlipShiftTTA, false},
		{"shift", eval.NoTTA, true},
		{"Flip", eval.NoTTA, true},
		{"", eval.NoTTA, true},
		{"hflip", eval.NoTTA, true},
	}
	for _, tt := range tests {
		got, err := eval.ParseTTA(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseTTA(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParseTTA(%q).String() = %q", tt.in, got.String())
		}
	}
}
