// Package plots draws the charts of fkd's reports as PNG files: learning
// curves, the hold-out curves of several models, faces with their
// predicted and true landmarks, per-keypoint errors and the spread of
// per-face errors. Preview and Overlay draw keypoints on faces and photos
// as images: fkd augment-preview's grid and fkd predict's overlay.
//
// Each chart is one function from data to a PNG file of a requested size
// in pixels. The package knows nothing of models or training; callers
// convert their records into its small data types. Files are written
// atomically: a crash leaves the old file or the new one.
package plots

import (
	"bytes"
	"cmp"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"image/png"
	"io"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fkd-project/fkd/internal/atomicfile"
)

// DPI is the resolution charts are drawn at: it sets how many pixels a
// point of text or line width takes.
const DPI = 96

// MinSide is the smallest width or height, in pixels, a chart may have.
const MinSide = 120

// Run is the per-epoch record of one training run.
type Run struct {
	Name      string  // legend label, e.g. "cnn3"
	Epochs    []Epoch // in order
	BestEpoch int     // the epoch whose weights were kept; 0 when none
}

// Epoch is what one epoch measured, in pixels. NaN marks a figure that
// was not measured (a run without a hold-out part has no hold-out RMSE).
type Epoch struct {
	Epoch       int // counted from 1
	TrainRMSE   float64
	HoldoutRMSE float64
}

// Reference is a score to compare against, such as a baseline's hold-out
// RMSE, drawn as a labelled dashed horizontal line.
type Reference struct {
	Label string
	RMSE  float64 // pixels
}

// Series is a named list of values: one model's per-keypoint RMSEs, or
// its per-face errors.
type Series struct {
	Name   string
	Values []float64
}

// palette holds the colours of the models, in order; references are grey.
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255},  // blue
	color.RGBA{255, 127, 14, 255},  // orange
	color.RGBA{44, 160, 44, 255},   // green
	color.RGBA{214, 39, 40, 255},   // red
	color.RGBA{148, 103, 189, 255}, // purple
	color.RGBA{140, 86, 75, 255},   // brown
	color.RGBA{227, 119, 194, 255}, // pink
	color.RGBA{188, 189, 34, 255},  // olive
	color.RGBA{23, 190, 207, 255},  // cyan
}

// seriesColor returns the colour of the i-th model.
func seriesColor(i int) color.Color { return palette[i%len(palette)] }

// referenceStyles are the line styles of reference lines, in order.
var referenceStyles = []draw.LineStyle{
	{Color: color.Gray{90}, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(7), vg.Points(4)}},
	{Color: color.Gray{30}, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(2), vg.Points(3)}},
	{Color: color.Gray{140}, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(10), vg.Points(3), vg.Points(2), vg.Points(3)}},
}

// sans is the typeface of every chart.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// fontOf returns the sans font at size points.
func fontOf(size float64) font.Font { return font.From(sans, vg.Length(size)) }

// newPlot returns an empty plot with the package's fonts, a light grid
// and the legend at the top right.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = fontOf(14)
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = fontOf(12)
		a.Tick.Label.Font = fontOf(10)
		a.Padding = vg.Points(3)
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.TextStyle.Font = fontOf(11)
	p.Legend.Top = true
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = -vg.Points(6)
	p.Legend.Padding = vg.Points(2)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{225}
	grid.Horizontal.Color = color.Gray{225}
	p.Add(grid)
	return p
}

// checkSize refuses sizes a chart cannot be drawn at.
func checkSize(w, h int) error {
	if w < MinSide || h < MinSide {
		return fmt.Errorf("size %dx%d: want at least %dx%d pixels", w, h, MinSide, MinSide)
	}
	if w > 10000 || h > 10000 {
		return fmt.Errorf("size %dx%d: want at most 10000x10000 pixels", w, h)
	}
	return nil
}

// newCanvas returns a white canvas of exactly w×h pixels at DPI.
func newCanvas(w, h int) *vgimg.Canvas {
	return vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))), vgimg.UseDPI(DPI))
}

// savePlot draws p on a w×h canvas and writes it to path as a PNG.
func savePlot(path string, p *plot.Plot, w, h int) error {
	if err := checkSize(w, h); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	c := newCanvas(w, h)
	p.Add(legendBackdrop{&p.Legend}) // last, over the data
	p.Draw(draw.New(c))
	return savePNG(path, quantize(c.Image()))
}

// legendBackdrop is a plotter that paints the place of the legend nearly
// white, so that no line runs through its text. Add it after the data.
type legendBackdrop struct{ legend *plot.Legend }

func (b legendBackdrop) Plot(c draw.Canvas, _ *plot.Plot) {
	l := b.legend
	size := l.Rectangle(c).Size() // its placement ignores Left and the offsets
	if size.X <= 0 {
		return
	}
	var r vg.Rectangle
	w := size.X + l.TextStyle.Rectangle(" ").Max.X
	if l.Left {
		r.Min.X = c.Min.X + l.XOffs
		r.Max.X = r.Min.X + w
	} else {
		r.Max.X = c.Max.X + l.XOffs
		r.Min.X = r.Max.X - w
	}
	if l.Top {
		r.Max.Y = c.Max.Y + l.YOffs
		r.Min.Y = r.Max.Y - size.Y - l.TextStyle.FontExtents().Descent
	} else {
		r.Min.Y = c.Min.Y + l.YOffs
		r.Max.Y = r.Min.Y + size.Y
	}
	m := vg.Points(4)
	var path vg.Path
	path.Move(vg.Point{X: r.Min.X - m, Y: r.Min.Y - m})
	path.Line(vg.Point{X: r.Max.X + m, Y: r.Min.Y - m})
	path.Line(vg.Point{X: r.Max.X + m, Y: r.Max.Y + m})
	path.Line(vg.Point{X: r.Min.X - m, Y: r.Max.Y + m})
	path.Close()
	c.SetColor(color.NRGBA{R: 255, G: 255, B: 255, A: 225})
	c.Fill(path)
}

// quantize returns img with at most 256 colours, for a PNG of a third of
// the size: a chart's few flat colours are kept exactly, and the blends
// its anti-aliasing makes at their edges go to the nearest of the 256
// most common colours.
func quantize(img image.Image) *image.Paletted {
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colors := slices.Collect(maps.Keys(counts))
	slices.SortFunc(colors, func(a, b color.RGBA) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(rgbaKey(a), rgbaKey(b)) // a fixed order for ties
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range colors[:min(len(colors), 256)] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	stddraw.Draw(out, b, img, b.Min, stddraw.Src)
	return out
}

func rgbaKey(c color.RGBA) uint32 {
	return uint32(c.R)<<24 | uint32(c.G)<<16 | uint32(c.B)<<8 | uint32(c.A)
}

// savePNG encodes img as a PNG in memory and writes it to path
// atomically.
func savePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}

// finite reports whether x is a number other than ±Inf.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
