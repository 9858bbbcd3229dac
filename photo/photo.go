// Package photo turns a photograph of any size into the 96×96 grey face
// that fkd's models read, and maps keypoints found on that face back onto
// the photograph.
//
// Read decodes PNG and JPEG files. It reads the size from the header
// first and refuses a photo of more than a limit of pixels
// (DefaultMaxPixels, 50 megapixels, unless the caller gives another)
// without decoding it: the decoder would need the whole bitmap in memory,
// 4 to 8 bytes a pixel, and a small file can claim billions of pixels.
// Probe does the same checks from the header alone; Decode does Read's
// work on a reader, such as an HTTP request's body.
//
// A JPEG's EXIF orientation (tag 0x0112, values 1 to 8) is honoured: the
// image Read returns is the photo as a viewer displays it, turned or
// mirrored (Orient), and every coordinate here, boxes and keypoints, is
// in the displayed photo's pixels.
//
// Cut takes a box of the photo holding the face (the whole photo by
// default), converts it to grey levels by luma and resamples it to 96×96:
// by averaging over the area each face pixel covers when shrinking,
// bilinearly when enlarging, each axis on its own. It works a row of the
// box at a time, so a big photo costs no grey copy of its own size. A box
// that is not square is stretched to a square face, so give a square box
// for an undistorted one. A face of fewer than MinFaceSide pixels a side
// is enlarged more than twice: the keypoints found on it are rough.
// CutPadded takes a box that may reach past the photo's edge, as the
// square framing a face near the edge does. Grey gives the grey levels a
// face detector reads.
//
// Coordinates are continuous, as in package dataset: pixel column c
// spans [c, c+1), on the face and on the photo alike. The face's 96
// columns cover the box's columns exactly, so a face x maps to the photo
// linearly: box.Min.X + x·box.Dx()/96, and the same for y (Face.ToPhoto).
package photo

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register the JPEG decoder
	_ "image/png"  // register the PNG decoder
	"io"
	"math"
	"os"
	"strconv"

	"github.com/fkd-project/fkd/dataset"
)

// DefaultMaxPixels is the largest photo, width × height, that Read and
// Probe accept unless told otherwise: 50 megapixels, more than any
// camera's photo of a face needs.
const DefaultMaxPixels = 50_000_000

// MinFaceSide is the smallest face box, in pixels a side, whose keypoints
// are worth the name: below it the face is enlarged more than twice to
// 96×96 and holds too little detail.
const MinFaceSide = dataset.ImageSize / 2

// TooLargeError is the error of Read and Probe for a photo of more pixels
// than the limit.
type TooLargeError struct {
	Path          string
	Width, Height int   // of the photo, pixels
	MaxPixels     int64 // the limit, width × height
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("read photo %s: %dx%d pixels is %s megapixels, more than the limit of %s",
		e.Path, e.Width, e.Height, megapixels(int64(e.Width)*int64(e.Height)), megapixels(e.MaxPixels))
}

// megapixels writes a number of pixels in millions, exactly: 50005000 is
// 50.005.
func megapixels(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64)
}

// Info is what a photo's header says about it.
type Info struct {
	Format string // "png" or "jpeg"
	// Width and Height are those of the photo as displayed, after its
	// orientation: a photo turned a quarter has them swapped.
	Width, Height int
	// Orientation is the EXIF orientation, 1 (as stored) to 8; see Orient.
	Orientation int
}

// Probe reads the header of the PNG or JPEG image in the file at path,
// without decoding its pixels, and refuses it with a *TooLargeError when
// it has more than maxPixels pixels (DefaultMaxPixels when maxPixels is 0
// or less).
func Probe(path string, maxPixels int64) (Info, error) {
	info, _, err := read(path, maxPixels, false)
	return info, err
}

// Read decodes the PNG or JPEG image in the file at path and returns it as
// displayed: turned or mirrored as its EXIF orientation says, with its
// top-left pixel at (0, 0). A photo of more than maxPixels pixels
// (DefaultMaxPixels when maxPixels is 0 or less) is refused with a
// *TooLargeError before it is decoded.
func Read(path string, maxPixels int64) (image.Image, error) {
	_, img, err := read(path, maxPixels, true)
	return img, err
}

// Decode decodes the PNG or JPEG image that r holds, as Read does a
// file's: refused with a *TooLargeError naming name before its pixels are
// decoded when it has more than maxPixels pixels, and returned as
// displayed under its EXIF orientation. name only labels errors.
func Decode(r io.Reader, name string, maxPixels int64) (image.Image, Info, error) {
	info, img, err := decode(r, name, maxPixels, true)
	return img, info, err
}

func read(path string, maxPixels int64, decodePixels bool) (Info, image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, nil, fmt.Errorf("read photo: %w", err)
	}
	defer f.Close()
	return decode(f, path, maxPixels, decodePixels)
}

// ErrFormat is wrapped by the errors of Read and Decode for data that is
// not a PNG or JPEG image.
var ErrFormat = errors.New("not a PNG or JPEG image")

func decode(r io.Reader, name string, maxPixels int64, decodePixels bool) (Info, image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	// The header goes through head too, so that the decoder can read the
	// data from its start after it without seeking: r may be a pipe.
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(r, &head))
	if errors.Is(err, image.ErrFormat) {
		return Info{}, nil, fmt.Errorf("read photo %s: %w", name, ErrFormat)
	}
	if err != nil {
		return Info{}, nil, fmt.Errorf("read photo %s: %w", name, err)
	}
	if n := int64(cfg.Width) * int64(cfg.Height); n > maxPixels {
		return Info{}, nil, &TooLargeError{Path: name, Width: cfg.Width, Height: cfg.Height, MaxPixels: maxPixels}
	}
	info := Info{Format: format, Width: cfg.Width, Height: cfg.Height, Orientation: 1}
	if format == "jpeg" {
		// The EXIF segment comes right after the start of the image,
		// before the frame header that DecodeConfig reads up to.
		info.Orientation = jpegOrientation(head.Bytes())
	}
	if info.Orientation >= 5 {
		info.Width, info.Height = info.Height, info.Width
	}
	if !decodePixels {
		return info, nil, nil
	}
	img, _, err := image.Decode(io.MultiReader(bytes.NewReader(head.Bytes()), r))
	if err != nil {
		return Info{}, nil, fmt.Errorf("read photo %s: %w", name, err)
	}
	return info, Orient(img, info.Orientation), nil
}

// Face is a face cut out of a photo.
type Face struct {
	// Pixels are the dataset.PixelCount grey levels of the face,
	// row-major, as dataset.Set holds them.
	Pixels []uint8
	// Box is the part of the photo the face shows, in the photo's pixel
	// coordinates.
	Box image.Rectangle
}

// Cut cuts the face in box out of img: the box's pixels, converted to
// grey levels by their luma (0.299 R + 0.587 G + 0.114 B; the Y plane of a
// JPEG as it is; transparency over black), resampled to 96×96. An empty
// box means the whole image. The box must lie inside the image.
//
// Cut holds one row of the box in grey levels at a time, and the few rows
// already resampled across that the face row being made still needs:
// memory in the width and the height of the box, not their product.
func Cut(img image.Image, box image.Rectangle) (*Face, error) {
	if box.Empty() {
		box = img.Bounds()
	}
	if box.Empty() {
		return nil, fmt.Errorf("cut face: the image is empty")
	}
	if !box.In(img.Bounds()) {
		return nil, fmt.Errorf("cut face: box %v is not inside the %dx%d image at %v",
			box, img.Bounds().Dx(), img.Bounds().Dy(), img.Bounds().Min)
	}
	return cut(img, box), nil
}

// CutPadded is Cut for a box that may reach past the image, as the
// square framing a face near the photo's edge does: the box's pixels
// outside the image take the grey level of the nearest pixel inside it.
// The box must overlap the image.
func CutPadded(img image.Image, box image.Rectangle) (*Face, error) {
	if box.Empty() || !box.Overlaps(img.Bounds()) {
		return nil, fmt.Errorf("cut face: box %v does not overlap the %dx%d image at %v",
			box, img.Bounds().Dx(), img.Bounds().Dy(), img.Bounds().Min)
	}
	return cut(img, box), nil
}

// cut does the work of Cut and CutPadded for a non-empty box that
// overlaps img.
func cut(img image.Image, box image.Rectangle) *Face {
	const n = dataset.ImageSize
	cols := resampleWeights(box.Dx(), n)
	rows := resampleWeights(box.Dy(), n)
	grey := greyFunc(img)
	if !box.In(img.Bounds()) {
		b, inner := img.Bounds(), grey
		grey = func(x, y int) float64 {
			return inner(min(max(x, b.Min.X), b.Max.X-1), min(max(y, b.Min.Y), b.Max.Y-1))
		}
	}
	line := make([]float64, box.Dx())
	// across holds rows of the box, by their index in it, resampled to n
	// pixels, while a face row still to be made needs them.
	across := map[int][]float64{}
	row := func(y int) []float64 {
		if r, ok := across[y]; ok {
			return r
		}
		for x := range line {
			line[x] = grey(box.Min.X+x, box.Min.Y+y)
		}
		r := make([]float64, n)
		for x, taps := range cols {
			r[x] = taps.apply(func(i int) float64 { return line[i] })
		}
		across[y] = r
		return r
	}
	pixels := make([]uint8, dataset.PixelCount)
	sum := make([]float64, n)
	for y, taps := range rows {
		clear(sum)
		for j, w := range taps.weights {
			for x, v := range row(taps.first + j) {
				sum[x] += w * v
			}
		}
		for x, v := range sum {
			pixels[y*n+x] = uint8(math.Round(min(max(v, 0), 255)))
		}
		if y+1 < n {
			for i := range across {
				if i < rows[y+1].first {
					delete(across, i)
				}
			}
		}
	}
	return &Face{Pixels: pixels, Box: box}
}

// Grey returns img in grey levels, by the luma Cut uses, with its
// top-left pixel at (0, 0): what a face detector reads.
func Grey(img image.Image) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	grey := greyFunc(img)
	for y := range b.Dy() {
		row := out.Pix[y*out.Stride : y*out.Stride+b.Dx()]
		for x := range row {
			row[x] = uint8(math.Round(min(max(grey(b.Min.X+x, b.Min.Y+y), 0), 255)))
		}
	}
	return out
}

// ToPhoto maps a point of the face, in face pixels, to the photo's pixels.
func (f *Face) ToPhoto(x, y float64) (float64, float64) {
	return float64(f.Box.Min.X) + x*float64(f.Box.Dx())/dataset.ImageSize,
		float64(f.Box.Min.Y) + y*float64(f.Box.Dy())/dataset.ImageSize
}

// KeypointsToPhoto maps the 30 coordinates of one face's keypoints, x
// then y of each in dataset.Keypoints order, as models.Predict returns
// them (keypoint coordinates, which count pixels from 1: see
// dataset.PixelOrigin), to the photo's pixels.
func (f *Face) KeypointsToPhoto(coords []float32) [dataset.NumCoords]float64 {
	if len(coords) != dataset.NumCoords {
		panic(fmt.Sprintf("photo: %d coordinates, want %d", len(coords), dataset.NumCoords))
	}
	var out [dataset.NumCoords]float64
	for k := range dataset.NumKeypoints {
		out[2*k], out[2*k+1] = f.ToPhoto(float64(coords[2*k])-dataset.PixelOrigin, float64(coords[2*k+1])-dataset.PixelOrigin)
	}
	return out
}

// greyFunc returns a function giving the grey level, 0 to 255, of the
// pixel of img at (x, y), reading the common kinds of image directly.
func greyFunc(img image.Image) func(x, y int) float64 {
	switch m := img.(type) {
	case *oriented:
		g := greyFunc(m.img)
		return func(x, y int) float64 { return g(m.stored(x, y)) }
	case *image.Gray:
		return func(x, y int) float64 { return float64(m.Pix[m.PixOffset(x, y)]) }
	case *image.YCbCr: // JPEG: Y is the luma
		return func(x, y int) float64 { return float64(m.Y[m.YOffset(x, y)]) }
	case *image.RGBA:
		return func(x, y int) float64 { return luma(m.RGBAAt(x, y).RGBA()) }
	case *image.NRGBA:
		return func(x, y int) float64 { return luma(m.NRGBAAt(x, y).RGBA()) }
	}
	return func(x, y int) float64 { return luma(img.At(x, y).RGBA()) }
}

// luma is the grey level, 0 to 255, of a colour given as
// color.Color.RGBA returns it: 16 bits, alpha-premultiplied.
func luma(r, g, b, _ uint32) float64 {
	return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
}

// taps are the source pixels, and their weights, that make one resampled
// pixel.
type taps struct {
	first   int       // index of the first source pixel
	weights []float64 // of source pixels first, first+1, ...
}

// apply returns the weighted sum of the source pixels src(i).
func (t taps) apply(src func(i int) float64) float64 {
	var v float64
	for j, w := range t.weights {
		v += w * src(t.first+j)
	}
	return v
}

// resampleWeights returns, for each of out pixels along one axis, the
// source pixels of a line of in pixels it is made of. Pixel o of the
// result covers source positions [o, o+1)·in/out. When shrinking (or
// keeping the size) it is the average over that interval, each source
// pixel weighted by how much of it lies inside: area resampling, which
// keeps every grey level's share and does not alias. When enlarging it
// interpolates linearly between the two source pixels whose centres
// surround its centre, (o + 0.5)·in/out, holding the edge pixels' values
// beyond the outermost centres.
func resampleWeights(in, out int) []taps {
	ts := make([]taps, out)
	if in >= out {
		scale := float64(in) / float64(out)
		for o := range out {
			lo := float64(o*in) / float64(out)
			hi := float64((o+1)*in) / float64(out)
			first := int(math.Floor(lo))
			last := min(int(math.Ceil(hi)), in) // exclusive
			ws := make([]float64, last-first)
			for i := first; i < last; i++ {
				ws[i-first] = (min(float64(i+1), hi) - max(float64(i), lo)) / scale
			}
			ts[o] = taps{first: first, weights: ws}
		}
		return ts
	}
	for o := range out {
		pos := (float64(o)+0.5)*float64(in)/float64(out) - 0.5 // in source pixel indices
		pos = min(max(pos, 0), float64(in-1))
		i := min(int(math.Floor(pos)), in-1)
		f := pos - float64(i)
		if i == in-1 || f == 0 { // on a centre, or beyond the last one
			ts[o] = taps{first: i, weights: []float64{1}}
			continue
		}
		ts[o] = taps{first: i, weights: []float64{1 - f, f}}
	}
	return ts
}
