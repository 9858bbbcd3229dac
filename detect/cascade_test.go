//go:build !noopencv

package detect

import (
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// newCascade loads the default cascade, or skips the test on a machine
// without opencv-data.
func newCascade(t *testing.T) *Cascade {
	t.Helper()
	c, err := NewCascade(CascadeOptions{})
	var ce *CascadeError
	if errors.As(err, &ce) {
		t.Skipf("no Haar cascade here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCascadeErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.xml")
	os.WriteFile(bad, []byte("<not a cascade>"), 0o644)
	noCascade := filepath.Join(dir, "storage.xml")
	os.WriteFile(noCascade, []byte("<?xml version=\"1.0\"?>\n<opencv_storage><other>1</other></opencv_storage>\n"), 0o644)
	if _, err := NewCascade(CascadeOptions{File: noCascade}); err == nil || !strings.Contains(err.Error(), "not a cascade classifier") {
		t.Errorf("an OpenCV file with no cascade: %v", err)
	}
	_, err := NewCascade(CascadeOptions{File: bad})
	if err == nil || !strings.Contains(err.Error(), "not a cascade classifier OpenCV can load") {
		t.Errorf("a file that is no cascade: %v", err)
	}
	if _, err := NewCascade(CascadeOptions{File: filepath.Join(dir, "missing.xml")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := NewCascade(CascadeOptions{ScaleFactor: 0.9}); err == nil {
		t.Error("scale factor 0.9: no error")
	}
}

func TestCascadeNoFace(t *testing.T) {
	c := newCascade(t)
	img := image.NewGray(image.Rect(0, 0, 200, 150))
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 7 * 9)
	}
	for _, m := range []image.Image{img, image.NewGray(image.Rect(0, 0, 10, 10))} {
		if faces, err := c.Detect(m); err != nil || len(faces) != 0 {
			t.Errorf("%v: faces %v, %v", m.Bounds(), faces, err)
		}
	}
}

// paste sets each pixel of r, with set, to a ramp of grey levels but for
// face, enlarged s times, at (x0, y0).
func paste(r image.Rectangle, face []uint8, s, x0, y0 int, set func(x, y int, v uint8)) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint8(120 + (x+y)%20)
			if u, w := (x-x0)/s, (y-y0)/s; x >= x0 && y >= y0 && u < dataset.ImageSize && w < dataset.ImageSize {
				v = face[w*dataset.ImageSize+u]
			}
			set(x, y, v)
		}
	}
}

// TestCascadeRealFace finds a real fkd-ytf face, enlarged three times, in
// a bigger picture, from several goroutines at once.
func TestCascadeRealFace(t *testing.T) {
	set := ytfTraining(t)
	c := newCascade(t)
	const s, x0, y0 = 3, 140, 60
	img := image.NewRGBA(image.Rect(40, 20, 600, 450)) // not at the origin
	face := set.Image(0)
	paste(img.Rect, face, s, x0, y0, func(x, y int, v uint8) { img.SetRGBA(x, y, color.RGBA{v, v, v, 255}) })
	region := image.Rect(x0, y0, x0+s*dataset.ImageSize, y0+s*dataset.ImageSize)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			faces, err := c.Detect(img)
			if err != nil || len(faces) != 1 {
				t.Errorf("faces %v, %v; want one", faces, err)
				return
			}
			b := faces[0].Box
			if !b.Min.Add(b.Max).Div(2).In(region) || b.Dx() < region.Dx()/2 || faces[0].Score < NeighbourScore(4) || faces[0].Score >= 1 {
				t.Errorf("face %v (score %v), not the face at %v", b, faces[0].Score, region)
			}
		})
	}
	wg.Wait()
}

// TestCascadeShrinks finds a real fkd-ytf face enlarged 3 times in a
// picture of 240,000 pixels, which a cascade with MaxPixels 100,000 scans
// shrunk: the box comes back in the picture's pixels.
func TestCascadeShrinks(t *testing.T) {
	set := ytfTraining(t)
	newCascade(t) // skips without a cascade
	c, err := NewCascade(CascadeOptions{MaxPixels: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const s, x0, y0 = 3, 140, 60
	img := image.NewGray(image.Rect(40, 20, 600, 450))
	face := set.Image(0)
	paste(img.Rect, face, s, x0, y0, func(x, y int, v uint8) { img.Pix[img.PixOffset(x, y)] = v })
	region := image.Rect(x0, y0, x0+s*dataset.ImageSize, y0+s*dataset.ImageSize)
	faces, err := c.Detect(img)
	if err != nil || len(faces) != 1 {
		t.Fatalf("faces %v, %v; want one", faces, err)
	}
	if b := faces[0].Box; !b.Min.Add(b.Max).Div(2).In(region) || b.Dx() < region.Dx()/2 || b.Dx() > region.Dx()*3/2 {
		t.Errorf("face %v, not the face at %v", b, region)
	}
}
