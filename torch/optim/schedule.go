package optim

import (
	"fmt"
	"math"
)

// Scheduler gives the learning rate for each step of training. LR is a
// pure function of t, so a resumed run continues the schedule exactly:
// t = 0 is the first update, and t counts whatever the schedule was made
// for, optimiser steps or epochs (see PerEpoch). LR(t) equals the learning
// rate PyTorch's scheduler of the same name sets after t calls of its
// step(), in the closed forms of PyTorch's documentation. Negative t is
// taken as 0.
type Scheduler interface {
	LR(t int) float64
}

// Constant is a schedule that keeps the learning rate fixed.
type Constant float64

// LR returns c whatever t.
func (c Constant) LR(int) float64 { return float64(c) }

// StepLR multiplies the learning rate by gamma every stepSize steps, as
// PyTorch's StepLR: lr(t) = base·gamma^⌊t/stepSize⌋.
type StepLR struct {
	base     float64
	stepSize int
	gamma    float64
}

// NewStepLR returns a StepLR schedule starting at base.
func NewStepLR(base float64, stepSize int, gamma float64) (*StepLR, error) {
	switch {
	case !(base >= 0):
		return nil, fmt.Errorf("optim: StepLR: base learning rate %g: want >= 0", base)
	case stepSize <= 0:
		return nil, fmt.Errorf("optim: StepLR: step size %d: want > 0", stepSize)
	case !(gamma >= 0):
		return nil, fmt.Errorf("optim: StepLR: gamma %g: want >= 0", gamma)
	}
	return &StepLR{base: base, stepSize: stepSize, gamma: gamma}, nil
}

// LR implements Scheduler.
func (s *StepLR) LR(t int) float64 {
	return s.base * math.Pow(s.gamma, float64(max(t, 0)/s.stepSize))
}

// CosineAnnealing lowers the learning rate from base to min along half a
// cosine over tMax steps, as PyTorch's CosineAnnealingLR:
// lr(t) = min + (base-min)·(1 + cos(π·t/tMax))/2. Past tMax it rises
// again along the cosine, as PyTorch's does; make tMax the length of
// training.
type CosineAnnealing struct {
	base, min float64
	tMax      int
}

// NewCosineAnnealing returns a CosineAnnealing schedule from base down to
// min (PyTorch's eta_min) over tMax steps (T_max).
func NewCosineAnnealing(base, min float64, tMax int) (*CosineAnnealing, error) {
	switch {
	case !(base >= 0):
		return nil, fmt.Errorf("optim: CosineAnnealing: base learning rate %g: want >= 0", base)
	case !(min >= 0):
		return nil, fmt.Errorf("optim: CosineAnnealing: minimum learning rate %g: want >= 0", min)
	case tMax <= 0:
		return nil, fmt.Errorf("optim: CosineAnnealing: T_max %d: want > 0", tMax)
	}
	return &CosineAnnealing{base: base, min: min, tMax: tMax}, nil
}

// LR implements Scheduler.
func (s *CosineAnnealing) LR(t int) float64 {
	return s.min + (s.base-s.min)*(1+math.Cos(math.Pi*float64(max(t, 0))/float64(s.tMax)))/2
}

// OneCycleConfig holds the parameters of a OneCycle schedule, named as in
// PyTorch's OneCycleLR.
type OneCycleConfig struct {
	MaxLR          float64 // peak learning rate
	TotalSteps     int     // length of the cycle
	PctStart       float64 // fraction of the cycle spent rising: 0.3
	DivFactor      float64 // initial learning rate = MaxLR/DivFactor: 25
	FinalDivFactor float64 // final learning rate = initial/FinalDivFactor: 1e4
	BaseMomentum   float64 // momentum at the peak learning rate: 0.85
	MaxMomentum    float64 // momentum at the start and end: 0.95
}

// DefaultOneCycle returns PyTorch's defaults for a cycle of totalSteps
// steps peaking at maxLR.
func DefaultOneCycle(maxLR float64, totalSteps int) OneCycleConfig {
	return OneCycleConfig{
		MaxLR:          maxLR,
		TotalSteps:     totalSteps,
		PctStart:       0.3,
		DivFactor:      25,
		FinalDivFactor: 1e4,
		BaseMomentum:   0.85,
		MaxMomentum:    0.95,
	}
}

// OneCycle is the 1cycle policy (Smith and Topin), as PyTorch's OneCycleLR
// with its default two phases and cosine annealing. The learning rate
// rises from MaxLR/DivFactor to MaxLR over the steps up to
// PctStart·TotalSteps - 1, then falls to MaxLR/(DivFactor·FinalDivFactor)
// at step TotalSteps - 1; within a phase going from a to b with fraction f
// of it done, lr = b + (a-b)·(1 + cos(π·f))/2. Steps past the end keep the
// final rate (PyTorch refuses them).
//
// Momentum runs the other way, MaxMomentum → BaseMomentum → MaxMomentum.
// OneCycle does not set it itself: to cycle it as PyTorch does by default,
// pass Momentum(t) to the optimiser's SetMomentum (see MomentumOptimizer)
// beside SetLR(LR(t)); Adam takes it as β1.
type OneCycle struct {
	cfg     OneCycleConfig
	initial float64 // learning rate at step 0
	final   float64 // learning rate at the last step
	peak    float64 // step of the peak, the end of the rising phase
	last    float64 // last step, TotalSteps-1
}

// NewOneCycle returns a OneCycle schedule. Each phase must span at least
// one step.
func NewOneCycle(c OneCycleConfig) (*OneCycle, error) {
	s := &OneCycle{
		cfg:  c,
		peak: c.PctStart*float64(c.TotalSteps) - 1,
		last: float64(c.TotalSteps - 1),
	}
	s.initial = c.MaxLR / c.DivFactor
	s.final = s.initial / c.FinalDivFactor
	switch {
	case !(c.MaxLR >= 0):
		return nil, fmt.Errorf("optim: OneCycle: max learning rate %g: want >= 0", c.MaxLR)
	case c.TotalSteps <= 0:
		return nil, fmt.Errorf("optim: OneCycle: total steps %d: want > 0", c.TotalSteps)
	case !(c.PctStart >= 0 && c.PctStart <= 1):
		return nil, fmt.Errorf("optim: OneCycle: pct_start %g: want it in [0, 1]", c.PctStart)
	case !(s.peak > 0 && s.peak < s.last):
		return nil, fmt.Errorf("optim: OneCycle: pct_start %g of %d steps puts the peak at step %g: want it strictly between 0 and %g",
			c.PctStart, c.TotalSteps, s.peak, s.last)
	case !(c.DivFactor > 0):
		return nil, fmt.Errorf("optim: OneCycle: div_factor %g: want > 0", c.DivFactor)
	case !(c.FinalDivFactor > 0):
		return nil, fmt.Errorf("optim: OneCycle: final_div_factor %g: want > 0", c.FinalDivFactor)
	case !(c.BaseMomentum >= 0 && c.MaxMomentum >= 0):
		return nil, fmt.Errorf("optim: OneCycle: momenta %g, %g: want >= 0", c.BaseMomentum, c.MaxMomentum)
	}
	return s, nil
}

// Config returns the schedule's parameters.
func (s *OneCycle) Config() OneCycleConfig { return s.cfg }

// phase says where step t lies: in the rising phase or not, and the
// fraction of its phase done.
func (s *OneCycle) phase(t int) (rising bool, frac float64) {
	x := min(float64(max(t, 0)), s.last)
	if x <= s.peak {
		return true, x / s.peak
	}
	return false, (x - s.peak) / (s.last - s.peak)
}

// cosineAnneal goes from a to b as frac goes from 0 to 1.
func cosineAnneal(a, b, frac float64) float64 {
	return b + (a-b)/2*(math.Cos(math.Pi*frac)+1)
}

// LR implements Scheduler.
func (s *OneCycle) LR(t int) float64 {
	rising, f := s.phase(t)
	if rising {
		return cosineAnneal(s.initial, s.cfg.MaxLR, f)
	}
	return cosineAnneal(s.cfg.MaxLR, s.final, f)
}

// Momentum returns the momentum for step t.
func (s *OneCycle) Momentum(t int) float64 {
	rising, f := s.phase(t)
	if rising {
		return cosineAnneal(s.cfg.MaxMomentum, s.cfg.BaseMomentum, f)
	}
	return cosineAnneal(s.cfg.BaseMomentum, s.cfg.MaxMomentum, f)
}

// Warmup raises the learning rate linearly over its first steps and then
// hands over to another schedule, as PyTorch's LinearLR (end_factor 1)
// followed by the other schedule in a SequentialLR: with base = after.LR(0),
// lr(t) = base·(startFactor + (1-startFactor)·t/steps) for t < steps, and
// after.LR(t - steps) from then on.
type Warmup struct {
	steps       int
	startFactor float64
	after       Scheduler
}

// NewWarmup returns a warmup of steps steps starting at startFactor times
// the rate after begins with, in (0, 1].
func NewWarmup(steps int, startFactor float64, after Scheduler) (*Warmup, error) {
	switch {
	case steps <= 0:
		return nil, fmt.Errorf("optim: Warmup: %d steps: want > 0", steps)
	case !(startFactor > 0 && startFactor <= 1):
		return nil, fmt.Errorf("optim: Warmup: start factor %g: want it in (0, 1]", startFactor)
	case after == nil:
		return nil, fmt.Errorf("optim: Warmup: no schedule to follow")
	}
	return &Warmup{steps: steps, startFactor: startFactor, after: after}, nil
}

// LR implements Scheduler.
func (w *Warmup) LR(t int) float64 {
	t = max(t, 0)
	if t >= w.steps {
		return w.after.LR(t - w.steps)
	}
	return w.after.LR(0) * (w.startFactor + (1-w.startFactor)*float64(t)/float64(w.steps))
}

// epochSchedule is a schedule over epochs queried by step.
type epochSchedule struct {
	s             Scheduler
	stepsPerEpoch int
}

// PerEpoch turns a schedule whose unit is the epoch into one queried by
// optimiser step: LR(t) = s.LR(⌊t/stepsPerEpoch⌋), so the rate changes at
// epoch boundaries only. A training loop can then always ask for the LR of
// Optimizer.Steps.
func PerEpoch(s Scheduler, stepsPerEpoch int) (Scheduler, error) {
	if s == nil {
		return nil, fmt.Errorf("optim: PerEpoch: no schedule")
	}
	if stepsPerEpoch <= 0 {
		return nil, fmt.Errorf("optim: PerEpoch: %d steps per epoch: want > 0", stepsPerEpoch)
	}
	return epochSchedule{s: s, stepsPerEpoch: stepsPerEpoch}, nil
}

func (e epochSchedule) LR(t int) float64 { return e.s.LR(max(t, 0) / e.stepsPerEpoch) }
