// Package compare holds the machinery of fkd compare beneath its command
// line: the model specs and devices it is given, whether a model's run is
// trained, resumed or reused, the comparison itself (Comparison: its runs
// trained one after the other or side by side, with their progress, then
// the report), and the protocol between a parallel compare and the worker
// processes that train its models.
package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

// SplitSpecs splits a comma-separated list of model specs. A part
// that holds "=" but no ":" is an option of the spec before it, so
// "fpn:width=48,dropout=0.2,cnn3" is two specs. The specs come back in
// the canonical form of models.Spec.String; a spec given twice, or one
// models.Check refuses (a misspelt architecture or option, a bad value),
// is an error.
func SplitSpecs(list string) ([]string, error) {
	var raw []string
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			return nil, fmt.Errorf("empty model spec in %q", list)
		case strings.Contains(part, "=") && !strings.Contains(part, ":"):
			if len(raw) == 0 {
				return nil, fmt.Errorf("option %q comes before any model", part)
			}
			raw[len(raw)-1] += "," + part
		default:
			raw = append(raw, part)
		}
	}
	var specs []string
	for _, r := range raw {
		spec, err := models.ParseSpec(r)
		if err != nil {
			return nil, err
		}
		// Every spec is checked in full here, before anything trains.
		if _, err := models.Check(spec); err != nil {
			return nil, err
		}
		s := spec.String()
		if slices.Contains(specs, s) {
			return nil, fmt.Errorf("model %s given twice", s)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// SettingsDiffer names the first setting, by its JSON key, in which a run
// made with have differs from one asked for with want; "" when they agree
// on everything but the Placement settings (train.Settings).
func SettingsDiffer(have, want train.Config) string {
	h, err1 := configMap(have)
	w, err2 := configMap(want)
	if err := errors.Join(err1, err2); err != nil {
		return err.Error()
	}
	for _, k := range slices.Sorted(maps.Keys(w)) {
		if train.IsPlacement(k) {
			continue
		}
		if !reflect.DeepEqual(h[k], w[k]) {
			return fmt.Sprintf("%s %v, now %v", k, jsonText(h[k]), jsonText(w[k]))
		}
	}
	for k := range h {
		if _, ok := w[k]; !ok && !train.IsPlacement(k) {
			return fmt.Sprintf("%s %v, now unset", k, jsonText(h[k]))
		}
	}
	return ""
}

// configMap returns c's JSON object as a map, so that settings added to
// train.Config later are compared too.
func configMap(c train.Config) (map[string]any, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func jsonText(v any) string {
	if v == nil {
		return "unset"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Plan says what compare does with a model.
type Plan int

const (
	Train  Plan = iota // train afresh
	Resume             // continue an interrupted run
	Reuse              // take the finished run as it is
)

// PlanRun decides whether the run of cfg must be trained, resumed or can
// be reused, and says why: always trained with force; trainFaces and
// holdFaces give the numbers of training and
// hold-out faces of the data.
func PlanRun(cfg train.Config, force bool, trainFaces, holdFaces int) (Plan, string) {
	if force {
		return Train, "--force"
	}
	h, err := train.ReadHistory(cfg.HistoryPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Stopped in its first epoch, a run has a checkpoint but no history yet.
		if ck, err := train.ReadCheckpoint(cfg.CheckpointPath()); err == nil && ck.Progress.Stopped == "" && SettingsDiffer(ck.Config, cfg) == "" {
			return Resume, fmt.Sprintf("the last run stopped in epoch %d, after step %d", ck.Progress.Epoch+1, ck.Progress.Step)
		}
		return Train, "no run yet"
	case err != nil:
		return Train, err.Error()
	}
	if d := SettingsDiffer(h.Config, cfg); d != "" {
		return Train, "the settings changed: " + d
	}
	if h.Stopped == "" {
		if _, err := os.Stat(cfg.CheckpointPath()); err != nil {
			return Train, "the last run was unfinished and left no checkpoint"
		}
		return Resume, fmt.Sprintf("the last run stopped after %d of %d epochs", len(h.Epochs), cfg.Epochs)
	}
	if why := trainedOn(cfg.Out, trainFaces, holdFaces); why != "" {
		return Train, why
	}
	return Reuse, fmt.Sprintf("finished run with the same settings (%s)", h.Stopped)
}

// trainedOn checks the model file of a finished run: it must load and
// record the numbers of training and hold-out faces of the split. It
// returns what is wrong, or "".
func trainedOn(modelPath string, trainFaces, holdFaces int) string {
	m, meta, err := report.LoadModel(modelPath, torch.CPU)
	if err != nil {
		return err.Error()
	}
	m.Store().Free()
	if p := eval.ReadProvenance(meta); p.TrainFaces != trainFaces || p.HoldoutFaces != holdFaces {
		return fmt.Sprintf("the model was trained on %d faces holding out %d, the data now gives %d and %d",
			p.TrainFaces, p.HoldoutFaces, trainFaces, holdFaces)
	}
	return ""
}
