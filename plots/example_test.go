package plots_test

import (
	"fmt"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/fkd-project/fkd/plots"
)

// A run's learning curves against the mean baseline, as a 800×480 PNG.
func ExampleLearningCurves() {
	dir, err := os.MkdirTemp("", "plots")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	run := plots.Run{Name: "cnn3", BestEpoch: 3, Epochs: []plots.Epoch{
		{Epoch: 1, TrainRMSE: 7.3, HoldoutRMSE: 4.3},
		{Epoch: 2, TrainRMSE: 3.6, HoldoutRMSE: 3.0},
		{Epoch: 3, TrainRMSE: 3.0, HoldoutRMSE: 2.8},
	}}
	refs := []plots.Reference{{Label: "mean baseline", RMSE: 4.15}}
	path := filepath.Join(dir, "curves.png")
	if err := plots.LearningCurves(path, run, refs, 800, 480); err != nil {
		log.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%dx%d\n", cfg.Width, cfg.Height)
	// Output: 800x480
}

// The faces with the smallest, middle and largest errors, two of each.
func ExamplePickByError() {
	errs := []float64{2.1, 0.4, 9.8, 1.5, 3.3, 0.9, 5.0}
	best, median, worst := plots.PickByError(errs, 2)
	fmt.Println(best, median, worst)
	// Output: [1 5] [3 0] [6 2]
}
