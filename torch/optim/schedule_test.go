package optim

import (
	"math"
	"strings"
	"testing"
)

// must returns v, panicking on err, for schedules the tests build from
// valid arguments.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSchedules(t *testing.T) {
	// The values below are worked out by hand from the closed forms in
	// PyTorch's documentation.
	step := must(NewStepLR(0.1, 3, 0.5))
	cosine := must(NewCosineAnnealing(1, 0.2, 4))
	// OneCycle peaking at 1 over 10 steps: initial rate 1/25 = 0.04,
	// final 0.04/1e4 = 4e-6; the peak is at step 0.3·10-1 = 2, the
	// second phase runs over steps 2..9.
	cycle := must(NewOneCycle(DefaultOneCycle(1, 10)))
	short := must(NewOneCycle(OneCycleConfig{
		MaxLR: 0.5, TotalSteps: 5, PctStart: 0.5, DivFactor: 5, FinalDivFactor: 10, BaseMomentum: 0.8, MaxMomentum: 0.9,
	}))
	warmConst := must(NewWarmup(4, 0.25, Constant(0.2)))
	warmStep := must(NewWarmup(2, 0.5, must(NewStepLR(1, 2, 0.1))))
	epochs := must(PerEpoch(must(NewStepLR(1, 1, 0.5)), 10))
	// identity reports the epoch PerEpoch asks it for.
	identity := must(PerEpoch(schedFunc(func(t int) float64 { return float64(t) }), 10))
	warmAll := must(NewWarmup(3, 1, Constant(0.4)))

	tests := []struct {
		name  string
		sched Scheduler
		step  int
		want  float64
	}{
		{"constant", Constant(0.3), 17, 0.3},
		{"step 0", step, 0, 0.1},
		{"step 2", step, 2, 0.1},
		{"step 3", step, 3, 0.05},
		{"step 8", step, 8, 0.025},
		{"step 9", step, 9, 0.0125},
		{"step negative", step, -5, 0.1},
		{"cosine 0", cosine, 0, 1},
		{"cosine 1", cosine, 1, 0.2 + 0.8*(1+math.Sqrt2/2)/2},
		{"cosine 2", cosine, 2, 0.6},
		{"cosine 4", cosine, 4, 0.2},
		{"cosine 6 rises again", cosine, 6, 0.6},
		{"cosine 8 back at the start", cosine, 8, 1},
		{"cosine negative", cosine, -3, 1},
		{"one-cycle 0", cycle, 0, 0.04},
		{"one-cycle negative", cycle, -2, 0.04},
		{"one-cycle 1", cycle, 1, 0.52},
		{"one-cycle peak", cycle, 2, 1},
		{"one-cycle 3", cycle, 3, 4e-6 + (1-4e-6)*(1+math.Cos(math.Pi/7))/2},
		{"one-cycle 9", cycle, 9, 4e-6},
		{"one-cycle past the end", cycle, 40, 4e-6},
		// MaxLR 0.5, initial 0.1, final 0.01; peak at step 1.5, end at 4.
		{"one-cycle half 1", short, 1, 0.5 + (0.1-0.5)*(1+math.Cos(math.Pi*2/3))/2},
		{"one-cycle half 2", short, 2, 0.01 + (0.5-0.01)*(1+math.Cos(math.Pi*0.2))/2},
		{"one-cycle half 4", short, 4, 0.01},
		{"warmup 0", warmConst, 0, 0.05},
		{"warmup 2", warmConst, 2, 0.2 * (0.25 + 0.75*0.5)},
		{"warmup 3", warmConst, 3, 0.2 * (0.25 + 0.75*0.75)},
		{"warmup done", warmConst, 4, 0.2},
		{"warmup then step 1", warmStep, 1, 0.75},
		{"warmup then step 2", warmStep, 2, 1},
		{"warmup then step 3", warmStep, 3, 1},
		{"warmup then step 4", warmStep, 4, 0.1},
		{"per epoch 9", epochs, 9, 1},
		{"per epoch 10", epochs, 10, 0.5},
		{"per epoch 25", epochs, 25, 0.25},
		{"per epoch negative", epochs, -15, 1},
		{"per epoch asks for epoch 2", identity, 29, 2},
		{"per epoch asks for epoch 0 before the start", identity, -15, 0},
		{"warmup from factor 1", warmAll, 1, 0.4},
		{"warmup negative", warmConst, -1, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sched.LR(tt.step); math.Abs(got-tt.want) > 1e-12*(1+math.Abs(tt.want)) {
				t.Errorf("LR(%d) = %.15g, want %.15g", tt.step, got, tt.want)
			}
		})
	}
}

// schedFunc is a Scheduler made of a function.
type schedFunc func(t int) float64

func (f schedFunc) LR(t int) float64 { return f(t) }

func TestOneCycleMomentum(t *testing.T) {
	cycle := must(NewOneCycle(DefaultOneCycle(1, 10)))
	tests := []struct {
		step int
		want float64
	}{
		{-3, 0.95},
		{0, 0.95},
		{1, 0.9},
		{2, 0.85},
		{3, 0.95 + (0.85-0.95)*(1+math.Cos(math.Pi/7))/2},
		{9, 0.95},
		{12, 0.95},
	}
	for _, tt := range tests {
		if got := cycle.Momentum(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Momentum(%d) = %.15g, want %.15g", tt.step, got, tt.want)
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	oneCycle := func(f func(*OneCycleConfig)) error {
		c := DefaultOneCycle(0.1, 100)
		f(&c)
		_, err := NewOneCycle(c)
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"step size 0", func() error { _, err := NewStepLR(0.1, 0, 0.5); return err }(), "step size 0"},
		{"step negative gamma", func() error { _, err := NewStepLR(0.1, 2, -1); return err }(), "gamma"},
		{"cosine T_max 0", func() error { _, err := NewCosineAnnealing(0.1, 0, 0); return err }(), "T_max 0"},
		{"cosine negative min", func() error { _, err := NewCosineAnnealing(0.1, -1, 5); return err }(), "minimum"},
		{"one-cycle no steps", oneCycle(func(c *OneCycleConfig) { c.TotalSteps = 0 }), "total steps 0"},
		{"one-cycle pct_start", oneCycle(func(c *OneCycleConfig) { c.PctStart = 1.5 }), "pct_start 1.5"},
		{"one-cycle empty rise", oneCycle(func(c *OneCycleConfig) { c.PctStart = 0.01 }), "peak at step 0"},
		{"one-cycle empty fall", oneCycle(func(c *OneCycleConfig) { c.PctStart = 1 }), "peak at step 99"},
		{"one-cycle div", oneCycle(func(c *OneCycleConfig) { c.DivFactor = 0 }), "div_factor 0"},
		{"one-cycle final div", oneCycle(func(c *OneCycleConfig) { c.FinalDivFactor = -1 }), "final_div_factor -1"},
		{"one-cycle max lr", oneCycle(func(c *OneCycleConfig) { c.MaxLR = -0.1 }), "max learning rate -0.1"},
		{"one-cycle base momentum", oneCycle(func(c *OneCycleConfig) { c.BaseMomentum = -0.5 }), "momenta -0.5, 0.95: want >= 0"},
		{"one-cycle max momentum", oneCycle(func(c *OneCycleConfig) { c.MaxMomentum = -0.5 }), "momenta 0.85, -0.5: want >= 0"},
		{"step negative base", func() error { _, err := NewStepLR(-0.1, 2, 0.5); return err }(), "base learning rate -0.1"},
		{"cosine negative base", func() error { _, err := NewCosineAnnealing(-0.1, 0, 5); return err }(), "base learning rate -0.1"},
		{"warmup factor above 1", func() error { _, err := NewWarmup(5, 1.5, Constant(1)); return err }(), "start factor 1.5"},
		{"warmup steps", func() error { _, err := NewWarmup(0, 0.1, Constant(1)); return err }(), "0 steps"},
		{"warmup factor", func() error { _, err := NewWarmup(5, 0, Constant(1)); return err }(), "start factor 0"},
		{"warmup nil", func() error { _, err := NewWarmup(5, 0.1, nil); return err }(), "no schedule"},
		{"per epoch", func() error { _, err := PerEpoch(Constant(1), 0); return err }(), "0 steps per epoch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", tt.err, tt.want)
			}
		})
	}
}
