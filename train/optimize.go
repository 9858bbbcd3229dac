package train

import (
	"fmt"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/optim"
)

// newOptimizer returns the optimiser c names over params.
func newOptimizer(c *Config, params []*torch.Tensor) (optim.Optimizer, error) {
	switch c.Optimizer {
	case "adamw":
		a := optim.DefaultAdamW()
		a.LR, a.WeightDecay = c.LR, c.WeightDecay
		return optim.NewAdamW(params, a)
	case "adam":
		a := optim.DefaultAdam()
		a.LR, a.WeightDecay = c.LR, c.WeightDecay
		return optim.NewAdam(params, a)
	case "sgd":
		return optim.NewSGD(params, optim.SGDConfig{
			LR: c.LR, Momentum: SGDMomentum, WeightDecay: c.WeightDecay, Nesterov: true,
		})
	}
	return nil, fmt.Errorf("optimizer %q: want adamw, adam or sgd", c.Optimizer)
}

// schedule gives the learning rate, and the momentum when it cycles, of
// every optimiser step of a run.
type schedule struct {
	lr       optim.Scheduler
	momentum func(step int) float64 // nil: momentum stays as configured
}

// newSchedule returns the schedule c names for a run of stepsPerEpoch
// steps per epoch. Cosine annealing reaches 0 at the last step; a
// warm-up rises linearly from WarmupStartFactor·LR over its epochs, and
// the schedule after it runs over the epochs that remain.
func newSchedule(c *Config, stepsPerEpoch int) (schedule, error) {
	total := c.Epochs * stepsPerEpoch
	warm := c.Warmup * stepsPerEpoch
	var s schedule
	var err error
	switch c.Schedule {
	case "cosine":
		s.lr, err = optim.NewCosineAnnealing(c.LR, 0, total-warm)
	case "step":
		var st optim.Scheduler
		if st, err = optim.NewStepLR(c.LR, c.stepSize(), c.StepGamma); err == nil {
			s.lr, err = optim.PerEpoch(st, stepsPerEpoch)
		}
	case "onecycle":
		var oc *optim.OneCycle
		if oc, err = optim.NewOneCycle(optim.DefaultOneCycle(c.LR, total)); err == nil {
			s.lr, s.momentum = oc, oc.Momentum
		}
	case "none":
		s.lr = optim.Constant(c.LR)
	default:
		err = fmt.Errorf("schedule %q: want cosine, step, onecycle or none", c.Schedule)
	}
	if err != nil {
		return schedule{}, err
	}
	if warm > 0 {
		if s.lr, err = optim.NewWarmup(warm, WarmupStartFactor, s.lr); err != nil {
			return schedule{}, err
		}
	}
	return s, nil
}

// apply sets the optimiser's learning rate (and momentum) for step t.
func (s schedule) apply(opt optim.Optimizer, t int) error {
	opt.SetLR(s.lr.LR(t))
	if s.momentum != nil {
		m, ok := opt.(optim.MomentumOptimizer)
		if !ok {
			return fmt.Errorf("the optimiser has no momentum for the schedule to cycle")
		}
		return m.SetMomentum(s.momentum(t))
	}
	return nil
}
