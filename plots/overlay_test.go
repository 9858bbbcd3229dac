package plots

import (
	"image"
	"image/color"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// grey is a w×h mid-grey photo whose top-left pixel is at min.
func grey(min image.Point, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rectangle{Min: min, Max: min.Add(image.Pt(w, h))})
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	return img
}

// at returns the face's keypoints all at (x, y).
func at(x, y float64) (xy [dataset.NumCoords]float64) {
	for k := range dataset.NumKeypoints {
		xy[2*k], xy[2*k+1] = x, y
	}
	return xy
}

func TestOverlayScalesWithFaces(t *testing.T) {
	origin := image.Pt(10, 20)
	img := grey(origin, 3000, 2000)
	big := OverlayFace{Box: image.Rect(100, 120, 1060, 1080), Crop: image.Rect(100, 120, 1060, 1080), Keypoints: at(600.5, 600.5), Score: 0.9}
	small := OverlayFace{Box: image.Rect(2000, 1500, 2096, 1596), Crop: image.Rect(2000, 1500, 2096, 1596), Keypoints: at(2050.5, 1550.5)}
	out := Overlay(img, []OverlayFace{big, small}, OverlayOptions{})
	if out.Bounds() != img.Bounds() {
		t.Fatalf("overlay %v, photo %v", out.Bounds(), img.Bounds())
	}
	if img.RGBAAt(600, 600) != (color.RGBA{128, 128, 128, 128}) {
		t.Error("the photo was drawn on")
	}
	last := KeypointColours[dataset.NumKeypoints-1]
	// Marks of 1.5 face pixels: 15 photo pixels on the big face, and no
	// less than the photo's side over 600 (5 pixels) on the small one.
	for _, tt := range []struct {
		p    image.Point
		mark bool
	}{
		{image.Pt(600, 600), true}, {image.Pt(612, 600), true}, {image.Pt(600, 588), true}, {image.Pt(620, 600), false},
		{image.Pt(2050, 1550), true}, {image.Pt(2053, 1550), true}, {image.Pt(2062, 1550), false},
	} {
		if got := out.RGBAAt(tt.p.X, tt.p.Y); (got == last) != tt.mark {
			t.Errorf("pixel %v is %v; marked %v, want %v", tt.p, got, got == last, tt.mark)
		}
	}
	// The box's outline is at least the photo's side over 600 wide.
	for x := 100; x < 104; x++ {
		if got := out.RGBAAt(x, 500); got != OverlayBoxColour {
			t.Errorf("box edge pixel (%d, 500) is %v, want %v", x, got, OverlayBoxColour)
		}
	}
}

func TestOverlayLegend(t *testing.T) {
	img := grey(image.Point{}, 400, 300)
	corner := func(out *image.RGBA, x, y int) bool { return out.RGBAAt(x, y) != img.RGBAAt(x, y) }
	if out := Overlay(img, nil, OverlayOptions{NoLegend: true}); corner(out, 2, 297) {
		t.Error("NoLegend and no face: the photo changed")
	}
	// A face in the bottom-left corner: the legend goes to the top left.
	face := OverlayFace{Box: image.Rect(0, 200, 100, 300), Keypoints: at(50, 250)}
	out := Overlay(img, []OverlayFace{face}, OverlayOptions{})
	if !corner(out, 2, 2) || corner(out, 398, 2) || corner(out, 398, 297) {
		t.Error("the legend is not in the top-left corner alone")
	}
	if small := grey(image.Point{}, 299, 400); Overlay(small, nil, OverlayOptions{}).RGBAAt(2, 397) != small.RGBAAt(2, 397) {
		t.Error("a legend on a photo 299 pixels wide")
	}
}

func TestOverlayLabels(t *testing.T) {
	img := grey(image.Point{}, 400, 300)
	conf := make([]float32, dataset.NumKeypoints)
	face := OverlayFace{Box: image.Rect(100, 100, 292, 292), Keypoints: at(150, 200), Score: 0.87, Confidence: conf}
	plain := Overlay(img, []OverlayFace{face}, OverlayOptions{NoLegend: true})
	labelled := Overlay(img, []OverlayFace{face}, OverlayOptions{NoLegend: true, Labels: true})
	changed := func(r image.Rectangle) bool {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if plain.RGBAAt(x, y) != labelled.RGBAAt(x, y) {
					return true
				}
			}
		}
		return false
	}
	if !changed(image.Rect(100, 70, 250, 98)) {
		t.Error("no caption above the box")
	}
	if !changed(image.Rect(156, 185, 200, 215)) {
		t.Error("no confidence beside the keypoint")
	}
}
