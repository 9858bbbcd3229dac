package torch_test

import (
	"math/rand/v2"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// TestGradients checks the gradient of every differentiable op against
// central finite differences, in float64. Inputs keep away from kinks (0
// for abs and relu, clamp bounds, ties for max) so the differences are
// smooth there.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	u := func(lo, hi float64, shape ...int64) gradInput {
		return in(uniform(rng, numel(shape), lo, hi), shape...)
	}
	sp := func(scale float64, shape ...int64) gradInput { return in(spread(rng, numel(shape), scale), shape...) }
	f64 := func(xs []float64, shape ...int64) *torch.Tensor { return torch.FromFloat64(xs, shape...) }
	one := func(f func(x *torch.Tensor) *torch.Tensor) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor { return f(xs[0]) }
	}
	two := func(f func(a, b *torch.Tensor) *torch.Tensor) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor { return f(xs[0], xs[1]) }
	}
	conv := func(o torch.Conv2dOptions, bias bool) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor {
			var b *torch.Tensor
			if bias {
				b = xs[2]
			}
			return torch.Conv2d(xs[0], xs[1], b, o)
		}
	}
	cond := torch.FromBool([]bool{true, false, false, true, true, false}, 2, 3)
	defer cond.Free()
	index := torch.FromInt64([]int64{2, 0, 2, 1}, 4)
	defer index.Free()
	runMean, runVar := f64([]float64{0.3, -0.2}, 2), f64([]float64{1.5, 0.7}, 2)
	defer runMean.Free()
	defer runVar.Free()

	tests := []struct {
		name   string
		f      func([]*torch.Tensor) *torch.Tensor
		inputs []gradInput
	}{
		// Element-wise arithmetic, with broadcasting.
		{"add", two((*torch.Tensor).Add), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 3)}},
		{"sub", two((*torch.Tensor).Sub), []gradInput{u(-1, 1, 2, 1), u(-1, 1, 1, 3)}},
		{"mul", two((*torch.Tensor).Mul), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		{"div", two((*torch.Tensor).Div), []gradInput{u(-1, 1, 2, 3), u(0.5, 2, 3)}},
		{"pow", two((*torch.Tensor).Pow), []gradInput{u(0.5, 2, 2, 3), u(-1.5, 2.5, 2, 3)}},
		{"atan2", two((*torch.Tensor).Atan2), []gradInput{u(-1, 1, 5), u(0.5, 1, 5)}},
		{"maximum", two((*torch.Tensor).Maximum), []gradInput{sp(1, 2, 3), sp(0.9, 2, 3)}},
		{"minimum", two((*torch.Tensor).Minimum), []gradInput{sp(1, 2, 3), sp(0.9, 2, 3)}},
		{"add scalar", one(func(x *torch.Tensor) *torch.Tensor { return x.AddScalar(2) }), []gradInput{u(-1, 1, 4)}},
		{"sub scalar", one(func(x *torch.Tensor) *torch.Tensor { return x.SubScalar(2) }), []gradInput{u(-1, 1, 4)}},
		{"mul scalar", one(func(x *torch.Tensor) *torch.Tensor { return x.MulScalar(-3) }), []gradInput{u(-1, 1, 4)}},
		{"div scalar", one(func(x *torch.Tensor) *torch.Tensor { return x.DivScalar(4) }), []gradInput{u(-1, 1, 4)}},
		{"pow scalar", one(func(x *torch.Tensor) *torch.Tensor { return x.PowScalar(3) }), []gradInput{u(-1, 1, 4)}},
		{"pow fractional scalar", one(func(x *torch.Tensor) *torch.Tensor { return x.PowScalar(1.5) }), []gradInput{u(0.5, 2, 4)}},

		// Element-wise functions.
		{"neg", one((*torch.Tensor).Neg), []gradInput{u(-1, 1, 5)}},
		{"abs", one((*torch.Tensor).Abs), []gradInput{sp(2, 6)}},
		{"sqrt", one((*torch.Tensor).Sqrt), []gradInput{u(0.3, 3, 5)}},
		{"rsqrt", one((*torch.Tensor).Rsqrt), []gradInput{u(0.3, 3, 5)}},
		{"square", one((*torch.Tensor).Square), []gradInput{u(-2, 2, 5)}},
		{"exp", one((*torch.Tensor).Exp), []gradInput{u(-2, 2, 5)}},
		{"log", one((*torch.Tensor).Log), []gradInput{u(0.3, 3, 5)}},
		{"sin", one((*torch.Tensor).Sin), []gradInput{u(-3, 3, 5)}},
		{"cos", one((*torch.Tensor).Cos), []gradInput{u(-3, 3, 5)}},
		{"floor (zero gradient)", one((*torch.Tensor).Floor), []gradInput{in([]float64{-1.5, -0.3, 0.4, 2.7}, 4)}},
		{"round (zero gradient)", one((*torch.Tensor).Round), []gradInput{in([]float64{-1.3, -0.2, 0.4, 2.7}, 4)}},
		{"sign (zero gradient)", one((*torch.Tensor).Sign), []gradInput{in([]float64{-1.3, -0.2, 0.4, 2.7}, 4)}},
		{"clamp", one(func(x *torch.Tensor) *torch.Tensor { return x.Clamp(-0.45, 0.55) }), []gradInput{sp(1, 10)}},
		{"clamp min", one(func(x *torch.Tensor) *torch.Tensor { return x.ClampMin(0.05) }), []gradInput{sp(1, 10)}},
		{"clamp max", one(func(x *torch.Tensor) *torch.Tensor { return x.ClampMax(0.05) }), []gradInput{sp(1, 10)}},
		{"where", two(func(a, b *torch.Tensor) *torch.Tensor { return torch.Where(cond, a, b) }), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 3)}},
		{"relu", one((*torch.Tensor).Relu), []gradInput{sp(1, 2, 5)}},
		{"leaky relu", one(func(x *torch.Tensor) *torch.Tensor { return x.LeakyRelu(0.1) }), []gradInput{sp(1, 2, 5)}},
		{"gelu", one((*torch.Tensor).Gelu), []gradInput{u(-3, 3, 2, 5)}},
		{"sigmoid", one((*torch.Tensor).Sigmoid), []gradInput{u(-3, 3, 2, 5)}},
		{"tanh", one((*torch.Tensor).Tanh), []gradInput{u(-3, 3, 2, 5)}},
		{"clone", one((*torch.Tensor).Clone), []gradInput{u(-1, 1, 3)}},
		{"contiguous of transpose", one(func(x *torch.Tensor) *torch.Tensor { return x.Transpose(0, 1).Contiguous() }), []gradInput{u(-1, 1, 2, 3)}},

		// Matrix products.
		{"matmul", two((*torch.Tensor).Matmul), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 3, 4)}},
		{"matmul batched", two((*torch.Tensor).Matmul), []gradInput{u(-1, 1, 2, 2, 3), u(-1, 1, 3, 2)}},
		{"matmul vector", two((*torch.Tensor).Matmul), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 3)}},

		// Reductions.
		{"sum", one((*torch.Tensor).Sum), []gradInput{u(-1, 1, 2, 3)}},
		{"mean", one((*torch.Tensor).Mean), []gradInput{u(-1, 1, 2, 3)}},
		{"max", one((*torch.Tensor).Max), []gradInput{sp(1, 2, 3)}},
		{"min", one((*torch.Tensor).Min), []gradInput{sp(1, 2, 3)}},
		{"sum dims", one(func(x *torch.Tensor) *torch.Tensor { return x.SumDims([]int64{0, 2}, false) }), []gradInput{u(-1, 1, 2, 3, 2)}},
		{"mean dims keepdim", one(func(x *torch.Tensor) *torch.Tensor { return x.MeanDims([]int64{-1}, true) }), []gradInput{u(-1, 1, 2, 3, 2)}},
		{"amax dims", one(func(x *torch.Tensor) *torch.Tensor { return x.MaxDims([]int64{1}, false) }), []gradInput{sp(1, 2, 3, 2)}},
		{"amin dims", one(func(x *torch.Tensor) *torch.Tensor { return x.MinDims([]int64{0, 1}, true) }), []gradInput{sp(1, 2, 3, 2)}},

		// Shape and indexing.
		{"reshape", one(func(x *torch.Tensor) *torch.Tensor { return x.Reshape(3, -1) }), []gradInput{u(-1, 1, 2, 3)}},
		{"view", one(func(x *torch.Tensor) *torch.Tensor { return x.View(6, 1) }), []gradInput{u(-1, 1, 2, 3)}},
		{"permute", one(func(x *torch.Tensor) *torch.Tensor { return x.Permute(2, 0, 1) }), []gradInput{u(-1, 1, 2, 3, 2)}},
		{"transpose", one(func(x *torch.Tensor) *torch.Tensor { return x.Transpose(0, 2) }), []gradInput{u(-1, 1, 2, 3, 2)}},
		{"squeeze unsqueeze", one(func(x *torch.Tensor) *torch.Tensor { return x.Squeeze(1).Unsqueeze(0) }), []gradInput{u(-1, 1, 2, 1, 3)}},
		{"narrow", one(func(x *torch.Tensor) *torch.Tensor { return x.Narrow(1, 1, 2) }), []gradInput{u(-1, 1, 2, 4)}},
		{"index select", one(func(x *torch.Tensor) *torch.Tensor { return x.IndexSelect(1, index) }), []gradInput{u(-1, 1, 2, 3)}},
		{"cat", func(xs []*torch.Tensor) *torch.Tensor { return torch.Cat(xs, 1) }, []gradInput{u(-1, 1, 2, 1), u(-1, 1, 2, 3), u(-1, 1, 2, 2)}},
		{"stack", func(xs []*torch.Tensor) *torch.Tensor { return torch.Stack(xs, 1) }, []gradInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		{"flip", one(func(x *torch.Tensor) *torch.Tensor { return x.Flip(0, 2) }), []gradInput{u(-1, 1, 2, 2, 3)}},
		{"expand", one(func(x *torch.Tensor) *torch.Tensor { return x.Expand(2, 3, -1) }), []gradInput{u(-1, 1, 3, 1)}},

		// Neural-net functions.
		{"conv2d", conv(torch.Conv2dOptions{}, true), []gradInput{u(-1, 1, 2, 2, 4, 4), u(-1, 1, 3, 2, 3, 3), u(-1, 1, 3)}},
		{"conv2d no bias", conv(torch.Conv2dOptions{}, false), []gradInput{u(-1, 1, 1, 2, 4, 3), u(-1, 1, 2, 2, 2, 2)}},
		{"conv2d stride padding", conv(torch.Conv2dOptions{Stride: [2]int64{2, 1}, Padding: [2]int64{1, 2}}, true),
			[]gradInput{u(-1, 1, 1, 2, 5, 4), u(-1, 1, 2, 2, 3, 3), u(-1, 1, 2)}},
		{"conv2d dilation", conv(torch.Conv2dOptions{Dilation: [2]int64{2, 2}, Padding: [2]int64{1, 1}}, true),
			[]gradInput{u(-1, 1, 1, 1, 5, 5), u(-1, 1, 2, 1, 3, 3), u(-1, 1, 2)}},
		{"conv2d groups", conv(torch.Conv2dOptions{Groups: 2, Padding: [2]int64{1, 1}}, true),
			[]gradInput{u(-1, 1, 1, 4, 3, 3), u(-1, 1, 4, 2, 2, 2), u(-1, 1, 4)}},
		{"max pool", one(func(x *torch.Tensor) *torch.Tensor {
			return torch.MaxPool2d(x, torch.Pool2dOptions{Kernel: [2]int64{3, 3}, Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})
		}), []gradInput{sp(1, 1, 2, 5, 5)}},
		{"max pool ceil", one(func(x *torch.Tensor) *torch.Tensor {
			return torch.MaxPool2d(x, torch.Pool2dOptions{Kernel: [2]int64{2, 2}, CeilMode: true})
		}), []gradInput{sp(1, 1, 1, 5, 5)}},
		{"avg pool", one(func(x *torch.Tensor) *torch.Tensor {
			return torch.AvgPool2d(x, torch.Pool2dOptions{Kernel: [2]int64{3, 2}, Stride: [2]int64{1, 2}, Padding: [2]int64{1, 1}})
		}), []gradInput{u(-1, 1, 1, 2, 4, 5)}},
		{"avg pool ceil", one(func(x *torch.Tensor) *torch.Tensor {
			return torch.AvgPool2d(x, torch.Pool2dOptions{Kernel: [2]int64{2, 2}, CeilMode: true})
		}), []gradInput{u(-1, 1, 1, 1, 5, 5)}},
		{"adaptive avg pool", one(func(x *torch.Tensor) *torch.Tensor { return torch.AdaptiveAvgPool2d(x, 3, 2) }), []gradInput{u(-1, 1, 1, 2, 5, 7)}},
		{"interpolate nearest", one(func(x *torch.Tensor) *torch.Tensor { return torch.Interpolate(x, 5, 4, torch.Nearest, false) }), []gradInput{u(-1, 1, 1, 2, 3, 3)}},
		{"interpolate bilinear", one(func(x *torch.Tensor) *torch.Tensor { return torch.Interpolate(x, 5, 7, torch.Bilinear, false) }), []gradInput{u(-1, 1, 1, 2, 3, 4)}},
		{"interpolate bilinear align corners", one(func(x *torch.Tensor) *torch.Tensor { return torch.Interpolate(x, 2, 5, torch.Bilinear, true) }), []gradInput{u(-1, 1, 2, 1, 3, 3)}},
		{"batch norm training", func(xs []*torch.Tensor) *torch.Tensor {
			return torch.BatchNorm(xs[0], xs[1], xs[2], nil, nil, true, 0.1, 1e-5)
		}, []gradInput{u(-2, 2, 3, 2, 2, 2), u(0.5, 2, 2), u(-1, 1, 2)}},
		{"batch norm training 2d", func(xs []*torch.Tensor) *torch.Tensor {
			return torch.BatchNorm(xs[0], xs[1], xs[2], nil, nil, true, 0.1, 1e-5)
		}, []gradInput{u(-2, 2, 5, 2), u(0.5, 2, 2), u(-1, 1, 2)}},
		{"batch norm eval", func(xs []*torch.Tensor) *torch.Tensor {
			return torch.BatchNorm(xs[0], xs[1], xs[2], runMean, runVar, false, 0.1, 1e-5)
		}, []gradInput{u(-2, 2, 2, 2, 3), u(0.5, 2, 2), u(-1, 1, 2)}},
		{"linear", func(xs []*torch.Tensor) *torch.Tensor { return torch.Linear(xs[0], xs[1], xs[2]) },
			[]gradInput{u(-1, 1, 2, 3, 4), u(-1, 1, 5, 4), u(-1, 1, 5)}},
		{"linear no bias", func(xs []*torch.Tensor) *torch.Tensor { return torch.Linear(xs[0], xs[1], nil) },
			[]gradInput{u(-1, 1, 3, 4), u(-1, 1, 2, 4)}},
		{"softmax", one(func(x *torch.Tensor) *torch.Tensor { return torch.Softmax(x, 1) }), []gradInput{u(-2, 2, 2, 4)}},
		{"log softmax", one(func(x *torch.Tensor) *torch.Tensor { return torch.LogSoftmax(x, 0) }), []gradInput{u(-2, 2, 3, 2)}},
		{"mse mean", two(func(a, b *torch.Tensor) *torch.Tensor { return torch.MSELoss(a, b, torch.ReduceMean) }), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		{"mse sum", two(func(a, b *torch.Tensor) *torch.Tensor { return torch.MSELoss(a, b, torch.ReduceSum) }), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		{"mse none", two(func(a, b *torch.Tensor) *torch.Tensor { return torch.MSELoss(a, b, torch.ReduceNone) }), []gradInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		// Differences of spread inputs over 3 and 0.7 stay clear of |d| = delta.
		{"huber", two(func(a, b *torch.Tensor) *torch.Tensor { return torch.HuberLoss(a, b, torch.ReduceMean, 1.03) }),
			[]gradInput{sp(3, 12), in(make([]float64, 12), 12)}},
		{"huber none", two(func(a, b *torch.Tensor) *torch.Tensor { return torch.HuberLoss(a, b, torch.ReduceNone, 0.53) }),
			[]gradInput{sp(3, 2, 6), sp(0.01, 2, 6)}},
		{"smooth l1", two(func(a, b *torch.Tensor) *torch.Tensor { return torch.SmoothL1Loss(a, b, torch.ReduceSum, 0.77) }),
			[]gradInput{sp(3, 12), in(make([]float64, 12), 12)}},
		{"affine grid", one(func(theta *torch.Tensor) *torch.Tensor { return torch.AffineGrid(theta, [4]int64{2, 1, 3, 4}, false) }), []gradInput{u(-1, 1, 2, 2, 3)}},
		{"affine grid align corners", one(func(theta *torch.Tensor) *torch.Tensor { return torch.AffineGrid(theta, [4]int64{1, 3, 2, 3}, true) }), []gradInput{u(-1, 1, 1, 2, 3)}},
		{"grid sample bilinear", two(func(x, g *torch.Tensor) *torch.Tensor {
			return torch.GridSample(x, g, torch.Bilinear, torch.PadZeros, false)
		}),
			[]gradInput{u(-1, 1, 1, 2, 3, 4), u(-1.1, 1.1, 1, 3, 3, 2)}},
		{"grid sample border align corners", two(func(x, g *torch.Tensor) *torch.Tensor {
			return torch.GridSample(x, g, torch.Bilinear, torch.PadBorder, true)
		}),
			[]gradInput{u(-1, 1, 2, 1, 3, 3), u(-0.95, 0.95, 2, 2, 3, 2)}},
		{"grid sample nearest (input only)", func(xs []*torch.Tensor) *torch.Tensor {
			grid := torch.FromFloat64([]float64{-0.8, -0.7, 0.1, 0.3, 0.6, -0.2, 0.9, 0.8}, 1, 2, 2, 2)
			return torch.GridSample(xs[0], grid, torch.Nearest, torch.PadZeros, false)
		}, []gradInput{u(-1, 1, 1, 2, 3, 3)}},
		{"affine grid then grid sample", two(func(x, theta *torch.Tensor) *torch.Tensor {
			return torch.GridSample(x, torch.AffineGrid(theta, [4]int64{1, 1, 3, 3}, false), torch.Bilinear, torch.PadZeros, false)
		}), []gradInput{u(-1, 1, 1, 1, 4, 4), in([]float64{0.9, 0.13, 0.05, -0.11, 0.8, 0.07}, 1, 2, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { gradcheck(t, tt.f, tt.inputs...) })
	}
}

func TestBackwardSemantics(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	x := torch.FromFloat64([]float64{1, 2, 3}, 3).SetRequiresGrad(true)
	if !x.RequiresGrad() {
		t.Fatalf("SetRequiresGrad(true) did not take")
	}
	if g := x.Grad(); g != nil {
		t.Errorf("Grad before any Backward = %v, want nil", g)
	}

	// Gradients accumulate over Backward calls.
	x.Square().Sum().Backward()
	x.MulScalar(3).Sum().Backward()
	assertClose(t, "accumulated gradient", x.Grad().Float64s(), []float64{5, 7, 9}, 0)

	// BackwardWith sends a gradient into a non-scalar output.
	y := torch.FromFloat64([]float64{1, -1}, 2).SetRequiresGrad(true)
	y.MulScalar(2).BackwardWith(torch.FromFloat64([]float64{10, 100}, 2))
	assertClose(t, "BackwardWith", y.Grad().Float64s(), []float64{20, 200}, 0)

	// Detach cuts the graph; a leaf can turn recording off again.
	z := torch.FromFloat64([]float64{4}, 1).SetRequiresGrad(true)
	w := torch.FromFloat64([]float64{5}, 1).SetRequiresGrad(true)
	z.Mul(w.Detach()).Sum().Backward()
	assertClose(t, "gradient through detached factor", z.Grad().Float64s(), []float64{5}, 0)
	if g := w.Grad(); g != nil {
		t.Errorf("detached tensor's leaf got gradient %v", g)
	}
	w.SetRequiresGrad(false)
	if w.RequiresGrad() || w.Mul(w).RequiresGrad() {
		t.Errorf("SetRequiresGrad(false) did not stop recording")
	}

	// A dtype conversion stays in the graph.
	f := torch.FromFloat64([]float64{1.5, 2}, 2).SetRequiresGrad(true)
	h := f.ToDType(torch.Float32)
	if !h.RequiresGrad() {
		t.Errorf("ToDType result does not require grad")
	}
	h.Square().Sum().Backward()
	if f.Grad().DType() != torch.Float64 {
		t.Errorf("gradient dtype %v, want float64 like its leaf", f.Grad().DType())
	}
	assertClose(t, "gradient through ToDType", f.Grad().Float64s(), []float64{3, 4}, 0)
}
