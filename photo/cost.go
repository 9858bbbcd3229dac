package photo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"io"
)

// ProbeReader reads the header of the PNG or JPEG image that r begins
// with, as Probe does a file's, without decoding its pixels: refused
// with a *TooLargeError naming name when it has more than maxPixels
// pixels.
func ProbeReader(r io.Reader, name string, maxPixels int64) (Info, error) {
	info, _, err := decode(r, name, maxPixels, false)
	return info, err
}

// DecodeBytes returns, about, the most memory in bytes that Decode takes
// to decode the PNG or JPEG image data holds, read from its header alone:
// the bitmap the decoder makes (1 to 8 bytes a pixel, by the colour
// model), twice that for an interlaced PNG (its passes), and for a
// progressive JPEG the coefficients it keeps until the last scan (4 bytes
// a coefficient). It errs as image.DecodeConfig does.
func DecodeBytes(data []byte) (int64, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	pixels := int64(cfg.Width) * int64(cfg.Height)
	var perPixel int64
	switch format {
	case "png":
		switch cfg.ColorModel {
		case color.Gray16Model:
			perPixel = 8 // 16-bit grey with a transparent level decodes to NRGBA64
		case color.RGBAModel, color.NRGBAModel, color.GrayModel: // grey with a transparent level: NRGBA
			perPixel = 4
		case color.RGBA64Model, color.NRGBA64Model:
			perPixel = 8
		default: // paletted
			perPixel = 1
		}
		if len(data) > 28 && data[28] == 1 { // IHDR's interlace method: Adam7
			perPixel *= 2
		}
	case "jpeg":
		components := int64(3)
		switch cfg.ColorModel {
		case color.GrayModel:
			components = 1
		case color.CMYKModel:
			components = 8 // YCbCr and K planes, then the CMYK image
		}
		perPixel = components
		if jpegProgressive(data) {
			perPixel += 4 * min(components, 4)
		}
	default:
		perPixel = 8
	}
	return pixels * perPixel, nil
}

// jpegProgressive reports whether the JPEG data holds is progressive: its
// frame header is SOF2 (or SOF6, SOF10, SOF14).
func jpegProgressive(data []byte) bool {
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			return false
		}
		marker := data[p+1]
		switch {
		case marker == 0xFF:
			p++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8:
			p += 2
			continue
		case marker == 0xDA || marker == 0xD9:
			return false
		case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
			return marker&3 == 2
		}
		p += 2 + int(binary.BigEndian.Uint16(data[p+2:]))
	}
	return false
}
