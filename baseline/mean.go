package baseline

import (
	"errors"
	"fmt"

	"github.com/fkd-project/fkd/dataset"
)

// Mean predicts the same keypoints for every face: the mean of each
// coordinate over the training faces where it is present.
type Mean struct {
	coords [dataset.NumCoords]float32
	fitted bool
}

// Fit computes the column means of train's keypoints. Every coordinate
// must be present in at least one face.
func (m *Mean) Fit(train *dataset.Set) error {
	means, err := columnMeans(train)
	if err != nil {
		return fmt.Errorf("fit mean baseline: %w", err)
	}
	for j, v := range means {
		m.coords[j] = float32(v)
	}
	m.fitted = true
	return nil
}

// Coords returns the fitted means, x then y for each keypoint in
// dataset.Keypoints order.
func (m *Mean) Coords() [dataset.NumCoords]float32 { return m.coords }

// Predict returns the fitted means once for each face in images.
func (m *Mean) Predict(images []uint8) ([]float32, error) {
	if !m.fitted {
		return nil, errors.New("mean baseline: predict before fit")
	}
	n, err := faceCount(images)
	if err != nil {
		return nil, fmt.Errorf("mean baseline: %w", err)
	}
	out := make([]float32, 0, n*dataset.NumCoords)
	for range n {
		out = append(out, m.coords[:]...)
	}
	return out, nil
}
