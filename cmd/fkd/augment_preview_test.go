package main

import (
	"bytes"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/plots"
)

func TestAugmentPreviewUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"--out", "p.png"}, "exactly one of --train FILE and --synth"},
		{"two sources", []string{"--synth", "--train", "t.csv", "--out", "p.png"}, "exactly one of"},
		{"no out", []string{"--synth"}, "--out is required"},
		{"bad recipe", []string{"--synth", "--out", "p.png", "--augment", "wild"}, `unknown item "wild"`},
		{"bad override", []string{"--synth", "--out", "p.png", "--rotate", "200"}, "rotate=200 is outside"},
		{"negative index", []string{"--synth", "--out", "p.png", "--index", "-1"}, "--index -1 is negative"},
		{"no tiles", []string{"--synth", "--out", "p.png", "--n", "0"}, "--n 0 is outside"},
		{"zoom", []string{"--synth", "--out", "p.png", "--zoom", "9"}, "--zoom 9 is outside"},
		{"argument", []string{"--synth", "--out", "p.png", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if status := run(append([]string{"augment-preview"}, tt.args...), &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: status %d, stderr %q; want 2 and %q", tt.name, status, stderr.String(), tt.want)
		}
	}
}

// readPNG decodes a PNG file as RGBA.
func readPNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	img := fkdtest.ReadPNG(t, path)
	rgba, ok := img.(*image.RGBA)
	if !ok {
		t.Fatalf("decoded %T, want *image.RGBA", img)
	}
	return rgba
}

// countColour counts the pixels of img inside r with colour c.
func countColour(img *image.RGBA, r image.Rectangle, c [3]uint8) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.RGBAAt(x, y)
			if p.R == c[0] && p.G == c[1] && p.B == c[2] {
				n++
			}
		}
	}
	return n
}

// tileRect is tile f of a preview with cols columns and tiles of side tile.
func tileRect(f, cols, tile int) image.Rectangle {
	x0 := plots.PreviewGap + (f%cols)*(tile+plots.PreviewGap)
	y0 := plots.PreviewGap + (f/cols)*(tile+plots.PreviewGap)
	return image.Rect(x0, y0, x0+tile, y0+tile)
}

func TestAugmentPreviewSynth(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "preview.png")
	def, _ := augment.Recipe("default")
	o := augmentPreviewOptions{synth: true, index: 2, opts: def, n: 5, zoom: 1, seed: 1, out: out}
	var stdout bytes.Buffer
	if err := o.run(&stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "synthetic face 2, the original then 4 copies under flip,rotate=15") {
		t.Errorf("stdout %q", stdout.String())
	}
	img := readPNG(t, out)
	cols, _, width, height := plots.PreviewLayout(5, dataset.ImageSize)
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height || cols != 3 {
		t.Fatalf("picture %v, want %dx%d in 3 columns", b, width, height)
	}
	for f := range 5 {
		r := tileRect(f, cols, dataset.ImageSize)
		left := countColour(img, r, [3]uint8{plots.LeftColour.R, plots.LeftColour.G, plots.LeftColour.B})
		right := countColour(img, r, [3]uint8{plots.RightColour.R, plots.RightColour.G, plots.RightColour.B})
		if left == 0 || right == 0 {
			t.Errorf("tile %d: %d left and %d right keypoint pixels, want both", f, left, right)
		}
	}
	if p := img.RGBAAt(plots.PreviewGap-1, plots.PreviewGap-1); p != plots.PreviewFrame {
		t.Errorf("no frame around the original: %v", p)
	}
	if p := img.RGBAAt(tileRect(1, cols, dataset.ImageSize).Min.X-1, plots.PreviewGap-1); p != plots.PreviewBackground {
		t.Errorf("a frame around an augmented tile: %v", p)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the PNG (no temporary files)", len(entries))
	}
}

// TestAugmentPreviewTrainingFile reads a small training file: with the
// "none" recipe every tile is the original.
func TestAugmentPreviewTrainingFile(t *testing.T) {
	dir := t.TempDir()
	trainPath := filepath.Join(dir, "training.csv")
	set := synth.Generate(4, 9, synth.Options{PartialFrac: 0.5})
	if err := atomicfile.Write(trainPath, func(w io.Writer) error { return dataset.WriteTraining(w, set) }); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "p.png")
	var stdout, stderr bytes.Buffer
	if status := run([]string{"augment-preview", "--train", trainPath, "--index", "3", "--augment", "none", "--n", "3", "--out", out}, &stdout, &stderr); status != 0 {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	img := readPNG(t, out)
	tile := 2 * dataset.ImageSize
	cols, _, _, _ := plots.PreviewLayout(3, tile)
	first := tileRect(0, cols, tile)
	for f := 1; f < 3; f++ {
		r := tileRect(f, cols, tile)
		for y := range tile {
			for x := range tile {
				if a, b := img.RGBAAt(first.Min.X+x, first.Min.Y+y), img.RGBAAt(r.Min.X+x, r.Min.Y+y); a != b {
					t.Fatalf("tile %d differs from the original at (%d, %d): %v, %v", f, x, y, b, a)
				}
			}
		}
	}

	status := run([]string{"augment-preview", "--train", trainPath, "--index", "4", "--out", out}, &stdout, &stderr)
	if status != 1 || !strings.Contains(stderr.String(), "--index 4: ") || !strings.Contains(stderr.String(), "holds 4 faces") {
		t.Errorf("index past the end: status %d, stderr %q", status, stderr.String())
	}
}

// TestDrawPreviewMarksKeypoints checks where a cross lands: a keypoint at
// normalised (0, 0) is keypoint coordinate 48, in pixel 47 (keypoints
// count pixels from 1), 95 at zoom 2; a missing keypoint is not drawn.
func TestDrawPreviewMarksKeypoints(t *testing.T) {
	images := make([]float32, dataset.PixelCount)
	coords := make([]float32, dataset.NumCoords)
	mask := make([]float32, dataset.NumCoords)
	mask[0], mask[1] = 1, 1               // left_eye_center at the centre
	coords[2], coords[3] = 0.5, 0.5       // right_eye_center, missing
	coords[20], coords[21] = -0.25, 0.125 // nose tip at keypoint coordinates (36, 54)
	mask[20], mask[21] = 1, 1
	// at is the preview pixel holding keypoint coordinate v at zoom.
	at := func(v float64, zoom int) int { return plots.PreviewGap + int((v-dataset.PixelOrigin)*float64(zoom)) }
	for _, zoom := range []int{1, 2} {
		img := plots.Preview(images, coords, mask, 1, zoom)
		if p := img.RGBAAt(at(48, zoom), at(48, zoom)); p != plots.LeftColour {
			t.Errorf("zoom %d: centre pixel %v, want the left colour", zoom, p)
		}
		if p := img.RGBAAt(at(36, zoom), at(54, zoom)); p != plots.MidlineColour {
			t.Errorf("zoom %d: nose pixel %v, want the midline colour", zoom, p)
		}
		r := image.Rect(plots.PreviewGap, plots.PreviewGap, plots.PreviewGap+dataset.ImageSize*zoom, plots.PreviewGap+dataset.ImageSize*zoom)
		if n := countColour(img, r, [3]uint8{plots.RightColour.R, plots.RightColour.G, plots.RightColour.B}); n != 0 {
			t.Errorf("zoom %d: a missing keypoint was drawn (%d pixels)", zoom, n)
		}
	}
}
