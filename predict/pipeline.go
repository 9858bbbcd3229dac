// Package predict finds the keypoints of the faces in photos and videos:
// a detector's box is framed as the training faces were (Framing),
// cut to 96×96 and given to the model; the keypoints it finds re-frame
// the face, and the model looks again (Pipeline). Runner takes photos,
// folders and videos through it in batches and makes one Record per face,
// with overlays and annotated videos; WriteCSV and WriteJSON write the
// records.
package predict

import (
	"fmt"
	"image"
	"math"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/torch"
)

// Pipeline predicts the keypoints of faces in images with one model. It
// is not safe for concurrent use: the model is one goroutine's.
type Pipeline struct {
	Model models.Model
	TTA   eval.TTA
	// Framing is how the model's training faces are framed (FramingOf
	// its file's keypoint means).
	Framing Framing
	// Box is where the detector puts a face's anchor in its boxes.
	Box BoxAnchor
	// OnePass stops after the first prediction, on the crop framed from
	// the detector's box alone.
	OnePass bool
}

// New returns a pipeline for model m, whose file's metadata is meta, and
// a detector that boxes faces as b says. The framing is that of the
// model's training keypoint means, or DefaultFraming when the file holds
// none that place a face.
func New(m models.Model, meta models.Meta, tta eval.TTA, b BoxAnchor) *Pipeline {
	f, err := FramingOf(meta.Means)
	if err != nil {
		f = DefaultFraming
	}
	return &Pipeline{Model: m, TTA: tta, Framing: f, Box: b}
}

// Target is one face to find the keypoints of.
type Target struct {
	Image image.Image
	// Box is the detector's box of the face; with Exact, the face's crop
	// itself.
	Box image.Rectangle
	// Exact takes Box as the crop as it is, given by hand or the whole
	// image: cut and predicted once, not framed.
	Exact bool
}

// Result is what the pipeline found of one face.
type Result struct {
	// Crop is the part of the image the keypoints were found on, in the
	// last pass: a square framing the face, or the target's exact box.
	Crop image.Rectangle
	// Keypoints are x then y of each keypoint in dataset.Keypoints order,
	// in the image's continuous pixel coordinates.
	Keypoints [dataset.NumCoords]float64
}

// Run finds the keypoints of every target, in two batched passes: the
// crops framed from the detector's boxes, then (unless OnePass) the crops
// re-framed from the first pass's eyes and bottom lip.
func (p *Pipeline) Run(targets []Target) ([]Result, error) {
	out := make([]Result, len(targets))
	all := make([]int, len(targets))
	for i, t := range targets {
		all[i] = i
		out[i].Crop = t.Box
		if !t.Exact {
			out[i].Crop = p.Framing.Crop(p.Box.Anchor(t.Box))
		}
	}
	if err := p.pass(targets, out, all); err != nil {
		return nil, err
	}
	if p.OnePass {
		return out, nil
	}
	var again []int
	for i, t := range targets {
		if t.Exact {
			continue
		}
		first := out[i].Crop
		crop := p.Framing.Crop(AnchorOf(out[i].Keypoints[:]))
		// A first guess far off (no face in the box, say) must not send
		// the second pass somewhere else again: at most half the side
		// away, and at most twice or half as big.
		ratio := float64(crop.Dx()) / float64(first.Dx())
		shift := crop.Min.Add(crop.Max).Sub(first.Min.Add(first.Max)).Div(2)
		if ratio < 0.5 || ratio > 2 || math.Hypot(float64(shift.X), float64(shift.Y)) > float64(first.Dx())/2 ||
			!crop.Overlaps(t.Image.Bounds()) {
			continue
		}
		out[i].Crop = crop
		again = append(again, i)
	}
	if err := p.pass(targets, out, again); err != nil {
		return nil, err
	}
	return out, nil
}

// pass cuts out[i].Crop of each target i in idx, predicts the keypoints
// and maps them onto the image.
func (p *Pipeline) pass(targets []Target, out []Result, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	faces := make([]*photo.Face, len(idx))
	pixels := make([]uint8, 0, len(idx)*dataset.PixelCount)
	for j, i := range idx {
		f, err := photo.CutPadded(targets[i].Image, out[i].Crop)
		if err != nil {
			return err
		}
		faces[j] = f
		pixels = append(pixels, f.Pixels...)
	}
	var pred []float32
	if err := torch.Catch(func() {
		pred = models.Predict(eval.WithTTA(p.Model, p.TTA), pixels, 0, p.Model.Store().Device())
	}); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	for j, i := range idx {
		out[i].Keypoints = faces[j].KeypointsToPhoto(pred[j*dataset.NumCoords : (j+1)*dataset.NumCoords])
	}
	return nil
}

// Targets returns the targets of the faces a detector found in img: to be
// framed, or, for detect.Whole, cut as they are.
func Targets(img image.Image, faces []detect.Face, det detect.Detector) []Target {
	_, exact := det.(detect.Whole)
	out := make([]Target, len(faces))
	for i, f := range faces {
		out[i] = Target{Image: img, Box: f.Box, Exact: exact}
	}
	return out
}
