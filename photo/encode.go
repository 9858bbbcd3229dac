package photo

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"strings"
)

// JPEGQuality is the quality Encode writes JPEG files at.
const JPEGQuality = 92

// FormatOf returns the format, "png" or "jpeg", that a file of name's
// extension holds (.png; .jpg or .jpeg, in any case), or an error for
// another extension: Encode writes no other.
func FormatOf(name string) (string, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png":
		return "png", nil
	case ".jpg", ".jpeg":
		return "jpeg", nil
	}
	return "", fmt.Errorf("%s: fkd writes PNG (.png) or JPEG (.jpg, .jpeg) images, not %q", name, filepath.Ext(name))
}

// Encode writes img to w in format, "png" or "jpeg" (FormatOf), JPEG at
// JPEGQuality.
func Encode(w io.Writer, img image.Image, format string) error {
	switch format {
	case "png":
		return png.Encode(w, img)
	case "jpeg":
		return jpeg.Encode(w, img, &jpeg.Options{Quality: JPEGQuality})
	}
	return fmt.Errorf("encode image: unknown format %q", format)
}
