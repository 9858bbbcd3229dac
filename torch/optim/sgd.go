package optim

import (
	"fmt"

	"github.com/fkd-project/fkd/torch"
)

// SGDConfig holds the hyperparameters of SGD. The zero value of every field
// but LR is PyTorch's default.
type SGDConfig struct {
	LR          float64 // learning rate, >= 0
	Momentum    float64 // momentum factor, >= 0; 0 for plain SGD
	Dampening   float64 // dampening of the momentum
	WeightDecay float64 // L2 penalty: WeightDecay·p is added to the gradient
	Nesterov    bool    // Nesterov momentum; needs Momentum > 0 and Dampening 0
}

func (c SGDConfig) validate() error {
	if !(c.LR >= 0) {
		return fmt.Errorf("learning rate %g: want >= 0", c.LR)
	}
	if !(c.Momentum >= 0) {
		return fmt.Errorf("momentum %g: want >= 0", c.Momentum)
	}
	if !(c.WeightDecay >= 0) {
		return fmt.Errorf("weight decay %g: want >= 0", c.WeightDecay)
	}
	if c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0) {
		return fmt.Errorf("Nesterov momentum needs momentum > 0 and dampening 0, have momentum %g and dampening %g",
			c.Momentum, c.Dampening)
	}
	return nil
}

// SGD is stochastic gradient descent with optional momentum, dampening,
// L2 weight decay and Nesterov momentum, as PyTorch's torch.optim.SGD. For
// each parameter p with gradient g:
//
//	g ← g + weightDecay·p
//	buf ← g on the parameter's first update, else momentum·buf + (1-dampening)·g
//	g ← g + momentum·buf (Nesterov), or buf
//	p ← p - lr·g
//
// The momentum lines apply when momentum is not 0.
type SGD struct {
	params   []*torch.Tensor
	cfg      SGDConfig
	bufs     []*torch.Tensor // momentum buffers; nil until momentum is first non-zero
	started  []bool          // whether bufs[i] holds state (parameter i was updated with momentum)
	nStarted int
	steps    int
}

var _ MomentumOptimizer = (*SGD)(nil)

// NewSGD returns an SGD optimiser over params, or an error for an invalid
// configuration or parameter list.
func NewSGD(params []*torch.Tensor, c SGDConfig) (*SGD, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("optim: SGD: %w", err)
	}
	if err := checkParams(params); err != nil {
		return nil, fmt.Errorf("optim: SGD: %w", err)
	}
	o := &SGD{params: params, cfg: c, started: make([]bool, len(params))}
	if c.Momentum != 0 {
		o.bufs = zerosLike(params)
	}
	return o, nil
}

// Config returns the current hyperparameters.
func (o *SGD) Config() SGDConfig { return o.cfg }

// Step implements Optimizer.
func (o *SGD) Step() {
	o.steps++
	c := o.cfg
	if c.Momentum == 0 {
		torch.SGDStep(o.params, nil, c.LR, 0, c.Dampening, c.WeightDecay, false, false)
		return
	}
	if o.nStarted == len(o.params) {
		torch.SGDStep(o.params, o.bufs, c.LR, c.Momentum, c.Dampening, c.WeightDecay, c.Nesterov, false)
		return
	}
	// Some buffers are still empty: those of parameters with a gradient
	// now start from it, as PyTorch's do.
	var cont, contBufs, fresh, freshBufs []*torch.Tensor
	for i, p := range o.params {
		switch {
		case o.started[i]:
			cont, contBufs = append(cont, p), append(contBufs, o.bufs[i])
		case hasGrad(p):
			fresh, freshBufs = append(fresh, p), append(freshBufs, o.bufs[i])
			o.started[i] = true
			o.nStarted++
		}
	}
	if len(cont) > 0 {
		torch.SGDStep(cont, contBufs, c.LR, c.Momentum, c.Dampening, c.WeightDecay, c.Nesterov, false)
	}
	if len(fresh) > 0 {
		torch.SGDStep(fresh, freshBufs, c.LR, c.Momentum, c.Dampening, c.WeightDecay, c.Nesterov, true)
	}
}

// ZeroGrad implements Optimizer.
func (o *SGD) ZeroGrad() { torch.ZeroGrad(o.params) }

// LR implements Optimizer.
func (o *SGD) LR() float64 { return o.cfg.LR }

// SetLR implements Optimizer.
func (o *SGD) SetLR(lr float64) { o.cfg.LR = lr }

// Momentum returns the momentum factor.
func (o *SGD) Momentum() float64 { return o.cfg.Momentum }

// SetMomentum sets the momentum factor for the following steps. It fails
// for a negative factor, or 0 with Nesterov momentum.
func (o *SGD) SetMomentum(m float64) error {
	c := o.cfg
	c.Momentum = m
	if err := c.validate(); err != nil {
		return fmt.Errorf("optim: SGD: set momentum: %w", err)
	}
	o.cfg = c
	if m != 0 && o.bufs == nil {
		o.bufs = zerosLike(o.params)
	}
	return nil
}

// Steps implements Optimizer.
func (o *SGD) Steps() int { return o.steps }

// Params implements Optimizer.
func (o *SGD) Params() []*torch.Tensor { return o.params }

// StateDict implements Optimizer. The tensors are the momentum buffers of
// the parameters updated with momentum so far, "optim.momentum.<i>".
func (o *SGD) StateDict() (map[string]*torch.Tensor, map[string]string) {
	tensors := map[string]*torch.Tensor{}
	for i, started := range o.started {
		if started {
			tensors[bufferName("momentum", i)] = o.bufs[i]
		}
	}
	meta := map[string]string{
		metaKind:     "sgd",
		metaParams:   fmt.Sprint(len(o.params)),
		metaStep:     fmt.Sprint(o.steps),
		metaLR:       formatFloat(o.cfg.LR),
		metaMomentum: formatFloat(o.cfg.Momentum),
	}
	return tensors, meta
}

// LoadStateDict implements Optimizer.
func (o *SGD) LoadStateDict(tensors map[string]*torch.Tensor, meta map[string]string) error {
	if err := o.loadStateDict(tensors, meta); err != nil {
		return fmt.Errorf("optim: SGD: load state: %w", err)
	}
	return nil
}

func (o *SGD) loadStateDict(tensors map[string]*torch.Tensor, meta map[string]string) error {
	r := &stateReader{tensors: tensors, meta: meta, params: o.params}
	steps, lr, err := r.header("sgd")
	if err != nil {
		return err
	}
	momentum, err := r.float(metaMomentum)
	if err != nil {
		return err
	}
	c := o.cfg
	c.LR, c.Momentum = lr, momentum
	if err := c.validate(); err != nil {
		return err
	}
	if err := r.checkNames("momentum"); err != nil {
		return err
	}
	srcs := make([]*torch.Tensor, len(o.params))
	have := false
	for i := range o.params {
		if srcs[i], err = r.buffer("momentum", i); err != nil {
			return err
		}
		have = have || srcs[i] != nil
	}

	if have && o.bufs == nil {
		o.bufs = zerosLike(o.params)
	}
	o.nStarted = 0
	torch.NoGrad(func() {
		for i, src := range srcs {
			o.started[i] = src != nil
			if src != nil {
				o.bufs[i].CopyFrom(src)
				o.nStarted++
			}
		}
	})
	o.cfg, o.steps = c, steps
	return nil
}

// Free implements Optimizer.
func (o *SGD) Free() {
	freeAll(o.bufs)
}
