package photo_test

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/photo"
)

// enlarged returns a photo of size w×h, grey level 17 everywhere but for a
// copy of face enlarged k times (each pixel a k×k block) at (x0, y0), in
// an RGBA image with equal red, green and blue.
func enlarged(face []uint8, k, w, h, x0, y0 int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(17)
			fx, fy := x-x0, y-y0
			if fx >= 0 && fy >= 0 && fx < k*dataset.ImageSize && fy < k*dataset.ImageSize {
				v = face[(fy/k)*dataset.ImageSize+fx/k]
			}
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

// TestCutEnlargedFace cuts a synthetic face back out of photos that hold
// it enlarged by a whole factor: area resampling gives the face back, to
// the grey level from a PNG, and within JPEG's losses from a JPEG.
func TestCutEnlargedFace(t *testing.T) {
	face := synth.Generate(1, 4, synth.Options{}).Image(0)
	dir := t.TempDir()
	tests := []struct {
		name         string
		k, w, h      int
		x0, y0       int
		maxMeanError float64 // grey levels
	}{
		{"photo.png", 2, 250, 210, 31, 7, 0},
		{"photo.jpg", 2, 250, 210, 31, 7, 1.5},
		{"big.png", 3, 300, 300, 0, 12, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fkdtest.WritePhoto(t, dir, tt.name, enlarged(face, tt.k, tt.w, tt.h, tt.x0, tt.y0))
			img, err := photo.Read(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			side := tt.k * dataset.ImageSize
			box := image.Rect(tt.x0, tt.y0, tt.x0+side, tt.y0+side)
			f, err := photo.Cut(img, box)
			if err != nil {
				t.Fatal(err)
			}
			if f.Box != box || len(f.Pixels) != dataset.PixelCount {
				t.Fatalf("box %v and %d pixels, want %v and %d", f.Box, len(f.Pixels), box, dataset.PixelCount)
			}
			var sum float64
			for i, v := range f.Pixels {
				sum += math.Abs(float64(v) - float64(face[i]))
			}
			if mean := sum / dataset.PixelCount; mean > tt.maxMeanError {
				t.Errorf("mean error %.3f grey levels, want at most %g", mean, tt.maxMeanError)
			}
		})
	}
}
