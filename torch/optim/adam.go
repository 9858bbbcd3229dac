package optim

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/torch"
)

// AdamConfig holds the hyperparameters of Adam and AdamW. Every field is
// used as given, zero included: start from DefaultAdam or DefaultAdamW and
// change what differs.
type AdamConfig struct {
	LR          float64 // learning rate, >= 0
	Beta1       float64 // decay of the first moment, in [0, 1)
	Beta2       float64 // decay of the second moment, in [0, 1)
	Eps         float64 // added to the denominator, >= 0
	WeightDecay float64 // Adam: L2 penalty added to the gradient; AdamW: decoupled decay
}

// DefaultAdam returns PyTorch's defaults for Adam: learning rate 1e-3,
// betas (0.9, 0.999), eps 1e-8, no weight decay.
func DefaultAdam() AdamConfig {
	return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// DefaultAdamW returns PyTorch's defaults for AdamW: those of Adam with
// weight decay 0.01.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay = 0.01
	return c
}

func (c AdamConfig) validate() error {
	switch {
	case !(c.LR >= 0):
		return fmt.Errorf("learning rate %g: want >= 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("beta1 %g: want it in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("beta2 %g: want it in [0, 1)", c.Beta2)
	case !(c.Eps >= 0):
		return fmt.Errorf("eps %g: want >= 0", c.Eps)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("weight decay %g: want >= 0", c.WeightDecay)
	}
	return nil
}

// Adam is the Adam optimiser (Kingma and Ba) or, with decoupled weight
// decay, AdamW (Loshchilov and Hutter), as PyTorch's torch.optim.Adam and
// AdamW without amsgrad. For each parameter p with gradient g, on its t-th
// update (t counts from 1 per parameter):
//
//	Adam:  g ← g + weightDecay·p
//	AdamW: p ← p·(1 - lr·weightDecay)
//	m ← β1·m + (1-β1)·g
//	v ← β2·v + (1-β2)·g²
//	p ← p - lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps)
type Adam struct {
	params     []*torch.Tensor
	cfg        AdamConfig
	decoupled  bool            // AdamW
	m, v       []*torch.Tensor // moment buffers
	paramSteps []int64         // updates each parameter has had
	updated    []int           // scratch for Step
	steps      int
}

var _ MomentumOptimizer = (*Adam)(nil)

// NewAdam returns an Adam optimiser over params, or an error for an
// invalid configuration or parameter list.
func NewAdam(params []*torch.Tensor, c AdamConfig) (*Adam, error) {
	return newAdam(params, c, false)
}

// NewAdamW returns an AdamW optimiser (decoupled weight decay) over
// params, or an error for an invalid configuration or parameter list.
func NewAdamW(params []*torch.Tensor, c AdamConfig) (*Adam, error) {
	return newAdam(params, c, true)
}

func newAdam(params []*torch.Tensor, c AdamConfig, decoupled bool) (*Adam, error) {
	o := &Adam{params: params, cfg: c, decoupled: decoupled}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("optim: %s: %w", o.name(), err)
	}
	if err := checkParams(params); err != nil {
		return nil, fmt.Errorf("optim: %s: %w", o.name(), err)
	}
	o.m, o.v = zerosLike(params), zerosLike(params)
	o.paramSteps = make([]int64, len(params))
	return o, nil
}

func (o *Adam) name() string {
	if o.decoupled {
		return "AdamW"
	}
	return "Adam"
}

func (o *Adam) kind() string { return strings.ToLower(o.name()) }

// Config returns the current hyperparameters.
func (o *Adam) Config() AdamConfig { return o.cfg }

// Step implements Optimizer.
func (o *Adam) Step() {
	o.steps++
	o.updated = o.updated[:0]
	for i, p := range o.params {
		if hasGrad(p) {
			o.paramSteps[i]++
			o.updated = append(o.updated, i)
		}
	}
	if len(o.updated) == 0 {
		return
	}
	c := o.cfg
	if len(o.updated) == len(o.params) && !slices.ContainsFunc(o.paramSteps, func(s int64) bool { return s != o.paramSteps[0] }) {
		torch.AdamStep(o.params, o.m, o.v, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay, o.decoupled, o.paramSteps[0])
		return
	}
	// Parameters are at different counts (some had no gradient on some
	// steps): update each group of equal counts with its own bias
	// correction.
	slices.SortStableFunc(o.updated, func(a, b int) int { return cmp.Compare(o.paramSteps[a], o.paramSteps[b]) })
	for start := 0; start < len(o.updated); {
		step := o.paramSteps[o.updated[start]]
		var ps, ms, vs []*torch.Tensor
		end := start
		for ; end < len(o.updated) && o.paramSteps[o.updated[end]] == step; end++ {
			i := o.updated[end]
			ps, ms, vs = append(ps, o.params[i]), append(ms, o.m[i]), append(vs, o.v[i])
		}
		torch.AdamStep(ps, ms, vs, c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay, o.decoupled, step)
		start = end
	}
}

// ZeroGrad implements Optimizer.
func (o *Adam) ZeroGrad() { torch.ZeroGrad(o.params) }

// LR implements Optimizer.
func (o *Adam) LR() float64 { return o.cfg.LR }

// SetLR implements Optimizer.
func (o *Adam) SetLR(lr float64) { o.cfg.LR = lr }

// Momentum returns β1, which plays the part of momentum.
func (o *Adam) Momentum() float64 { return o.cfg.Beta1 }

// SetMomentum sets β1 for the following steps, as PyTorch's OneCycleLR
// does when it cycles Adam's momentum. It fails for β1 outside [0, 1).
func (o *Adam) SetMomentum(beta1 float64) error {
	c := o.cfg
	c.Beta1 = beta1
	if err := c.validate(); err != nil {
		return fmt.Errorf("optim: %s: set momentum: %w", o.name(), err)
	}
	o.cfg = c
	return nil
}

// Steps implements Optimizer.
func (o *Adam) Steps() int { return o.steps }

// Params implements Optimizer.
func (o *Adam) Params() []*torch.Tensor { return o.params }

// StateDict implements Optimizer. The tensors are the moments of the
// parameters updated so far, "optim.m.<i>" and "optim.v.<i>"; metadata
// "optim.param_steps" lists each parameter's update count.
func (o *Adam) StateDict() (map[string]*torch.Tensor, map[string]string) {
	tensors := map[string]*torch.Tensor{}
	counts := make([]string, len(o.params))
	for i, n := range o.paramSteps {
		counts[i] = strconv.FormatInt(n, 10)
		if n > 0 {
			tensors[bufferName("m", i)] = o.m[i]
			tensors[bufferName("v", i)] = o.v[i]
		}
	}
	meta := map[string]string{
		metaKind:       o.kind(),
		metaParams:     fmt.Sprint(len(o.params)),
		metaStep:       fmt.Sprint(o.steps),
		metaLR:         formatFloat(o.cfg.LR),
		metaBeta1:      formatFloat(o.cfg.Beta1),
		metaParamSteps: strings.Join(counts, ","),
	}
	return tensors, meta
}

// LoadStateDict implements Optimizer.
func (o *Adam) LoadStateDict(tensors map[string]*torch.Tensor, meta map[string]string) error {
	if err := o.loadStateDict(tensors, meta); err != nil {
		return fmt.Errorf("optim: %s: load state: %w", o.name(), err)
	}
	return nil
}

func (o *Adam) loadStateDict(tensors map[string]*torch.Tensor, meta map[string]string) error {
	r := &stateReader{tensors: tensors, meta: meta, params: o.params}
	steps, lr, err := r.header(o.kind())
	if err != nil {
		return err
	}
	beta1, err := r.float(metaBeta1)
	if err != nil {
		return err
	}
	c := o.cfg
	c.LR, c.Beta1 = lr, beta1
	if err := c.validate(); err != nil {
		return err
	}
	counts, err := r.counts(metaParamSteps)
	if err != nil {
		return err
	}
	if err := r.checkNames("m", "v"); err != nil {
		return err
	}
	ms := make([]*torch.Tensor, len(o.params))
	vs := make([]*torch.Tensor, len(o.params))
	for i, n := range counts {
		if n > steps {
			return fmt.Errorf("parameter %d updated %d times in %d steps", i, n, steps)
		}
		if ms[i], err = r.buffer("m", i); err != nil {
			return err
		}
		if vs[i], err = r.buffer("v", i); err != nil {
			return err
		}
		for _, b := range []struct {
			kind string
			t    *torch.Tensor
		}{{"m", ms[i]}, {"v", vs[i]}} {
			switch {
			case n > 0 && b.t == nil:
				return fmt.Errorf("tensor %s missing for parameter %d, updated %d times", bufferName(b.kind, i), i, n)
			case n == 0 && b.t != nil:
				return fmt.Errorf("tensor %s present for parameter %d, never updated", bufferName(b.kind, i), i)
			}
		}
	}

	torch.NoGrad(func() {
		for i, n := range counts {
			o.paramSteps[i] = int64(n)
			if n == 0 {
				o.m[i].Fill(0)
				o.v[i].Fill(0)
				continue
			}
			o.m[i].CopyFrom(ms[i])
			o.v[i].CopyFrom(vs[i])
		}
	})
	o.cfg, o.steps = c, steps
	return nil
}

// Free implements Optimizer.
func (o *Adam) Free() {
	freeAll(o.m)
	freeAll(o.v)
}
