package plots

import (
	"fmt"
	"image"
	"image/color"
	imgdraw "image/draw"
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fkd-project/fkd/dataset"
)

// OverlayFace is one face to draw on a photo by Overlay, in the photo's
// continuous pixel coordinates: pixel column c spans [c, c+1), its
// centre at c + 0.5.
type OverlayFace struct {
	// Box is the detector's box of the face, outlined unless it is the
	// whole photo.
	Box image.Rectangle
	// Crop is the square the keypoints were found on: it frames the face
	// as the 96×96 training faces are framed, and sets the size of the
	// marks. Empty: Box does.
	Crop image.Rectangle
	// Keypoints are x then y of each keypoint in dataset.Keypoints order.
	Keypoints [dataset.NumCoords]float64
	// Score is the detector's, in [0, 1]; 0 when no detector looked.
	Score float64
	// Confidence holds each keypoint's, in [0, 1]; nil when the model
	// has none.
	Confidence []float32
}

// OverlayOptions says what Overlay draws besides the marks.
type OverlayOptions struct {
	// Labels writes each face's score and mean keypoint confidence above
	// its box, and each keypoint's confidence in hundredths beside it.
	Labels bool
	// NoLegend leaves out the legend that explains the colours, drawn in
	// a corner free of faces when the photo is at least
	// OverlayLegendMinSide pixels a side.
	NoLegend bool
}

// OverlayLegendMinSide is the smallest photo, pixels a side, that gets a
// legend.
const OverlayLegendMinSide = 300

// OverlayBoxColour is the colour of the detector's boxes on an overlay.
var OverlayBoxColour = color.RGBA{80, 255, 80, 255}

// overlayOutline is the dark rim around marks and labels, which keeps
// them visible on light skin and on dark hair alike.
var overlayOutline = color.RGBA{0, 0, 0, 200}

// overlayLines are the keypoints joined by lines: each eyebrow, each eye
// through its centre, and the mouth around.
var overlayLines = [][]int{{6, 7}, {8, 9}, {2, 0, 3}, {4, 1, 5}, {11, 13, 12, 14, 11}}

// Overlay returns a copy of img with each face drawn: its box outlined,
// its keypoints marked by discs in their side's colour (KeypointColours:
// LeftColour for the subject's left, RightColour for the right,
// MidlineColour for the nose and lip centres) and joined by thin lines
// along the eyebrows, the eyes and the mouth. The marks scale with each
// face (its Crop), and never get thinner than the photo's longer side
// over 600, so that they stay visible on a photo of thousands of pixels
// shown small; the legend explains the colours.
func Overlay(img image.Image, faces []OverlayFace, opt OverlayOptions) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	imgdraw.Draw(out, out.Bounds(), img, b.Min, imgdraw.Src)
	if len(faces) == 0 && (opt.NoLegend || min(w, h) < OverlayLegendMinSide) {
		out.Rect = b
		return out
	}
	// The marks go on a transparent layer laid over the photo: vgimg
	// paints its background over whatever image it is given.
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(w)*vg.Inch/DPI, vg.Length(h)*vg.Inch/DPI), vgimg.UseDPI(DPI),
		vgimg.UseBackgroundColor(color.Transparent))
	dc := draw.New(c)
	floor := float64(max(w, h)) / 600 // the thinnest line worth drawing, in pixels
	whole := image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Max.Y)
	for _, f := range faces {
		overlayFace(c, dc, w, h, b.Min, f, f.Box == whole, floor, opt.Labels)
	}
	if !opt.NoLegend && min(w, h) >= OverlayLegendMinSide {
		overlayLegend(c, dc, w, h, b.Min, faces)
	}
	imgdraw.Draw(out, out.Bounds(), c.Image(), image.Point{}, imgdraw.Over)
	out.Rect = b
	return out
}

// overlayFace draws one face on a canvas w×h pixels whose top-left pixel
// is at origin in the photo.
func overlayFace(c vg.Canvas, dc draw.Canvas, w, h int, origin image.Point, f OverlayFace, whole bool, floor float64, labels bool) {
	frame := f.Crop
	if frame.Empty() {
		frame = f.Box
	}
	unit := float64(max(frame.Dx(), 1)) / dataset.ImageSize // photo pixels per face pixel
	r := max(1.5*unit, 2, floor)                            // mark radius
	line := max(0.5*unit, 1, floor/2)
	at := func(x, y float64) vg.Point { return toPoint(h, x-float64(origin.X), y-float64(origin.Y)) }
	kp := func(k int) vg.Point { return at(f.Keypoints[2*k], f.Keypoints[2*k+1]) }
	if !whole {
		b := f.Box
		strokePath(c, rectPath(at(float64(b.Min.X), float64(b.Min.Y)), at(float64(b.Max.X), float64(b.Max.Y))), overlayOutline, line*2+2)
		strokePath(c, rectPath(at(float64(b.Min.X), float64(b.Min.Y)), at(float64(b.Max.X), float64(b.Max.Y))), OverlayBoxColour, line*2)
	}
	for _, ks := range overlayLines {
		var p vg.Path
		for i, k := range ks {
			if bad(f.Keypoints[2*k]) || bad(f.Keypoints[2*k+1]) {
				p = nil
				break
			}
			if i == 0 {
				p.Move(kp(k))
			} else {
				p.Line(kp(k))
			}
		}
		if p != nil {
			strokePath(c, p, KeypointColours[ks[1]], line)
		}
	}
	for k := range dataset.NumKeypoints {
		if bad(f.Keypoints[2*k]) || bad(f.Keypoints[2*k+1]) {
			continue
		}
		fillDisc(c, kp(k), r+max(1, r/4), overlayOutline)
		fillDisc(c, kp(k), r, KeypointColours[k])
	}
	if !labels {
		return
	}
	size := max(float64(frame.Dx())/10, 4*floor, 11) // caption height in pixels
	if f.Confidence != nil {
		for k := range dataset.NumKeypoints {
			if bad(f.Keypoints[2*k]) || bad(f.Keypoints[2*k+1]) {
				continue
			}
			txt := fmt.Sprintf("%.0f", 100*f.Confidence[k])
			outlinedText(dc, at(f.Keypoints[2*k]+1.3*r, f.Keypoints[2*k+1]), txt, max(size/2.5, 9), KeypointColours[k], text.XLeft, draw.YCenter)
		}
	}
	var caption string
	if f.Score > 0 {
		caption = fmt.Sprintf("score %.2f", f.Score)
	}
	if f.Confidence != nil {
		var sum float64
		for _, v := range f.Confidence {
			sum += float64(v)
		}
		if caption != "" {
			caption += ", "
		}
		caption += fmt.Sprintf("keypoints %.2f", sum/float64(len(f.Confidence)))
	}
	if caption != "" {
		y := float64(f.Box.Min.Y) - line*2
		align := draw.YBottom
		if whole || y-size < float64(origin.Y) {
			y, align = float64(f.Box.Min.Y)+line*2+2, draw.YTop
		}
		// Inside the photo: moved left when it would run past its edge.
		width := float64(textStyle(size*72/DPI, text.XLeft, align).Width(caption)) * DPI / 72
		x := max(min(float64(f.Box.Min.X)+line*2, float64(origin.X+w)-width-2), float64(origin.X))
		outlinedText(dc, at(x, y), caption, size, OverlayBoxColour, text.XLeft, align)
	}
}

// overlayLegend explains the colours in the corner of a w×h photo that
// the faces' boxes overlap least.
func overlayLegend(c vg.Canvas, dc draw.Canvas, w, h int, origin image.Point, faces []OverlayFace) {
	entries := []struct {
		label  string
		colour color.Color
	}{
		{"subject's left", LeftColour},
		{"subject's right", RightColour},
		{"nose, lip centres", MidlineColour},
		{"detector's box", OverlayBoxColour},
	}
	size := max(float64(min(w, h))/50, 11) // text height in pixels
	sty := textStyle(size*72/DPI, text.XLeft, draw.YCenter)
	sty.Color = color.White
	textW := 0.0
	for _, e := range entries {
		textW = max(textW, float64(sty.Width(e.label))*DPI/72)
	}
	pad, rowH, r := size/2, size*1.5, size/3
	bw, bh := pad*3+2*r+textW, pad*2+rowH*float64(len(entries))
	corners := []image.Point{{0, int(float64(h) - bh)}, {0, 0}, {int(float64(w) - bw), int(float64(h) - bh)}, {int(float64(w) - bw), 0}}
	best, bestCover := corners[0], -1
	for _, p := range corners {
		box := image.Rect(p.X, p.Y, p.X+int(bw)+1, p.Y+int(bh)+1).Add(origin)
		cover := 0
		for _, f := range faces {
			in := box.Intersect(f.Box)
			cover += in.Dx() * in.Dy()
		}
		if bestCover < 0 || cover < bestCover {
			best, bestCover = p, cover
		}
	}
	x0, y0 := float64(best.X), float64(best.Y)
	var bg vg.Path
	bg = rectPath(toPoint(h, x0, y0), toPoint(h, x0+bw, y0+bh))
	c.SetColor(color.RGBA{0, 0, 0, 170})
	c.Fill(bg)
	for i, e := range entries {
		y := y0 + pad + rowH*(float64(i)+0.5)
		if e.colour == OverlayBoxColour {
			var p vg.Path
			p = rectPath(toPoint(h, x0+pad, y-r), toPoint(h, x0+pad+2*r, y+r))
			strokePath(c, p, e.colour, max(r/3, 1))
		} else {
			fillDisc(c, toPoint(h, x0+pad+r, y), r, e.colour)
		}
		dc.FillText(sty, toPoint(h, x0+2*pad+2*r, y), e.label)
	}
}

// bad reports a coordinate that cannot be drawn.
func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// rectPath returns the closed outline of the rectangle with corners a
// and b.
func rectPath(a, b vg.Point) vg.Path {
	var p vg.Path
	p.Move(a)
	p.Line(vg.Point{X: b.X, Y: a.Y})
	p.Line(b)
	p.Line(vg.Point{X: a.X, Y: b.Y})
	p.Close()
	return p
}

// strokePath strokes p in colour col, width pixels wide.
func strokePath(c vg.Canvas, p vg.Path, col color.Color, width float64) {
	c.SetColor(col)
	c.SetLineWidth(vg.Length(width * 72 / DPI))
	c.SetLineDash(nil, 0)
	c.Stroke(p)
}

// fillDisc fills a disc of radius r pixels at pt.
func fillDisc(c vg.Canvas, pt vg.Point, r float64, col color.Color) {
	var p vg.Path
	rad := vg.Length(r * 72 / DPI)
	p.Move(vg.Point{X: pt.X + rad, Y: pt.Y})
	p.Arc(pt, rad, 0, 2*math.Pi)
	p.Close()
	c.SetColor(col)
	c.Fill(p)
}

// outlinedText writes txt size pixels high at pt in col, over a dark rim.
func outlinedText(dc draw.Canvas, pt vg.Point, txt string, size float64, col color.Color, x text.XAlignment, y text.YAlignment) {
	sty := textStyle(size*72/DPI, x, y)
	sty.Color = overlayOutline
	d := vg.Length(max(size/12, 1) * 72 / DPI)
	for _, o := range []vg.Point{{X: -d}, {X: d}, {Y: -d}, {Y: d}} {
		dc.FillText(sty, vg.Point{X: pt.X + o.X, Y: pt.Y + o.Y}, txt)
	}
	sty.Color = col
	dc.FillText(sty, pt, txt)
}
