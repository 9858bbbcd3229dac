package photo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// exifSegment returns a JPEG APP1 segment holding EXIF data in the byte
// order given whose IFD0 has two entries: an image width, then the
// orientation.
func exifSegment(order binary.ByteOrder, orientation uint16) []byte {
	tiff := make([]byte, 8+2+2*12+4)
	copy(tiff, "MM")
	if order == binary.LittleEndian {
		copy(tiff, "II")
	}
	order.PutUint16(tiff[2:], 42)
	order.PutUint32(tiff[4:], 8) // IFD0 right after the header
	order.PutUint16(tiff[8:], 2)
	width := tiff[10:22]
	order.PutUint16(width, 0x0100) // ImageWidth, LONG, 1
	order.PutUint16(width[2:], 4)
	order.PutUint32(width[4:], 1)
	order.PutUint32(width[8:], 640)
	orient := tiff[22:34]
	order.PutUint16(orient, 0x0112) // Orientation, SHORT, 1
	order.PutUint16(orient[2:], 3)
	order.PutUint32(orient[4:], 1)
	order.PutUint16(orient[8:], orientation)
	return appSegment(0xE1, append([]byte("Exif\x00\x00"), tiff...))
}

// appSegment returns a JPEG segment with the marker and payload given.
func appSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// afterSOI inserts segments into a JPEG file right after its start of
// image marker.
func afterSOI(jpg []byte, segments ...[]byte) []byte {
	out := slices.Clone(jpg[:2])
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// cells is a 3×2 image of the grey levels 10 (a) to 60 (f), row by row:
//
//	a b c
//	d e f
var cells = []uint8{10, 20, 30, 40, 50, 60}

// displayed gives, for each EXIF orientation, the cells as a viewer shows
// them: the rows of the displayed image.
var displayed = map[int][][]uint8{
	1: {{10, 20, 30}, {40, 50, 60}},
	2: {{30, 20, 10}, {60, 50, 40}},
	3: {{60, 50, 40}, {30, 20, 10}},
	4: {{40, 50, 60}, {10, 20, 30}},
	5: {{10, 40}, {20, 50}, {30, 60}},
	6: {{40, 10}, {50, 20}, {60, 30}},
	7: {{60, 30}, {50, 20}, {40, 10}},
	8: {{30, 60}, {20, 50}, {10, 40}},
}

func TestOrient(t *testing.T) {
	stored := image.NewGray(image.Rect(5, 7, 8, 9)) // not at the origin
	copy(stored.Pix, cells)
	for o := 0; o <= 9; o++ {
		img := Orient(stored, o)
		want, ok := displayed[o]
		if !ok || o == 1 {
			if img != image.Image(stored) {
				t.Errorf("orientation %d: not the image itself", o)
			}
			continue
		}
		b := img.Bounds()
		if b != image.Rect(0, 0, len(want[0]), len(want)) {
			t.Errorf("orientation %d: bounds %v, want %dx%d at the origin", o, b, len(want[0]), len(want))
			continue
		}
		grey := greyFunc(img)
		for y, row := range want {
			for x, v := range row {
				if g := grey(x, y); g != float64(v) {
					t.Errorf("orientation %d: grey level at (%d, %d) is %g, want %d", o, x, y, g, v)
				}
				if r, _, _, _ := img.At(x, y).RGBA(); r>>8 != uint32(v) {
					t.Errorf("orientation %d: At(%d, %d) is %d, want %d", o, x, y, r>>8, v)
				}
			}
		}
		for _, p := range []image.Point{{-1, 0}, {b.Max.X, 0}, {0, -1}, {0, b.Max.Y}} {
			// Outside the bounds, as for any image: the zero colour.
			if c := img.At(p.X, p.Y); c != (color.Gray{}) {
				t.Errorf("orientation %d: At%v outside the bounds is %v", o, p, c)
			}
		}
	}
}

// TestReadEXIFOrientation reads JPEGs of the six cells, each 8×8 pixels (a
// JPEG block, so they come back nearly exact), whose EXIF segment gives
// each orientation in turn, in both byte orders: Read returns the photo as
// displayed and Probe its displayed size.
func TestReadEXIFOrientation(t *testing.T) {
	const k = 8
	stored := image.NewGray(image.Rect(0, 0, 3*k, 2*k))
	for y := range 2 * k {
		for x := range 3 * k {
			stored.Pix[y*stored.Stride+x] = cells[(y/k)*3+x/k]
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, stored, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for o := 1; o <= 8; o++ {
		for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			name := filepath.Join(dir, order.String()+string(rune('0'+o))+".jpg")
			// A JFIF segment first, as many cameras write.
			jfif := appSegment(0xE0, []byte("JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00"))
			if err := os.WriteFile(name, afterSOI(b.Bytes(), jfif, exifSegment(order, uint16(o))), 0o644); err != nil {
				t.Fatal(err)
			}
			want := displayed[o]
			info, err := Probe(name, 0)
			if err != nil || info.Orientation != o || info.Format != "jpeg" || info.Width != k*len(want[0]) || info.Height != k*len(want) {
				t.Errorf("%s: Probe = %+v, %v; want orientation %d, %dx%d", order, info, err, o, k*len(want[0]), k*len(want))
			}
			img, err := Read(name, 0)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != image.Rect(0, 0, k*len(want[0]), k*len(want)) {
				t.Fatalf("%s, orientation %d: bounds %v", order, o, img.Bounds())
			}
			grey := greyFunc(img)
			for y, row := range want {
				for x, v := range row {
					if g := grey(k*x+k/2, k*y+k/2); g < float64(v)-2 || g > float64(v)+2 {
						t.Errorf("%s, orientation %d: cell (%d, %d) is %g, want %d", order, o, x, y, g, v)
					}
				}
			}
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	jpg := b.Bytes()
	six := exifSegment(binary.BigEndian, 6)
	exif := func(edit func(tiff []byte)) []byte {
		seg := slices.Clone(six)
		edit(seg[10:])
		return afterSOI(jpg, seg)
	}
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"no EXIF", jpg, 1},
		{"orientation 6", afterSOI(jpg, six), 6},
		{"after fill bytes", afterSOI(jpg, []byte{0xFF, 0xFF}, six), 6},
		{"the first EXIF segment wins", afterSOI(jpg, exifSegment(binary.LittleEndian, 3), six), 3},
		{"after the scan", slices.Concat(jpg[:len(jpg)-2], six, jpg[len(jpg)-2:]), 1},
		{"not a JPEG", []byte("hello"), 1},
		{"empty", nil, 1},
		{"cut in the segment", afterSOI(jpg, six)[:30], 1},
		{"cut in the marker", afterSOI(jpg, six)[:3], 1},
		{"segment length too short", afterSOI(jpg, []byte{0xFF, 0xE1, 0, 1}), 1},
		{"segment length too long", afterSOI(jpg, []byte{0xFF, 0xE1, 0xFF, 0xFF, 'E'}), 1},
		{"APP1 that is not EXIF", afterSOI(jpg, appSegment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00"))), 1},
		{"bad byte order", exif(func(t []byte) { copy(t, "XX") }), 1},
		{"not 42", exif(func(t []byte) { t[3] = 43 }), 1},
		{"IFD0 past the end", exif(func(t []byte) { binary.BigEndian.PutUint32(t[4:], 1<<31) }), 1},
		{"IFD0 at the very end", exif(func(t []byte) { binary.BigEndian.PutUint32(t[4:], 0xFFFFFFFF) }), 1},
		{"more entries than there are", exif(func(t []byte) { binary.BigEndian.PutUint16(t[8:], 1000) }), 6},
		{"entries cut short", exif(func(t []byte) { binary.BigEndian.PutUint16(t[8:], 0); copy(t[22:], "xx") }), 1},
		{"orientation as a LONG", exif(func(t []byte) { binary.BigEndian.PutUint16(t[24:], 4) }), 1},
		{"orientation count 2", exif(func(t []byte) { binary.BigEndian.PutUint32(t[26:], 2) }), 1},
		{"orientation 0", exif(func(t []byte) { binary.BigEndian.PutUint16(t[30:], 0) }), 1},
		{"orientation 9", exif(func(t []byte) { binary.BigEndian.PutUint16(t[30:], 9) }), 1},
	}
	for _, tt := range tests {
		if got := jpegOrientation(tt.data); got != tt.want {
			t.Errorf("%s: orientation %d, want %d", tt.name, got, tt.want)
		}
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		f.Fatal(err)
	}
	f.Add(afterSOI(b.Bytes(), exifSegment(binary.BigEndian, 6))[:80])
	f.Add(afterSOI(b.Bytes(), exifSegment(binary.LittleEndian, 8))[:80])
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

// TestCutMemory cuts the face out of a 4000×3000 photo and checks that it
// allocates a small part of the photo's size: no grey copy of the whole
// box (which, in float64, would be 96 MB).
func TestCutMemory(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4000, 3000))
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 251)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Cut(img, image.Rectangle{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("Cut of a 12-megapixel photo allocated %d MB, want under 8", n>>20)
	}
}
