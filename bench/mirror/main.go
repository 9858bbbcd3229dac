// Command mirror measures where a data set's mirror axis lies, from the
// nets trained on it: for each model it prints, on the hold-out faces of
// the training file (fraction 0.1, split seed 1, as docs/results uses),
// the model's mean signed error in x and in y, and its RMSE with flip
// test-time augmentation about x = 47.5, 48 and 48.5 (the mirror x → 95 −
// x, 96 − x, 97 − x). Nets trained with mirror images labelled about the
// wrong axis predict x too small or too large by half the error on every
// face, and flip TTA scores best about the data's own axis.
// docs/results/README.md ("The mirror axis") was measured with it.
//
// Usage: go run ./bench/mirror TRAINING.zip MODEL.pt...
package main

import (
	"fmt"
	"os"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/mirror TRAINING.zip MODEL.pt...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "mirror:", err)
		os.Exit(1)
	}
}

func run(trainPath string, modelPaths []string) error {
	torch.SetNumThreads(0)
	set, _, err := dataset.ReadTraining(trainPath, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	_, hold := dataset.Split(set, 0.1, 1)
	faces := set.Subset(hold)
	mirrored := make([]uint8, len(faces.Images))
	for i := range faces.Len() {
		img := faces.Images[i*dataset.PixelCount : (i+1)*dataset.PixelCount]
		dataset.FlipImage(mirrored[i*dataset.PixelCount:(i+1)*dataset.PixelCount], img)
	}
	fmt.Printf("%d hold-out faces of %s\n", faces.Len(), trainPath)
	for _, path := range modelPaths {
		m, _, err := models.Load(path, torch.CPU)
		if err != nil {
			return err
		}
		direct := models.Predict(m, faces.Images, 128, torch.CPU)
		flipped := models.Predict(m, mirrored, 128, torch.CPU)
		m.Store().Free()
		bx, by := meanError(direct, faces)
		fmt.Printf("%s\n  no TTA: RMSE %.4f px, mean error x %+.3f px, y %+.3f px\n",
			path, dataset.RMSE(direct, faces.Coords, faces.Mask), bx, by)
		for _, width := range []float32{95, 96, 97} {
			tta := average(direct, unflip(flipped, width))
			fmt.Printf("  flip TTA about x = %.1f (x -> %g - x): RMSE %.4f px\n",
				width/2, width, dataset.RMSE(tta, faces.Coords, faces.Mask))
		}
	}
	return nil
}

// unflip maps predictions on mirrored faces back: left and right trade
// places and x becomes width - x.
func unflip(pred []float32, width float32) []float32 {
	perm := dataset.FlipCoordPerm()
	out := make([]float32, len(pred))
	for f := 0; f < len(pred); f += dataset.NumCoords {
		for j := range dataset.NumCoords {
			v := pred[f+perm[j]]
			if j%2 == 0 {
				v = width - v
			}
			out[f+j] = v
		}
	}
	return out
}

func average(a, b []float32) []float32 {
	out := make([]float32, len(a))
	for i := range a {
		out[i] = (a[i] + b[i]) / 2
	}
	return out
}

// meanError returns the mean of prediction minus truth over the present
// x coordinates and over the present y coordinates.
func meanError(pred []float32, s *dataset.Set) (x, y float64) {
	var sum [2]float64
	var n [2]int
	for i, ok := range s.Mask {
		if ok {
			sum[i%2] += float64(pred[i] - s.Coords[i])
			n[i%2]++
		}
	}
	return sum[0] / float64(n[0]), sum[1] / float64(n[1])
}
