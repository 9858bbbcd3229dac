package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/submission"
)

// baselineJob is a run of fkd baseline: a baseline with its settings, the
// data it is fitted on, and what to do with it.
type baselineJob struct {
	Kind                      string // "mean" or "patch"
	PatchRadius, SearchRadius int    // patch only
	Workers                   int    // patch only: goroutines searching faces (0: one per CPU)

	Train   string  // the training data
	Holdout float64 // score on this fraction of Train held out; 0: do not score
	Seed    int64   // of the hold-out split
	// Out is the submission to write, "" for none, of the faces of Test
	// that the lookup table Lookup asks for, fitted on all of Train.
	Out, Test, Lookup string
}

// runBaselineJob reads the training data, then scores the baseline on its
// hold-out part, writes the submission, or both, as b asks, writing to e's
// stdout and stderr.
func runBaselineJob(e *report.Env, b baselineJob) error {
	set, rep, err := dataset.ReadTraining(b.Train, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	if err := b.CheckColumns(rep); err != nil {
		return err
	}
	if b.Holdout > 0 {
		if err := scoreBaseline(e, b, set); err != nil {
			return err
		}
	}
	if b.Out != "" {
		return submitBaseline(e, b, set)
	}
	return nil
}

// Model returns an unfitted model of b.
func (b baselineJob) Model() baseline.Model {
	if b.Kind == "mean" {
		return &baseline.Mean{}
	}
	return &baseline.Patch{PatchRadius: b.PatchRadius, SearchRadius: b.SearchRadius, Workers: b.Workers}
}

// String names b and its settings.
func (b baselineJob) String() string {
	if b.Kind == "mean" {
		return "mean baseline"
	}
	return fmt.Sprintf("patch search (patch radius %d, search radius %d)", b.PatchRadius, b.SearchRadius)
}

// CheckColumns refuses training data with a keypoint column that is empty
// in every face: neither baseline can place that keypoint.
func (b baselineJob) CheckColumns(rep *dataset.Report) error {
	for j, name := range dataset.CoordNames() {
		if rep.Present[j] == 0 {
			return fmt.Errorf("%s: column %s is empty in all %d faces: the %s baseline needs at least one value in every keypoint column", rep.Source, name, rep.Read, b.Kind)
		}
	}
	return nil
}

// predictBaseline runs a fitted baseline on images; for the patch search
// it shows a progress bar (on a terminal) and says how long it took.
// what names the faces: "hold-out", "test".
func predictBaseline(e *report.Env, m baseline.Model, images []uint8, what string) ([]float32, error) {
	faces := len(images) / dataset.PixelCount
	p, isPatch := m.(*baseline.Patch)
	if isPatch {
		bar := progressbar.NewOptions(faces,
			progressbar.OptionSetWriter(e.Stderr),
			progressbar.OptionSetVisibility(e.Terminal),
			progressbar.OptionSetDescription("patch search, "+what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("faces"),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		defer bar.Close()
		p.Progress = func(n int) { _ = bar.Add(n) }
		defer func() { p.Progress = nil }()
	}
	start := time.Now()
	pred, err := m.Predict(images)
	if err != nil {
		return nil, fmt.Errorf("predict %s: %w", what, err)
	}
	if isPatch {
		workers := p.Workers
		if workers <= 0 {
			workers = runtime.NumCPU()
		}
		fmt.Fprintf(e.Stderr, "patch search, %s: %d faces in %.3fs (workers: %d)\n",
			what, faces, time.Since(start).Seconds(), workers)
	}
	return pred, nil
}

// scoreBaseline fits b on the training part of the split of set by
// b.Holdout and b.Seed, and writes on stdout what it scored and the RMSE
// table of the hold-out part (eval.Evaluation.WriteTable).
func scoreBaseline(e *report.Env, b baselineJob, set *dataset.Set) error {
	holdout, seed := b.Holdout, b.Seed
	trainIdx, holdIdx := dataset.Split(set, holdout, seed)
	if len(trainIdx) == 0 || len(holdIdx) == 0 {
		return fmt.Errorf("hold-out split of %d faces at %v leaves a part empty", set.Len(), holdout)
	}
	fit, hold := set.Subset(trainIdx), set.Subset(holdIdx)
	m := b.Model()
	if err := m.Fit(fit); err != nil {
		return err
	}
	pred, err := predictBaseline(e, m, hold.Images, "hold-out")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%s: fitted on %d faces, scored on %d hold-out faces (fraction %v, seed %d)\n\n",
		b, fit.Len(), hold.Len(), holdout, seed)
	return eval.EvaluationOf(pred, hold).WriteTable(e.Stdout)
}

// submitBaseline fits b on all of set and writes the submission b.Out of
// the faces of b.Test that the lookup table b.Lookup asks for, the
// training means filling what it cannot answer; it says so on stderr.
func submitBaseline(e *report.Env, b baselineJob, set *dataset.Set) error {
	predict := func(images []uint8) ([]float32, error) {
		m := b.Model()
		if err := m.Fit(set); err != nil {
			return nil, err
		}
		return predictBaseline(e, m, images, "test")
	}
	res, err := submission.Make(e.Stderr, b.Test, b.Lookup, b.Out, predict, dataset.Means(set))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "wrote %s: %d rows, %d filled with training means\n", b.Out, res.Rows, res.Filled)
	if w := res.MissingWarning(); w != "" {
		fmt.Fprintln(e.Stderr, w)
	}
	if res.Filled > 0 {
		fmt.Fprintf(e.Stderr, "warning: %d rows of %d images had no prediction and hold the training means\n",
			res.Filled, res.FilledImages)
	}
	if res.Clipped > 0 {
		fmt.Fprintf(e.Stderr, "warning: %d predictions clipped into the image\n", res.Clipped)
	}
	return nil
}
