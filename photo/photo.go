// Package photo turns a photograph of any size into the 96×96 grey face
// that fkd's models read, and maps keypoints found on that face back onto
// the photograph.
//
// Read decodes PNG and JPEG files. Cut takes a box of the photo holding
// the face (the whole photo by default), converts it to grey levels by
// luma and resamples it to 96×96: by averaging over the area each face
// pixel covers when shrinking, bilinearly when enlarging, each axis on
// its own. A box that is not square is stretched to a square face, so
// give a square box for an undistorted one.
//
// Coordinates are continuous, as in package dataset: pixel column c
// spans [c, c+1), on the face and on the photo alike. The face's 96
// columns cover the box's columns exactly, so a face x maps to the photo
// linearly: box.Min.X + x·box.Dx()/96, and the same for y (Face.ToPhoto).
package photo

import (
	"fmt"
	"image"
	_ "image/jpeg" // register the JPEG decoder
	_ "image/png"  // register the PNG decoder
	"math"
	"os"

	"github.com/fkd-project/fkd/dataset"
)

// Read decodes the PNG or JPEG image in the file at path.
func Read(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read photo: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err == image.ErrFormat {
		return nil, fmt.Errorf("read photo %s: not a PNG or JPEG image", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read photo %s: %w", path, err)
	}
	return img, nil
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
	grey := luma(img, box)
	const n = dataset.ImageSize
	cols := resampleWeights(box.Dx(), n)
	rows := resampleWeights(box.Dy(), n)
	// Resample the rows, then the columns.
	w := box.Dx()
	across := make([]float64, box.Dy()*n)
	for y := range box.Dy() {
		src := grey[y*w : (y+1)*w]
		for x, taps := range cols {
			across[y*n+x] = taps.apply(func(i int) float64 { return src[i] })
		}
	}
	pixels := make([]uint8, dataset.PixelCount)
	for y, taps := range rows {
		for x := range n {
			v := taps.apply(func(i int) float64 { return across[i*n+x] })
			pixels[y*n+x] = uint8(math.Round(min(max(v, 0), 255)))
		}
	}
	return &Face{Pixels: pixels, Box: box}, nil
}

// ToPhoto maps a point of the face, in face pixels, to the photo's pixels.
func (f *Face) ToPhoto(x, y float64) (float64, float64) {
	return float64(f.Box.Min.X) + x*float64(f.Box.Dx())/dataset.ImageSize,
		float64(f.Box.Min.Y) + y*float64(f.Box.Dy())/dataset.ImageSize
}

// KeypointsToPhoto maps the 30 coordinates of one face's keypoints, x
// then y of each in dataset.Keypoints order and in face pixels (as
// models.Predict returns them), to the photo's pixels.
func (f *Face) KeypointsToPhoto(coords []float32) [dataset.NumCoords]float64 {
	if len(coords) != dataset.NumCoords {
		panic(fmt.Sprintf("photo: %d coordinates, want %d", len(coords), dataset.NumCoords))
	}
	var out [dataset.NumCoords]float64
	for k := range dataset.NumKeypoints {
		out[2*k], out[2*k+1] = f.ToPhoto(float64(coords[2*k]), float64(coords[2*k+1]))
	}
	return out
}

// luma returns the grey levels, 0 to 255, of the pixels of img in box,
// row-major.
func luma(img image.Image, box image.Rectangle) []float64 {
	w, h := box.Dx(), box.Dy()
	out := make([]float64, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			for x := range w {
				out[y*w+x] = float64(m.GrayAt(box.Min.X+x, box.Min.Y+y).Y)
			}
		}
	case *image.YCbCr: // JPEG: Y is the luma
		for y := range h {
			for x := range w {
				out[y*w+x] = float64(m.Y[m.YOffset(box.Min.X+x, box.Min.Y+y)])
			}
		}
	default:
		for y := range h {
			for x := range w {
				r, g, b, _ := img.At(box.Min.X+x, box.Min.Y+y).RGBA() // 16 bits, alpha-premultiplied
				out[y*w+x] = (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
			}
		}
	}
	return out
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
