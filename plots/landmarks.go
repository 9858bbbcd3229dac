package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	xdraw "golang.org/x/image/draw"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fkd-project/fkd/dataset"
)

// Face is one face to draw with its keypoints, all in the pixel
// coordinates of the Kaggle data (the image spans [0, 96] on both axes).
type Face struct {
	Image []uint8   // dataset.PixelCount grey levels, row-major
	Pred  []float32 // dataset.NumCoords predicted coordinates; nil: none drawn
	Truth []float32 // dataset.NumCoords true coordinates; nil: none drawn
	Mask  []bool    // which of Truth are present; nil: all of them
	Label string    // shown under the face, e.g. its error
}

// FaceRow is a row of faces with a title shown to its left, such as
// "best" or "worst".
type FaceRow struct {
	Title string
	Faces []Face
}

// Marker colours: predictions are red crosses, true keypoints green rings.
var (
	predColor  = color.RGBA{255, 40, 40, 255}
	truthColor = color.RGBA{0, 230, 60, 255}
)

// Layout of a landmark chart, in pixels.
const (
	faceMargin = 10 // around the grid
	faceGap    = 10 // between tiles
	legendH    = 30 // the legend line at the top
	labelH     = 22 // the label line under each tile
)

// Landmarks draws rows of faces with their predicted keypoints (red
// crosses) and true ones (green rings), each face labelled underneath,
// and writes the chart to path as a w×h PNG. The faces are enlarged by
// the largest whole factor that fits, pixel for pixel, unless that
// wastes more than a fifth of the room, when they are scaled smoothly to
// fill it; the grid is centred.
func Landmarks(path string, rows []FaceRow, w, h int) error {
	if err := checkSize(w, h); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	cols := 0
	for i, r := range rows {
		cols = max(cols, len(r.Faces))
		for j, f := range r.Faces {
			if err := f.check(); err != nil {
				return fmt.Errorf("plot %s: row %d face %d: %w", path, i+1, j+1, err)
			}
		}
	}
	if cols == 0 {
		return fmt.Errorf("plot %s: no faces", path)
	}

	c := newCanvas(w, h)
	dc := draw.New(c)
	titleStyle := textStyle(13, draw.XLeft, draw.YCenter)
	labelStyle := textStyle(11, draw.XCenter, draw.YTop)
	titleW := 0
	for _, r := range rows {
		titleW = max(titleW, int(math.Ceil(float64(titleStyle.Width(r.Title))*DPI/72)))
	}
	if titleW > 0 {
		titleW += faceGap
	}
	fitW := (w - 2*faceMargin - titleW - (cols-1)*faceGap) / cols
	fitH := (h - 2*faceMargin - legendH - len(rows)*labelH - (len(rows)-1)*faceGap) / len(rows)
	side := min(fitW, fitH)
	if side < dataset.ImageSize/3 {
		return fmt.Errorf("plot %s: %d rows of %d faces do not fit in %dx%d pixels", path, len(rows), cols, w, h)
	}
	if whole := side / dataset.ImageSize * dataset.ImageSize; whole > 0 && 5*whole >= 4*side {
		side = whole // pixel for pixel, losing at most a fifth of the size
	}
	gridW := titleW + cols*side + (cols-1)*faceGap
	gridH := legendH + len(rows)*(side+labelH) + (len(rows)-1)*faceGap
	x0, y0 := (w-gridW)/2, (h-gridH)/2

	drawLegend(c, dc, h, x0+titleW, y0, side)
	img := c.Image()
	for i, r := range rows {
		top := y0 + legendH + i*(side+labelH+faceGap)
		if r.Title != "" {
			dc.FillText(titleStyle, toPoint(h, float64(x0), float64(top)+float64(side)/2), r.Title)
		}
		for j, f := range r.Faces {
			left := x0 + titleW + j*(side+faceGap)
			tile := image.Rect(left, top, left+side, top+side)
			drawFace(img, tile, f.Image)
			drawMarkers(c, h, tile, f)
			if f.Label != "" {
				sty := fitText(labelStyle, f.Label, side+faceGap-2)
				dc.FillText(sty, toPoint(h, float64(left)+float64(side)/2, float64(top+side+4)), f.Label)
			}
		}
	}
	return savePNG(path, img)
}

// check reports a face whose slices have the wrong lengths.
func (f Face) check() error {
	switch {
	case len(f.Image) != dataset.PixelCount:
		return fmt.Errorf("image of %d grey levels, want %d", len(f.Image), dataset.PixelCount)
	case f.Pred != nil && len(f.Pred) != dataset.NumCoords:
		return fmt.Errorf("%d predicted coordinates, want %d", len(f.Pred), dataset.NumCoords)
	case f.Truth != nil && len(f.Truth) != dataset.NumCoords:
		return fmt.Errorf("%d true coordinates, want %d", len(f.Truth), dataset.NumCoords)
	case f.Mask != nil && len(f.Mask) != dataset.NumCoords:
		return fmt.Errorf("mask of %d entries, want %d", len(f.Mask), dataset.NumCoords)
	}
	return nil
}

// textStyle returns the sans font at size points, black, aligned as
// given.
func textStyle(size float64, x text.XAlignment, y text.YAlignment) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    fontOf(size),
		XAlign:  x,
		YAlign:  y,
		Handler: plot.DefaultTextHandler,
	}
}

// fitText returns sty with its font shrunk, down to 7 points, until txt
// is at most width pixels wide.
func fitText(sty text.Style, txt string, width int) text.Style {
	for size := sty.Font.Size; size > 7 && float64(sty.Width(txt))*DPI/72 > float64(width); {
		size -= 0.5
		sty.Font = fontOf(float64(size))
	}
	return sty
}

// toPoint converts pixel (x, y) of an image h pixels high, y downwards,
// to the canvas's points, y upwards.
func toPoint(h int, x, y float64) vg.Point {
	return vg.Point{X: vg.Length(x * 72 / DPI), Y: vg.Length((float64(h) - y) * 72 / DPI)}
}

// drawFace draws a 96×96 grey face into tile of dst: pixel for pixel when
// the tile is a whole multiple of the face, else smoothly scaled.
func drawFace(dst xdraw.Image, tile image.Rectangle, pixels []uint8) {
	face := &image.Gray{Pix: pixels, Stride: dataset.ImageSize, Rect: image.Rect(0, 0, dataset.ImageSize, dataset.ImageSize)}
	var scaler xdraw.Scaler = xdraw.CatmullRom
	if tile.Dx()%dataset.ImageSize == 0 {
		scaler = xdraw.NearestNeighbor
	}
	scaler.Scale(dst, tile, face, face.Bounds(), xdraw.Src, nil)
}

// drawMarkers draws f's true keypoints as rings and its predictions as
// crosses over tile, on a canvas h pixels high.
func drawMarkers(c *vgimg.Canvas, h int, tile image.Rectangle, f Face) {
	scale := float64(tile.Dx()) / dataset.ImageSize
	r := max(float64(tile.Dx())/40, 2.5) // marker radius in pixels
	at := func(coords []float32, k int) vg.Point {
		// Keypoints count pixels from 1 (dataset.PixelOrigin).
		x := float64(tile.Min.X) + (float64(coords[2*k])-dataset.PixelOrigin)*scale
		y := float64(tile.Min.Y) + (float64(coords[2*k+1])-dataset.PixelOrigin)*scale
		return toPoint(h, x, y)
	}
	for k := range dataset.NumKeypoints {
		if f.Truth != nil && (f.Mask == nil || (f.Mask[2*k] && f.Mask[2*k+1])) {
			ring(c, at(f.Truth, k), r)
		}
	}
	for k := range dataset.NumKeypoints {
		if f.Pred != nil {
			cross(c, at(f.Pred, k), r)
		}
	}
}

// ring strokes a green circle of radius r pixels around pt.
func ring(c vg.Canvas, pt vg.Point, r float64) {
	var p vg.Path
	rad := vg.Length(r * 72 / DPI)
	p.Move(vg.Point{X: pt.X + rad, Y: pt.Y})
	p.Arc(pt, rad, 0, 2*math.Pi)
	p.Close()
	c.SetColor(truthColor)
	c.SetLineWidth(vg.Points(1.4))
	c.SetLineDash(nil, 0)
	c.Stroke(p)
}

// cross strokes a red × of half-diagonal r pixels at pt.
func cross(c vg.Canvas, pt vg.Point, r float64) {
	d := vg.Length(r * 72 / DPI / math.Sqrt2)
	var p vg.Path
	p.Move(vg.Point{X: pt.X - d, Y: pt.Y - d})
	p.Line(vg.Point{X: pt.X + d, Y: pt.Y + d})
	p.Move(vg.Point{X: pt.X - d, Y: pt.Y + d})
	p.Line(vg.Point{X: pt.X + d, Y: pt.Y - d})
	c.SetColor(predColor)
	c.SetLineWidth(vg.Points(1.8))
	c.SetLineDash(nil, 0)
	c.Stroke(p)
}

// drawLegend explains the markers on a line at the top of the grid,
// starting at pixel x.
func drawLegend(c *vgimg.Canvas, dc draw.Canvas, h, x, y, side int) {
	r := max(float64(side)/40, 2.5)
	sty := textStyle(11, draw.XLeft, draw.YCenter)
	mid := float64(y) + legendH/2 - 2
	gap := 2*r + 6
	px := float64(x) + r
	cross(c, toPoint(h, px, mid), r)
	dc.FillText(sty, toPoint(h, px+gap, mid), "predicted")
	px += gap + float64(sty.Width("predicted"))*DPI/72 + 24
	ring(c, toPoint(h, px, mid), r)
	dc.FillText(sty, toPoint(h, px+gap, mid), "true")
}

// PickByError returns the indices of the n faces with the smallest
// errors, the n around the median and the n with the largest, each in
// order of increasing error. Faces whose error is NaN are left out. When
// fewer than 3n faces remain, the three groups overlap.
func PickByError(errs []float64, n int) (best, median, worst []int) {
	var idx []int
	for i, e := range errs {
		if !math.IsNaN(e) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case errs[a] < errs[b]:
			return -1
		case errs[a] > errs[b]:
			return 1
		}
		return 0
	})
	n = min(n, len(idx))
	if n <= 0 {
		return nil, nil, nil
	}
	start := min(max(len(idx)/2-n/2, 0), len(idx)-n)
	return slices.Clone(idx[:n]), slices.Clone(idx[start : start+n]), slices.Clone(idx[len(idx)-n:])
}
