package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// Run is a run named for a report.
type Run struct {
	Path string // its directory or model file
	// Listed marks a run that a comparison's manifest lists: one that is
	// missing or unfinished is left out of the report with a note, as a
	// shard may not have made it yet. Spec and Shard then say what it is
	// and which shard trains it ("shard 2/3"; "" without shards).
	Listed      bool
	Spec, Shard string
}

// Runs names runs by their directories or model files.
func Runs(paths ...string) []Run {
	runs := make([]Run, len(paths))
	for i, p := range paths {
		runs[i] = Run{Path: p}
	}
	return runs
}

// Comparison is the directory of an fkd compare, with its manifest.
type Comparison struct {
	Dir      string
	Manifest *Manifest
}

// Expand turns the report's arguments into runs: a comparison's
// directory (holding compare.json) stands for every run of its manifest,
// in order, anything else for itself.
func Expand(args []string) ([]Run, []Comparison, error) {
	var runs []Run
	var comps []Comparison
	for _, a := range args {
		m, err := ReadManifest(a)
		switch {
		case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			if _, err := os.Stat(a); err != nil {
				return nil, nil, fmt.Errorf("run %s: %w: name a run's folder or its model file, or the --out of fkd compare", a, missingRun(err))
			}
			runs = append(runs, Run{Path: a})
			continue
		case err != nil:
			return nil, nil, err
		}
		comps = append(comps, Comparison{a, m})
		for k, spec := range m.Models {
			runs = append(runs, Run{Path: filepath.Join(a, filepath.FromSlash(m.Runs[k])), Listed: true, Spec: spec, Shard: m.ShardLabel(k)})
		}
	}
	return runs, comps, nil
}

// missingRun says why a run named for a report cannot be found.
func missingRun(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("no such folder or file")
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Files returns the model file and history file of a run named by its
// directory or its model file.
func Files(run string) (model, history string, err error) {
	info, err := os.Stat(run)
	if err != nil {
		return "", "", fmt.Errorf("run %s: %w", run, missingRun(err))
	}
	model = run
	if info.IsDir() {
		model = filepath.Join(run, "model.pt")
	}
	c := train.Config{Out: model}
	return model, c.HistoryPath(), nil
}

// IncompleteError says what a run lacks to be reported: it was killed,
// or has not finished, or not started.
type IncompleteError struct{ msg string }

func (e *IncompleteError) Error() string { return e.msg }

// Incomplete describes what a run listed by a comparison lacks, or returns
// "" when it looks finished and Finished should judge it.
func Incomplete(r Run) string {
	model, histPath, err := Files(r.Path)
	if err != nil {
		return "not started: no run directory"
	}
	var missing []string
	h, herr := train.ReadHistory(histPath)
	switch {
	case herr != nil:
		missing = append(missing, "no history ("+filepath.Base(histPath)+")")
	case h.Stopped == "":
		missing = append(missing, fmt.Sprintf("unfinished history (%d of %d epochs)", len(h.Epochs), h.Config.Epochs))
	}
	if !isFile(model) {
		missing = append(missing, "no model ("+filepath.Base(model)+")")
	}
	if len(missing) == 0 {
		return ""
	}
	ckPath := (&train.Config{Out: model}).CheckpointPath()
	ck, err := train.ReadCheckpoint(ckPath)
	switch {
	case err != nil:
		missing = append(missing, "no checkpoint")
	case ck.Progress.Step == 0:
		missing = append(missing, fmt.Sprintf("a checkpoint after epoch %d (%s)", ck.Progress.Epoch, filepath.Base(ckPath)))
	default:
		missing = append(missing, fmt.Sprintf("a checkpoint in epoch %d after step %d (%s)", ck.Progress.Epoch+1, ck.Progress.Step, filepath.Base(ckPath)))
	}
	return strings.Join(missing, ", ") + "; the same fkd compare continues it"
}

// Finished reads the history of a run and checks that training
// ended and that the run held faces out. A run that has not finished
// gives an *IncompleteError.
func Finished(run string) (model string, h *train.History, err error) {
	model, histPath, err := Files(run)
	if err != nil {
		return "", nil, err
	}
	h, err = train.ReadHistory(histPath)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("run %s has no history %s: is it a run directory of fkd train?", run, histPath)
	}
	if err != nil {
		return "", nil, err
	}
	switch {
	case h.Stopped == "":
		return "", nil, &IncompleteError{fmt.Sprintf("run %s is unfinished (%d of %d epochs): resume it with fkd train --resume, or run its fkd compare again",
			run, len(h.Epochs), h.Config.Epochs)}
	case h.Config.Holdout == 0:
		return "", nil, fmt.Errorf("run %s held no faces out, so it cannot be compared on a hold-out part", run)
	case len(h.Epochs) == 0:
		return "", nil, fmt.Errorf("run %s has no epochs in its history", run)
	}
	return model, h, nil
}

// Labels names each run by its model spec, adding the run's directory
// where two runs share a spec.
func Labels(runs []string, spec func(i int) string) []string {
	count := map[string]int{}
	for i := range runs {
		count[spec(i)]++
	}
	labels := make([]string, len(runs))
	for i, run := range runs {
		labels[i] = spec(i)
		if count[spec(i)] > 1 {
			dir := run
			if !isDir(run) {
				dir = filepath.Dir(run)
			}
			labels[i] = fmt.Sprintf("%s (%s)", spec(i), filepath.Base(dir))
		}
	}
	return labels
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// LoadModel loads what a --model flag names (see ensemble.Load): a model
// file, a comma-separated list of them (an ensemble of equal weights) or
// an ensemble file. An ensemble file's model predicts with the test-time
// augmentation its weights were fitted with, whatever else is asked: a
// second flip changes nothing but the time. A training checkpoint given
// as a model is named as such.
func LoadModel(path string, dev torch.Device) (models.Model, models.Meta, error) {
	m, meta, tta, err := ensemble.Load(path, dev)
	if err != nil && errors.Is(err, models.ErrNotModel) {
		if _, ckErr := train.ReadCheckpoint(path); ckErr == nil {
			return nil, models.Meta{}, fmt.Errorf("%s is a training checkpoint, not a model: give the model file fkd train saved (its --out)", path)
		}
	}
	if err != nil || tta == "" {
		return m, meta, err
	}
	t, err := eval.ParseTTA(tta)
	if err != nil { // Read checked it
		m.Store().Free()
		return nil, models.Meta{}, err
	}
	return eval.WithTTA(m, t), meta, nil
}
