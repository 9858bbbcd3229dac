package predict

import (
	"fmt"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/torch"
)

// Confidences returns the confidence of each keypoint of each result, in
// [0, 1], as models.PredictConfident measures it on the result's crop (the
// one its keypoints were found on), in one plain pass of the model: with
// test-time augmentation the keypoints are TTA's, their confidences those
// of the model alone. It returns nil, and costs nothing, for a model that
// reads no heatmaps (a regression head, an ensemble with such a member, a model wrapped in a
// test-time augmentation by its file), which has no such measure.
func (p *Pipeline) Confidences(targets []Target, results []Result) ([][]float32, error) {
	if len(results) == 0 || !models.HasConfidence(p.Model) {
		return nil, nil
	}
	pixels := make([]uint8, 0, len(results)*dataset.PixelCount)
	for i, r := range results {
		f, err := photo.CutPadded(targets[i].Image, r.Crop)
		if err != nil {
			return nil, err
		}
		pixels = append(pixels, f.Pixels...)
	}
	var conf []float32
	var ok bool
	if err := torch.Catch(func() {
		_, conf, ok = models.PredictConfident(p.Model, pixels, 0, p.Model.Store().Device())
	}); err != nil {
		return nil, fmt.Errorf("keypoint confidences: %w", err)
	}
	if !ok {
		return nil, nil
	}
	out := make([][]float32, len(results))
	for i := range out {
		out[i] = conf[i*dataset.NumKeypoints : (i+1)*dataset.NumKeypoints]
	}
	return out, nil
}
