package photo_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/photo"
)

// TestDecodeTooLarge decodes from a reader a PNG header that claims
// 60000×60000 pixels: it is refused without reading further.
func TestDecodeTooLarge(t *testing.T) {
	// Only the header can be read: any read past it fails the test.
	huge := io.MultiReader(bytes.NewReader(fkdtest.PNGHeader(60000, 60000)), failReader{t})
	_, _, err := photo.Decode(huge, "the body", 0)
	var big *photo.TooLargeError
	if !errors.As(err, &big) || big.Width != 60000 || !strings.Contains(err.Error(), "the body: 60000x60000 pixels is 3600 megapixels") {
		t.Errorf("60000x60000 PNG: %v", err)
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("read past the header")
	return 0, io.EOF
}

// TestReadTooLarge reads PNG files that are nothing but a header: one that
// claims 60000×60000 pixels is refused from the header, never decoded
// (the decoder would want 14 GB, and would find no pixels to read).
func TestReadTooLarge(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name      string
		w, h      uint32
		maxPixels int64
		want      string // in the error; "" for none from Probe
	}{
		{"huge.png", 60000, 60000, 0, "read photo DIR/huge.png: 60000x60000 pixels is 3600 megapixels, more than the limit of 50"},
		{"limit.png", 5000, 10000, 0, ""},
		{"over.png", 5000, 10001, 0, "5000x10001 pixels is 50.005 megapixels, more than the limit of 50"},
		{"lower.png", 1001, 1000, 1_000_000, "1001x1000 pixels is 1.001 megapixels, more than the limit of 1"},
		{"raised.png", 100000, 100000, 1e10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, fkdtest.PNGHeader(tt.w, tt.h), 0o644); err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			info, err := photo.Probe(path, tt.maxPixels)
			if tt.want == "" {
				if err != nil || info.Width != int(tt.w) || info.Height != int(tt.h) || info.Orientation != 1 || info.Format != "png" {
					t.Fatalf("Probe = %+v, %v", info, err)
				}
				return
			}
			var big *photo.TooLargeError
			if !errors.As(err, &big) || big.Width != int(tt.w) || big.Height != int(tt.h) || !strings.Contains(err.Error(), want) {
				t.Errorf("Probe: error %v, want a TooLargeError %q", err, want)
			}
			img, err := photo.Read(path, tt.maxPixels)
			if img != nil || !errors.As(err, &big) || !strings.Contains(err.Error(), want) {
				t.Errorf("Read: %v, error %v; want a TooLargeError %q", img, err, want)
			}
		})
	}
}
