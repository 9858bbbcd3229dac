package optim

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// savedTensor is a tensor as a checkpoint file holds it.
type savedTensor struct {
	dtype torch.DType
	shape []int64
	data  []byte
}

func save(t *torch.Tensor) savedTensor {
	return savedTensor{dtype: t.DType(), shape: t.Shape(), data: t.Bytes()}
}

func (s savedTensor) load() *torch.Tensor { return torch.FromBytes(s.data, s.dtype, s.shape...) }

// TestStateRoundTrip trains with a break: k steps, save the parameters and
// the optimiser's state as bytes, make fresh parameters and a fresh
// optimiser (with a different learning rate and momentum) from them, load,
// and train on. The result must equal an uninterrupted run bit for bit.
func TestStateRoundTrip(t *testing.T) {
	const total, lateFrom = 10, 6
	cycle, err := NewOneCycle(DefaultOneCycle(0.2, total))
	if err != nil {
		t.Fatal(err)
	}
	cosine, err := NewCosineAnnealing(0.05, 0.001, total)
	if err != nil {
		t.Fatal(err)
	}
	withLR := func(s Scheduler) func(Optimizer) {
		return func(o Optimizer) { o.SetLR(s.LR(o.Steps())) }
	}
	withCycle := func(o Optimizer) {
		o.SetLR(cycle.LR(o.Steps()))
		if err := o.(MomentumOptimizer).SetMomentum(cycle.Momentum(o.Steps())); err != nil {
			panic(err)
		}
	}
	tests := []struct {
		name   string
		dtype  torch.DType
		make   func([]*torch.Tensor) (MomentumOptimizer, error)
		before func(Optimizer) // nil: the state's learning rate and momentum must carry on
	}{
		{"sgd", torch.Float64, func(ps []*torch.Tensor) (MomentumOptimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.05, Momentum: 0.9, Dampening: 0.2, WeightDecay: 0.01})
		}, nil},
		{"sgd nesterov one-cycle", torch.Float64, func(ps []*torch.Tensor) (MomentumOptimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
		}, withCycle},
		{"adam", torch.Float64, func(ps []*torch.Tensor) (MomentumOptimizer, error) {
			c := DefaultAdam()
			c.LR, c.WeightDecay = 0.05, 0.01
			return NewAdam(ps, c)
		}, nil},
		{"adam float32 cosine", torch.Float32, func(ps []*torch.Tensor) (MomentumOptimizer, error) {
			return NewAdam(ps, DefaultAdam())
		}, withLR(cosine)},
		{"adamw one-cycle", torch.Float64, func(ps []*torch.Tensor) (MomentumOptimizer, error) {
			return NewAdamW(ps, DefaultAdamW())
		}, withCycle},
	}
	for _, tt := range tests {
		// Break before parameter 1 has a gradient, and after.
		for _, split := range []int{4, 8} {
			t.Run(tt.name+"/split"+strconv.Itoa(split), func(t *testing.T) {
				whole := newParams(tt.dtype, probInit)
				opt, err := tt.make(whole)
				if err != nil {
					t.Fatal(err)
				}
				train(opt, 0, total, lateFrom, tt.before)
				opt.Free()

				first := newParams(tt.dtype, probInit)
				opt, err = tt.make(first)
				if err != nil {
					t.Fatal(err)
				}
				train(opt, 0, split, lateFrom, tt.before)
				lr, momentum := opt.LR(), opt.Momentum()
				tensors, meta := opt.StateDict()
				file := map[string]savedTensor{}
				for name, b := range tensors {
					file[name] = save(b)
				}
				for i, p := range first {
					file["model."+strconv.Itoa(i)] = save(p)
				}
				opt.Free()

				var resumed []*torch.Tensor
				loaded := map[string]*torch.Tensor{}
				for name, s := range file {
					loaded[name] = s.load()
				}
				for i := range first {
					resumed = append(resumed, loaded["model."+strconv.Itoa(i)].SetRequiresGrad(true))
				}
				opt, err = tt.make(resumed)
				if err != nil {
					t.Fatal(err)
				}
				defer opt.Free()
				opt.SetLR(123)
				if err := opt.SetMomentum(0.5); err != nil {
					t.Fatal(err)
				}
				if err := opt.LoadStateDict(loaded, meta); err != nil {
					t.Fatal(err)
				}
				if opt.Steps() != split || opt.LR() != lr || opt.Momentum() != momentum {
					t.Fatalf("after load: steps %d, lr %g, momentum %g; saved %d, %g, %g",
						opt.Steps(), opt.LR(), opt.Momentum(), split, lr, momentum)
				}
				train(opt, split, total, lateFrom, tt.before)

				for i := range whole {
					if !bytes.Equal(resumed[i].Bytes(), whole[i].Bytes()) {
						t.Errorf("parameter %d: resumed run gives %v, uninterrupted run %v",
							i, resumed[i].Float64s(), whole[i].Float64s())
					}
				}
			})
		}
	}
}

func TestLoadStateDictErrors(t *testing.T) {
	params := newParams(torch.Float64, probInit)
	src, err := NewAdam(params, DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	train(src, 0, 3, 1, nil) // parameter 1 updated twice
	goodTensors, goodMeta := src.StateDict()
	if got := goodMeta["optim.param_steps"]; got != "3,2" {
		t.Fatalf("param_steps %q, want \"3,2\"", got)
	}
	sgdSrc, err := NewSGD(params, SGDConfig{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	sgdTensors, sgdMeta := sgdSrc.StateDict()
	zeros := func(shape ...int64) *torch.Tensor { return torch.Zeros(shape, torch.Float64, torch.CPU) }

	tests := []struct {
		name string
		into func() (Optimizer, error)
		from string // "adam" or "sgd": which state to start from
		edit func(tensors map[string]*torch.Tensor, meta map[string]string)
		want string
	}{
		{"missing kind", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { delete(m, "optim.kind") },
			"not an optimiser state"},
		{"wrong kind", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.kind"] = "sgd" },
			"state is for sgd, optimiser is adam"},
		{"adam into adamw", func() (Optimizer, error) { return NewAdamW(params, DefaultAdamW()) }, "adam", nil,
			"AdamW: load state: state is for adam, optimiser is adamw"},
		{"adam into sgd", func() (Optimizer, error) { return NewSGD(params, SGDConfig{LR: 1}) }, "adam", nil,
			"state is for adam, optimiser is sgd"},
		{"parameter count", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.params"] = "3" },
			"state is for 3 parameters, optimiser has 2"},
		{"bad step", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.step"] = "three" },
			`optim.step = "three"`},
		{"missing lr", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { delete(m, "optim.lr") },
			"optim.lr missing"},
		{"shape", nil, "adam", func(ts map[string]*torch.Tensor, _ map[string]string) { ts["optim.m.1"] = zeros(2, 2) },
			"tensor optim.m.1 has shape [2 2], parameter 1 has shape [4]"},
		{"no such parameter", nil, "adam", func(ts map[string]*torch.Tensor, _ map[string]string) { ts["optim.v.2"] = zeros(4) },
			"no parameter 2 (optimiser has 2)"},
		{"foreign buffer", nil, "adam", func(ts map[string]*torch.Tensor, _ map[string]string) { ts["optim.momentum.0"] = zeros(2, 3) },
			"optim.momentum.0: not a state tensor"},
		{"padded index", nil, "adam", func(ts map[string]*torch.Tensor, _ map[string]string) { ts["optim.m.01"] = ts["optim.m.1"] },
			"optim.m.01: not a state tensor"},
		{"missing moment", nil, "adam", func(ts map[string]*torch.Tensor, _ map[string]string) { delete(ts, "optim.v.0") },
			"tensor optim.v.0 missing for parameter 0, updated 3 times"},
		{"param steps count", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.param_steps"] = "3" },
			"has 1 counts for 2 parameters"},
		{"param steps beyond steps", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.param_steps"] = "3,9" },
			"parameter 1 updated 9 times in 3 steps"},
		{"moments of a parameter never updated", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) {
			m["optim.param_steps"] = "3,0"
		}, "tensor optim.m.1 present for parameter 1, never updated"},
		{"momentum 0 into nesterov", func() (Optimizer, error) {
			return NewSGD(params, SGDConfig{LR: 1, Momentum: 0.9, Nesterov: true})
		}, "sgd", nil, "Nesterov momentum needs momentum > 0"},
		{"fewer parameters", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.params"] = "1" },
			"state is for 1 parameters, optimiser has 2"},
		{"negative step", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.step"] = "-1" },
			`optim.step = "-1": want a count`},
		{"NaN lr", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.lr"] = "NaN" },
			`optim.lr = "NaN": want a number`},
		{"param steps too many", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.param_steps"] = "3,2,1" },
			"has 3 counts for 2 parameters"},
		{"param steps negative", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.param_steps"] = "3,-2" },
			`optim.param_steps entry 1 = "-2": want a count`},
		{"param steps one beyond steps", nil, "adam", func(_ map[string]*torch.Tensor, m map[string]string) { m["optim.param_steps"] = "4,2" },
			"parameter 0 updated 4 times in 3 steps"},
		{"nil moment", nil, "adam", func(ts map[string]*torch.Tensor, _ map[string]string) { ts["optim.m.0"] = nil },
			"tensor optim.m.0 is nil or freed"},
		{"sgd buffer shape", func() (Optimizer, error) { return NewSGD(params, SGDConfig{LR: 1, Momentum: 0.9}) }, "sgd",
			func(ts map[string]*torch.Tensor, _ map[string]string) { ts["optim.momentum.1"] = zeros(1, 4) },
			"tensor optim.momentum.1 has shape [1 4], parameter 1 has shape [4]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensors, meta := maps.Clone(goodTensors), maps.Clone(goodMeta)
			if tt.from == "sgd" {
				tensors, meta = maps.Clone(sgdTensors), maps.Clone(sgdMeta)
			}
			if tt.edit != nil {
				tt.edit(tensors, meta)
			}
			into := tt.into
			if into == nil {
				into = func() (Optimizer, error) { return NewAdam(params, DefaultAdam()) }
			}
			dst, err := into()
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Free()
			dst.SetLR(0.5)
			err = dst.LoadStateDict(tensors, meta)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			// A failed load changes nothing.
			after, afterMeta := dst.StateDict()
			if dst.Steps() != 0 || dst.LR() != 0.5 || len(after) != 0 {
				t.Errorf("failed load changed the optimiser: steps %d, lr %g, state %v %v", dst.Steps(), dst.LR(), after, afterMeta)
			}
		})
	}
}

// TestLoadReplacesState loads the state of an optimiser that has not
// stepped yet into one that has: it must then behave as a new one.
func TestLoadReplacesState(t *testing.T) {
	tests := []struct {
		name string
		make func([]*torch.Tensor) (Optimizer, error)
	}{
		{"sgd", func(ps []*torch.Tensor) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.5})
		}},
		{"adam", func(ps []*torch.Tensor) (Optimizer, error) { return NewAdam(ps, DefaultAdam()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh, err := tt.make(newParams(torch.Float64, probInit))
			if err != nil {
				t.Fatal(err)
			}
			tensors, meta := fresh.StateDict()

			used, err := tt.make(newParams(torch.Float64, probInit))
			if err != nil {
				t.Fatal(err)
			}
			train(used, 0, 5, 0, nil)
			for i, p := range used.Params() {
				torch.NoGrad(func() { p.CopyFrom(torch.FromFloat64(probInit[i], probShapes[i]...)) })
			}
			if err := used.LoadStateDict(tensors, meta); err != nil {
				t.Fatal(err)
			}
			train(used, 0, 3, 0, nil)
			train(fresh, 0, 3, 0, nil)
			for i, p := range used.Params() {
				if !bytes.Equal(p.Bytes(), fresh.Params()[i].Bytes()) {
					t.Errorf("parameter %d: %v after reset and 3 steps, new optimiser gives %v",
						i, p.Float64s(), fresh.Params()[i].Float64s())
				}
			}
		})
	}
}

// TestLoadMomentumIntoPlainSGD loads the state of an SGD with momentum, in
// which only parameter 0 has a buffer yet, into an SGD made without
// momentum and so without buffers: it takes the momentum on and continues
// exactly as the original does.
func TestLoadMomentumIntoPlainSGD(t *testing.T) {
	src, err := NewSGD(newParams(torch.Float64, probInit), SGDConfig{LR: 0.1, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Free()
	train(src, 0, 3, 5, nil) // parameter 1 has no gradient before step 5
	tensors, meta := src.StateDict()
	if _, ok := tensors["optim.momentum.0"]; !ok || len(tensors) != 1 {
		t.Fatalf("state tensors %v, want optim.momentum.0 alone", slices.Sorted(maps.Keys(tensors)))
	}
	dst, err := NewSGD(newParams(torch.Float64, values(src.Params())), SGDConfig{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Free()
	if err := dst.LoadStateDict(tensors, meta); err != nil {
		t.Fatal(err)
	}
	if dst.Momentum() != 0.9 || dst.Steps() != 3 {
		t.Errorf("after load: momentum %g, steps %d; want 0.9, 3", dst.Momentum(), dst.Steps())
	}
	train(src, 3, 8, 5, nil)
	train(dst, 3, 8, 5, nil)
	for i, p := range dst.Params() {
		if !bytes.Equal(p.Bytes(), src.Params()[i].Bytes()) {
			t.Errorf("parameter %d: %v after loading, %v without a break", i, p.Float64s(), src.Params()[i].Float64s())
		}
	}
}
