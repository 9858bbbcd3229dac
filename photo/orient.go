package photo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
)

// Orient returns img as displayed under the EXIF orientation given. The orientations, as EXIF numbers them,
// say how the stored image is to be shown:
//
//	1  as stored
//	2  mirrored left to right
//	3  turned half a turn
//	4  mirrored top to bottom
//	5  mirrored along the main diagonal (transposed)
//	6  turned a quarter clockwise
//	7  mirrored along the other diagonal (transversed)
//	8  turned a quarter anticlockwise
//
// 5 to 8 swap the width and the height. For 1, or a number outside 1 to
// 8, Orient returns img itself; for the others a view of img, not a copy,
// with its top-left pixel at (0, 0).
func Orient(img image.Image, orientation int) image.Image {
	if orientation < 2 || orientation > 8 {
		return img
	}
	b := img.Bounds()
	return &oriented{img: img, orientation: orientation, min: b.Min, w: b.Dx(), h: b.Dy()}
}

// oriented is an image seen under an EXIF orientation.
type oriented struct {
	img         image.Image
	orientation int         // 2 to 8
	min         image.Point // of img's bounds
	w, h        int         // of img
}

func (o *oriented) ColorModel() color.Model { return o.img.ColorModel() }

func (o *oriented) Bounds() image.Rectangle {
	if o.orientation >= 5 {
		return image.Rect(0, 0, o.h, o.w)
	}
	return image.Rect(0, 0, o.w, o.h)
}

func (o *oriented) At(x, y int) color.Color { return o.img.At(o.stored(x, y)) }

// stored returns where the displayed pixel (x, y) is in the stored image.
// A pixel outside the displayed bounds maps outside the stored ones.
func (o *oriented) stored(x, y int) (int, int) {
	var sx, sy int
	switch o.orientation {
	case 2:
		sx, sy = o.w-1-x, y
	case 3:
		sx, sy = o.w-1-x, o.h-1-y
	case 4:
		sx, sy = x, o.h-1-y
	case 5:
		sx, sy = y, x
	case 6:
		sx, sy = y, o.h-1-x
	case 7:
		sx, sy = o.w-1-y, o.h-1-x
	case 8:
		sx, sy = o.w-1-y, x
	default:
		sx, sy = x, y
	}
	return o.min.X + sx, o.min.Y + sy
}

// jpegOrientation returns the EXIF orientation, 1 to 8, of the JPEG file
// that data begins: the Orientation tag (0x0112) of the first EXIF APP1
// segment before the image data. It returns 1 when data holds no such
// segment, or one that is cut short or malformed, or a value outside 1 to
// 8.
func jpegOrientation(data []byte) int {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 { // SOI
		return 1
	}
	for p := 2; p+2 <= len(data); {
		if data[p] != 0xFF {
			return 1
		}
		marker := data[p+1]
		switch {
		case marker == 0xFF: // a fill byte
			p++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // TEM, RSTn, SOI: no length
			p += 2
			continue
		case marker == 0xDA || marker == 0xD9: // the scan, or the end: no EXIF
			return 1
		}
		if p+4 > len(data) {
			return 1
		}
		size := int(binary.BigEndian.Uint16(data[p+2:])) // counts its own two bytes
		if size < 2 || p+2+size > len(data) {
			return 1
		}
		segment := data[p+4 : p+2+size]
		if marker == 0xE1 && bytes.HasPrefix(segment, []byte("Exif\x00\x00")) {
			return exifOrientation(segment[6:])
		}
		p += 2 + size
	}
	return 1
}

// exifOrientation returns the Orientation tag of the TIFF structure that
// an EXIF segment holds after its "Exif\0\0" header: a byte order mark
// ("II" little-endian, "MM" big-endian), 42, the offset of the first
// image file directory (IFD0), and there a count of 12-byte entries: tag,
// type, count, value. Orientation is type SHORT (3), count 1, its value in
// the value field's first two bytes. It returns 1 when there is no valid
// one.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(tiff[2:]) != 42 {
		return 1
	}
	off := uint64(order.Uint32(tiff[4:]))
	if off+2 > uint64(len(tiff)) {
		return 1
	}
	ifd := tiff[off:]
	count := int(order.Uint16(ifd))
	for i := range count {
		start := 2 + 12*i
		if start+12 > len(ifd) {
			return 1
		}
		entry := ifd[start : start+12]
		if order.Uint16(entry) != 0x0112 {
			continue
		}
		if order.Uint16(entry[2:]) != 3 || order.Uint32(entry[4:]) != 1 {
			return 1
		}
		if v := int(order.Uint16(entry[8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
