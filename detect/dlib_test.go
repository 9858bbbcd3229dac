//go:build !nodlib

package detect

import (
	"image"
	"image/color"
	"sync"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

func newDlib(t *testing.T, o DlibOptions) *Dlib {
	t.Helper()
	d, err := NewDlib(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestDlibNoFace scans pictures with no face, of every kind of size: a
// tiny one (smaller than the window), a texture, a big one that is shrunk.
func TestDlibNoFace(t *testing.T) {
	d := newDlib(t, DlibOptions{})
	texture := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range texture.Pix {
		texture.Pix[i] = uint8(i % 7 * 9)
	}
	big := image.NewRGBA(image.Rect(-50, 0, 3000, 2000))
	for _, m := range []image.Image{texture, image.NewGray(image.Rect(0, 0, 10, 10)), big, image.NewGray(image.Rect(0, 0, 0, 0))} {
		if faces, err := d.Detect(m); err != nil || len(faces) != 0 {
			t.Errorf("%v: faces %v, %v", m.Bounds(), faces, err)
		}
	}
}

// TestDlibRealFace finds a real fkd-ytf face, pasted at several sizes
// into pictures not at the origin, from several goroutines at once: one
// box each, about the pasted face, mapped back from the scanned copy
// (enlarged for the small picture, shrunk for the big one).
func TestDlibRealFace(t *testing.T) {
	set := ytfTraining(t)
	d := newDlib(t, DlibOptions{})
	face := set.Image(0)
	for _, c := range []struct {
		s, x0, y0 int
		bounds    image.Rectangle
	}{
		{1, 60, 40, image.Rect(20, 10, 260, 220)},    // enlarged twice for the scan
		{3, 140, 60, image.Rect(40, 20, 600, 450)},   // 96 × 3: scanned at 2
		{12, 900, 500, image.Rect(0, 0, 3000, 2200)}, // shrunk to 4 megapixels
	} {
		img := image.NewRGBA(c.bounds)
		for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
			for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
				v := uint8(120 + (x+y)%20)
				if u, w := (x-c.x0)/c.s, (y-c.y0)/c.s; x >= c.x0 && y >= c.y0 && u < dataset.ImageSize && w < dataset.ImageSize {
					v = face[w*dataset.ImageSize+u]
				}
				img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
			}
		}
		region := image.Rect(c.x0, c.y0, c.x0+c.s*dataset.ImageSize, c.y0+c.s*dataset.ImageSize)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				faces, err := d.Detect(img)
				if err != nil || len(faces) != 1 {
					t.Errorf("scale %d: faces %v, %v; want one", c.s, faces, err)
					return
				}
				b := faces[0].Box
				if !b.Min.Add(b.Max).Div(2).In(region) || b.Dx() < region.Dx()/2 || b.Dx() > region.Dx() || faces[0].Score <= 0.5 || faces[0].Score >= 1 {
					t.Errorf("scale %d: face %v (score %v), not the face at %v", c.s, b, faces[0].Score, region)
				}
			})
		}
		wg.Wait()
	}
}
