// Package baseline holds keypoint predictors that learn no weights: the
// mean of the training keypoints, and the patch search of the Kaggle
// tutorial, which slides each keypoint's average training patch over a
// small window of the new face and keeps the best-correlated position.
//
// They are the yardsticks the neural networks must beat, and they run in
// pure Go.
package baseline

import (
	"fmt"
	"math"

	"github.com/fkd-project/fkd/dataset"
)

// Model is a keypoint predictor. Fit learns from faces with keypoints;
// Predict returns dataset.NumCoords coordinates per face for flat images
// (dataset.PixelCount grey levels per face, as in dataset.Set.Images),
// every coordinate present.
type Model interface {
	Fit(train *dataset.Set) error
	Predict(images []uint8) ([]float32, error)
}

var (
	_ Model = (*Mean)(nil)
	_ Model = (*Patch)(nil)
)

// columnMeans returns the mean of each coordinate column over the faces
// where it is present. Every column must be present in at least one face.
func columnMeans(s *dataset.Set) ([dataset.NumCoords]float64, error) {
	var means [dataset.NumCoords]float64
	if s == nil || s.Len() == 0 {
		return means, fmt.Errorf("no training faces")
	}
	if !s.HasKeypoints() {
		return means, fmt.Errorf("training set has no keypoints")
	}
	if len(s.Coords) != s.Len()*dataset.NumCoords || len(s.Mask) != len(s.Coords) {
		return means, fmt.Errorf("training set holds %d faces but %d coordinates and %d mask entries",
			s.Len(), len(s.Coords), len(s.Mask))
	}
	var counts [dataset.NumCoords]int
	for i, c := range s.Coords {
		if s.Mask[i] {
			means[i%dataset.NumCoords] += float64(c)
			counts[i%dataset.NumCoords]++
		}
	}
	names := dataset.CoordNames()
	for j := range means {
		if counts[j] == 0 {
			return means, fmt.Errorf("column %s is empty in all %d training faces: the baseline needs at least one value in every column", names[j], s.Len())
		}
		means[j] /= float64(counts[j])
	}
	return means, nil
}

// faceCount checks that images holds whole faces and returns how many.
func faceCount(images []uint8) (int, error) {
	if len(images)%dataset.PixelCount != 0 {
		return 0, fmt.Errorf("%d grey levels is not a whole number of %d-pixel faces",
			len(images), dataset.PixelCount)
	}
	return len(images) / dataset.PixelCount, nil
}

// pixelOf returns the pixel row or column holding coordinate v. Pixel c
// spans [c, c+1) (see dataset), so this is also the pixel whose centre is
// nearest to v.
func pixelOf(v float64) int { return int(math.Floor(v)) }

// pixelCentre returns the coordinate of the centre of pixel row or column c.
func pixelCentre(c int) float32 { return float32(c) + 0.5 }
