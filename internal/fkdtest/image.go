package fkdtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/fkd-project/fkd/detect"
)

// WritePhoto encodes img into dir/name, as PNG where name ends in ".png"
// and else as JPEG (quality 100), and returns its path.
func WritePhoto(t testing.TB, dir, name string, img image.Image) string {
	t.Helper()
	path := filepath.Join(dir, name)
	write(t, path, img, filepath.Ext(name) == ".png")
	return path
}

// WritePNG encodes img as PNG into path, whatever its extension, making
// its folder if need be.
func WritePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, img, true)
}

func write(t testing.TB, path string, img image.Image, asPNG bool) {
	t.Helper()
	var b bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 100})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// SizeDetector finds Faces only in images of Size: a photo of another
// size has no face.
type SizeDetector struct {
	Size  image.Point
	Faces detect.Fixed
}

func (d SizeDetector) Detect(img image.Image) ([]detect.Face, error) {
	if img.Bounds().Size() != d.Size {
		return nil, nil
	}
	return d.Faces.Detect(img)
}

// ReadPNG decodes the PNG file at path.
func ReadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// PNGHeader returns the start of a PNG file of w×h RGB pixels: the
// signature and the IHDR chunk, with its CRC, and no pixels; a file that
// says it is huge and holds nothing.
func PNGHeader(w, h uint32) []byte {
	chunk := []byte("IHDR")
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 2, 0, 0, 0) // 8 bits, RGB, deflate, no filter, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, uint32(len(chunk)-4))
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}
