package train

// The TestCUDA* tests train on a CUDA device and compare with the CPU. On
// a machine without one they run CPU against CPU, and the mixed-precision
// parts use bfloat16 where float16 needs CUDA; see torch/cuda_test.go.

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// cudaConfig is a run of a narrow cnn3 without dropout (its masks come
// from each device's own generator) and without clipping or warm-up.
func cudaConfig(dir string, dev torch.Device) Config {
	c := DefaultConfig()
	c.Model = "cnn3:width=8,dropout=0"
	c.Batch = 16
	c.Schedule = "none"
	c.Threads = 2
	c.Device = dev.String()
	c.Out = filepath.Join(dir, "model.pt")
	return c
}

// newModelOn builds spec from seed 1 on the CPU and moves it to dev, so
// that models on different devices start from the same weights.
func newModelOn(t *testing.T, spec string, dev torch.Device) models.Model {
	t.Helper()
	m := fkdtest.NewModel(t, spec, 1)
	m.Store().ToDevice(dev)
	return m
}

// stepRunner sets up a runner as Run does, for calling trainStep directly:
// model trains on the faces of set on dev with cfg's optimiser and
// schedule. The runner and the model are freed when the test ends.
func stepRunner(t *testing.T, cfg Config, m models.Model, dev torch.Device, set *dataset.Set) *runner {
	t.Helper()
	r := &runner{cfg: cfg, log: io.Discard, dev: dev, model: m, trainSet: set}
	t.Cleanup(r.free)
	var err error
	if r.opt, err = newOptimizer(&r.cfg, m.Store().Trainable()); err != nil {
		t.Fatal(err)
	}
	r.steps = stepsPerEpoch(set.Len(), cfg.Batch)
	if r.sched, err = newSchedule(&r.cfg, r.steps); err != nil {
		t.Fatal(err)
	}
	r.train = newFaces(set, dev, nil, 0)
	return r
}

// step runs one training step on the faces at idx, advancing the step
// counters as the training loop does.
func (r *runner) testStep(t *testing.T, idx []int64) float64 {
	t.Helper()
	if r.sums == nil {
		r.startSums()
	}
	before := r.running.LossSum
	err := r.trainStep(idx)
	if err == nil {
		err = r.readSums()
	}
	if err != nil {
		t.Fatalf("on %v: %v", r.dev, err)
	}
	r.step++
	r.global++
	return (r.running.LossSum - before) / float64(len(idx))
}

// paramValues returns the trainable parameters' values, concatenated.
func paramValues(m models.Model) []float64 {
	var vals []float64
	for _, p := range m.Store().Trainable() {
		vals = append(vals, p.Float64s()...)
	}
	return vals
}

// maxAbsDiff returns the largest |a[i] - b[i]|; +Inf when the lengths
// differ, NaN when a value is NaN.
func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) {
			return d
		}
		worst = max(worst, d)
	}
	return worst
}

// TestCUDATrainStep trains the same net from the same weights on the same
// batch on the CPU and on the device: the losses of every step and the
// weights after them must agree, and the loss must come down. SGD keeps
// the update linear in the gradient, so the weights compare closely.
func TestCUDATrainStep(t *testing.T) {
	dev := fkdtest.Device(t)
	set := synth.Generate(16, 3, synth.Options{})
	cfg := cudaConfig(t.TempDir(), dev)
	cfg.Optimizer = "sgd"
	cfg.LR = 0.05
	cfg.WeightDecay = 0
	cpu := stepRunner(t, cfg, newModelOn(t, cfg.Model, torch.CPU), torch.CPU, set)
	gpu := stepRunner(t, cfg, newModelOn(t, cfg.Model, dev), dev, set)
	start := paramValues(gpu.model)

	// CUDA's float32 convolutions may run in TF32 (cuDNN's default on
	// Ampere and newer), which rounds their inputs to 10 bits of mantissa.
	lossTol, weightTol := 1e-6, 1e-6
	if dev.IsCUDA() {
		lossTol, weightTol = 5e-3, 2e-3
	}
	idx := span(0, set.Len())
	var first, last float64
	const steps = 6
	for i := range steps {
		want := cpu.testStep(t, idx)
		got := gpu.testStep(t, idx)
		if !(math.Abs(got-want) <= lossTol*(1+math.Abs(want))) {
			t.Errorf("step %d: loss %.7g on %v, %.7g on the CPU", i+1, got, dev, want)
		}
		if i == 0 {
			first = got
		}
		last = got
	}
	t.Logf("loss on %v: %.5f -> %.5f in %d steps", dev, first, last, steps)
	if !(last < 0.7*first) {
		t.Errorf("loss %.5f after %d steps, want well below the first step's %.5f", last, steps, first)
	}
	for _, p := range gpu.model.Store().Params() {
		if p.Device() != dev {
			t.Fatalf("a parameter moved to %v during training on %v", p.Device(), dev)
		}
	}
	got, want := paramValues(gpu.model), paramValues(cpu.model)
	if d := maxAbsDiff(got, want); !(d <= weightTol) {
		t.Errorf("weights after %d steps differ from the CPU's by up to %g (tolerance %g)", steps, d, weightTol)
	}
	if d := maxAbsDiff(got, start); !(d > 0) {
		t.Errorf("training did not change the weights")
	}
}

// TestCUDALossScaler runs mixed-precision training steps with the loss
// scaler: a scale so large that the gradients overflow skips the update
// and halves the scale; a modest one updates the weights. On the CPU the
// steps run under bfloat16 autocast (float16 autocast needs CUDA), which
// drives the same scaler code.
func TestCUDALossScaler(t *testing.T) {
	dev := fkdtest.Device(t)
	dt := torch.Float16
	if !dev.IsCUDA() {
		dt = torch.BFloat16
		t.Logf("float16 autocast needs CUDA: the scaler runs under bfloat16 autocast on the CPU")
	}
	set := synth.Generate(16, 4, synth.Options{})
	idx := span(0, set.Len())
	tests := []struct {
		name  string
		scale float64
		cuda  bool // float16 on CUDA only
	}{
		// 1e300 is infinite even in float32: every dtype overflows.
		{"beyond float32", 1e300, false},
		// 1e12 times the loss's gradient exceeds float16's 65504.
		{"beyond float16", 1e12, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cuda && !dev.IsCUDA() {
				t.Skip("float16 overflow needs float16 autocast, which needs CUDA")
			}
			cfg := cudaConfig(t.TempDir(), dev)
			r := stepRunner(t, cfg, newModelOn(t, cfg.Model, dev), dev, set)
			r.amp = &mixedPrecision{dtype: dt, scaler: newLossScaler()}
			before := paramValues(r.model)

			r.amp.scaler.scale = tt.scale
			loss := r.testStep(t, idx)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				t.Fatalf("overflowing step: loss %v, want the finite unscaled loss", loss)
			}
			if got := r.amp.scaler.scale; got != tt.scale/2 {
				t.Errorf("scale after an overflow %g, want %g", got, tt.scale/2)
			}
			if d := maxAbsDiff(paramValues(r.model), before); d != 0 {
				t.Errorf("an overflowing step changed the weights (by up to %g)", d)
			}
			if n := r.opt.Steps(); n != 0 {
				t.Errorf("optimiser took %d steps, want 0 after an overflow", n)
			}
			for i, p := range r.opt.Params() {
				if p.Grad() != nil {
					t.Fatalf("parameter %d kept its gradient after a skipped step", i)
				}
			}

			// A scale of 128 keeps float16 gradients in range.
			r.amp.scaler.scale = 128
			r.testStep(t, idx)
			after := paramValues(r.model)
			if d := maxAbsDiff(after, before); !(d > 0) || math.IsNaN(d) {
				t.Errorf("a normal step changed the weights by %g, want a finite change", d)
			}
			if r.amp.scaler.scale != 128 || r.amp.scaler.clean != 1 {
				t.Errorf("after a clean step: scale %g, clean steps %d; want 128 and 1", r.amp.scaler.scale, r.amp.scaler.clean)
			}
			if n := r.opt.Steps(); n != 1 {
				t.Errorf("optimiser took %d steps, want 1", n)
			}
		})
	}
}

// TestCUDAAutocastStep runs training steps under bfloat16 autocast, as
// --amp bf16 does (no loss scaler), and float16 autocast with the scaler
// at its initial scale, on the device: the loss stays close to a float32
// step's and the weights change.
func TestCUDAAutocastStep(t *testing.T) {
	dev := fkdtest.Device(t)
	set := synth.Generate(16, 5, synth.Options{})
	idx := span(0, set.Len())
	for _, amp := range []string{"bf16", "fp16"} {
		t.Run(amp, func(t *testing.T) {
			mp := &mixedPrecision{dtype: torch.BFloat16}
			if amp == "fp16" {
				if !dev.IsCUDA() {
					t.Skip("float16 autocast needs a CUDA device; the CPU's takes bfloat16 only")
				}
				mp = &mixedPrecision{dtype: torch.Float16, scaler: newLossScaler()}
			}
			cfg := cudaConfig(t.TempDir(), dev)
			ref := stepRunner(t, cfg, newModelOn(t, cfg.Model, dev), dev, set)
			r := stepRunner(t, cfg, newModelOn(t, cfg.Model, dev), dev, set)
			r.amp = mp
			before := paramValues(r.model)
			want := ref.testStep(t, idx)
			got := r.testStep(t, idx)
			// Low precision changes the loss in the second or third digit.
			if !(math.Abs(got-want) <= 0.05*math.Abs(want)) {
				t.Errorf("%s step loss %.6g, float32 step %.6g", amp, got, want)
			}
			for range 4 {
				got = r.testStep(t, idx)
			}
			if math.IsNaN(got) || math.IsInf(got, 0) {
				t.Fatalf("loss %v after 5 %s steps", got, amp)
			}
			if d := maxAbsDiff(paramValues(r.model), before); !(d > 0) || math.IsNaN(d) {
				t.Errorf("5 %s steps changed the weights by %g, want a finite change", amp, d)
			}
		})
	}
}

// TestCUDARunAMP trains for an epoch with --amp bf16 and fp16 through Run
// on the device. Run takes mixed precision on CUDA only: on the CPU it
// must refuse, naming the reason.
func TestCUDARunAMP(t *testing.T) {
	dev := fkdtest.Device(t)
	set := synth.Generate(48, 6, synth.Options{})
	for _, amp := range []string{"bf16", "fp16"} {
		t.Run(amp, func(t *testing.T) {
			cfg := cudaConfig(t.TempDir(), dev)
			cfg.Epochs = 1
			cfg.Holdout = 0.25
			cfg.AMP = amp
			res, err := Run(context.Background(), cfg, set, Options{})
			if !dev.IsCUDA() {
				if err == nil || !strings.Contains(err.Error(), "needs a CUDA device") {
					t.Errorf("Run with amp %s on the CPU: error %v, want one saying it needs a CUDA device", amp, err)
				}
				if res != nil {
					res.Model.Store().Free()
				}
				return
			}
			if err != nil {
				t.Fatalf("Run with amp %s on %v: %v", amp, dev, err)
			}
			defer res.Model.Store().Free()
			e := res.History[0]
			if math.IsNaN(e.TrainLoss) || math.IsNaN(e.HoldoutRMSEPx) || math.IsInf(e.HoldoutRMSEPx, 0) {
				t.Errorf("epoch 1: train loss %v, hold-out RMSE %v px; want finite", e.TrainLoss, e.HoldoutRMSEPx)
			}
			if got, want := eval.ReadProvenance(res.Meta).AMP, amp+" autocast"; got != want {
				t.Errorf("model file records amp %q, want %q", got, want)
			}
		})
	}
}
