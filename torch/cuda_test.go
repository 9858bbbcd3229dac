package torch_test

// The TestCUDA* tests run the Go API on a CUDA device and compare every
// result with the CPU's. On a machine without one (a CPU-only LibTorch, or
// no GPU or driver) they run the same comparisons CPU against CPU, which
// still checks the tables and the harness, and skip only what needs CUDA
// itself (float16 autocast); each logs a "cuda-fallback:" line then, and
// with FKD_REQUIRE_CUDA=1 fails instead (internal/fkdtest). Select them with
//
//	go test -count=1 -run '^TestCUDA' ./torch/... ./train/... ./models/...
//
// as bench/gpu/run.sh does on the GPU machine.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/torch"
)

// onDevice returns x on dev: x itself on the CPU, else a copy there.
func onDevice(x *torch.Tensor, dev torch.Device) *torch.Tensor {
	if dev == torch.CPU {
		return x
	}
	return x.ToDevice(dev)
}

// closeValues reports whether got and want agree: exactly for tol 0, else
// within tol·(1 + |want|). NaN matches NaN and an infinity the same
// infinity.
func closeValues(got, want, tol float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	}
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

// assertSame reports the first element where a device's values differ from
// the CPU's.
func assertSame(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values on the device, %d on the CPU", what, len(got), len(want))
		return
	}
	for i := range got {
		if !closeValues(got[i], want[i], tol) {
			t.Errorf("%s: element %d = %.10g on the device, %.10g on the CPU (tolerance %g)", what, i, got[i], want[i], tol)
			return
		}
	}
}

func TestCUDATransfer(t *testing.T) {
	dev := fkdtest.Device(t)
	tests := []struct {
		dtype torch.DType
		data  []float64
	}{
		{torch.Float32, []float64{0, 1, -2.5, 3.25, 1e-7, -1e20, 0.1, 65504}},
		{torch.Float64, []float64{0, 1, -2.5, 3.25, 1e-300, -1e300, 0.1, math.Pi}},
		{torch.Int64, []float64{0, 1, -2, 3, 1 << 40, -(1 << 50), 7, -8}},
		{torch.Bool, []float64{0, 1, 1, 0, 1, 0, 0, 1}},
		{torch.Uint8, []float64{0, 1, 2, 3, 127, 128, 254, 255}},
		{torch.BFloat16, []float64{0, 1, -2.5, 3.25, 1e-7, -1e20, 0.1, 65504}},
		{torch.Float16, []float64{0, 1, -2.5, 3.25, 1e-4, -60000, 0.1, 65504}},
		{torch.Int32, []float64{0, 1, -2, 3, 1 << 30, -(1 << 31), 7, -8}},
	}
	for _, tt := range tests {
		t.Run(tt.dtype.String(), func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			cpu := torch.FromFloat64(tt.data, 2, 4).ToDType(tt.dtype)
			moved := cpu.ToDevice(dev)
			if moved.Device() != dev || moved.DType() != tt.dtype {
				t.Fatalf("ToDevice(%v): %v %v, want %v %v", dev, moved.Device(), moved.DType(), dev, tt.dtype)
			}
			back := moved.ToDevice(torch.CPU)
			if back.Device() != torch.CPU {
				t.Fatalf("ToDevice(cpu) gave a tensor on %v", back.Device())
			}
			if !slices.Equal(back.Bytes(), cpu.Bytes()) {
				t.Errorf("round trip through %v changed the values: %v, want %v", dev, back.Float64s(), cpu.Float64s())
			}
			// Bytes and Float64s read a device tensor directly.
			if !slices.Equal(moved.Bytes(), cpu.Bytes()) {
				t.Errorf("Bytes on %v differ from the CPU's", dev)
			}
			assertSame(t, "Float64s on the device", moved.Float64s(), cpu.Float64s(), 0)

			// A non-contiguous tensor crosses as its values, in order.
			tr := cpu.Transpose(0, 1)
			assertSame(t, "transposed", onDevice(tr, dev).ToDevice(torch.CPU).Float64s(), tr.Float64s(), 0)

			// To changes device and type in one call, as the CPU converts.
			src := torch.FromFloat64([]float64{0, 1, 2.5, 3, 100, 0.125, 7, 1}, 2, 4).ToDType(torch.Float32)
			conv := src.To(dev, tt.dtype)
			if conv.Device() != dev || conv.DType() != tt.dtype {
				t.Fatalf("To(%v, %v): %v %v", dev, tt.dtype, conv.Device(), conv.DType())
			}
			if !slices.Equal(conv.Bytes(), src.ToDType(tt.dtype).Bytes()) {
				t.Errorf("To(%v, %v) = %v, CPU conversion %v", dev, tt.dtype, conv.Float64s(), src.ToDType(tt.dtype).Float64s())
			}

			// CopyFrom writes across devices.
			dst := torch.Zeros([]int64{2, 4}, tt.dtype, dev)
			dst.CopyFrom(cpu)
			if !slices.Equal(dst.Bytes(), cpu.Bytes()) {
				t.Errorf("CopyFrom(cpu) into %v: %v, want %v", dev, dst.Float64s(), cpu.Float64s())
			}
			home := torch.Zeros([]int64{2, 4}, tt.dtype, torch.CPU)
			home.CopyFrom(moved)
			if !slices.Equal(home.Bytes(), cpu.Bytes()) {
				t.Errorf("CopyFrom(%v) into the CPU: %v, want %v", dev, home.Float64s(), cpu.Float64s())
			}
		})
	}
}

// cudaInput is one input of a device comparison: values made on the CPU
// from a fixed seed and converted to dtype. grad marks a floating-point
// input whose gradient is compared as well.
type cudaInput struct {
	shape []int64
	dtype torch.DType
	data  []float64
	grad  bool
}

// make builds the input on the CPU, moves it to dev and, for a gradient
// input, makes the copy there a leaf that requires grad. Every call makes
// a new tensor, so the CPU and device runs share nothing.
func (in cudaInput) make(dev torch.Device) *torch.Tensor {
	x := onDevice(torch.FromFloat64(in.data, in.shape...).ToDType(in.dtype), dev)
	if in.grad {
		x.SetRequiresGrad(true)
	}
	return x
}

// cudaCase is one op run on both devices.
type cudaCase struct {
	name   string
	f      func(xs []*torch.Tensor) *torch.Tensor
	inputs []cudaInput
	tol    float64 // 0: by the output's dtype (see cudaTolerance)
}

// Tolerances of the device comparison. CUDA sums in another order than
// the CPU; and by default cuDNN runs float32 convolutions in TF32 (a
// 10-bit mantissa) on Ampere and newer GPUs, so float32 convolutions,
// matrix products and what follows them compare within tf32Tol.
const (
	float64Tol = 1e-9
	float32Tol = 2e-5
	tf32Tol    = 1e-2
)

func cudaTolerance(dt torch.DType) float64 {
	switch dt {
	case torch.Float64:
		return float64Tol
	case torch.Float32:
		return float32Tol
	case torch.BFloat16, torch.Float16:
		return 1e-2
	}
	return 0 // integers and bools agree exactly
}

// cudaResult is what one device made of a case, copied to the host.
type cudaResult struct {
	dtype  torch.DType
	shape  []int64
	values []float64
	grads  [][]float64 // per input; nil when not compared or none came
}

// runOn runs c on dev and returns its output and the gradients of the sum
// of the output times fixed random weights.
func (c cudaCase) runOn(t *testing.T, dev torch.Device) cudaResult {
	t.Helper()
	s := torch.NewScope()
	defer s.Close()
	xs := make([]*torch.Tensor, len(c.inputs))
	for i, in := range c.inputs {
		xs[i] = in.make(dev)
	}
	y := c.f(xs)
	if y.Device() != dev {
		t.Errorf("output on %v, want %v", y.Device(), dev)
	}
	r := cudaResult{dtype: y.DType(), shape: y.Shape(), values: y.Float64s(), grads: make([][]float64, len(xs))}
	if !y.RequiresGrad() {
		return r
	}
	rng := rand.New(rand.NewPCG(uint64(y.Numel()), 23))
	w := torch.FromFloat64(uniform(rng, y.Numel(), -1, 1), y.Shape()...).To(dev, y.DType())
	y.Mul(w).Sum().Backward()
	for i, x := range xs {
		if !c.inputs[i].grad {
			continue
		}
		if g := x.Grad(); g != nil {
			if g.Device() != dev {
				t.Errorf("input %d: gradient on %v, want %v", i, g.Device(), dev)
			}
			r.grads[i] = g.Float64s()
		}
	}
	return r
}

// compare runs c on the CPU and on dev and reports any difference in
// dtype, shape, values or gradients.
func (c cudaCase) compare(t *testing.T, dev torch.Device) {
	t.Helper()
	want := c.runOn(t, torch.CPU)
	got := c.runOn(t, dev)
	if got.dtype != want.dtype || !slices.Equal(got.shape, want.shape) {
		t.Fatalf("%v %v on the device, %v %v on the CPU", got.dtype, got.shape, want.dtype, want.shape)
	}
	tol := c.tol
	if tol == 0 {
		tol = cudaTolerance(want.dtype)
	}
	assertSame(t, "output", got.values, want.values, tol)
	for i := range c.inputs {
		switch {
		case !c.inputs[i].grad:
		case (got.grads[i] == nil) != (want.grads[i] == nil):
			t.Errorf("input %d: gradient on the device %v, on the CPU %v", i, got.grads[i] != nil, want.grads[i] != nil)
		default:
			gtol := c.tol
			if gtol == 0 {
				gtol = cudaTolerance(c.inputs[i].dtype)
			}
			assertSame(t, fmt.Sprintf("input %d gradient", i), got.grads[i], want.grads[i], gtol)
		}
	}
}

// TestCUDAOps runs every op of the Go API on the device and on the CPU
// with the same inputs, and compares the outputs and, for the
// differentiable ones, the gradients. Most run in float64, where the
// devices agree to rounding; the ops a training step spends its time in
// run in float32 as well.
func TestCUDAOps(t *testing.T) {
	dev := fkdtest.Device(t)
	rng := rand.New(rand.NewPCG(2026, 7))

	// Inputs: u draws float64 values in [lo, hi) whose gradient is
	// compared; sp draws distinct values (no ties for max, sort or
	// pooling); as converts an input to another dtype; k is a constant.
	u := func(lo, hi float64, shape ...int64) cudaInput {
		return cudaInput{shape: shape, dtype: torch.Float64, data: uniform(rng, numel(shape), lo, hi), grad: true}
	}
	sp := func(scale float64, shape ...int64) cudaInput {
		return cudaInput{shape: shape, dtype: torch.Float64, data: spread(rng, numel(shape), scale), grad: true}
	}
	as := func(dt torch.DType, in cudaInput) cudaInput {
		in.dtype = dt
		in.grad = in.grad && dt.IsFloat()
		return in
	}
	k := func(dt torch.DType, data []float64, shape ...int64) cudaInput {
		return cudaInput{shape: shape, dtype: dt, data: data}
	}
	ints := func(lo, hi int, shape ...int64) []float64 {
		xs := make([]float64, numel(shape))
		for i := range xs {
			xs[i] = float64(lo + rng.IntN(hi-lo+1))
		}
		return xs
	}
	bools := func(shape ...int64) cudaInput { return k(torch.Bool, ints(0, 1, shape...), shape...) }

	one := func(f func(x *torch.Tensor) *torch.Tensor) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor { return f(xs[0]) }
	}
	two := func(f func(a, b *torch.Tensor) *torch.Tensor) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor { return f(xs[0], xs[1]) }
	}
	// inPlace applies an in-place op to a clone of the first input (a
	// leaf that requires grad cannot change in place) and returns it.
	inPlace := func(f func(y *torch.Tensor, xs []*torch.Tensor)) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor {
			y := xs[0].Clone()
			f(y, xs)
			return y
		}
	}
	flat := func(ts ...*torch.Tensor) *torch.Tensor {
		parts := make([]*torch.Tensor, len(ts))
		for i, x := range ts {
			parts[i] = x.Reshape(-1)
		}
		return torch.Cat(parts, 0)
	}
	conv := func(o torch.Conv2dOptions) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor {
			var b *torch.Tensor
			if len(xs) > 2 {
				b = xs[2]
			}
			return torch.Conv2d(xs[0], xs[1], b, o)
		}
	}
	batchNorm := func(training bool) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor {
			y := torch.BatchNorm(xs[0], xs[1], xs[2], xs[3], xs[4], training, 0.1, 1e-5)
			return flat(y, xs[3], xs[4]) // the running statistics too
		}
	}
	// leaf returns a new leaf that requires grad, holding x's values.
	leaf := func(x *torch.Tensor) *torch.Tensor { return x.Detach().Clone().SetRequiresGrad(true) }
	// withGrad sets the gradient of p to g (the gradient of Σ p·g).
	withGrad := func(p, g *torch.Tensor) { p.Mul(g).Sum().Backward() }
	theta := []float64{0.9, -0.2, 0.1, 0.3, 1.1, -0.05, 0.7, 0.4, -0.2, -0.5, 0.8, 0.15}
	pool := func(avg bool, o torch.Pool2dOptions) func(*torch.Tensor) *torch.Tensor {
		if avg {
			return func(x *torch.Tensor) *torch.Tensor { return torch.AvgPool2d(x, o) }
		}
		return func(x *torch.Tensor) *torch.Tensor { return torch.MaxPool2d(x, o) }
	}
	loss := func(f func(a, b *torch.Tensor, r torch.Reduction) *torch.Tensor, r torch.Reduction) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor { return f(xs[0], xs[1], r) }
	}
	huber := func(a, b *torch.Tensor, r torch.Reduction) *torch.Tensor { return torch.HuberLoss(a, b, r, 0.5) }
	smoothL1 := func(a, b *torch.Tensor, r torch.Reduction) *torch.Tensor { return torch.SmoothL1Loss(a, b, r, 0.3) }
	sample := func(mode torch.InterpolateMode, pad torch.GridPadding, align bool) func([]*torch.Tensor) *torch.Tensor {
		return func(xs []*torch.Tensor) *torch.Tensor {
			grid := torch.AffineGrid(xs[1], [4]int64{2, 2, 5, 4}, align)
			return torch.GridSample(xs[0], grid, mode, pad, align)
		}
	}
	f32 := torch.Float32

	tests := []cudaCase{
		// Element-wise arithmetic, with broadcasting.
		{name: "add", f: two((*torch.Tensor).Add), inputs: []cudaInput{u(-1, 1, 2, 3), u(-1, 1, 3)}},
		{name: "sub", f: two((*torch.Tensor).Sub), inputs: []cudaInput{u(-1, 1, 2, 1), u(-1, 1, 1, 3)}},
		{name: "mul", f: two((*torch.Tensor).Mul), inputs: []cudaInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		{name: "div", f: two((*torch.Tensor).Div), inputs: []cudaInput{u(-1, 1, 2, 3), u(0.5, 2, 3)}},
		{name: "pow", f: two((*torch.Tensor).Pow), inputs: []cudaInput{u(0.5, 2, 2, 3), u(-1.5, 2.5, 2, 3)}},
		{name: "atan2", f: two((*torch.Tensor).Atan2), inputs: []cudaInput{u(-1, 1, 6), u(-1, 1, 6)}},
		{name: "maximum", f: two((*torch.Tensor).Maximum), inputs: []cudaInput{sp(1, 2, 3), sp(0.9, 2, 3)}},
		{name: "minimum", f: two((*torch.Tensor).Minimum), inputs: []cudaInput{sp(1, 2, 3), sp(0.9, 2, 3)}},
		{name: "matmul", f: two((*torch.Tensor).Matmul), inputs: []cudaInput{u(-1, 1, 3, 4), u(-1, 1, 4, 2)}},
		{name: "matmul batched", f: two((*torch.Tensor).Matmul), inputs: []cudaInput{u(-1, 1, 2, 3, 4), u(-1, 1, 4, 5)}},
		{name: "matmul float32", f: two((*torch.Tensor).Matmul), inputs: []cudaInput{as(f32, u(-1, 1, 8, 16)), as(f32, u(-1, 1, 16, 4))}, tol: tf32Tol},
		{name: "add scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.AddScalar(2) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "sub scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.SubScalar(2) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "mul scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.MulScalar(-3) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "div scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.DivScalar(4) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "pow scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.PowScalar(1.5) }), inputs: []cudaInput{u(0.5, 2, 4)}},
		{name: "add int64", f: two((*torch.Tensor).Add), inputs: []cudaInput{k(torch.Int64, ints(-9, 9, 6), 6), k(torch.Int64, ints(-9, 9, 6), 6)}},
		{name: "mul int32", f: two((*torch.Tensor).Mul), inputs: []cudaInput{k(torch.Int32, ints(-9, 9, 6), 6), k(torch.Int32, ints(-9, 9, 6), 6)}},
		{name: "add uint8", f: two((*torch.Tensor).Add), inputs: []cudaInput{k(torch.Uint8, ints(0, 100, 6), 6), k(torch.Uint8, ints(0, 100, 6), 6)}},
		{name: "add float32", f: two((*torch.Tensor).Add), inputs: []cudaInput{as(f32, u(-1, 1, 2, 3)), as(f32, u(-1, 1, 3))}},

		// Comparisons and logic; integer-valued inputs so that ties occur.
		{name: "eq", f: two((*torch.Tensor).Eq), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 3, 4), k(torch.Float64, ints(0, 3, 12), 3, 4)}},
		{name: "ne", f: two((*torch.Tensor).Ne), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 3, 4), k(torch.Float64, ints(0, 3, 4), 4)}},
		{name: "lt", f: two((*torch.Tensor).Lt), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 3, 4), k(torch.Float64, ints(0, 3, 12), 3, 4)}},
		{name: "le", f: two((*torch.Tensor).Le), inputs: []cudaInput{k(torch.Int64, ints(0, 3, 12), 3, 4), k(torch.Int64, ints(0, 3, 12), 3, 4)}},
		{name: "gt", f: two((*torch.Tensor).Gt), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 3, 4), k(torch.Float64, ints(0, 3, 12), 3, 4)}},
		{name: "ge", f: two((*torch.Tensor).Ge), inputs: []cudaInput{k(torch.Float32, ints(0, 3, 12), 3, 4), k(torch.Float32, ints(0, 3, 12), 3, 4)}},
		{name: "eq scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.EqScalar(2) }), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 12)}},
		{name: "lt scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.LtScalar(2) }), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 12)}},
		{name: "le scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.LeScalar(2) }), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 12)}},
		{name: "gt scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.GtScalar(2) }), inputs: []cudaInput{k(torch.Int64, ints(0, 3, 12), 12)}},
		{name: "ge scalar", f: one(func(x *torch.Tensor) *torch.Tensor { return x.GeScalar(2) }), inputs: []cudaInput{k(torch.Float64, ints(0, 3, 12), 12)}},
		{name: "logical and", f: two((*torch.Tensor).LogicalAnd), inputs: []cudaInput{bools(8), bools(8)}},
		{name: "logical or", f: two((*torch.Tensor).LogicalOr), inputs: []cudaInput{bools(8), bools(8)}},
		{name: "logical not", f: one((*torch.Tensor).LogicalNot), inputs: []cudaInput{bools(8)}},
		{name: "where", f: func(xs []*torch.Tensor) *torch.Tensor { return torch.Where(xs[0], xs[1], xs[2]) },
			inputs: []cudaInput{bools(2, 3), u(-1, 1, 2, 3), u(-1, 1, 3)}},

		// Element-wise functions.
		{name: "neg", f: one((*torch.Tensor).Neg), inputs: []cudaInput{u(-1, 1, 5)}},
		{name: "abs", f: one((*torch.Tensor).Abs), inputs: []cudaInput{sp(2, 6)}},
		{name: "sqrt", f: one((*torch.Tensor).Sqrt), inputs: []cudaInput{u(0.3, 3, 5)}},
		{name: "rsqrt", f: one((*torch.Tensor).Rsqrt), inputs: []cudaInput{u(0.3, 3, 5)}},
		{name: "square", f: one((*torch.Tensor).Square), inputs: []cudaInput{u(-2, 2, 5)}},
		{name: "exp", f: one((*torch.Tensor).Exp), inputs: []cudaInput{u(-2, 2, 5)}},
		{name: "log", f: one((*torch.Tensor).Log), inputs: []cudaInput{u(0.3, 3, 5)}},
		{name: "sin", f: one((*torch.Tensor).Sin), inputs: []cudaInput{u(-3, 3, 5)}},
		{name: "cos", f: one((*torch.Tensor).Cos), inputs: []cudaInput{u(-3, 3, 5)}},
		{name: "floor", f: one((*torch.Tensor).Floor), inputs: []cudaInput{u(-3, 3, 6)}},
		{name: "round", f: one((*torch.Tensor).Round), inputs: []cudaInput{k(torch.Float64, []float64{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6}, 8)}},
		{name: "sign", f: one((*torch.Tensor).Sign), inputs: []cudaInput{k(torch.Float64, []float64{-2, 0, 3, -0.1}, 4)}},
		{name: "isfinite", f: one((*torch.Tensor).IsFinite), inputs: []cudaInput{k(torch.Float32, []float64{0, math.Inf(1), math.NaN(), -1, math.Inf(-1)}, 5)}},
		{name: "clone", f: one((*torch.Tensor).Clone), inputs: []cudaInput{u(-1, 1, 2, 3)}},
		{name: "contiguous", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Transpose(0, 1).Contiguous() }), inputs: []cudaInput{u(-1, 1, 2, 3)}},
		{name: "detach", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Detach().MulScalar(2) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "relu", f: one((*torch.Tensor).Relu), inputs: []cudaInput{sp(1, 8)}},
		{name: "sigmoid", f: one((*torch.Tensor).Sigmoid), inputs: []cudaInput{u(-3, 3, 6)}},
		{name: "tanh", f: one((*torch.Tensor).Tanh), inputs: []cudaInput{u(-3, 3, 6)}},
		{name: "gelu", f: one((*torch.Tensor).Gelu), inputs: []cudaInput{u(-3, 3, 6)}},
		{name: "leaky relu", f: one(func(x *torch.Tensor) *torch.Tensor { return x.LeakyRelu(0.1) }), inputs: []cudaInput{sp(1, 8)}},
		{name: "clamp", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Clamp(-0.45, 0.55) }), inputs: []cudaInput{sp(1, 10)}},
		{name: "clamp min", f: one(func(x *torch.Tensor) *torch.Tensor { return x.ClampMin(0.05) }), inputs: []cudaInput{sp(1, 10)}},
		{name: "clamp max", f: one(func(x *torch.Tensor) *torch.Tensor { return x.ClampMax(0.05) }), inputs: []cudaInput{sp(1, 10)}},
		{name: "to float32", f: one(func(x *torch.Tensor) *torch.Tensor { return x.ToDType(torch.Float32) }), inputs: []cudaInput{u(-1, 1, 5)}},

		// In-place updates.
		{name: "add in place", f: inPlace(func(y *torch.Tensor, xs []*torch.Tensor) { y.AddInPlace(xs[1]) }), inputs: []cudaInput{u(-1, 1, 2, 3), u(-1, 1, 3)}},
		{name: "sub in place", f: inPlace(func(y *torch.Tensor, xs []*torch.Tensor) { y.SubInPlace(xs[1]) }), inputs: []cudaInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		{name: "mul in place", f: inPlace(func(y *torch.Tensor, xs []*torch.Tensor) { y.MulInPlace(xs[1]) }), inputs: []cudaInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},
		{name: "add scalar in place", f: inPlace(func(y *torch.Tensor, _ []*torch.Tensor) { y.AddScalarInPlace(0.5) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "mul scalar in place", f: inPlace(func(y *torch.Tensor, _ []*torch.Tensor) { y.MulScalarInPlace(-2) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "fill", f: inPlace(func(y *torch.Tensor, _ []*torch.Tensor) { y.Narrow(0, 1, 2).Fill(3.5) }), inputs: []cudaInput{u(-1, 1, 4)}},
		{name: "copy from", f: func(xs []*torch.Tensor) *torch.Tensor {
			y := torch.Zeros([]int64{2, 3}, torch.Float64, xs[0].Device())
			y.CopyFrom(xs[0])
			return y.MulScalar(3)
		}, inputs: []cudaInput{k(torch.Float64, uniform(rng, 3, -1, 1), 3)}},

		// Reductions.
		{name: "sum", f: one((*torch.Tensor).Sum), inputs: []cudaInput{u(-1, 1, 3, 4)}},
		{name: "mean", f: one((*torch.Tensor).Mean), inputs: []cudaInput{u(-1, 1, 3, 4)}},
		{name: "max", f: one((*torch.Tensor).Max), inputs: []cudaInput{sp(1, 3, 4)}},
		{name: "min", f: one((*torch.Tensor).Min), inputs: []cudaInput{sp(1, 3, 4)}},
		{name: "all", f: one((*torch.Tensor).All), inputs: []cudaInput{bools(5)}},
		{name: "any", f: one((*torch.Tensor).Any), inputs: []cudaInput{bools(5)}},
		{name: "sum dims", f: one(func(x *torch.Tensor) *torch.Tensor { return x.SumDims([]int64{1}, true) }), inputs: []cudaInput{u(-1, 1, 2, 3, 4)}},
		{name: "mean dims", f: one(func(x *torch.Tensor) *torch.Tensor { return x.MeanDims([]int64{0, -1}, false) }), inputs: []cudaInput{u(-1, 1, 2, 3, 4)}},
		{name: "max dims", f: one(func(x *torch.Tensor) *torch.Tensor { return x.MaxDims([]int64{2}, false) }), inputs: []cudaInput{sp(1, 2, 3, 4)}},
		{name: "min dims", f: one(func(x *torch.Tensor) *torch.Tensor { return x.MinDims([]int64{0}, true) }), inputs: []cudaInput{sp(1, 2, 3, 4)}},
		{name: "sum float32", f: one((*torch.Tensor).Sum), inputs: []cudaInput{as(f32, u(-1, 1, 64, 64))}, tol: 1e-4},
		{name: "sum int64", f: one((*torch.Tensor).Sum), inputs: []cudaInput{k(torch.Int64, ints(-100, 100, 50), 50)}},
		{name: "argmax", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Argmax(1, false) }), inputs: []cudaInput{sp(1, 3, 5)}},
		{name: "argmin", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Argmin(0, true) }), inputs: []cudaInput{sp(1, 3, 5)}},
		{name: "argmax all", f: one((*torch.Tensor).ArgmaxAll), inputs: []cudaInput{sp(1, 3, 5)}},

		// Shapes, indexing and joins.
		{name: "reshape", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Transpose(0, 1).Reshape(-1, 2) }), inputs: []cudaInput{u(-1, 1, 2, 3)}},
		{name: "view", f: one(func(x *torch.Tensor) *torch.Tensor { return x.View(3, 2) }), inputs: []cudaInput{u(-1, 1, 2, 3)}},
		{name: "permute", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Permute(2, 0, 1) }), inputs: []cudaInput{u(-1, 1, 2, 3, 4)}},
		{name: "transpose", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Transpose(0, 2) }), inputs: []cudaInput{u(-1, 1, 2, 3, 4)}},
		{name: "squeeze", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Squeeze(1) }), inputs: []cudaInput{u(-1, 1, 3, 1, 2)}},
		{name: "unsqueeze", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Unsqueeze(-1) }), inputs: []cudaInput{u(-1, 1, 3, 2)}},
		{name: "expand", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Expand(4, -1, 3) }), inputs: []cudaInput{u(-1, 1, 1, 2, 1)}},
		{name: "narrow", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Narrow(1, 1, 2) }), inputs: []cudaInput{u(-1, 1, 2, 4)}},
		{name: "index select", f: two(func(x, i *torch.Tensor) *torch.Tensor { return x.IndexSelect(0, i) }),
			inputs: []cudaInput{u(-1, 1, 3, 2), k(torch.Int64, []float64{2, 0, 2, 1}, 4)}},
		{name: "flip", f: one(func(x *torch.Tensor) *torch.Tensor { return x.Flip(0, 2) }), inputs: []cudaInput{u(-1, 1, 2, 3, 4)}},
		{name: "cat", f: func(xs []*torch.Tensor) *torch.Tensor { return torch.Cat(xs, 1) }, inputs: []cudaInput{u(-1, 1, 2, 1), u(-1, 1, 2, 3)}},
		{name: "stack", f: func(xs []*torch.Tensor) *torch.Tensor { return torch.Stack(xs, 0) }, inputs: []cudaInput{u(-1, 1, 2, 3), u(-1, 1, 2, 3)}},

		// Neural-net functions.
		{name: "conv2d", f: conv(torch.Conv2dOptions{Padding: [2]int64{1, 1}}), inputs: []cudaInput{u(-1, 1, 2, 3, 6, 6), u(-1, 1, 4, 3, 3, 3), u(-1, 1, 4)}},
		{name: "conv2d strided no bias", f: conv(torch.Conv2dOptions{Stride: [2]int64{2, 1}, Padding: [2]int64{1, 2}}), inputs: []cudaInput{u(-1, 1, 2, 2, 7, 6), u(-1, 1, 3, 2, 3, 2)}},
		{name: "conv2d dilated groups", f: conv(torch.Conv2dOptions{Padding: [2]int64{2, 2}, Dilation: [2]int64{2, 2}, Groups: 2}), inputs: []cudaInput{u(-1, 1, 2, 4, 6, 6), u(-1, 1, 6, 2, 3, 3), u(-1, 1, 6)}},
		{name: "conv2d float32", f: conv(torch.Conv2dOptions{Padding: [2]int64{1, 1}}), inputs: []cudaInput{as(f32, u(0, 1, 4, 1, 12, 12)), as(f32, u(-1, 1, 8, 1, 3, 3)), as(f32, u(-1, 1, 8))}, tol: tf32Tol},
		{name: "max pool", f: one(pool(false, torch.Pool2dOptions{Kernel: [2]int64{2, 2}})), inputs: []cudaInput{sp(1, 2, 2, 6, 6)}},
		{name: "max pool padded ceil", f: one(pool(false, torch.Pool2dOptions{Kernel: [2]int64{3, 3}, Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}, CeilMode: true})), inputs: []cudaInput{sp(1, 1, 2, 7, 6)}},
		{name: "avg pool", f: one(pool(true, torch.Pool2dOptions{Kernel: [2]int64{2, 2}})), inputs: []cudaInput{u(-1, 1, 2, 2, 6, 6)}},
		{name: "avg pool padded", f: one(pool(true, torch.Pool2dOptions{Kernel: [2]int64{3, 3}, Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})), inputs: []cudaInput{u(-1, 1, 1, 2, 7, 6)}},
		{name: "adaptive avg pool", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.AdaptiveAvgPool2d(x, 2, 3) }), inputs: []cudaInput{u(-1, 1, 2, 2, 5, 7)}},
		{name: "interpolate nearest", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.Interpolate(x, 6, 9, torch.Nearest, false) }), inputs: []cudaInput{u(-1, 1, 2, 2, 3, 4)}},
		{name: "interpolate bilinear", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.Interpolate(x, 7, 5, torch.Bilinear, false) }), inputs: []cudaInput{u(-1, 1, 2, 2, 3, 4)}},
		{name: "interpolate bilinear aligned", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.Interpolate(x, 7, 5, torch.Bilinear, true) }), inputs: []cudaInput{u(-1, 1, 2, 2, 3, 4)}},
		{name: "batch norm training", f: batchNorm(true), inputs: []cudaInput{u(-1, 2, 4, 3, 2, 2), u(0.5, 1.5, 3), u(-1, 1, 3), k(torch.Float64, []float64{0.1, -0.2, 0.3}, 3), k(torch.Float64, []float64{1, 0.5, 2}, 3)}},
		{name: "batch norm evaluation", f: batchNorm(false), inputs: []cudaInput{u(-1, 2, 4, 3, 2, 2), u(0.5, 1.5, 3), u(-1, 1, 3), k(torch.Float64, []float64{0.1, -0.2, 0.3}, 3), k(torch.Float64, []float64{1, 0.5, 2}, 3)}},
		{name: "batch norm float32", f: batchNorm(true), inputs: []cudaInput{as(f32, u(-1, 2, 8, 4, 6, 6)), as(f32, u(0.5, 1.5, 4)), as(f32, u(-1, 1, 4)), k(f32, []float64{0, 0, 0, 0}, 4), k(f32, []float64{1, 1, 1, 1}, 4)}, tol: 1e-4},
		{name: "dropout evaluation", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.Dropout(x, 0.3, false) }), inputs: []cudaInput{u(-1, 1, 6)}},
		{name: "dropout2d p=0", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.Dropout2d(x, 0, true) }), inputs: []cudaInput{u(-1, 1, 2, 3, 2, 2)}},
		{name: "linear", f: func(xs []*torch.Tensor) *torch.Tensor { return torch.Linear(xs[0], xs[1], xs[2]) }, inputs: []cudaInput{u(-1, 1, 3, 4), u(-1, 1, 5, 4), u(-1, 1, 5)}},
		{name: "linear no bias", f: func(xs []*torch.Tensor) *torch.Tensor { return torch.Linear(xs[0], xs[1], nil) }, inputs: []cudaInput{u(-1, 1, 2, 3, 4), u(-1, 1, 5, 4)}},
		{name: "linear float32", f: func(xs []*torch.Tensor) *torch.Tensor { return torch.Linear(xs[0], xs[1], xs[2]) },
			inputs: []cudaInput{as(f32, u(-1, 1, 16, 64)), as(f32, u(-0.2, 0.2, 30, 64)), as(f32, u(-1, 1, 30))}, tol: tf32Tol},
		{name: "softmax", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.Softmax(x, 1) }), inputs: []cudaInput{u(-3, 3, 3, 5)}},
		{name: "log softmax", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.LogSoftmax(x, -1) }), inputs: []cudaInput{u(-3, 3, 3, 5)}},
		{name: "mse mean", f: loss(torch.MSELoss, torch.ReduceMean), inputs: []cudaInput{u(-1, 1, 3, 4), u(-1, 1, 3, 4)}},
		{name: "mse sum", f: loss(torch.MSELoss, torch.ReduceSum), inputs: []cudaInput{u(-1, 1, 3, 4), u(-1, 1, 3, 4)}},
		{name: "mse none", f: loss(torch.MSELoss, torch.ReduceNone), inputs: []cudaInput{u(-1, 1, 3, 4), u(-1, 1, 3, 4)}},
		{name: "huber", f: loss(huber, torch.ReduceMean), inputs: []cudaInput{u(-2, 2, 12), u(-2, 2, 12)}},
		{name: "smooth l1", f: loss(smoothL1, torch.ReduceNone), inputs: []cudaInput{u(-2, 2, 12), u(-2, 2, 12)}},
		{name: "affine grid", f: one(func(x *torch.Tensor) *torch.Tensor { return torch.AffineGrid(x, [4]int64{2, 1, 3, 4}, false) }), inputs: []cudaInput{k(torch.Float64, theta, 2, 2, 3)}},
		{name: "grid sample bilinear zeros", f: sample(torch.Bilinear, torch.PadZeros, false), inputs: []cudaInput{u(-1, 1, 2, 2, 4, 5), k(torch.Float64, theta, 2, 2, 3)}},
		{name: "grid sample bilinear border aligned", f: sample(torch.Bilinear, torch.PadBorder, true), inputs: []cudaInput{u(-1, 1, 2, 2, 4, 5), k(torch.Float64, theta, 2, 2, 3)}},
		{name: "grid sample bilinear reflection", f: sample(torch.Bilinear, torch.PadReflection, false), inputs: []cudaInput{u(-1, 1, 2, 2, 4, 5), k(torch.Float64, theta, 2, 2, 3)}},
		{name: "grid sample nearest", f: sample(torch.Nearest, torch.PadZeros, false), inputs: []cudaInput{u(-1, 1, 2, 2, 4, 5), k(torch.Float64, theta, 2, 2, 3)}},
		{name: "grid sample float32", f: sample(torch.Bilinear, torch.PadBorder, false), inputs: []cudaInput{as(f32, u(0, 1, 2, 2, 4, 5)), k(f32, theta, 2, 2, 3)}, tol: 1e-4},

		// Optimiser kernels, on parameters made inside the case: each
		// returns the parameters (and what else it computes) after the
		// update.
		{name: "zero grad", f: func(xs []*torch.Tensor) *torch.Tensor {
			p := leaf(xs[0])
			withGrad(p, xs[1])
			torch.ZeroGrad([]*torch.Tensor{p})
			withGrad(p, xs[1].MulScalar(2))
			return p.Grad().Clone()
		}, inputs: []cudaInput{k(torch.Float64, uniform(rng, 5, -1, 1), 5), k(torch.Float64, uniform(rng, 5, -1, 1), 5)}},
		{name: "sgd step nesterov", f: func(xs []*torch.Tensor) *torch.Tensor {
			p := leaf(xs[0])
			buf := torch.Zeros(p.Shape(), p.DType(), p.Device())
			for step := range 3 {
				torch.ZeroGrad([]*torch.Tensor{p})
				withGrad(p, p.Detach().Mul(xs[1]))
				torch.SGDStep([]*torch.Tensor{p}, []*torch.Tensor{buf}, 0.1, 0.9, 0, 0.01, true, step == 0)
			}
			return flat(p.Detach(), buf)
		}, inputs: []cudaInput{k(torch.Float64, uniform(rng, 6, -1, 1), 2, 3), k(torch.Float64, uniform(rng, 6, 0.5, 2), 2, 3)}},
		{name: "adamw step", f: func(xs []*torch.Tensor) *torch.Tensor {
			p := leaf(xs[0])
			m := torch.Zeros(p.Shape(), p.DType(), p.Device())
			v := torch.Zeros(p.Shape(), p.DType(), p.Device())
			for step := int64(1); step <= 3; step++ {
				torch.ZeroGrad([]*torch.Tensor{p})
				withGrad(p, p.Detach().Mul(xs[1]))
				torch.AdamStep([]*torch.Tensor{p}, []*torch.Tensor{m}, []*torch.Tensor{v}, 0.01, 0.9, 0.999, 1e-8, 0.1, true, step)
			}
			return flat(p.Detach(), m, v)
		}, inputs: []cudaInput{k(f32, uniform(rng, 6, -1, 1), 6), k(f32, uniform(rng, 6, 0.5, 2), 6)}, tol: 1e-5},
		{name: "clip grad norm", f: func(xs []*torch.Tensor) *torch.Tensor {
			p, q := leaf(xs[0]), leaf(xs[1])
			withGrad(p, xs[0].MulScalar(3))
			withGrad(q, xs[1].MulScalar(-2))
			norm := torch.ClipGradNorm([]*torch.Tensor{p, q}, 0.5)
			return flat(p.Grad(), q.Grad(), torch.Full([]int64{1}, norm, torch.Float64, p.Device()))
		}, inputs: []cudaInput{k(torch.Float64, uniform(rng, 4, -1, 1), 4), k(torch.Float64, uniform(rng, 6, -1, 1), 2, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.compare(t, dev) })
	}
}

// TestCUDACreation checks the constructors and random draws on the device:
// the deterministic ones against the CPU, the random ones by their range
// and moments and by repeating under the same seed.
func TestCUDACreation(t *testing.T) {
	dev := fkdtest.Device(t)
	s := torch.NewScope()
	defer s.Close()

	same := []struct {
		name string
		f    func(d torch.Device) *torch.Tensor
	}{
		{"full", func(d torch.Device) *torch.Tensor { return torch.Full([]int64{2, 3}, 2.5, torch.Float32, d) }},
		{"zeros int64", func(d torch.Device) *torch.Tensor { return torch.Zeros([]int64{4}, torch.Int64, d) }},
		{"ones bool", func(d torch.Device) *torch.Tensor { return torch.Ones([]int64{3}, torch.Bool, d) }},
		{"ones float16", func(d torch.Device) *torch.Tensor { return torch.Ones([]int64{3}, torch.Float16, d) }},
		{"arange", func(d torch.Device) *torch.Tensor { return torch.Arange(-1, 2, 0.25, torch.Float64, d) }},
		{"arange int64", func(d torch.Device) *torch.Tensor { return torch.Arange(0, 10, 3, torch.Int64, d) }},
		{"zeros like a CPU tensor, channels last", func(d torch.Device) *torch.Tensor {
			return torch.ZerosLike(torch.Ones([]int64{2, 3, 4, 4}, torch.Float32, torch.CPU).ChannelsLast(), d)
		}},
	}
	for _, tt := range same {
		got, want := tt.f(dev), tt.f(torch.CPU)
		if got.Device() != dev || got.DType() != want.DType() || !slices.Equal(got.Shape(), want.Shape()) {
			t.Errorf("%s: %v on %v, want %v", tt.name, got, dev, want)
			continue
		}
		assertSame(t, tt.name, got.Float64s(), want.Float64s(), 0)
	}

	const n = 100000
	random := []struct {
		name           string
		f              func() *torch.Tensor
		lo, hi         float64 // range of the values
		mean, variance float64
	}{
		{"rand", func() *torch.Tensor { return torch.Rand([]int64{n}, torch.Float32, dev) }, 0, 1, 0.5, 1.0 / 12},
		{"randn", func() *torch.Tensor { return torch.Randn([]int64{n}, torch.Float64, dev) }, math.Inf(-1), math.Inf(1), 0, 1},
		{"uniform", func() *torch.Tensor {
			x := torch.Zeros([]int64{n}, torch.Float32, dev)
			x.Uniform(-2, 4)
			return x
		}, -2, 4, 1, 3},
		{"normal", func() *torch.Tensor {
			x := torch.Zeros([]int64{n}, torch.Float64, dev)
			x.Normal(3, 0.5)
			return x
		}, math.Inf(-1), math.Inf(1), 3, 0.25},
	}
	for _, tt := range random {
		torch.ManualSeed(5)
		x := tt.f()
		if x.Device() != dev {
			t.Errorf("%s: on %v, want %v", tt.name, x.Device(), dev)
		}
		vals := x.Float64s()
		var sum, sq float64
		for _, v := range vals {
			if !(v >= tt.lo && v <= tt.hi) {
				t.Fatalf("%s: value %g outside [%g, %g]", tt.name, v, tt.lo, tt.hi)
			}
			sum += v
			sq += v * v
		}
		mean := sum / n
		variance := sq/n - mean*mean
		// Five standard errors of the mean; 2% of the variance.
		if math.Abs(mean-tt.mean) > 5*math.Sqrt(tt.variance/n) || math.Abs(variance-tt.variance) > 0.02*tt.variance {
			t.Errorf("%s: mean %.4f variance %.4f, want %.4f and %.4f", tt.name, mean, variance, tt.mean, tt.variance)
		}
		torch.ManualSeed(5)
		if again := tt.f().Float64s(); !slices.Equal(again, vals) {
			t.Errorf("%s: ManualSeed did not repeat the draw on %v", tt.name, dev)
		}
	}

	t.Run("dropout", func(t *testing.T) {
		const p = 0.3
		torch.ManualSeed(11)
		y := torch.Dropout(torch.Ones([]int64{200, 500}, torch.Float32, dev), p, true)
		if y.Device() != dev {
			t.Fatalf("dropout on %v, want %v", y.Device(), dev)
		}
		// The scale 1/(1-p) may be rounded differently on the device.
		zero, kept := 0, 1/(1-p)
		for i, v := range y.Float64s() {
			switch {
			case v == 0:
				zero++
			case math.Abs(v-kept) > 1e-6:
				t.Fatalf("element %d = %v, want 0 or %v", i, v, kept)
			}
		}
		if frac := float64(zero) / 1e5; math.Abs(frac-p) > 0.007 {
			t.Errorf("fraction zeroed %.4f, want %.1f", frac, p)
		}
		y2 := torch.Dropout2d(torch.Ones([]int64{64, 32, 3, 4}, torch.Float32, dev), p, true)
		vals := y2.Float32s()
		zeroed := 0
		for ch := range 64 * 32 {
			plane := vals[ch*12 : ch*12+12]
			for _, v := range plane {
				if v != plane[0] {
					t.Fatalf("dropout2d: channel %d partly dropped: %v", ch, plane)
				}
			}
			if plane[0] == 0 {
				zeroed++
			}
		}
		if frac := float64(zeroed) / (64 * 32); math.Abs(frac-p) > 0.05 {
			t.Errorf("dropout2d: fraction of channels zeroed %.3f, want %.1f", frac, p)
		}
	})
}

// TestCUDATensorMethods checks the methods that read or change a tensor
// as a whole on the device.
func TestCUDATensorMethods(t *testing.T) {
	dev := fkdtest.Device(t)
	s := torch.NewScope()
	defer s.Close()
	x := torch.FromFloat32([]float32{1, 2.5, -3, 4}, 2, 2).ToDevice(dev)

	if got := x.Sum().Item(); got != 4.5 {
		t.Errorf("Item = %v, want 4.5", got)
	}
	if got, want := x.String(), "on "+dev.String()+": [1 2.5 -3 4]"; !strings.Contains(got, want) {
		t.Errorf("String = %q, want it to contain %q", got, want)
	}
	if x.Dim() != 2 || x.Size(-1) != 2 || x.Numel() != 4 || x.DType() != torch.Float32 {
		t.Errorf("metadata: dim %d size(-1) %d numel %d dtype %v", x.Dim(), x.Size(-1), x.Numel(), x.DType())
	}
	if got := x.Float32s(); !slices.Equal(got, []float32{1, 2.5, -3, 4}) {
		t.Errorf("Float32s = %v", got)
	}
	if got := x.Int64s(); !slices.Equal(got, []int64{1, 2, -3, 4}) {
		t.Errorf("Int64s = %v", got)
	}
	if got := x.Bools(); !slices.Equal(got, []bool{true, true, true, true}) {
		t.Errorf("Bools = %v", got)
	}
	if got := x.Abs().Uint8s(); !slices.Equal(got, []uint8{1, 2, 3, 4}) {
		t.Errorf("Uint8s = %v", got)
	}

	t.Run("set data moves a parameter", func(t *testing.T) {
		p := torch.FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)
		torch.NoGrad(func() { p.SetData(p.ToDevice(dev)) })
		if p.Device() != dev || !p.RequiresGrad() {
			t.Fatalf("after SetData: %v, requires grad %v", p, p.RequiresGrad())
		}
		p.Square().Sum().Backward()
		g := p.Grad()
		if g == nil || g.Device() != dev {
			t.Fatalf("gradient %v, want one on %v", g, dev)
		}
		assertSame(t, "gradient", g.Float64s(), []float64{2, 4}, 0)
	})

	t.Run("backward with a gradient", func(t *testing.T) {
		a := torch.FromFloat64([]float64{1, 2, 3}, 3).ToDevice(dev).SetRequiresGrad(true)
		a.MulScalar(2).BackwardWith(torch.FromFloat64([]float64{1, -1, 0.5}, 3).ToDevice(dev))
		assertSame(t, "gradient", a.Grad().Float64s(), []float64{2, -2, 1}, 0)
	})

	t.Run("no grad", func(t *testing.T) {
		a := torch.Ones([]int64{3}, torch.Float32, dev).SetRequiresGrad(true)
		var y *torch.Tensor
		torch.NoGrad(func() { y = a.MulScalar(2) })
		if y.RequiresGrad() {
			t.Errorf("a result made under NoGrad requires grad")
		}
		if !a.MulScalar(2).RequiresGrad() {
			t.Errorf("grad mode not restored after NoGrad")
		}
	})
}

// TestCUDAAutocast runs a convolution and a linear layer under autocast
// on the device: they compute in the low precision, close to float32, and
// their float32 weights get float32 gradients. float16 autocast needs CUDA
// (LibTorch's CPU autocast takes bfloat16 only).
func TestCUDAAutocast(t *testing.T) {
	dev := fkdtest.Device(t)
	for _, dt := range []torch.DType{torch.BFloat16, torch.Float16} {
		t.Run(dt.String(), func(t *testing.T) {
			if dt == torch.Float16 && !dev.IsCUDA() {
				t.Skip("float16 autocast needs a CUDA device; the CPU's takes bfloat16 only")
			}
			s := torch.NewScope()
			defer s.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			mk := func(lo, hi float64, shape ...int64) *torch.Tensor {
				return torch.FromFloat64(uniform(rng, numel(shape), lo, hi), shape...).To(dev, torch.Float32)
			}
			x := mk(0, 1, 4, 2, 10, 10)
			w := mk(-0.5, 0.5, 6, 2, 3, 3).SetRequiresGrad(true)
			fw := mk(-0.1, 0.1, 5, 6*8*8).SetRequiresGrad(true)
			forward := func() *torch.Tensor {
				h := torch.Conv2d(x, w, nil, torch.Conv2dOptions{}).Relu()
				return torch.Linear(h.Reshape(4, -1), fw, nil)
			}
			want := forward().Float64s()
			var y *torch.Tensor
			torch.Autocast(dev, dt, func() { y = forward() })
			if y.DType() != dt {
				t.Errorf("output under %v autocast is %v", dt, y.DType())
			}
			// bfloat16 keeps 8 bits of mantissa, float16 11.
			assertSame(t, "autocast output", y.Float64s(), want, 0.05)
			if got := forward().DType(); got != torch.Float32 {
				t.Errorf("after autocast the output is %v, want float32", got)
			}
			y.ToDType(torch.Float32).Square().Sum().Backward()
			for name, p := range map[string]*torch.Tensor{"conv weight": w, "linear weight": fw} {
				g := p.Grad()
				if g == nil || g.DType() != torch.Float32 || g.Device() != dev {
					t.Errorf("%s: gradient %v, want float32 on %v", name, g, dev)
				} else if g.IsFinite().All().Item() == 0 {
					t.Errorf("%s: gradient not finite", name)
				}
			}
		})
	}
}
