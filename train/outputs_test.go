package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// TestRunChecksOutputsFirst checks that an output that cannot be written
// fails the run before its first step, not after its last epoch.
func TestRunChecksOutputsFirst(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{})
	tests := []struct {
		name   string
		change func(t *testing.T, dir string, c *Config)
		want   string
	}{
		{"out is a directory", func(t *testing.T, dir string, c *Config) {
			c.Out = filepath.Join(dir, "existing")
			mkdir(t, c.Out)
		}, "is a directory"},
		{"checkpoint is a directory", func(t *testing.T, dir string, c *Config) {
			c.Checkpoint = filepath.Join(dir, "ckpt")
			mkdir(t, c.Checkpoint)
		}, "is a directory"},
		{"history is a directory", func(t *testing.T, dir string, c *Config) {
			mkdir(t, c.HistoryPath())
		}, "is a directory"},
		{"folder under a file", func(t *testing.T, dir string, c *Config) {
			file := filepath.Join(dir, "file")
			if err := os.WriteFile(file, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			c.Out = filepath.Join(file, "run", "model.pt")
		}, "is not a directory"},
		{"model to standard output", func(t *testing.T, dir string, c *Config) { c.Out = "-" }, "needs a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := smallConfig(dir)
			c.Epochs, c.Warmup = 1, 0
			tt.change(t, dir, &c)
			steps := 0
			_, err := Run(context.Background(), c, set, Options{AfterStep: func(StepInfo) { steps++ }})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if steps != 0 {
				t.Errorf("the run took %d steps before failing", steps)
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointKeepsDataPaths checks that a checkpoint remembers the
// data files it was given, so that a resume needs no data flags.
func TestCheckpointKeepsDataPaths(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{})
	c := smallConfig(t.TempDir())
	paths := DataPaths{Train: "/data/training.zip", Test: "/data/test.csv", Lookup: "/data/IdLookupTable.csv"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, c, set, Options{Data: paths, AfterStep: func(StepInfo) { cancel() }})
	if !errors.As(err, new(*InterruptedError)) {
		t.Fatalf("got %v, want an interruption", err)
	}
	ck, err := ReadCheckpoint(c.CheckpointPath())
	if err != nil {
		t.Fatal(err)
	}
	if ck.DataPaths != paths {
		t.Errorf("checkpoint keeps data paths %+v, want %+v", ck.DataPaths, paths)
	}
}

// TestInterruptedRunModel checks what an interrupted run leaves at
// Config.Out: its best model so far once an epoch was scored, and else a
// plain note that a file there is an older run's.
func TestInterruptedRunModel(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{})
	tests := []struct {
		name      string
		stopAt    func(s StepInfo) bool
		olderFile bool
		wantSaved bool
		wantLog   string
	}{
		{"after an epoch", func(s StepInfo) bool { return s.Epoch == 2 }, true, true, "saved the best model so far"},
		{"in the first epoch, older model there", func(StepInfo) bool { return true }, true, false, "is from an older run"},
		{"in the first epoch, no model", func(StepInfo) bool { return true }, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := smallConfig(t.TempDir())
			older := []byte("an older run's model")
			if tt.olderFile {
				if err := os.WriteFile(c.Out, older, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var log bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := Run(ctx, c, set, Options{Log: &log, AfterStep: func(s StepInfo) {
				if tt.stopAt(s) {
					cancel()
				}
			}})
			var ie *InterruptedError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an interruption", err)
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, log.String())
			}
			b, readErr := os.ReadFile(c.Out)
			switch {
			case tt.wantSaved:
				m, meta, err := models.Load(c.Out, torch.CPU)
				if err != nil {
					t.Fatalf("the best model so far: %v", err)
				}
				m.Store().Free()
				if ie.Model != c.Out || eval.ReadProvenance(meta).BestEpoch != 1 || !strings.Contains(eval.ReadProvenance(meta).Stopped, "interrupted") {
					t.Errorf("model %q, best epoch %q, stopped %q", ie.Model, meta.Extra["train.best_epoch"], meta.Extra["train.stopped"])
				}
			case tt.olderFile:
				if !bytes.Equal(b, older) || ie.OlderModel != c.Out {
					t.Errorf("older model changed (%v) or not named (%q)", readErr, ie.OlderModel)
				}
			default:
				if readErr == nil || ie.OlderModel != "" {
					t.Errorf("a model was written (%v) or named as older (%q)", readErr, ie.OlderModel)
				}
			}
		})
	}
}

// TestNonFiniteBatchNormStops checks that an infinite BatchNorm running
// variance with a finite loss stops the run like a NaN loss: the last
// good checkpoint is kept and named.
func TestNonFiniteBatchNormStops(t *testing.T) {
	set := synth.Generate(24, 9, synth.Options{})
	c := smallConfig(t.TempDir())
	var saved []byte
	var log bytes.Buffer
	_, err := Run(context.Background(), c, set, Options{Log: &log, afterStep: func(r *runner) {
		if r.epoch == 1 && r.step == r.steps { // the last step of epoch 2
			b, err := os.ReadFile(c.CheckpointPath())
			if err != nil {
				t.Error(err)
			}
			saved = b
			for _, nt := range r.model.Store().NamedBuffers() {
				if strings.HasSuffix(nt.Name, "running_var") {
					torch.NoGrad(func() { nt.Tensor.AddScalarInPlace(math.Inf(1)) })
					return
				}
			}
			t.Error("the model has no running variance")
		}
	}})
	var nf *NonFiniteModelError
	if !errors.As(err, &nf) {
		t.Fatalf("got %v (log:\n%s), want a *NonFiniteModelError", err, log.String())
	}
	if nf.Epoch != 2 || nf.Checkpoint != c.CheckpointPath() || !strings.Contains(nf.Tensor, "running_var") {
		t.Errorf("error %q: want epoch 2, a running_var and checkpoint %s named", err, c.CheckpointPath())
	}
	now, err := os.ReadFile(c.CheckpointPath())
	if err != nil {
		t.Fatal(err)
	}
	if saved == nil || !bytes.Equal(now, saved) {
		t.Error("the checkpoint changed after the running variance became infinite")
	}
}

// TestWarnsWhenWorseThanMean checks the warning for a model whose
// hold-out RMSE is worse than predicting the mean keypoints: one epoch
// at a negligible learning rate leaves the net far from the means.
func TestWarnsWhenWorseThanMean(t *testing.T) {
	set := synth.Generate(40, 5, synth.Options{})
	tests := []struct {
		name     string
		lr       float64
		epochs   int
		wantWarn bool
	}{
		{"untrained", 1e-9, 1, true},
		{"no hold-out part", 1e-9, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := smallConfig(t.TempDir())
			c.LR, c.Epochs, c.Warmup = tt.lr, tt.epochs, 0
			if !tt.wantWarn {
				c.Holdout = 0
			}
			var log bytes.Buffer
			res, err := Run(context.Background(), c, set, Options{Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			res.Model.Store().Free()
			warned := strings.Contains(log.String(), "worse than the mean keypoints")
			if warned != tt.wantWarn {
				t.Errorf("warned %v, want %v; log:\n%s", warned, tt.wantWarn, log.String())
			}
			if !tt.wantWarn {
				return
			}
			means := dataset.Means(res.Train)
			var pred []float32
			for range res.Holdout.Len() {
				pred = append(pred, means[:]...)
			}
			want := dataset.RMSE(pred, res.Holdout.Coords, res.Holdout.Mask)
			if res.MeanHoldoutRMSEPx != want || !(res.BestHoldoutRMSEPx > want) {
				t.Errorf("mean baseline %v px, want %v; model %v px", res.MeanHoldoutRMSEPx, want, res.BestHoldoutRMSEPx)
			}
			var h History
			b, _ := os.ReadFile(c.HistoryPath())
			if err := json.Unmarshal(b, &h); err != nil || h.MeanHoldoutRMSEPx == nil || *h.MeanHoldoutRMSEPx != want {
				t.Errorf("history's mean baseline %v (%v), want %v", h.MeanHoldoutRMSEPx, err, want)
			}
		})
	}
}

// TestRunRemovesStaleTempFiles checks that a run removes the temporary
// files an interrupted one left beside its outputs, and only those.
func TestRunRemovesStaleTempFiles(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{})
	dir := t.TempDir()
	c := smallConfig(dir)
	c.Epochs, c.Warmup = 1, 0
	old := time.Now().Add(-time.Hour)
	files := map[string]bool{ // name: whether the run removes it
		".model.ckpt.tmp-1234":      true,
		".model.pt.tmp-99":          true,
		".model.history.json.tmp-5": true,
		".submission.csv.tmp-7":     false, // not the run's own
		".model.ckpt.tmp-notwrite":  false,
		"notes.txt":                 false,
	}
	for name := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	res, err := Run(context.Background(), c, set, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	for name, gone := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) != gone {
			t.Errorf("%s: removed %v, want %v", name, !gone, gone)
		}
	}
	if n := strings.Count(log.String(), "a temporary file an interrupted run left"); n != 3 {
		t.Errorf("log names %d removed files, want 3:\n%s", n, log.String())
	}
}

// plantOutliers swaps the eye centres of the given faces, a labelling
// mistake dataset.Outliers finds.
func plantOutliers(s *dataset.Set, rows ...int) {
	for _, i := range rows {
		c, _ := s.Keypoints(i)
		// left_eye_center (0) and right_eye_center (1), x then y.
		c[0], c[1], c[2], c[3] = c[2], c[3], c[0], c[1]
	}
}

// TestDropOutliers checks that Config.DropOutliers leaves the outliers
// out of both parts, says so in the log and the history, and is a
// setting a resume must keep.
func TestDropOutliers(t *testing.T) {
	set := synth.Generate(60, 5, synth.Options{})
	planted := []int{3, 17, 42}
	plantOutliers(set, planted...)
	set.Lines = make([]int, set.Len())
	for i := range set.Lines {
		set.Lines[i] = i + 2
	}
	found := dataset.Outliers(set)
	if len(found) < len(planted) {
		t.Fatalf("dataset.Outliers finds %d of the %d planted outliers: %+v", len(found), len(planted), found)
	}
	c := smallConfig(t.TempDir())
	c.Epochs, c.Warmup = 1, 0
	c.DropOutliers = true
	var log bytes.Buffer
	res, err := Run(context.Background(), c, set, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	if len(res.Dropped) != len(found) {
		t.Errorf("dropped %d faces, want %d", len(res.Dropped), len(found))
	}
	if got := res.Train.Len() + res.Holdout.Len(); got != set.Len()-len(found) {
		t.Errorf("%d faces trained on and held out, want %d", got, set.Len()-len(found))
	}
	// The hold-out part is the split's, less the outliers.
	_, ho := dataset.Split(set, c.Holdout, c.Seed)
	held := 0
	for _, d := range res.Dropped {
		for _, i := range ho {
			if i == d.Row && !d.Holdout {
				t.Errorf("row %d was held out, but not marked so", d.Row)
			}
		}
		if d.Holdout {
			held++
		}
	}
	if res.Holdout.Len() != len(ho)-held {
		t.Errorf("%d hold-out faces, want %d", res.Holdout.Len(), len(ho)-held)
	}
	for _, row := range planted {
		if want := "line " + itoa(row+2); !strings.Contains(log.String(), want) {
			t.Errorf("log does not name %s:\n%s", want, log.String())
		}
	}
	var h History
	b, _ := os.ReadFile(c.HistoryPath())
	if err := json.Unmarshal(b, &h); err != nil || len(h.DroppedOutliers) != len(found) || !h.Config.DropOutliers {
		t.Errorf("history records %d dropped faces (%v), drop_outliers %v", len(h.DroppedOutliers), err, h.Config.DropOutliers)
	}

	// Resuming without the setting is a different run.
	rc := c
	rc.Resume, rc.DropOutliers = true, false
	if _, err := Run(context.Background(), rc, set, Options{}); err == nil || !strings.Contains(err.Error(), "drop outliers") {
		t.Errorf("resume without drop outliers: got %v, want a refusal naming the setting", err)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
