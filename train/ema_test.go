package train

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// newTestModel builds spec on the CPU, freed when the test ends.
func newTestModel(t *testing.T, spec string) models.Model {
	t.Helper()
	return fkdtest.NewModel(t, spec, 3)
}

// moveWeights changes every tensor of m as training would: the
// parameters by a random step, the BatchNorm statistics by a forward pass
// in training mode.
func moveWeights(m models.Model, seed uint64) {
	torch.ManualSeed(seed)
	torch.WithScope(func() {
		torch.NoGrad(func() {
			for _, p := range m.Store().Params() {
				p.AddInPlace(torch.Randn(p.Shape(), p.DType(), torch.CPU).MulScalar(0.05))
			}
			m.Store().Train()
			m.Forward(torch.Rand([]int64{4, 1, 96, 96}, torch.Float32, torch.CPU))
		})
	})
}

// TestEMADecayZeroIsRaw: with decay 0 the average is the weights, every
// tensor bit for bit (BatchNorm statistics and counters included), after
// every update.
func TestEMADecayZeroIsRaw(t *testing.T) {
	m := newTestModel(t, "cnn3:width=8")
	avg, err := newWeightAverage(m, 0, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer avg.Free()
	raw := m.Store().StateDict()
	for step := range 4 {
		moveWeights(m, uint64(10+step))
		avg.update(step)
		for _, nt := range avg.model.Store().NamedTensors() {
			if !bytes.Equal(nt.Tensor.Bytes(), raw[nt.Name].Bytes()) {
				t.Fatalf("after update %d the average's %s differs from the weights'", step, nt.Name)
			}
		}
	}
	if avg.model.Store().Training() {
		t.Error("the average is in training mode")
	}
}

// TestEMAUpdates checks the average against the formula worked out in Go:
// float tensors (weights and BatchNorm statistics) averaged with the
// ramped decay, the counters copied.
func TestEMAUpdates(t *testing.T) {
	const decay = 0.9
	m := newTestModel(t, "cnn3:width=8")
	avg, err := newWeightAverage(m, decay, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer avg.Free()
	want := map[string][]float64{}
	for _, nt := range m.Store().NamedTensors() {
		want[nt.Name] = nt.Tensor.ToDType(torch.Float64).Float64s()
	}
	raw := m.Store().StateDict()
	averaged := 0
	for step := range 3 {
		moveWeights(m, uint64(20+step))
		avg.update(step)
		d := math.Min(decay, float64(1+step)/float64(10+step))
		for name, w := range want {
			now := raw[name].ToDType(torch.Float64).Float64s()
			for i := range w {
				if raw[name].DType() == torch.Int64 {
					w[i] = now[i]
				} else {
					w[i] = d*w[i] + (1-d)*now[i]
				}
			}
		}
	}
	for _, nt := range avg.model.Store().NamedTensors() {
		got := nt.Tensor.ToDType(torch.Float64).Float64s()
		for i, w := range want[nt.Name] {
			if math.Abs(got[i]-w) > 1e-5*math.Max(1, math.Abs(w)) {
				t.Fatalf("%s[%d] = %v, want %v", nt.Name, i, got[i], w)
			}
		}
		if strings.HasSuffix(nt.Name, "running_mean") || strings.HasSuffix(nt.Name, "running_var") {
			averaged++
		}
	}
	if averaged == 0 {
		t.Fatal("the model has no BatchNorm statistics to check")
	}
}

func TestEMADecayRamp(t *testing.T) {
	tests := []struct {
		decay float64
		step  int
		want  float64
	}{
		{0.999, 0, 0.1},
		{0.999, 10, 11.0 / 20},
		{0.9, 80, 81.0 / 90},
		{0.9, 81, 0.9},
		{0.9, 10000, 0.9},
		{0, 5, 0},
	}
	for _, tt := range tests {
		a := weightAverage{decay: tt.decay}
		if got := a.decayAt(tt.step); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("decay %g at step %d: %v, want %v", tt.decay, tt.step, got, tt.want)
		}
	}
}

// TestRunEMA runs with a moving average and spoils one of the two
// weights at the end of every epoch, so that the other must be the
// saved one: the history records both scores, the saved model is the
// winner's and scores as the history says, and the metadata and history
// name it. The trained weights follow the same path as without an
// average.
func TestRunEMA(t *testing.T) {
	set := synth.Generate(40, 3, synth.Options{PartialFrac: 0.5})
	plain := smallConfig(t.TempDir())
	res, err := Run(context.Background(), plain, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	spoil := func(m models.Model) {
		torch.NoGrad(func() {
			for _, p := range m.Store().Params() {
				p.AddScalarInPlace(0.5)
			}
		})
	}
	tests := []struct {
		name  string
		spoil func(r *runner) // after the last step of each epoch; nil: none
		want  string
	}{
		{"raw spoilt", func(r *runner) { spoil(r.model) }, WeightsEMA},
		{"average spoilt", func(r *runner) { spoil(r.ema.model) }, WeightsRaw},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := smallConfig(t.TempDir())
			c.EMA = 0.9
			var log bytes.Buffer
			res, err := Run(context.Background(), c, set, Options{Log: &log, afterStep: func(r *runner) {
				if tt.spoil != nil && r.step == r.steps {
					tt.spoil(r)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Model.Store().Free()
			best, which := math.Inf(1), ""
			for _, e := range res.History {
				if math.IsNaN(e.EMAHoldoutRMSEPx) || math.IsNaN(e.HoldoutRMSEPx) {
					t.Fatalf("epoch %d: hold-out RMSE %v, of the average %v", e.Epoch, e.HoldoutRMSEPx, e.EMAHoldoutRMSEPx)
				}
				if e.HoldoutRMSEPx < best {
					best, which = e.HoldoutRMSEPx, WeightsRaw
				}
				if e.EMAHoldoutRMSEPx < best {
					best, which = e.EMAHoldoutRMSEPx, WeightsEMA
				}
			}
			if tt.want != "" && which != tt.want {
				t.Fatalf("test set-up: the best weights are %s, want %s", which, tt.want)
			}
			if res.BestHoldoutRMSEPx != best || res.BestWeights != which {
				t.Errorf("best %v px (%s), the history's best is %v px (%s)", res.BestHoldoutRMSEPx, res.BestWeights, best, which)
			}
			h, err := ReadHistory(c.HistoryPath())
			if err != nil {
				t.Fatal(err)
			}
			m, meta, err := models.Load(c.Out, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Store().Free()
			if h.BestWeights != which || eval.ReadProvenance(meta).Weights != which {
				t.Errorf("history says %q, model file %q; want %q", h.BestWeights, eval.ReadProvenance(meta).Weights, which)
			}
			ev, err := eval.Evaluate(m, res.Holdout)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(ev.RMSE-best) > 1e-4*best {
				t.Errorf("the saved model scores %v px, the history's best is %v px", ev.RMSE, best)
			}
			if !strings.Contains(log.String(), "(average ") {
				t.Errorf("the log shows no score of the average:\n%s", log.String())
			}
			if tt.spoil == nil {
				// An average changes nothing of what is trained.
				a, b := fkdtest.TensorBytes(t, plain.CheckpointPath()), fkdtest.TensorBytes(t, c.CheckpointPath())
				for name, x := range a {
					if strings.HasPrefix(name, modelPrefix) && !bytes.Equal(x, b[name]) {
						t.Errorf("%s differs from a run without an average", name)
					}
				}
				if !sameHistory(clearEMA(withoutTimes(res.History)), withoutTimes(plainHistory(t, plain))) {
					t.Error("the history's training figures differ from a run without an average")
				}
			}
		})
	}
}

func clearEMA(h []EpochStats) []EpochStats {
	for i := range h {
		h[i].EMAHoldoutLoss, h[i].EMAHoldoutRMSEPx = math.NaN(), math.NaN()
	}
	return h
}

func plainHistory(t *testing.T, c Config) []EpochStats {
	t.Helper()
	h, err := ReadHistory(c.HistoryPath())
	if err != nil {
		t.Fatal(err)
	}
	return h.Epochs
}

// TestRunEMAWithoutHoldout: with nothing to score by, the saved model is
// the average, as the checkpoint holds it.
func TestRunEMAWithoutHoldout(t *testing.T) {
	set := synth.Generate(24, 5, synth.Options{})
	c := smallConfig(t.TempDir())
	c.Holdout, c.EMA = 0, 0.9
	res, err := Run(context.Background(), c, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	if res.BestWeights != WeightsEMA {
		t.Errorf("best weights %q, want %q", res.BestWeights, WeightsEMA)
	}
	saved, ck := fkdtest.TensorBytes(t, c.Out), fkdtest.TensorBytes(t, c.CheckpointPath())
	differs := false
	for name, x := range saved {
		if !bytes.Equal(x, ck[emaPrefix+name]) {
			t.Errorf("the saved %s is not the average's", name)
		}
		differs = differs || !bytes.Equal(x, ck[modelPrefix+name])
	}
	if !differs {
		t.Error("test set-up: the average equals the weights")
	}
}
