package train

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/optim"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no model", func(c *Config) { c.Model = " " }, "no model spec"},
		{"no epochs", func(c *Config) { c.Epochs = 0 }, "epochs 0"},
		{"batch of one", func(c *Config) { c.Batch = 1 }, "batch 1"},
		{"zero lr", func(c *Config) { c.LR = 0 }, "learning rate 0"},
		{"NaN lr", func(c *Config) { c.LR = math.NaN() }, "learning rate NaN"},
		{"optimizer", func(c *Config) { c.Optimizer = "rmsprop" }, `optimizer "rmsprop"`},
		{"negative decay", func(c *Config) { c.WeightDecay = -1 }, "weight decay"},
		{"schedule", func(c *Config) { c.Schedule = "linear" }, `schedule "linear"`},
		{"warm-up too long", func(c *Config) { c.Warmup = 30 }, "warm-up of 30 epochs"},
		{"warm-up with onecycle", func(c *Config) { c.Schedule, c.Warmup = "onecycle", 2 }, "onecycle warms up"},
		{"loss", func(c *Config) { c.Loss = "l1" }, `loss "l1"`},
		{"patience without hold-out", func(c *Config) { c.Patience, c.Holdout = 5, 0 }, "needs a hold-out part"},
		{"amp", func(c *Config) { c.AMP = "fp8" }, `amp "fp8"`},
		{"amp bf16", func(c *Config) { c.AMP = "bf16" }, ""},
		{"channels last", func(c *Config) { c.MemoryFormat = "channels-last" }, ""},
		{"contiguous", func(c *Config) { c.MemoryFormat = "contiguous" }, ""},
		{"memory format", func(c *Config) { c.MemoryFormat = "nhwc" }, `memory format "nhwc"`},
		{"hold-out of one", func(c *Config) { c.Holdout = 1 }, "hold-out fraction 1"},
		{"no output", func(c *Config) { c.Out = "" }, "no output model path"},
		{"negative clip", func(c *Config) { c.ClipNorm = -1 }, "clip norm"},
		{"EMA", func(c *Config) { c.EMA = 0.999 }, ""},
		{"EMA of 1", func(c *Config) { c.EMA = 1 }, "EMA decay 1"},
		{"negative EMA", func(c *Config) { c.EMA = -0.5 }, "EMA decay -0.5"},
		{"NaN EMA", func(c *Config) { c.EMA = math.NaN() }, "EMA decay NaN"},
		{"pseudo-labels", func(c *Config) { c.PseudoLabels, c.PseudoWeight = []string{"a.pt", "b.pt"}, 0.3 }, ""},
		{"pseudo weight of 1", func(c *Config) { c.PseudoLabels, c.PseudoWeight = []string{"a.pt"}, 1 }, "pseudo-label weight 1"},
		{"negative pseudo weight", func(c *Config) { c.PseudoLabels, c.PseudoWeight = []string{"a.pt"}, -0.1 }, "pseudo-label weight -0.1"},
		{"empty teacher", func(c *Config) { c.PseudoLabels = []string{"a.pt", ""} }, "an empty path"},
		{"heatmap loss", func(c *Config) { c.HeatmapLoss = 0.1 }, ""},
		{"negative heatmap loss", func(c *Config) { c.HeatmapLoss = -1 }, "heatmap loss weight -1"},
		{"infinite heatmap loss", func(c *Config) { c.HeatmapLoss = math.Inf(1) }, "heatmap loss weight +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigPaths(t *testing.T) {
	c := DefaultConfig()
	c.Out = "runs/a/model.pt"
	if got := c.CheckpointPath(); got != "runs/a/model.ckpt" {
		t.Errorf("checkpoint path %q", got)
	}
	if got := c.HistoryPath(); got != "runs/a/model.history.json" {
		t.Errorf("history path %q", got)
	}
	c.Checkpoint = "elsewhere.ckpt"
	if got := c.CheckpointPath(); got != "elsewhere.ckpt" {
		t.Errorf("checkpoint path %q, want the one set", got)
	}
}

func TestSchedules(t *testing.T) {
	const spe = 10 // steps per epoch
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
	tests := []struct {
		name   string
		change func(c *Config)
		at     map[int]float64 // step → learning rate
	}{
		{"cosine", func(c *Config) {}, map[int]float64{0: 1e-3, 50: 0.5e-3, 99: 1e-3 * (1 + math.Cos(math.Pi*99/100)) / 2}},
		{"cosine with warm-up", func(c *Config) { c.Warmup = 2 }, map[int]float64{
			0: 1e-4, 10: 1e-4 + 0.9e-3*10/20, 20: 1e-3, 60: 0.5e-3}},
		{"step", func(c *Config) { c.Schedule, c.StepSize, c.StepGamma = "step", 3, 0.5 }, map[int]float64{
			0: 1e-3, 29: 1e-3, 30: 0.5e-3, 65: 0.25e-3}},
		{"step, default size", func(c *Config) { c.Schedule = "step" }, map[int]float64{29: 1e-3, 30: 1e-4, 60: 1e-5}},
		{"onecycle", func(c *Config) { c.Schedule = "onecycle" }, map[int]float64{0: 1e-3 / 25, 29: 1e-3}},
		{"none with warm-up", func(c *Config) { c.Schedule, c.Warmup = "none", 1 }, map[int]float64{0: 1e-4, 10: 1e-3, 99: 1e-3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Epochs = 10
			tt.change(&c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			s, err := newSchedule(&c, spe)
			if err != nil {
				t.Fatal(err)
			}
			for step, want := range tt.at {
				if got := s.lr.LR(step); !near(got, want) {
					t.Errorf("LR(%d) = %g, want %g", step, got, want)
				}
			}
		})
	}
}

func TestOneCycleCyclesMomentum(t *testing.T) {
	c := DefaultConfig()
	c.Schedule, c.Epochs = "onecycle", 4
	s, err := newSchedule(&c, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sgd", "adamw"} {
		c.Optimizer = name
		p := torch.Zeros([]int64{2}, torch.Float32, torch.CPU).SetRequiresGrad(true)
		defer p.Free()
		opt, err := newOptimizer(&c, []*torch.Tensor{p})
		if err != nil {
			t.Fatal(err)
		}
		// Step 3 of 20 lies in the rising phase: the rate goes up as the
		// momentum goes down from 0.95 towards 0.85.
		if err := s.apply(opt, 3); err != nil {
			t.Fatal(err)
		}
		m := opt.(optim.MomentumOptimizer).Momentum()
		if !(m > 0.85 && m < 0.95) || m != s.momentum(3) || opt.LR() != s.lr.LR(3) {
			t.Errorf("%s at step 3: momentum %g, lr %g", name, m, opt.LR())
		}
		opt.Free()
	}
}

func TestStepsPerEpoch(t *testing.T) {
	for _, tt := range []struct{ n, batch, want int }{
		{64, 64, 1}, {65, 64, 1}, {66, 64, 2}, {10, 4, 3}, {9, 4, 2}, {3, 4, 1}, {2, 2, 1},
	} {
		if got := stepsPerEpoch(tt.n, tt.batch); got != tt.want {
			t.Errorf("stepsPerEpoch(%d, %d) = %d, want %d", tt.n, tt.batch, got, tt.want)
		}
	}
}

func TestEpochOrder(t *testing.T) {
	a := epochOrder(1, 0, 50)
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != int64(i) {
			t.Fatalf("order of epoch 0 is not a permutation: %v", a)
		}
	}
	if !slices.Equal(a, epochOrder(1, 0, 50)) {
		t.Error("the same seed and epoch give different orders")
	}
	if slices.Equal(a, epochOrder(1, 1, 50)) || slices.Equal(a, epochOrder(2, 0, 50)) {
		t.Error("another epoch or seed gives the same order")
	}
	if stepSeed(1, 5) == stepSeed(2, 5) || stepSeed(1, 5) == stepSeed(1, 6) || initSeed(1) == initSeed(2) {
		t.Error("step or init seeds collide")
	}
}

func TestBestSoFar(t *testing.T) {
	// Hold-out RMSEs by epoch, and the epoch after which patience 2 runs out.
	rmses := []float64{5, 4, math.NaN(), 4.5, 3, 3, 3.5}
	wantBest := []bool{true, true, false, false, true, false, false}
	var b bestSoFar
	stopAt := 0
	for i, r := range rmses {
		if got := b.observe(i+1, r); got != wantBest[i] {
			t.Errorf("epoch %d (%v): best = %v, want %v", i+1, r, got, wantBest[i])
		}
		if stopAt == 0 && b.patienceSpent(2) {
			stopAt = i + 1
		}
	}
	if stopAt != 4 || b.epoch != 5 || b.rmse != 3 || b.patienceSpent(0) {
		t.Errorf("stopped after epoch %d (want 4); best %v at epoch %d (want 3 at 5)", stopAt, b.rmse, b.epoch)
	}
	var first bestSoFar
	if first.observe(1, math.NaN()) || first.epoch != 0 {
		t.Error("NaN counted as a best")
	}
}

func TestEpochStatsJSON(t *testing.T) {
	e := EpochStats{Epoch: 2, TrainLoss: 0.1, TrainRMSEPx: 1.5, HoldoutLoss: math.NaN(), HoldoutRMSEPx: math.NaN(), LR: 1e-3, Seconds: 2}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"holdout_rmse_px":null`) || !strings.Contains(string(b), `"train_rmse_px":1.5`) {
		t.Errorf("JSON %s", b)
	}
	var back EpochStats
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !sameHistory([]EpochStats{back}, []EpochStats{e}) || back.Seconds != 2 {
		t.Errorf("round trip: %+v, want %+v", back, e)
	}
}

func TestChannelsLast(t *testing.T) {
	cuda := torch.CUDA(0)
	tests := []struct {
		format string
		dev    torch.Device
		want   bool
	}{
		{"", torch.CPU, true},
		{"auto", torch.CPU, true},
		{"auto", cuda, false},
		{"", cuda, false},
		{"channels-last", cuda, true},
		{"contiguous", torch.CPU, false},
	}
	for _, tt := range tests {
		c := Config{MemoryFormat: tt.format}
		if got := c.ChannelsLast(tt.dev); got != tt.want {
			t.Errorf("MemoryFormat %q on %v: ChannelsLast = %v, want %v", tt.format, tt.dev, got, tt.want)
		}
	}
}
