// Package optim updates a model's parameters from their gradients: the
// optimisers SGD, Adam and AdamW, learning-rate schedules, and gradient-norm
// clipping. The updates follow PyTorch's torch.optim formulas and run in
// LibTorch's fused kernels (torch.SGDStep, torch.AdamStep).
//
// A training step computes the loss, calls ZeroGrad (or torch.ZeroGrad)
// before Backward, optionally clips the gradients, sets the learning rate
// the schedule gives for the step, and calls Step:
//
//	opt.SetLR(sched.LR(opt.Steps()))
//	torch.WithScope(func() {
//		opt.ZeroGrad()
//		loss := model(x, y)
//		loss.Backward()
//		optim.ClipGradNorm(opt.Params(), 1)
//		opt.Step()
//	})
//
// # State and resuming
//
// An optimiser's state is its buffers (momentum for SGD; first and second
// moments for Adam), its step counts, learning rate and momentum. StateDict
// returns them as tensors named "optim.<buffer>.<i>" (i indexes the
// parameter list) and metadata strings under "optim.", ready to be written
// into one safetensors file beside the model's own tensors; LoadStateDict
// restores them into a fresh optimiser over the same parameter list, after
// which training continues exactly as if it had not stopped. Schedules are
// pure functions of the step number, so Steps after a load gives the
// learning rate to continue with.
//
// # Memory
//
// Buffers live in C++ memory like every tensor. An optimiser allocates
// them, zeroed and shaped like the parameters on their device and with
// their dtype, when it is made, outside any torch.Scope even when the
// constructor is called inside one, so they outlive the training steps'
// scopes. Free releases them.
package optim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/torch"
)

// Optimizer updates a fixed list of parameters from their gradients.
// Parameters without a gradient (nil Grad) are left alone by a step, and
// their per-parameter state does not advance, as in PyTorch.
//
// Step and ZeroGrad panic with a *torch.Error when LibTorch fails (see
// torch.Catch); that is a programmer error, such as a freed parameter.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient.
	Step()
	// ZeroGrad drops the parameters' gradients (they read as nil until
	// the next Backward), as PyTorch's zero_grad(set_to_none=True).
	ZeroGrad()
	// LR returns the learning rate the next Step uses.
	LR() float64
	// SetLR sets the learning rate for the following steps.
	SetLR(lr float64)
	// Steps returns the number of Step calls so far, counting those
	// before a LoadStateDict: the step number to ask a schedule about.
	Steps() int
	// Params returns the parameters, in the order given to the
	// constructor. The slice must not be modified.
	Params() []*torch.Tensor
	// StateDict returns the state as named tensors and metadata (see the
	// package documentation). The tensors are the optimiser's own
	// buffers, not copies: save them before the next Step, and neither
	// modify nor free them.
	StateDict() (tensors map[string]*torch.Tensor, meta map[string]string)
	// LoadStateDict replaces the state with one StateDict returned for an
	// optimiser of the same kind over parameters of the same number and
	// shapes. Entries whose names do not start with "optim." are ignored,
	// so a whole checkpoint may be passed. Tensors are copied, converted
	// to the buffers' device and dtype. The learning rate (and SGD's
	// momentum or Adam's β1) is restored too; the other hyperparameters
	// stay as this optimiser was configured. On error nothing changes.
	LoadStateDict(tensors map[string]*torch.Tensor, meta map[string]string) error
	// Free releases the buffers now. The optimiser must not be used
	// afterwards.
	Free()
}

// MomentumOptimizer is an optimiser with a momentum a schedule can cycle
// (see OneCycle.Momentum): SGD's momentum, or Adam's β1.
type MomentumOptimizer interface {
	Optimizer
	Momentum() float64
	SetMomentum(m float64) error
}

// ClipGradNorm scales the gradients of params in place so that their joint
// L2 norm is at most maxNorm, and returns the norm before clipping, as
// PyTorch's clip_grad_norm_. Parameters without a gradient are skipped.
func ClipGradNorm(params []*torch.Tensor, maxNorm float64) float64 {
	return torch.ClipGradNorm(params, maxNorm)
}

// GradNorm returns the joint L2 norm of the gradients of params without
// changing them.
func GradNorm(params []*torch.Tensor) float64 {
	return torch.ClipGradNorm(params, math.Inf(1))
}

// StatePrefix starts the name of every tensor and metadata key of an
// optimiser's state.
const StatePrefix = "optim."

// Metadata keys of the state.
const (
	metaKind       = StatePrefix + "kind"        // "sgd", "adam" or "adamw"
	metaParams     = StatePrefix + "params"      // number of parameters
	metaStep       = StatePrefix + "step"        // Step calls so far
	metaLR         = StatePrefix + "lr"          // learning rate
	metaMomentum   = StatePrefix + "momentum"    // SGD momentum
	metaBeta1      = StatePrefix + "beta1"       // Adam β1
	metaParamSteps = StatePrefix + "param_steps" // Adam: updates per parameter, comma-separated
)

// bufferName is the state name of buffer kind for parameter i, e.g.
// "optim.m.3".
func bufferName(kind string, i int) string {
	return StatePrefix + kind + "." + strconv.Itoa(i)
}

// checkParams validates an optimiser's parameter list.
func checkParams(params []*torch.Tensor) error {
	if len(params) == 0 {
		return fmt.Errorf("empty parameter list")
	}
	seen := make(map[*torch.Tensor]int, len(params))
	for i, p := range params {
		if !p.Defined() {
			return fmt.Errorf("parameter %d is nil or freed", i)
		}
		if dt := p.DType(); !dt.IsFloat() {
			return fmt.Errorf("parameter %d has dtype %s, want a floating-point type", i, dt)
		}
		if j, ok := seen[p]; ok {
			return fmt.Errorf("parameter %d is parameter %d again", i, j)
		}
		seen[p] = i
	}
	return nil
}

// zerosLike returns zero tensors shaped like params, on their devices,
// with their dtypes and laid out as they are (channels last or not), owned
// by no scope (torch.Unscoped), so that they outlive whatever scopes the
// caller has open.
func zerosLike(params []*torch.Tensor) []*torch.Tensor {
	out := make([]*torch.Tensor, len(params))
	torch.Unscoped(func() {
		for i, p := range params {
			out[i] = torch.ZerosLike(p, p.Device())
		}
	})
	return out
}

// hasGrad reports whether p holds a gradient. It frees the handle Grad
// returned: Free drops only that handle's reference, and the gradient
// stays with p.
func hasGrad(p *torch.Tensor) bool {
	g := p.Grad()
	if g == nil {
		return false
	}
	g.Free()
	return true
}

func freeAll(ts []*torch.Tensor) {
	for _, t := range ts {
		t.Free()
	}
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// stateReader validates a state dict against an optimiser before anything
// is loaded.
type stateReader struct {
	tensors map[string]*torch.Tensor
	meta    map[string]string
	params  []*torch.Tensor
}

// header checks the state's kind and parameter count and returns its step
// count and learning rate.
func (r *stateReader) header(kind string) (steps int, lr float64, err error) {
	got, ok := r.meta[metaKind]
	if !ok {
		return 0, 0, fmt.Errorf("metadata %s missing: not an optimiser state", metaKind)
	}
	if got != kind {
		return 0, 0, fmt.Errorf("state is for %s, optimiser is %s", got, kind)
	}
	n, err := r.int(metaParams)
	if err != nil {
		return 0, 0, err
	}
	if n != len(r.params) {
		return 0, 0, fmt.Errorf("state is for %d parameters, optimiser has %d", n, len(r.params))
	}
	if steps, err = r.int(metaStep); err != nil {
		return 0, 0, err
	}
	if lr, err = r.float(metaLR); err != nil {
		return 0, 0, err
	}
	return steps, lr, nil
}

func (r *stateReader) int(key string) (int, error) {
	s, ok := r.meta[key]
	if !ok {
		return 0, fmt.Errorf("metadata %s missing", key)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("metadata %s = %q: want a count", key, s)
	}
	return n, nil
}

func (r *stateReader) float(key string) (float64, error) {
	s, ok := r.meta[key]
	if !ok {
		return 0, fmt.Errorf("metadata %s missing", key)
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) {
		return 0, fmt.Errorf("metadata %s = %q: want a number", key, s)
	}
	return x, nil
}

// counts parses a comma-separated list of one count per parameter.
func (r *stateReader) counts(key string) ([]int, error) {
	s, ok := r.meta[key]
	if !ok {
		return nil, fmt.Errorf("metadata %s missing", key)
	}
	fields := strings.Split(s, ",")
	if len(fields) != len(r.params) {
		return nil, fmt.Errorf("metadata %s has %d counts for %d parameters", key, len(fields), len(r.params))
	}
	out := make([]int, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("metadata %s entry %d = %q: want a count", key, i, f)
		}
		out[i] = n
	}
	return out, nil
}

// buffer returns the state's tensor of buffer kind for parameter i, or nil
// when there is none, after checking its shape against the parameter's.
func (r *stateReader) buffer(kind string, i int) (*torch.Tensor, error) {
	name := bufferName(kind, i)
	t, ok := r.tensors[name]
	if !ok {
		return nil, nil
	}
	if !t.Defined() {
		return nil, fmt.Errorf("tensor %s is nil or freed", name)
	}
	if got, want := t.Shape(), r.params[i].Shape(); !slices.Equal(got, want) {
		return nil, fmt.Errorf("tensor %s has shape %v, parameter %d has shape %v", name, got, i, want)
	}
	return t, nil
}

// checkNames fails on any state tensor that is not one of the buffer kinds
// of a parameter, which would mean the state belongs to something else.
func (r *stateReader) checkNames(kinds ...string) error {
	for name := range r.tensors {
		rest, ok := strings.CutPrefix(name, StatePrefix)
		if !ok {
			continue
		}
		kind, idx, ok := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || strconv.Itoa(i) != idx || !slices.Contains(kinds, kind) {
			return fmt.Errorf("tensor %s: not a state tensor of this optimiser (want %s<%s>.<index>)",
				name, StatePrefix, strings.Join(kinds, "|"))
		}
		if i < 0 || i >= len(r.params) {
			return fmt.Errorf("tensor %s: no parameter %d (optimiser has %d)", name, i, len(r.params))
		}
	}
	return nil
}
