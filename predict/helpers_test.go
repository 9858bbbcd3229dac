package predict

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// ytfMeans are mean keypoints framed as fkd-ytf's faces are: the eyes'
// midpoint at (48.45, 37.8), the bottom lip at (48.45, 79), so the anchor
// is (48.45, 58.4), 41.2 pixels long.
var ytfMeans = func() (m [dataset.NumCoords]float32) {
	for k := range dataset.NumKeypoints {
		m[2*k], m[2*k+1] = 48.45, 58.4 // the rest at the anchor
	}
	m[2*leftEye], m[2*leftEye+1] = 48.45+18, 37.8
	m[2*rightEye], m[2*rightEye+1] = 48.45-18, 37.8
	m[2*bottomLip], m[2*bottomLip+1] = 48.45, 79
	return m
}()

// meanModel stands in for a keypoint network: it puts every face's
// keypoints at the same coordinates, means.
type meanModel struct {
	store *nn.Store
	means [dataset.NumCoords]float32
}

func newMeanModel(means [dataset.NumCoords]float32) meanModel {
	return meanModel{store: nn.NewStore(torch.CPU), means: means}
}

func (m meanModel) Store() *nn.Store  { return m.store }
func (m meanModel) Spec() models.Spec { return models.Spec{Arch: "mean"} }

func (m meanModel) Forward(x *torch.Tensor) *torch.Tensor {
	norm := make([]float32, dataset.NumCoords)
	for i, v := range m.means {
		norm[i] = (v - models.CoordCentre) / models.CoordScale
	}
	return torch.FromFloat32(norm, 1, dataset.NumCoords).ToDevice(x.Device()).Expand(x.Size(0), dataset.NumCoords)
}

// meanPipeline is a two-pass pipeline on meanModel framed as fkd-ytf.
func meanPipeline(t *testing.T) *Pipeline {
	t.Helper()
	m := newMeanModel(ytfMeans)
	return New(m, models.Meta{Means: ytfMeans}, 0, HaarFrontalFace)
}

// pasted is a face pasted into a picture: where, how big, and its true
// keypoints in the picture.
type pasted struct {
	region image.Rectangle // the face's 96×96 frame, enlarged
	coords [dataset.NumCoords]float64
}

// anchor returns the true anchor of the pasted face.
func (p pasted) anchor() Anchor { return AnchorOf(p.coords[:]) }

// haarBox returns the box a Haar cascade would give the face, by
// HaarFrontalFace: what a detect.Fixed stands in with.
func (p pasted) haarBox() image.Rectangle {
	a := p.anchor()
	w := a.Length / HaarFrontalFace.Length
	x0, y0 := a.X-HaarFrontalFace.X*w, a.Y-HaarFrontalFace.Y*w
	return image.Rect(int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x0+w)), int(math.Round(y0+w)))
}

// pasteFaces draws the faces of set (96×96) into a w×h grey picture on a
// busy background, face i enlarged scale[i] times (nearest pixel) with
// its top-left corner at at[i].
func pasteFaces(set *dataset.Set, w, h int, at []image.Point, scale []int) (*image.RGBA, []pasted) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(40 + (x*7+y*3)%50)
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	var out []pasted
	for i, p := range at {
		s := scale[i]
		face := set.Image(i)
		for y := range dataset.ImageSize * s {
			for x := range dataset.ImageSize * s {
				v := face[(y/s)*dataset.ImageSize+x/s]
				img.SetRGBA(p.X+x, p.Y+y, color.RGBA{v, v, v, 255})
			}
		}
		f := pasted{region: image.Rect(p.X, p.Y, p.X+dataset.ImageSize*s, p.Y+dataset.ImageSize*s)}
		c, _ := set.Keypoints(i)
		for j, v := range c {
			corner := p.X
			if j%2 == 1 {
				corner = p.Y
			}
			f.coords[j] = float64(corner) + float64(s)*float64(v)
		}
		out = append(out, f)
	}
	return img, out
}

// twoFaces is a 520×400 picture of two synthetic faces, enlarged 2 and 3
// times, and a detector that finds them.
func twoFaces() (*image.RGBA, []pasted, detect.Fixed) {
	set := synth.Generate(2, 3, synth.Options{Clean: true})
	img, faces := pasteFaces(set, 520, 400, []image.Point{{20, 60}, {220, 50}}, []int{2, 3})
	var det detect.Fixed
	for i, f := range faces {
		det = append(det, detect.Face{Box: f.haarBox(), Score: 0.5 + 0.25*float64(i)})
	}
	return img, faces, det
}
