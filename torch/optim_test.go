package torch_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// quadratic sets the gradient of each parameter p to a·p (the gradient of
// 0.5·Σ a·p²), as a training step's Backward would, after dropping the old
// gradients. It returns the gradients it expects, computed in Go.
func quadratic(t *testing.T, params []*torch.Tensor, a []float64) [][]float64 {
	t.Helper()
	torch.ZeroGrad(params)
	var want [][]float64
	torch.WithScope(func() {
		for _, p := range params {
			coef := torch.FromFloat64(a[:p.Numel()], p.Shape()...).ToDType(p.DType())
			p.Square().Mul(coef).MulScalar(0.5).Sum().Backward()
			g := make([]float64, p.Numel())
			for i, v := range p.Float64s() {
				g[i] = a[i] * v
			}
			want = append(want, g)
		}
	})
	return want
}

func TestSGDStep(t *testing.T) {
	type sgd struct{ lr, momentum, dampening, weightDecay float64 }
	tests := []struct {
		name     string
		opt      sgd
		nesterov bool
	}{
		{"plain", sgd{lr: 0.1}, false},
		{"weight decay", sgd{lr: 0.1, weightDecay: 0.05}, false},
		{"momentum", sgd{lr: 0.1, momentum: 0.9}, false},
		{"momentum dampening", sgd{lr: 0.05, momentum: 0.8, dampening: 0.3}, false},
		{"nesterov", sgd{lr: 0.1, momentum: 0.9}, true},
		{"nesterov weight decay", sgd{lr: 0.2, momentum: 0.5, weightDecay: 0.01}, true},
	}
	a := []float64{1, 2, 0.5, -1, 3, 0.25}
	for _, dt := range []torch.DType{torch.Float64, torch.Float32} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s %s", tt.name, dt), func(t *testing.T) {
				s := torch.NewScope()
				defer s.Close()
				tol := 1e-12
				if dt == torch.Float32 {
					tol = 1e-5
				}
				init := [][]float64{{1, -2, 3}, {0.5, 1.5}}
				params := []*torch.Tensor{
					torch.FromFloat64(init[0], 3).ToDType(dt).SetRequiresGrad(true),
					torch.FromFloat64(init[1], 2, 1).ToDType(dt).SetRequiresGrad(true),
				}
				// A third parameter never gets a gradient: SGDStep skips it.
				idle := torch.FromFloat64([]float64{7}, 1).ToDType(dt).SetRequiresGrad(true)
				all := append(params[:2:2], idle)
				bufs := []*torch.Tensor{
					torch.Zeros([]int64{3}, dt, torch.CPU), torch.Zeros([]int64{2, 1}, dt, torch.CPU),
					torch.Full([]int64{1}, 9, dt, torch.CPU),
				}
				p := [][]float64{append([]float64(nil), init[0]...), append([]float64(nil), init[1]...)}
				buf := [][]float64{make([]float64, 3), make([]float64, 2)}
				o := tt.opt
				for step := 1; step <= 4; step++ {
					grads := quadratic(t, params, a)
					// Go re-implementation of the documented update.
					for i := range p {
						for j := range p[i] {
							g := grads[i][j] + o.weightDecay*p[i][j]
							if o.momentum != 0 {
								if step == 1 {
									buf[i][j] = g
								} else {
									buf[i][j] = o.momentum*buf[i][j] + (1-o.dampening)*g
								}
								if tt.nesterov {
									g += o.momentum * buf[i][j]
								} else {
									g = buf[i][j]
								}
							}
							p[i][j] -= o.lr * g
						}
					}
					var sgdBufs []*torch.Tensor
					if o.momentum != 0 {
						sgdBufs = bufs
					}
					torch.SGDStep(all, sgdBufs, o.lr, o.momentum, o.dampening, o.weightDecay, tt.nesterov, step == 1)
					for i := range p {
						assertClose(t, fmt.Sprintf("step %d parameter %d", step, i), params[i].Float64s(), p[i], tol)
						if o.momentum != 0 {
							assertClose(t, fmt.Sprintf("step %d buffer %d", step, i), bufs[i].Float64s(), buf[i], tol)
						}
					}
					assertClose(t, "parameter without gradient", idle.Float64s(), []float64{7}, 0)
					assertClose(t, "buffer of parameter without gradient", bufs[2].Float64s(), []float64{9}, 0)
				}
				if params[0].Grad() == nil || !params[0].RequiresGrad() {
					t.Errorf("SGDStep dropped the gradient or requires_grad")
				}
			})
		}
	}
	t.Run("buffer count checked", func(t *testing.T) {
		p := torch.Zeros([]int64{1}, torch.Float32, torch.CPU)
		defer p.Free()
		err := panicError(t, "SGDStep with too few buffers", func() {
			torch.SGDStep([]*torch.Tensor{p, p}, []*torch.Tensor{p}, 0.1, 0.9, 0, 0, false, true)
		})
		if err.Op != "sgd_step" {
			t.Errorf("Op %q, want sgd_step", err.Op)
		}
	})
}

func TestAdamStep(t *testing.T) {
	type adam struct{ lr, beta1, beta2, eps, weightDecay float64 }
	tests := []struct {
		name      string
		opt       adam
		decoupled bool
	}{
		{"adam", adam{0.01, 0.9, 0.999, 1e-8, 0}, false},
		{"adam other betas", adam{0.05, 0.5, 0.9, 1e-3, 0}, false},
		{"adam L2", adam{0.01, 0.9, 0.999, 1e-8, 0.1}, false},
		{"adamw", adam{0.01, 0.9, 0.999, 1e-8, 0.1}, true},
		{"adamw no decay", adam{0.02, 0.8, 0.99, 1e-6, 0}, true},
	}
	a := []float64{1, 2, 0.5, -1, 3, 0.25}
	for _, dt := range []torch.DType{torch.Float64, torch.Float32} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s %s", tt.name, dt), func(t *testing.T) {
				s := torch.NewScope()
				defer s.Close()
				tol := 1e-12
				if dt == torch.Float32 {
					tol = 1e-5
				}
				init := [][]float64{{1, -2, 3, 0.1}, {0.5, 1.5}}
				params := []*torch.Tensor{
					torch.FromFloat64(init[0], 2, 2).ToDType(dt).SetRequiresGrad(true),
					torch.FromFloat64(init[1], 2).ToDType(dt).SetRequiresGrad(true),
				}
				idle := torch.FromFloat64([]float64{7}, 1).ToDType(dt).SetRequiresGrad(true)
				all := append(params[:2:2], idle)
				var ms, vs []*torch.Tensor
				for _, q := range all {
					ms = append(ms, torch.Zeros(q.Shape(), dt, torch.CPU))
					vs = append(vs, torch.Zeros(q.Shape(), dt, torch.CPU))
				}
				p := [][]float64{append([]float64(nil), init[0]...), append([]float64(nil), init[1]...)}
				m := [][]float64{make([]float64, 4), make([]float64, 2)}
				v := [][]float64{make([]float64, 4), make([]float64, 2)}
				o := tt.opt
				for step := 1; step <= 5; step++ {
					grads := quadratic(t, params, a)
					bc1 := 1 - math.Pow(o.beta1, float64(step))
					bc2 := 1 - math.Pow(o.beta2, float64(step))
					for i := range p {
						for j := range p[i] {
							g := grads[i][j]
							if tt.decoupled {
								p[i][j] *= 1 - o.lr*o.weightDecay
							} else {
								g += o.weightDecay * p[i][j]
							}
							m[i][j] = o.beta1*m[i][j] + (1-o.beta1)*g
							v[i][j] = o.beta2*v[i][j] + (1-o.beta2)*g*g
							mHat, vHat := m[i][j]/bc1, v[i][j]/bc2
							p[i][j] -= o.lr * mHat / (math.Sqrt(vHat) + o.eps)
						}
					}
					torch.AdamStep(all, ms, vs, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, tt.decoupled, int64(step))
					for i := range p {
						what := fmt.Sprintf("step %d parameter %d", step, i)
						assertClose(t, what, params[i].Float64s(), p[i], tol)
						assertClose(t, what+" first moment", ms[i].Float64s(), m[i], tol)
						assertClose(t, what+" second moment", vs[i].Float64s(), v[i], tol)
					}
					assertClose(t, "parameter without gradient", idle.Float64s(), []float64{7}, 0)
					assertClose(t, "moment of parameter without gradient", ms[2].Float64s(), []float64{0}, 0)
				}
			})
		}
	}
	t.Run("arguments checked", func(t *testing.T) {
		p := torch.Zeros([]int64{1}, torch.Float32, torch.CPU).SetRequiresGrad(true)
		defer p.Free()
		p.Sum().Backward()
		ps := []*torch.Tensor{p}
		err := panicError(t, "AdamStep with too few buffers", func() {
			torch.AdamStep(ps, nil, ps, 0.1, 0.9, 0.999, 1e-8, 0, false, 1)
		})
		if err.Op != "adam_step" {
			t.Errorf("Op %q, want adam_step", err.Op)
		}
		m, v := torch.Zeros([]int64{1}, torch.Float32, torch.CPU), torch.Zeros([]int64{1}, torch.Float32, torch.CPU)
		defer m.Free()
		defer v.Free()
		err = panicError(t, "AdamStep at step 0", func() {
			torch.AdamStep(ps, []*torch.Tensor{m}, []*torch.Tensor{v}, 0.1, 0.9, 0.999, 1e-8, 0, false, 0)
		})
		if err.Op != "adam_step" || !strings.Contains(err.Msg, "step 0") {
			t.Errorf("error %q, want Op adam_step naming step 0", err)
		}
		assertClose(t, "parameter after refused step", p.Float64s(), []float64{0}, 0)
	})
}

func TestClipGradNorm(t *testing.T) {
	// Gradients [3 4] and [12] have joint norm 13.
	setup := func(dt torch.DType) []*torch.Tensor {
		a := torch.Zeros([]int64{2}, dt, torch.CPU).SetRequiresGrad(true)
		b := torch.Zeros([]int64{1, 1}, dt, torch.CPU).SetRequiresGrad(true)
		none := torch.Zeros([]int64{3}, dt, torch.CPU).SetRequiresGrad(true)
		a.Mul(torch.FromFloat64([]float64{3, 4}, 2).ToDType(dt)).Sum().Backward()
		b.MulScalar(12).Sum().Backward()
		return []*torch.Tensor{a, b, none}
	}
	tests := []struct {
		name    string
		dt      torch.DType
		maxNorm float64
		scale   float64
	}{
		{"clipped to half", torch.Float32, 6.5, 6.5 / (13 + 1e-6)},
		{"clipped float64", torch.Float64, 1, 1 / (13 + 1e-6)},
		{"under the limit", torch.Float32, 20, 1},
		{"at the limit", torch.Float64, 13, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			ps := setup(tt.dt)
			norm := torch.ClipGradNorm(ps, tt.maxNorm)
			if math.Abs(norm-13) > 1e-5 {
				t.Errorf("norm %v, want 13", norm)
			}
			assertClose(t, "first gradient", ps[0].Grad().Float64s(), []float64{3 * tt.scale, 4 * tt.scale}, 1e-6)
			assertClose(t, "second gradient", ps[1].Grad().Float64s(), []float64{12 * tt.scale}, 1e-6)
			if g := ps[2].Grad(); g != nil {
				t.Errorf("parameter without gradient got %v", g)
			}
		})
	}
	t.Run("no gradients", func(t *testing.T) {
		p := torch.Zeros([]int64{2}, torch.Float32, torch.CPU).SetRequiresGrad(true)
		defer p.Free()
		if norm := torch.ClipGradNorm([]*torch.Tensor{p}, 1); norm != 0 {
			t.Errorf("norm %v, want 0", norm)
		}
	})
}

func TestZeroGrad(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	p := torch.FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)
	q := torch.FromFloat32([]float32{3}, 1).SetRequiresGrad(true)
	p.Mul(q).Sum().Backward()
	if p.Grad() == nil || q.Grad() == nil {
		t.Fatalf("no gradients after Backward")
	}
	torch.ZeroGrad([]*torch.Tensor{p, q})
	if g := p.Grad(); g != nil {
		t.Errorf("p.Grad() after ZeroGrad = %v, want nil", g)
	}
	if g := q.Grad(); g != nil {
		t.Errorf("q.Grad() after ZeroGrad = %v, want nil", g)
	}
	// The next Backward starts from nothing rather than accumulating.
	p.Mul(q).Sum().Backward()
	assertClose(t, "p gradient after ZeroGrad and Backward", p.Grad().Float64s(), []float64{3, 3}, 0)
	assertClose(t, "q gradient after ZeroGrad and Backward", q.Grad().Float64s(), []float64{3}, 0)
	torch.ZeroGrad(nil) // nothing to do
}
