package dataset

import "math"

// RMSE is the competition's metric: the square root of the mean squared
// difference between pred and truth over the coordinates where mask is
// true (all of them when mask is nil). x and y count as separate values.
// It returns NaN when no coordinate is present. The three slices must have
// the same length.
func RMSE(pred, truth []float32, mask []bool) float64 {
	checkLens("RMSE", pred, truth, mask)
	var sum float64
	n := 0
	for i := range pred {
		if mask != nil && !mask[i] {
			continue
		}
		d := float64(pred[i]) - float64(truth[i])
		sum += d * d
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Sqrt(sum / float64(n))
}

// PerKeypointRMSE returns the RMSE of each of the 15 keypoints, pooling
// its x and y errors, over rows of 30 coordinates laid out as in Set.
// A keypoint that is never present gets NaN.
func PerKeypointRMSE(pred, truth []float32, mask []bool) [NumKeypoints]float64 {
	checkLens("PerKeypointRMSE", pred, truth, mask)
	if len(pred)%NumCoords != 0 {
		panic("dataset: PerKeypointRMSE needs whole rows of 30 coordinates")
	}
	var sum [NumKeypoints]float64
	var n [NumKeypoints]int
	for i := range pred {
		if mask != nil && !mask[i] {
			continue
		}
		k := (i % NumCoords) / 2
		d := float64(pred[i]) - float64(truth[i])
		sum[k] += d * d
		n[k]++
	}
	var out [NumKeypoints]float64
	for k := range out {
		out[k] = math.NaN()
		if n[k] > 0 {
			out[k] = math.Sqrt(sum[k] / float64(n[k]))
		}
	}
	return out
}

func checkLens(fn string, pred, truth []float32, mask []bool) {
	if len(pred) != len(truth) || (mask != nil && len(mask) != len(pred)) {
		panic("dataset: " + fn + ": pred, truth and mask differ in length")
	}
}

// Means returns the mean of each coordinate column over the rows where it
// is present. A column that is never present gets ImageSize/2, the image
// centre, so that the result is always a usable prediction.
func Means(s *Set) [NumCoords]float32 {
	var sum [NumCoords]float64
	var n [NumCoords]int
	for i, v := range s.Coords {
		if s.Mask[i] {
			sum[i%NumCoords] += float64(v)
			n[i%NumCoords]++
		}
	}
	var out [NumCoords]float32
	for j := range out {
		out[j] = ImageSize / 2
		if n[j] > 0 {
			out[j] = float32(sum[j] / float64(n[j]))
		}
	}
	return out
}
