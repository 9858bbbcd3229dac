package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"
)

// TestDecode decodes from a reader what Read decodes from a file: a PNG,
// a JPEG turned by its EXIF orientation, and refuses data of another kind
// (and a huge header: TestDecodeTooLarge).
func TestDecode(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 30, 20)))
	img, info, err := Decode(bytes.NewReader(b.Bytes()), "small.png", 0)
	if err != nil || img.Bounds() != image.Rect(0, 0, 30, 20) || info.Format != "png" {
		t.Errorf("PNG: %v, %+v, %v", img.Bounds(), info, err)
	}
	b.Reset()
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 30, 20)), nil)
	img, info, err = Decode(bytes.NewReader(afterSOI(b.Bytes(), exifSegment(binary.LittleEndian, 6))), "turned.jpg", 0)
	if err != nil || img.Bounds() != image.Rect(0, 0, 20, 30) || info.Width != 20 || info.Orientation != 6 {
		t.Errorf("JPEG turned a quarter: %v, %+v, %v", img.Bounds(), info, err)
	}
	_, _, err = Decode(strings.NewReader("GIF89a or some text"), "the body", 0)
	if !errors.Is(err, ErrFormat) || err.Error() != "read photo the body: not a PNG or JPEG image" {
		t.Errorf("not an image: %v", err)
	}
}

// TestCutPadded cuts boxes reaching past the image: the pixels outside
// take the nearest edge's grey level, and a box inside cuts as Cut does.
func TestCutPadded(t *testing.T) {
	img := image.NewRGBA(image.Rect(10, 10, 106, 106))
	for y := 10; y < 106; y++ {
		for x := 10; x < 106; x++ {
			v := uint8(2 * (x - 10))
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	inside := image.Rect(10, 10, 106, 106)
	a, _ := Cut(img, inside)
	b, err := CutPadded(img, inside)
	if err != nil || !bytes.Equal(a.Pixels, b.Pixels) {
		t.Errorf("a box inside: CutPadded differs from Cut (%v)", err)
	}
	// Shifted 48 pixels left: the left half repeats column 10 (grey 0),
	// the right half shows columns 10 to 57.
	f, err := CutPadded(img, inside.Sub(image.Pt(48, 0)))
	if err != nil {
		t.Fatal(err)
	}
	for x := range 96 {
		want := 0.0
		if x >= 48 {
			want = float64(2 * (x - 48))
		}
		if got := float64(f.Pixels[50*96+x]); math.Abs(got-want) > 0.5 {
			t.Errorf("column %d: %v, want %v", x, got, want)
		}
	}
	if _, err := CutPadded(img, image.Rect(200, 0, 300, 100)); err == nil || !strings.Contains(err.Error(), "does not overlap") {
		t.Errorf("a box off the image: %v", err)
	}
}

func TestGrey(t *testing.T) {
	img := image.NewRGBA(image.Rect(5, 7, 9, 9))
	img.SetRGBA(6, 8, color.RGBA{255, 0, 0, 255})
	img.SetRGBA(8, 7, color.RGBA{255, 255, 255, 255})
	g := Grey(img)
	if g.Bounds() != image.Rect(0, 0, 4, 2) || g.GrayAt(1, 1).Y != 76 || g.GrayAt(3, 0).Y != 255 || g.GrayAt(0, 0).Y != 0 {
		t.Errorf("grey %v: %v", g.Bounds(), g.Pix)
	}
}
