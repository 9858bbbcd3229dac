package eval

import (
	"fmt"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// EvalBatch is the number of faces Evaluate runs through a model at once.
const EvalBatch = 128

// Evaluation is how well a model finds the keypoints of a set of faces,
// in pixels, by the competition's metric.
type Evaluation struct {
	Faces       int
	RMSE        float64                       // over every present coordinate
	PerKeypoint [dataset.NumKeypoints]float64 // x and y pooled; NaN for a keypoint never present
	Present     [dataset.NumKeypoints]int     // faces that have each keypoint
	Pred        []float32                     // the predictions, pixels, 30 per face
}

// Evaluate predicts the keypoints of the faces of s with m, on the
// model's device in evaluation mode, and scores them against s's
// keypoints.
func Evaluate(m models.Model, s *dataset.Set) (Evaluation, error) {
	if !s.HasKeypoints() {
		return Evaluation{}, fmt.Errorf("evaluate: the faces have no keypoints to score against")
	}
	if s.Len() == 0 {
		return Evaluation{}, fmt.Errorf("evaluate: no faces")
	}
	var pred []float32
	if err := torch.Catch(func() {
		pred = models.Predict(m, s.Images, EvalBatch, m.Store().Device())
	}); err != nil {
		return Evaluation{}, fmt.Errorf("evaluate: %w", err)
	}
	return EvaluationOf(pred, s), nil
}

// EvaluationOf scores predictions (pixels, 30 per face) of the faces of s
// against their keypoints, as Evaluate scores a model's: for a baseline
// or an ensemble's own predictions.
func EvaluationOf(pred []float32, s *dataset.Set) Evaluation {
	ev := Evaluation{
		Faces:       s.Len(),
		RMSE:        dataset.RMSE(pred, s.Coords, s.Mask),
		PerKeypoint: dataset.PerKeypointRMSE(pred, s.Coords, s.Mask),
		Pred:        pred,
	}
	for i := range s.Len() {
		_, mask := s.Keypoints(i)
		for k := range ev.Present {
			if mask[2*k] && mask[2*k+1] {
				ev.Present[k]++
			}
		}
	}
	return ev
}
