package photo

import (
	"bytes"
	"image"
	"strings"
	"testing"
)

// TestEncodeByName encodes an image in the format its name says and
// decodes it back: a .jpg holds JPEG bytes, a .png PNG; other names are
// refused.
func TestEncodeByName(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 12, 8))
	tests := []struct {
		name, want string // want: the format, "" for refused
	}{
		{"a-keypoints.png", "png"},
		{"a.PNG", "png"},
		{"a-keypoints.jpg", "jpeg"},
		{"a.JPEG", "jpeg"},
		{"a.gif", ""},
		{"a-keypoints", ""},
		{"a.png.bak", ""},
	}
	for _, tt := range tests {
		format, err := FormatOf(tt.name)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("FormatOf(%q) = %q, %v; want an error naming it", tt.name, format, err)
			}
			continue
		}
		if err != nil || format != tt.want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", tt.name, format, err, tt.want)
			continue
		}
		var b bytes.Buffer
		if err := Encode(&b, img, format); err != nil {
			t.Fatal(err)
		}
		_, info, err := Decode(&b, tt.name, 0)
		if err != nil || info.Format != tt.want || info.Width != 12 || info.Height != 8 {
			t.Errorf("%s: decoded %+v, %v; want %s of 12x8", tt.name, info, err, tt.want)
		}
	}
	if err := Encode(new(bytes.Buffer), img, "gif"); err == nil {
		t.Error("Encode in gif: no error")
	}
}
