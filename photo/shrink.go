package photo

import (
	"image"
	"math"
)

// Shrink returns img in grey levels, by the luma Cut uses, shrunk by area
// averaging (as Cut shrinks) to the largest size of at most maxPixels
// pixels with the same proportions, with its top-left pixel at (0, 0):
// what a face detector needs of a photo much larger than its faces. An
// image of at most maxPixels pixels is converted at its own size, as Grey
// does. Like Cut, it holds one row of img in grey levels at a time: the
// memory is that of the result and of a row.
//
// The result's pixel (x, y) covers the image's [x, x+1)·Dx/w by
// [y, y+1)·Dy/h, where w×h is the result's size; ShrinkScale maps back.
func Shrink(img image.Image, maxPixels int64) *image.Gray {
	b := img.Bounds()
	w, h := ShrinkSize(b.Dx(), b.Dy(), maxPixels)
	out := image.NewGray(image.Rect(0, 0, w, h))
	if w == 0 || h == 0 {
		return out
	}
	cols := resampleWeights(b.Dx(), w)
	rows := resampleWeights(b.Dy(), h)
	line := make([]float64, b.Dx())
	across := make([]float64, w) // the last source row read, resampled to w
	sum := make([]float64, w)
	last := -1
	for y, taps := range rows {
		clear(sum)
		for j, wt := range taps.weights {
			if sy := taps.first + j; sy != last {
				greyRow(img, b.Min.Y+sy, line)
				for x, t := range cols {
					across[x] = t.apply(func(i int) float64 { return line[i] })
				}
				last = sy
			}
			for x, v := range across {
				sum[x] += wt * v
			}
		}
		row := out.Pix[y*out.Stride : y*out.Stride+w]
		for x, v := range sum {
			row[x] = uint8(math.Round(min(max(v, 0), 255)))
		}
	}
	return out
}

// ShrinkSize returns the size of Shrink's result for an image of w×h
// pixels: w×h itself when it has at most maxPixels pixels (or maxPixels
// is 0 or less), else the largest size of at most maxPixels pixels with
// the same proportions, at least 1×1.
func ShrinkSize(w, h int, maxPixels int64) (int, int) {
	if maxPixels <= 0 || int64(w)*int64(h) <= maxPixels {
		return w, h
	}
	scale := math.Sqrt(float64(maxPixels) / (float64(w) * float64(h)))
	sw, sh := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	for int64(sw)*int64(sh) > maxPixels && (sw > 1 || sh > 1) { // rounding
		if sw >= sh {
			sw--
		} else {
			sh--
		}
	}
	return sw, sh
}

// GreyRect returns the pixels of img inside r (clipped to img's bounds)
// in grey levels, by the luma Cut uses, at their own coordinates: the
// result's bounds are r ∩ img.Bounds(). Cut and CutPadded read the same
// grey levels from it, rounded to whole levels, as from img inside r.
func GreyRect(img image.Image, r image.Rectangle) *image.Gray {
	r = r.Intersect(img.Bounds())
	out := image.NewGray(r)
	line := make([]float64, img.Bounds().Dx())
	x0 := r.Min.X - img.Bounds().Min.X
	for y := r.Min.Y; y < r.Max.Y; y++ {
		greyRow(img, y, line)
		row := out.Pix[out.PixOffset(r.Min.X, y):]
		for x := range r.Dx() {
			row[x] = uint8(math.Round(min(max(line[x0+x], 0), 255)))
		}
	}
	return out
}

// greyRow sets line to the grey levels of img's row y, from the left
// edge of its bounds; line holds img.Bounds().Dx() values. The common
// kinds of image are read directly.
func greyRow(img image.Image, y int, line []float64) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.RGBA:
		p := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := range line {
			q := p[4*x : 4*x+3 : 4*x+3]
			line[x] = 0.299*float64(q[0]) + 0.587*float64(q[1]) + 0.114*float64(q[2])
		}
		return
	case *image.Gray:
		p := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := range line {
			line[x] = float64(p[x])
		}
		return
	case *image.YCbCr:
		p := m.Y[m.YOffset(b.Min.X, y):]
		for x := range line {
			line[x] = float64(p[x])
		}
		return
	}
	grey := greyFunc(img)
	for x := range line {
		line[x] = grey(b.Min.X+x, y)
	}
}
