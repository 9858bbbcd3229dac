package report

import (
	"cmp"
	"fmt"
	"path/filepath"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

// CheckDir checks, before any work, that a report's files can be written
// into dir: it is a directory, or can be made, and takes files.
func CheckDir(dir string) error {
	if err := atomicfile.Check(filepath.Join(dir, "index.html")); err != nil {
		return fmt.Errorf("report folder %s: %w", dir, err)
	}
	return nil
}

// ChartSize returns the size in pixels of a chart of fkd plot, "curves"
// or "landmarks": width and height where they are not 0, else the
// report's size of that chart.
func ChartSize(chart string, width, height int) (w, h int) {
	w, h = ChartWidth, ChartHeight
	if chart == "landmarks" {
		w, h = LandmarksWidth, LandmarksHeight
	}
	return cmp.Or(width, w), cmp.Or(height, h)
}

// Curves draws the learning curves of the run whose history is at
// histPath, finished or not, to the PNG out of w×h pixels, and returns
// the history.
func Curves(histPath, out string, w, h int) (*train.History, error) {
	hist, err := train.ReadHistory(histPath)
	if err != nil {
		return nil, err
	}
	if err := plots.LearningCurves(out, PlotRun(hist.Config.Model, hist), nil, w, h); err != nil {
		return nil, err
	}
	return hist, nil
}

// Landmarks draws the best, median and worst faces, faces of each, of the
// hold-out part of set that a finished run with history hist held out,
// as its model at modelPath places their keypoints on dev, to the PNG out
// of w×h pixels. It returns the model's evaluation on the hold-out part.
func Landmarks(out, modelPath string, hist *train.History, set *dataset.Set, dev torch.Device, faces, w, h int) (eval.Evaluation, error) {
	m, _, err := LoadModel(modelPath, dev)
	if err != nil {
		return eval.Evaluation{}, err
	}
	defer m.Store().Free()
	parts, err := eval.Holdout{Fraction: hist.Config.Holdout, Seed: hist.Config.HoldoutSeed()}.Split(set)
	if err != nil {
		return eval.Evaluation{}, err
	}
	holdIdx := parts.Held
	hold := set.Subset(holdIdx)
	ev, err := eval.Evaluate(m, hold)
	if err != nil {
		return ev, err
	}
	s := &Score{Label: hist.Config.Model, Pred: ev.Pred, FaceErrors: FaceErrors(ev.Pred, hold)}
	return ev, plots.Landmarks(out, LandmarkRows(s, hold, faces, MislabelledHeld(set, holdIdx)), w, h)
}
