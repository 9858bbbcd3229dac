package predict

import (
	"fmt"
	"image"
	"math"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
)

// The keypoints that place a face: the eye centres and the centre of the
// bottom lip, which nearly every training face has (dataset.CommonKeypoints
// less the nose).
const (
	leftEye    = 0
	rightEye   = 1
	bottomLip  = 14
	anchorKeys = 3
)

// Anchor places a face in an image: the midpoint of the segment from the
// midpoint of its eyes to its bottom lip, and that segment's length, in
// the image's continuous pixel coordinates. It is what framing a face
// like the training faces needs to know of it.
type Anchor struct {
	X, Y   float64 // the segment's midpoint
	Length float64 // eyes to bottom lip
}

// AnchorOf returns the anchor of a face's keypoints: 30 coordinates, x
// then y of each keypoint in dataset.Keypoints order.
func AnchorOf(coords []float64) Anchor {
	ex := (coords[2*leftEye] + coords[2*rightEye]) / 2
	ey := (coords[2*leftEye+1] + coords[2*rightEye+1]) / 2
	lx, ly := coords[2*bottomLip], coords[2*bottomLip+1]
	return Anchor{X: (ex + lx) / 2, Y: (ey + ly) / 2, Length: math.Hypot(lx-ex, ly-ey)}
}

// Framing is how the training faces sit in their 96×96 frame: the anchor
// of their mean keypoints, in the face's continuous pixel coordinates
// (the frame spans [0, 96]; keypoint files count from 1, see
// dataset.PixelOrigin). A face framed alike, its
// anchor at the same place and of the same length, is what a model
// trained on them knows best. FramingOf measures a model's own.
type Framing Anchor

// DefaultFraming is the framing of Kaggle's faces, and of fkd-ytf's,
// which were cut to match them (fkd-ytf's README): the anchor at (48.45,
// 58.4) in keypoint coordinates, 41.2 pixels long. It stands in for a
// model file that holds no keypoint means.
var DefaultFraming = Framing{X: 48.45 - dataset.PixelOrigin, Y: 58.4 - dataset.PixelOrigin, Length: 41.2}

// FramingOf returns the framing of the faces whose mean keypoints are
// means, as a model file holds them (models.Meta.Means).
func FramingOf(means [dataset.NumCoords]float32) (Framing, error) {
	var c [dataset.NumCoords]float64
	for i, v := range means {
		c[i] = float64(v)
	}
	a := AnchorOf(c[:])
	if !(a.Length >= 4 && a.Length <= dataset.ImageSize) || math.IsNaN(a.X+a.Y) {
		return Framing{}, fmt.Errorf("the training keypoint means put the eyes and the bottom lip %.3g pixels apart: no framing of a face can be measured from them", a.Length)
	}
	a.X -= dataset.PixelOrigin
	a.Y -= dataset.PixelOrigin
	return Framing(a), nil
}

// Crop returns the square of an image that frames the face anchored at a
// as the training faces are framed: cut and resampled to 96×96, the
// face's anchor lands on f's. It may reach past the image.
func (f Framing) Crop(a Anchor) image.Rectangle {
	side := dataset.ImageSize * a.Length / f.Length
	scale := side / dataset.ImageSize
	s := max(1, int(math.Round(side)))
	x0 := int(math.Round(a.X - f.X*scale))
	y0 := int(math.Round(a.Y - f.Y*scale))
	return image.Rect(x0, y0, x0+s, y0+s)
}

// BoxAnchor is where a detector puts a face's anchor in the boxes it
// returns: X and Y from the box's top-left corner as fractions of its
// width and height, Length as a fraction of its width.
type BoxAnchor struct {
	X, Y, Length float64
}

// Anchor returns the anchor of the face in a box the detector returned.
func (b BoxAnchor) Anchor(box image.Rectangle) Anchor {
	w, h := float64(box.Dx()), float64(box.Dy())
	return Anchor{X: float64(box.Min.X) + b.X*w, Y: float64(box.Min.Y) + b.Y*h, Length: b.Length * w}
}

// HaarFrontalFace is where OpenCV's haarcascade_frontalface_default.xml
// (with detect.Cascade's default settings) puts a face's anchor in its
// box. Measured with bench/framing -measure (seed 1) on 1000 fkd-ytf
// training faces, none of the model's hold-out part, each enlarged 1 to
// 4 times and pasted at a random place into a background of smooth
// shapes and noise 1.5 to 3 times its size: the medians, over the 938
// faces the cascade found, of the true anchor's offset from the box's
// top-left corner over the box's width (0.508; 10th to 90th percentile
// 0.470 to 0.546) and height (0.636; 0.607 to 0.671), and of its length
// over the box's width (0.484; 0.436 to 0.547). The box is about 0.89 of
// the enlarged 96×96 frame a side.
var HaarFrontalFace = BoxAnchor{X: 0.508, Y: 0.636, Length: 0.484}

// DlibFrontalFace is where dlib's HOG frontal face detector (detect.Dlib)
// puts a face's anchor in its box. Measured as HaarFrontalFace was
// (bench/framing -measure, seed 1, with a detect.Dlib keeping dlib's own
// detections in place of the cascade): the medians over the 883 of 1000 pasted
// faces it found, X 0.504 (10th to 90th percentile 0.451 to 0.560), Y
// 0.575 (0.521 to 0.639), Length 0.545 (0.484 to 0.616); the box is about
// 0.79 of the enlarged 96×96 frame a side. On the 7 faces of the real
// photos of ../shared/data/photos (bench/photos -measure) the medians are
// 0.509, 0.569 and 0.562.
var DlibFrontalFace = BoxAnchor{X: 0.504, Y: 0.575, Length: 0.545}

// BoxAnchorOf returns where det puts a face's anchor in its boxes:
// DlibFrontalFace for a detect.Dlib, HaarFrontalFace for the rest (the
// cascade, and detect.Fixed boxes, which stand in for it).
func BoxAnchorOf(det detect.Detector) BoxAnchor {
	if _, ok := det.(*detect.Dlib); ok {
		return DlibFrontalFace
	}
	return HaarFrontalFace
}
