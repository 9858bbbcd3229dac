package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// smallConfig is a quick CPU run of a narrow cnn3 that writes into dir.
func smallConfig(dir string) Config {
	c := DefaultConfig()
	c.Model = "cnn3:width=8"
	c.Epochs = 3
	c.Batch = 8
	c.Device = "cpu"
	c.Threads = 2
	c.Holdout = 0.2
	c.Warmup = 1
	c.ClipNorm = 1
	c.Out = filepath.Join(dir, "model.pt")
	return c
}

func TestOverfit(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three models for a few seconds each")
	}
	// 32 clean faces, one full batch per step, no dropout: every model
	// must fit them to well under a pixel within a fixed number of steps.
	// The widths are reduced to keep the test fast.
	set := synth.Generate(32, 7, synth.Options{Clean: true})
	tests := []struct {
		spec  string
		steps int
	}{
		{"cnn3:width=12,dropout=0", 120},
		{"tinyresnet:width=8,dropout=0", 110},
		{"fpn:width=8,channels=16,dropout=0", 90},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			c := DefaultConfig()
			c.Model = tt.spec
			c.Epochs = tt.steps
			c.Batch = 32
			c.Schedule = "none"
			c.WeightDecay = 0
			c.Holdout = 0
			c.Device = "cpu"
			c.Out = filepath.Join(t.TempDir(), "model.pt")
			start := time.Now()
			res, err := Run(context.Background(), c, set, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Model.Store().Free()
			ev, err := eval.Evaluate(res.Model, set)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: RMSE %.3f px on the 32 training faces after %d steps, %.1fs",
				tt.spec, ev.RMSE, tt.steps, time.Since(start).Seconds())
			if !(ev.RMSE < 1) {
				t.Errorf("RMSE %.3f px after %d steps, want < 1", ev.RMSE, tt.steps)
			}
		})
	}
}

// sameTensors reports the first difference between two files' tensors.
func sameTensors(t *testing.T, a, b string) {
	t.Helper()
	ta, tb := fkdtest.TensorBytes(t, a), fkdtest.TensorBytes(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("%s has %d tensors, %s has %d", a, len(ta), b, len(tb))
	}
	for name, x := range ta {
		if !bytes.Equal(x, tb[name]) {
			t.Fatalf("tensor %s differs between %s and %s", name, a, b)
		}
	}
}

// withoutTimes returns the history with the wall times zeroed.
func withoutTimes(h []EpochStats) []EpochStats {
	out := slices.Clone(h)
	for i := range out {
		out[i].Seconds = 0
	}
	return out
}

func sameHistory(a, b []EpochStats) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		eq := func(p, q float64) bool { return p == q || math.IsNaN(p) && math.IsNaN(q) }
		if x.Epoch != y.Epoch || !eq(x.TrainLoss, y.TrainLoss) || !eq(x.TrainRMSEPx, y.TrainRMSEPx) ||
			!eq(x.HoldoutLoss, y.HoldoutLoss) || !eq(x.HoldoutRMSEPx, y.HoldoutRMSEPx) ||
			!eq(x.EMAHoldoutLoss, y.EMAHoldoutLoss) || !eq(x.EMAHoldoutRMSEPx, y.EMAHoldoutRMSEPx) || x.LR != y.LR {
			return false
		}
	}
	return true
}

func TestResumeMatchesUninterrupted(t *testing.T) {
	// Faces with gaps, dropout on, warm-up then cosine, clipping: every
	// source of randomness and state a resume has to restore; then the
	// same with a moving average of the weights, and with pseudo-labels
	// too.
	set := synth.Generate(40, 3, synth.Options{PartialFrac: 0.5})
	teacher := trainTeacher(t, set, "cnn3:width=4")
	tests := []struct {
		name   string
		change func(c *Config)
	}{
		{"plain", func(*Config) {}},
		{"EMA", func(c *Config) { c.EMA = 0.9 }},
		{"EMA and pseudo-labels", func(c *Config) { c.EMA, c.PseudoLabels, c.PseudoWeight = 0.8, []string{teacher}, 0.3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole := smallConfig(t.TempDir())
			tt.change(&whole)
			parts := smallConfig(t.TempDir())
			tt.change(&parts)
			resumeMatches(t, set, whole, parts)
		})
	}
}

// resumeMatches runs whole straight through and parts interrupted twice
// and resumed, and checks that both end with the same history, model and
// checkpoint, bit for bit.
func resumeMatches(t *testing.T, set *dataset.Set, whole, parts Config) {
	t.Helper()
	ctx := context.Background()
	want, err := Run(ctx, whole, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want.Model.Store().Free()
	steps := stepsPerEpoch(want.Train.Len(), whole.Batch)
	if steps < 3 {
		t.Fatalf("%d steps per epoch; the test needs at least 3", steps)
	}

	// Interrupt in the middle of epoch 2, then right at the end of it
	// (the run finishes the epoch and stops before epoch 3).
	var interrupts []*InterruptedError
	for _, stopAt := range []int{steps + 2, 2 * steps, -1} {
		runCtx, cancel := context.WithCancel(ctx)
		o := Options{AfterStep: func(s StepInfo) {
			if s.GlobalStep == stopAt {
				cancel()
			}
		}}
		res, err := Run(runCtx, parts, set, o)
		cancel()
		var ie *InterruptedError
		switch {
		case stopAt < 0 && err != nil:
			t.Fatalf("last part: %v", err)
		case stopAt < 0:
			if !sameHistory(withoutTimes(res.History), withoutTimes(want.History)) {
				t.Errorf("history after resuming:\n%v\nwant\n%v", res.History, want.History)
			}
			if res.BestEpoch != want.BestEpoch || res.BestHoldoutRMSEPx != want.BestHoldoutRMSEPx || res.BestWeights != want.BestWeights {
				t.Errorf("best epoch %d (%v px, %s weights), want %d (%v px, %s)", res.BestEpoch, res.BestHoldoutRMSEPx, res.BestWeights,
					want.BestEpoch, want.BestHoldoutRMSEPx, want.BestWeights)
			}
			res.Model.Store().Free()
		case !errors.As(err, &ie):
			t.Fatalf("stopping at step %d: got %v, want an *InterruptedError", stopAt, err)
		default:
			interrupts = append(interrupts, ie)
		}
		parts.Resume = true
	}
	if got := interrupts[0]; got.Epoch != 2 || got.Step != 2 {
		t.Errorf("first interruption at epoch %d step %d, want epoch 2 step 2", got.Epoch, got.Step)
	}
	if got := interrupts[1]; got.Epoch != 3 || got.Step != 0 {
		t.Errorf("second interruption at epoch %d step %d, want epoch 3 step 0", got.Epoch, got.Step)
	}
	sameTensors(t, parts.Out, whole.Out)
	sameTensors(t, parts.CheckpointPath(), whole.CheckpointPath())
	hw, err1 := ReadHistory(whole.HistoryPath())
	hp, err2 := ReadHistory(parts.HistoryPath())
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if hw.BestWeights != hp.BestWeights || !reflect.DeepEqual(hw.PseudoLabels, hp.PseudoLabels) {
		t.Errorf("resumed history: best weights %q, pseudo-labels %+v; want %q, %+v", hp.BestWeights, hp.PseudoLabels, hw.BestWeights, hw.PseudoLabels)
	}
}

func TestResumeRefusals(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{})
	dir := t.TempDir()
	c := smallConfig(dir)
	c.Epochs = 2
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, c, set, Options{AfterStep: func(StepInfo) { cancel() }})
	if !errors.As(err, new(*InterruptedError)) {
		t.Fatalf("got %v, want an interruption", err)
	}
	other := synth.Generate(24, 6, synth.Options{})
	junk := filepath.Join(dir, "junk.ckpt")
	if err := os.WriteFile(junk, []byte("not a checkpoint at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.safetensors")
	torch.WithScope(func() {
		if err := nn.Save(foreign, map[string]*torch.Tensor{"w": torch.Zeros([]int64{2}, torch.Float32, torch.CPU)}, nil); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		name   string
		change func(c *Config)
		data   *dataset.Set
		want   string
	}{
		{"learning rate", func(c *Config) { c.LR *= 2 }, set, "lr 0.002"},
		{"model", func(c *Config) { c.Model = "cnn3:width=16" }, set, "model cnn3:width=16"},
		{"data", func(*Config) {}, other, "training data differs"},
		{"no checkpoint", func(c *Config) { c.Checkpoint = filepath.Join(dir, "none.ckpt") }, set, "none.ckpt"},
		{"not safetensors", func(c *Config) { c.Checkpoint = junk }, set, "junk.ckpt"},
		{"foreign safetensors", func(c *Config) { c.Checkpoint = foreign }, set, "not an fkd training checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := c
			rc.Resume = true
			tt.change(&rc)
			_, err := Run(context.Background(), rc, tt.data, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestResumeFinishedRunSavesModelAgain(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{})
	c := smallConfig(t.TempDir())
	c.Epochs = 2
	first, err := Run(context.Background(), c, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first.Model.Store().Free()
	saved := fkdtest.TensorBytes(t, c.Out)
	if err := os.Remove(c.Out); err != nil {
		t.Fatal(err)
	}
	c.Resume = true
	var log bytes.Buffer
	var steps int
	again, err := Run(context.Background(), c, set, Options{Log: &log, AfterStep: func(StepInfo) { steps++ }})
	if err != nil {
		t.Fatal(err)
	}
	again.Model.Store().Free()
	if steps != 0 || again.Stopped != first.Stopped || !sameHistory(again.History, first.History) {
		t.Errorf("resuming a finished run took %d steps, stopped %q (was %q)", steps, again.Stopped, first.Stopped)
	}
	if !strings.Contains(log.String(), "had finished") {
		t.Errorf("log does not say the run had finished:\n%s", log.String())
	}
	for name, b := range fkdtest.TensorBytes(t, c.Out) {
		if !bytes.Equal(b, saved[name]) {
			t.Errorf("tensor %s of the model saved again differs", name)
		}
	}
}

func TestNonFiniteLossStops(t *testing.T) {
	set := synth.Generate(24, 9, synth.Options{})

	t.Run("first epoch", func(t *testing.T) {
		c := smallConfig(t.TempDir())
		c.LR = 1e30
		c.Warmup = 0
		_, err := Run(context.Background(), c, set, Options{})
		var nf *NonFiniteLossError
		if !errors.As(err, &nf) {
			t.Fatalf("got %v, want a *NonFiniteLossError", err)
		}
		msg := err.Error()
		for _, want := range []string{"loss became", "at epoch 1 step", "none was written yet", "try a lower --lr"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q lacks %q", msg, want)
			}
		}
		for _, p := range []string{c.CheckpointPath(), c.Out} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists after the failed run (stat: %v)", p, err)
			}
		}
	})

	t.Run("later epoch", func(t *testing.T) {
		// The step schedule multiplies the rate by 1e33 after epoch 1.
		c := smallConfig(t.TempDir())
		c.Warmup = 0
		c.Schedule = "step"
		c.StepSize = 1
		c.StepGamma = 1e33
		var saved []byte
		_, err := Run(context.Background(), c, set, Options{AfterStep: func(s StepInfo) {
			if s.GlobalStep == s.Steps+1 { // epoch 1's checkpoint is on disk
				b, err := os.ReadFile(c.CheckpointPath())
				if err != nil {
					t.Error(err)
				}
				saved = b
			}
		}})
		var nf *NonFiniteLossError
		if !errors.As(err, &nf) {
			t.Fatalf("got %v, want a *NonFiniteLossError", err)
		}
		if nf.Epoch != 2 || nf.Checkpoint != c.CheckpointPath() || !strings.Contains(err.Error(), c.CheckpointPath()) {
			t.Errorf("error %q: want epoch 2 and checkpoint %s named", err, c.CheckpointPath())
		}
		now, err := os.ReadFile(c.CheckpointPath())
		if err != nil {
			t.Fatal(err)
		}
		if saved == nil || !bytes.Equal(now, saved) {
			t.Error("the checkpoint changed after the loss became non-finite")
		}
		ck, err := ReadCheckpoint(c.CheckpointPath())
		if err != nil {
			t.Fatal(err)
		}
		if ck.Progress.Epoch != 1 || ck.Progress.Step != 0 {
			t.Errorf("checkpoint at epoch %d step %d, want 1, 0", ck.Progress.Epoch, ck.Progress.Step)
		}
	})
}

func TestRunSavesModelHistoryAndBest(t *testing.T) {
	set := synth.Generate(48, 11, synth.Options{PartialFrac: 0.3})
	c := smallConfig(t.TempDir())
	c.Epochs = 4
	c.Optimizer = "sgd"
	c.LR = 0.01
	c.Schedule = "onecycle"
	c.Warmup = 0
	c.Loss = Wing
	var log bytes.Buffer
	res, err := Run(context.Background(), c, set, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Store().Free()
	if len(res.History) != 4 || res.BestEpoch < 1 || res.BestEpoch > 4 {
		t.Fatalf("history of %d epochs, best epoch %d", len(res.History), res.BestEpoch)
	}
	best := math.Inf(1)
	for _, e := range res.History {
		best = math.Min(best, e.HoldoutRMSEPx)
	}
	if res.BestHoldoutRMSEPx != best || res.History[res.BestEpoch-1].HoldoutRMSEPx != best {
		t.Errorf("best %v at epoch %d; the history's best is %v", res.BestHoldoutRMSEPx, res.BestEpoch, best)
	}
	// The saved model is the best epoch's, and scores as training said.
	m, meta, err := models.Load(c.Out, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Store().Free()
	ev, err := eval.Evaluate(m, res.Holdout)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.RMSE-best) > 1e-4*best {
		t.Errorf("saved model's hold-out RMSE %v, training reported %v", ev.RMSE, best)
	}
	if meta.Means != dataset.Means(res.Train) || eval.ReadProvenance(meta).BestEpoch == 0 || eval.ReadProvenance(meta).Config == "" {
		t.Errorf("model metadata: means %v, extra %v", meta.Means, meta.Extra)
	}
	if !strings.Contains(log.String(), "epoch 4:") || !strings.Contains(log.String(), "completed 4 epochs") {
		t.Errorf("log:\n%s", log.String())
	}
	h, err := os.ReadFile(c.HistoryPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"holdout_rmse_px"`, `"train_rmse_px"`, `"stopped": "completed 4 epochs"`, `"best_epoch"`} {
		if !bytes.Contains(h, []byte(want)) {
			t.Errorf("history file lacks %s:\n%s", want, h)
		}
	}
}

func TestRunRejects(t *testing.T) {
	set := synth.Generate(10, 1, synth.Options{})
	test := &dataset.Set{Images: set.Images, IDs: set.IDs}
	tests := []struct {
		name   string
		change func(c *Config)
		data   *dataset.Set
		want   string
	}{
		{"amp on cpu", func(c *Config) { c.AMP = "bf16" }, set, "needs a CUDA device"},
		{"test data", func(*Config) {}, test, "no keypoints"},
		{"bad spec", func(c *Config) { c.Model = "cnn3:depth=9" }, set, "no option"},
		{"unknown device", func(c *Config) { c.Device = "tpu" }, set, "device"},
		{"too few faces", func(c *Config) { c.Holdout = 0.9 }, set, "want at least 2"},
		{"heatmap loss without heatmaps", func(c *Config) { c.HeatmapLoss = 0.1 }, set, "cnn3:width=8 has none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := smallConfig(t.TempDir())
			tt.change(&c)
			_, err := Run(context.Background(), c, tt.data, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestResultPartsHoldTheFaces checks that the parts a run returns hold the
// faces of the split, images included, although the run itself keeps the
// images only on the device.
func TestResultPartsHoldTheFaces(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{PartialFrac: 0.5})
	for _, tc := range []struct {
		name      string
		holdout   float64
		splitSeed int64
	}{
		{"no hold-out", 0, 0},
		{"hold-out", 0.25, 0},
		{"hold-out of a split seed", 0.25, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig(t.TempDir())
			cfg.Epochs, cfg.Warmup = 1, 0
			cfg.Holdout, cfg.SplitSeed = tc.holdout, tc.splitSeed
			res, err := Run(context.Background(), cfg, set, Options{})
			if err != nil {
				t.Fatal(err)
			}
			res.Model.Store().Free()
			want := []*dataset.Set{set, nil}
			seed := cfg.Seed
			if tc.splitSeed != 0 {
				seed = tc.splitSeed
			}
			if h, ok := eval.OwnHoldout(res.Meta); tc.holdout > 0 && (!ok || h.Fraction != tc.holdout || h.Seed != seed) {
				t.Errorf("the model file records split (%v, %d), want (%v, %d)", h.Fraction, h.Seed, tc.holdout, seed)
			}
			if tc.holdout > 0 {
				tr, ho := dataset.Split(set, tc.holdout, seed)
				want = []*dataset.Set{set.Subset(tr), set.Subset(ho)}
			}
			for i, got := range []*dataset.Set{res.Train, res.Holdout} {
				if want[i] == nil {
					if got != nil {
						t.Errorf("part %d: %d faces, want none", i, got.Len())
					}
					continue
				}
				if got == nil || !reflect.DeepEqual(*got, *want[i]) {
					t.Errorf("part %d differs from the split's", i)
				}
			}
		})
	}
}

// TestMemoryFormatsAgree: a run laid out channels last (the CPU's
// default) learns what a row-major run learns, up to rounding, with
// and without an average of the weights, and its model stays channels
// last.
func TestMemoryFormatsAgree(t *testing.T) {
	set := synth.Generate(32, 4, synth.Options{PartialFrac: 0.5})
	histories := map[string][]EpochStats{}
	for _, format := range []string{"contiguous", "auto"} {
		c := smallConfig(t.TempDir())
		c.Epochs = 2
		c.EMA = 0.9
		c.MemoryFormat = format
		res, err := Run(context.Background(), c, set, Options{})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		w, ok := res.Model.Store().Get("features.1.conv.weight")
		if !ok {
			t.Fatalf("%s: no features.1.conv.weight in %v", format, res.Model.Store().StateDict())
		}
		if got, want := w.IsChannelsLast(), format == "auto"; got != want {
			t.Errorf("%s: the model's weights are channels last: %v, want %v", format, got, want)
		}
		res.Model.Store().Free()
		histories[format] = res.History
	}
	a, b := histories["contiguous"], histories["auto"]
	if len(a) != len(b) {
		t.Fatalf("%d epochs against %d", len(a), len(b))
	}
	for i := range a {
		for _, v := range [][2]float64{{a[i].TrainLoss, b[i].TrainLoss}, {a[i].HoldoutRMSEPx, b[i].HoldoutRMSEPx},
			{a[i].EMAHoldoutRMSEPx, b[i].EMAHoldoutRMSEPx}} {
			if !(math.Abs(v[0]-v[1]) <= 1e-3*math.Abs(v[0])) {
				t.Errorf("epoch %d: contiguous %v, channels last %v", i+1, a[i], b[i])
				break
			}
		}
	}
}
