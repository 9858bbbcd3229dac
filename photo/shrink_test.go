package photo

import (
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/jpeg"
	"image/png"
	"testing"
)

func TestShrinkSize(t *testing.T) {
	tests := []struct {
		w, h      int
		maxPixels int64
		wantW     int
		wantH     int
	}{
		{7000, 7000, 2_000_000, 1414, 1414},
		{4000, 3000, 120_000, 400, 300},
		{256, 200, 2_000_000, 256, 200},
		{10000, 1, 100, 100, 1},
		{5, 5, 0, 5, 5},
	}
	for _, tt := range tests {
		w, h := ShrinkSize(tt.w, tt.h, tt.maxPixels)
		if w != tt.wantW || h != tt.wantH {
			t.Errorf("ShrinkSize(%d, %d, %d) = %d×%d, want %d×%d", tt.w, tt.h, tt.maxPixels, w, h, tt.wantW, tt.wantH)
		}
	}
}

// greyish is an RGBA image whose pixels are grey levels, so that its
// luma is exact.
func greyish(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(10, 20, 10+w, 20+h))
	for y := range h {
		for x := range w {
			v := uint8((x*7 + y*3) % 256)
			img.SetRGBA(10+x, 20+y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

func TestShrink(t *testing.T) {
	img := greyish(300, 200)
	if got, want := Shrink(img, 1_000_000), Grey(img); !bytes.Equal(got.Pix, want.Pix) || got.Rect != want.Rect {
		t.Errorf("Shrink of an image under the limit differs from Grey")
	}
	// 4×4 blocks of one level each shrink to that level.
	blocks := image.NewGray(image.Rect(0, 0, 400, 400))
	for y := range 400 {
		for x := range 400 {
			blocks.Pix[y*400+x] = uint8(x/4 + y/4)
		}
	}
	small := Shrink(blocks, 10_000)
	if small.Rect != image.Rect(0, 0, 100, 100) {
		t.Fatalf("bounds %v, want 100×100", small.Rect)
	}
	for y := range 100 {
		for x := range 100 {
			if got := small.GrayAt(x, y).Y; got != uint8(x+y) {
				t.Fatalf("pixel (%d, %d) = %d, want %d", x, y, got, x+y)
			}
		}
	}
}

// TestGreyRect checks that Cut reads the same face from a grey copy of
// the region around a box as from the image.
func TestGreyRect(t *testing.T) {
	img := greyish(300, 200)
	tests := []struct {
		region, box image.Rectangle
	}{
		{image.Rect(40, 40, 200, 180), image.Rect(60, 60, 160, 160)},
		{image.Rect(-50, -50, 150, 150), image.Rect(-20, -10, 100, 110)}, // past the edge: padded alike
	}
	for _, tt := range tests {
		g := GreyRect(img, tt.region)
		if want := tt.region.Intersect(img.Bounds()); g.Rect != want {
			t.Errorf("GreyRect bounds %v, want %v", g.Rect, want)
		}
		want, err1 := CutPadded(img, tt.box)
		got, err2 := CutPadded(g, tt.box)
		if err1 != nil || err2 != nil || !bytes.Equal(got.Pixels, want.Pixels) {
			t.Errorf("box %v: the face cut from the grey copy differs (%v, %v)", tt.box, err1, err2)
		}
	}
}

func TestDecodeBytes(t *testing.T) {
	encodePNG := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	encodeJPEG := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	r := image.Rect(0, 0, 40, 25)
	progressive := encodeJPEG(image.NewRGBA(r))
	progressive[bytes.Index(progressive, []byte{0xFF, 0xC0})+1] = 0xC2 // SOF0 → SOF2: the header says progressive
	tests := []struct {
		name string
		data []byte
		want int64
	}{
		{"RGBA PNG", encodePNG(image.NewRGBA(r)), 4 * 1000},
		{"RGBA64 PNG", encodePNG(image.NewRGBA64(r)), 8 * 1000},
		{"grey PNG", encodePNG(image.NewGray(r)), 4 * 1000}, // NRGBA when it has a transparent level
		{"paletted PNG", encodePNG(image.NewPaletted(r, palette.Plan9)), 1000},
		{"colour JPEG", encodeJPEG(image.NewRGBA(r)), 3 * 1000},
		{"grey JPEG", encodeJPEG(image.NewGray(r)), 1000},
		{"progressive colour JPEG", progressive, (3 + 4*3) * 1000},
	}
	for _, tt := range tests {
		got, err := DecodeBytes(tt.data)
		if err != nil || got != tt.want {
			t.Errorf("%s: %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if _, err := DecodeBytes([]byte("not an image")); err == nil {
		t.Errorf("text: no error")
	}
}
