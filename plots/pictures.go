package plots

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/fkd-project/fkd/dataset"
)

// Colours of Preview and Overlay.
var (
	PreviewBackground = color.RGBA{40, 40, 48, 255}
	PreviewFrame      = color.RGBA{255, 255, 255, 255} // around the original
	LeftColour        = color.RGBA{255, 130, 0, 255}   // the subject's left keypoints
	RightColour       = color.RGBA{0, 150, 255, 255}   // right keypoints
	MidlineColour     = color.RGBA{255, 230, 0, 255}   // nose and lip centres
)

// PreviewGap is the space between tiles, in screen pixels.
const PreviewGap = 6

// KeypointColours gives each keypoint its colour by side: LeftColour,
// RightColour or MidlineColour.
var KeypointColours = func() (cs [dataset.NumKeypoints]color.RGBA) {
	for k := range cs {
		cs[k] = MidlineColour
	}
	for _, p := range dataset.FlipPairs {
		cs[p[0]], cs[p[1]] = LeftColour, RightColour
	}
	return cs
}()

// PreviewLayout returns the grid of n tiles: columns, rows, and the size
// of the whole picture for tiles of the given side.
func PreviewLayout(n, tile int) (cols, rows, width, height int) {
	cols = int(math.Ceil(math.Sqrt(float64(n))))
	rows = (n + cols - 1) / cols
	return cols, rows, cols*tile + (cols+1)*PreviewGap, rows*tile + (rows+1)*PreviewGap
}

// Preview lays out n faces (grey levels in [0, 1], normalised
// coordinates and mask as for augment.Apply) in a grid, each enlarged zoom
// times with its present keypoints marked by crosses. The first tile gets
// a frame.
func Preview(images, coords, mask []float32, n, zoom int) *image.RGBA {
	tile := dataset.ImageSize * zoom
	cols, _, width, height := PreviewLayout(n, tile)
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(PreviewBackground), image.Point{}, draw.Src)
	for f := range n {
		x0 := PreviewGap + (f%cols)*(tile+PreviewGap)
		y0 := PreviewGap + (f/cols)*(tile+PreviewGap)
		if f == 0 {
			frame := image.Rect(x0-2, y0-2, x0+tile+2, y0+tile+2)
			draw.Draw(img, frame, image.NewUniform(PreviewFrame), image.Point{}, draw.Src)
		}
		face := images[f*dataset.PixelCount : (f+1)*dataset.PixelCount]
		for y := range tile {
			for x := range tile {
				v := face[(y/zoom)*dataset.ImageSize+x/zoom]
				g := uint8(math.Round(float64(min(max(v, 0), 1)) * 255))
				img.SetRGBA(x0+x, y0+y, color.RGBA{g, g, g, 255})
			}
		}
		for k := range dataset.NumKeypoints {
			j := f*dataset.NumCoords + 2*k
			if mask[j] == 0 || mask[j+1] == 0 {
				continue
			}
			// Normalised u is keypoint coordinate (u+1)*48, and pixel c
			// spans [c, c+1) + dataset.PixelOrigin in those.
			px := ((float64(coords[j])+1)*dataset.ImageSize/2 - dataset.PixelOrigin) * float64(zoom)
			py := ((float64(coords[j+1])+1)*dataset.ImageSize/2 - dataset.PixelOrigin) * float64(zoom)
			drawCross(img, image.Rect(x0, y0, x0+tile, y0+tile), int(math.Floor(px))+x0, int(math.Floor(py))+y0, zoom+1, KeypointColours[k])
		}
	}
	return img
}

// drawCross draws a plus sign with arms of arm pixels centred at (x, y),
// clipped to the tile r.
func drawCross(img *image.RGBA, r image.Rectangle, x, y, arm int, c color.RGBA) {
	for d := -arm; d <= arm; d++ {
		for _, p := range []image.Point{{x + d, y}, {x, y + d}} {
			if p.In(r) {
				img.SetRGBA(p.X, p.Y, c)
			}
		}
	}
}
