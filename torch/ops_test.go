package torch_test

import (
	"math"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// opCase is a tensor op on fixed inputs with its expected dtype, shape and
// values.
type opCase struct {
	name  string
	op    func() *torch.Tensor
	dtype torch.DType
	shape []int64
	want  []float64
	tol   float64
}

func runOpCases(t *testing.T, tests []opCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			got := tt.op()
			if got.DType() != tt.dtype {
				t.Errorf("dtype %v, want %v", got.DType(), tt.dtype)
			}
			assertShape(t, tt.name, got, tt.shape...)
			assertClose(t, tt.name, got.Float64s(), tt.want, tt.tol)
		})
	}
}

func f32(shape []int64, xs ...float32) *torch.Tensor { return torch.FromFloat32(xs, shape...) }

func TestElementwise(t *testing.T) {
	a := func() *torch.Tensor { return f32([]int64{2, 3}, 1, -2, 3, -4, 5, 0.5) }
	row := func() *torch.Tensor { return f32([]int64{3}, 2, 4, -1) }
	pos := func() *torch.Tensor { return f32([]int64{4}, 0.25, 1, 4, 9) }
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	runOpCases(t, []opCase{
		{"add broadcast", func() *torch.Tensor { return a().Add(row()) }, torch.Float32, []int64{2, 3}, []float64{3, 2, 2, -2, 9, -0.5}, 0},
		{"sub broadcast", func() *torch.Tensor { return a().Sub(row()) }, torch.Float32, []int64{2, 3}, []float64{-1, -6, 4, -6, 1, 1.5}, 0},
		{"mul broadcast", func() *torch.Tensor { return a().Mul(row()) }, torch.Float32, []int64{2, 3}, []float64{2, -8, -3, -8, 20, -0.5}, 0},
		{"div broadcast", func() *torch.Tensor { return a().Div(row()) }, torch.Float32, []int64{2, 3}, []float64{0.5, -0.5, -3, -2, 1.25, -0.5}, 0},
		{"pow", func() *torch.Tensor { return pos().Pow(f32([]int64{4}, 2, 3, 0.5, -1)) }, torch.Float32, []int64{4}, []float64{0.0625, 1, 2, 1.0 / 9}, 1e-7},
		{"add int64", func() *torch.Tensor {
			return torch.FromInt64([]int64{1, 2}, 2).Add(torch.FromInt64([]int64{10, 20}, 2))
		}, torch.Int64, []int64{2}, []float64{11, 22}, 0},
		// Whole-number scalars keep an integer tensor's type, as Python int
		// literals do; fractions promote it to the default float type.
		{"add whole scalar to int64", func() *torch.Tensor { return torch.FromInt64([]int64{1, 2}, 2).AddScalar(3) }, torch.Int64, []int64{2}, []float64{4, 5}, 0},
		{"mul whole scalar with uint8", func() *torch.Tensor { return torch.FromUint8([]uint8{1, 2}, 2).MulScalar(3) }, torch.Uint8, []int64{2}, []float64{3, 6}, 0},
		{"pow whole scalar of int64", func() *torch.Tensor { return torch.FromInt64([]int64{-3, 2}, 2).PowScalar(2) }, torch.Int64, []int64{2}, []float64{9, 4}, 0},
		{"add fraction to int64", func() *torch.Tensor { return torch.FromInt64([]int64{1, 2}, 2).AddScalar(0.5) }, torch.Float32, []int64{2}, []float64{1.5, 2.5}, 0},
		{"div int64 by whole scalar", func() *torch.Tensor { return torch.FromInt64([]int64{1, 4}, 2).DivScalar(2) }, torch.Float32, []int64{2}, []float64{0.5, 2}, 0},
		{"add scalar", func() *torch.Tensor { return row().AddScalar(1.5) }, torch.Float32, []int64{3}, []float64{3.5, 5.5, 0.5}, 0},
		{"sub scalar", func() *torch.Tensor { return row().SubScalar(1) }, torch.Float32, []int64{3}, []float64{1, 3, -2}, 0},
		{"mul scalar", func() *torch.Tensor { return row().MulScalar(-2) }, torch.Float32, []int64{3}, []float64{-4, -8, 2}, 0},
		{"div scalar", func() *torch.Tensor { return row().DivScalar(4) }, torch.Float32, []int64{3}, []float64{0.5, 1, -0.25}, 0},
		{"pow scalar", func() *torch.Tensor { return row().PowScalar(2) }, torch.Float32, []int64{3}, []float64{4, 16, 1}, 0},
		{"maximum", func() *torch.Tensor { return row().Maximum(f32([]int64{3}, 3, 3, 3)) }, torch.Float32, []int64{3}, []float64{3, 4, 3}, 0},
		{"minimum", func() *torch.Tensor { return row().Minimum(f32([]int64{3}, 3, 3, 3)) }, torch.Float32, []int64{3}, []float64{2, 3, -1}, 0},
		{"atan2", func() *torch.Tensor { return f32([]int64{2}, 1, -1).Atan2(f32([]int64{2}, 0, -1)) }, torch.Float32, []int64{2}, []float64{math.Pi / 2, -3 * math.Pi / 4}, 1e-6},
		{"neg", func() *torch.Tensor { return row().Neg() }, torch.Float32, []int64{3}, []float64{-2, -4, 1}, 0},
		{"abs", func() *torch.Tensor { return a().Abs() }, torch.Float32, []int64{2, 3}, []float64{1, 2, 3, 4, 5, 0.5}, 0},
		{"sqrt", func() *torch.Tensor { return pos().Sqrt() }, torch.Float32, []int64{4}, []float64{0.5, 1, 2, 3}, 0},
		{"rsqrt", func() *torch.Tensor { return pos().Rsqrt() }, torch.Float32, []int64{4}, []float64{2, 1, 0.5, 1.0 / 3}, 1e-6},
		{"square", func() *torch.Tensor { return row().Square() }, torch.Float32, []int64{3}, []float64{4, 16, 1}, 0},
		{"exp", func() *torch.Tensor { return f32([]int64{3}, 0, 1, -1).Exp() }, torch.Float32, []int64{3}, []float64{1, math.E, 1 / math.E}, 1e-6},
		{"log", func() *torch.Tensor { return pos().Log() }, torch.Float32, []int64{4}, []float64{math.Log(0.25), 0, math.Log(4), math.Log(9)}, 1e-6},
		{"sin", func() *torch.Tensor { return f32([]int64{2}, 0, math.Pi/2).Sin() }, torch.Float32, []int64{2}, []float64{0, 1}, 1e-7},
		{"cos", func() *torch.Tensor { return f32([]int64{2}, 0, math.Pi).Cos() }, torch.Float32, []int64{2}, []float64{1, -1}, 1e-7},
		{"floor", func() *torch.Tensor { return f32([]int64{3}, 1.5, -1.5, 2).Floor() }, torch.Float32, []int64{3}, []float64{1, -2, 2}, 0},
		{"round half to even", func() *torch.Tensor { return f32([]int64{4}, 0.5, 1.5, 2.5, -0.6).Round() }, torch.Float32, []int64{4}, []float64{0, 2, 2, -1}, 0},
		{"sign", func() *torch.Tensor { return f32([]int64{3}, -3, 0, 2).Sign() }, torch.Float32, []int64{3}, []float64{-1, 0, 1}, 0},
		{"isfinite", func() *torch.Tensor { return f32([]int64{4}, 1, inf, -inf, nan).IsFinite() }, torch.Bool, []int64{4}, []float64{1, 0, 0, 0}, 0},
		{"relu", func() *torch.Tensor { return a().Relu() }, torch.Float32, []int64{2, 3}, []float64{1, 0, 3, 0, 5, 0.5}, 0},
		{"leaky relu", func() *torch.Tensor { return a().LeakyRelu(0.1) }, torch.Float32, []int64{2, 3}, []float64{1, -0.2, 3, -0.4, 5, 0.5}, 1e-7},
		{"sigmoid", func() *torch.Tensor { return f32([]int64{3}, 0, 2, -2).Sigmoid() }, torch.Float32, []int64{3}, []float64{0.5, 1 / (1 + math.Exp(-2)), 1 / (1 + math.Exp(2))}, 1e-7},
		{"tanh", func() *torch.Tensor { return f32([]int64{3}, 0, 1, -0.5).Tanh() }, torch.Float32, []int64{3}, []float64{0, math.Tanh(1), math.Tanh(-0.5)}, 1e-7},
		{"gelu exact", func() *torch.Tensor { return f32([]int64{3}, 0, 1, -2).Gelu() }, torch.Float32, []int64{3}, []float64{0, gelu(1), gelu(-2)}, 1e-6},
	})
}

func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func TestComparisonsWhereClamp(t *testing.T) {
	x := func() *torch.Tensor { return f32([]int64{5}, -2, -1, 0, 1, 2) }
	y := func() *torch.Tensor { return f32([]int64{5}, 0, -1, 1, 1, -3) }
	bools := func(bs ...bool) *torch.Tensor { return torch.FromBool(bs, int64(len(bs))) }
	runOpCases(t, []opCase{
		{"eq", func() *torch.Tensor { return x().Eq(y()) }, torch.Bool, []int64{5}, []float64{0, 1, 0, 1, 0}, 0},
		{"ne", func() *torch.Tensor { return x().Ne(y()) }, torch.Bool, []int64{5}, []float64{1, 0, 1, 0, 1}, 0},
		{"lt", func() *torch.Tensor { return x().Lt(y()) }, torch.Bool, []int64{5}, []float64{1, 0, 1, 0, 0}, 0},
		{"le", func() *torch.Tensor { return x().Le(y()) }, torch.Bool, []int64{5}, []float64{1, 1, 1, 1, 0}, 0},
		{"gt", func() *torch.Tensor { return x().Gt(y()) }, torch.Bool, []int64{5}, []float64{0, 0, 0, 0, 1}, 0},
		{"ge", func() *torch.Tensor { return x().Ge(y()) }, torch.Bool, []int64{5}, []float64{0, 1, 0, 1, 1}, 0},
		{"eq scalar", func() *torch.Tensor { return x().EqScalar(1) }, torch.Bool, []int64{5}, []float64{0, 0, 0, 1, 0}, 0},
		{"lt scalar", func() *torch.Tensor { return x().LtScalar(0) }, torch.Bool, []int64{5}, []float64{1, 1, 0, 0, 0}, 0},
		{"le scalar", func() *torch.Tensor { return x().LeScalar(0) }, torch.Bool, []int64{5}, []float64{1, 1, 1, 0, 0}, 0},
		{"gt scalar", func() *torch.Tensor { return x().GtScalar(0) }, torch.Bool, []int64{5}, []float64{0, 0, 0, 1, 1}, 0},
		{"ge scalar", func() *torch.Tensor { return x().GeScalar(1) }, torch.Bool, []int64{5}, []float64{0, 0, 0, 1, 1}, 0},
		{"compare int64 with float", func() *torch.Tensor { return torch.FromInt64([]int64{1, 2}, 2).Lt(f32([]int64{2}, 1.5, 1.5)) }, torch.Bool, []int64{2}, []float64{1, 0}, 0},
		{"logical and", func() *torch.Tensor {
			return bools(true, true, false, false).LogicalAnd(bools(true, false, true, false))
		}, torch.Bool, []int64{4}, []float64{1, 0, 0, 0}, 0},
		{"logical or", func() *torch.Tensor {
			return bools(true, true, false, false).LogicalOr(bools(true, false, true, false))
		}, torch.Bool, []int64{4}, []float64{1, 1, 1, 0}, 0},
		{"logical not", func() *torch.Tensor { return bools(true, false).LogicalNot() }, torch.Bool, []int64{2}, []float64{0, 1}, 0},
		{"where", func() *torch.Tensor { return torch.Where(x().GtScalar(0), x(), y()) }, torch.Float32, []int64{5}, []float64{0, -1, 1, 1, 2}, 0},
		{"where broadcast", func() *torch.Tensor {
			return torch.Where(bools(true, false).Reshape(2, 1), x().Reshape(1, 5), f32([]int64{1}, 9))
		}, torch.Float32, []int64{2, 5}, []float64{-2, -1, 0, 1, 2, 9, 9, 9, 9, 9}, 0},
		{"clamp", func() *torch.Tensor { return x().Clamp(-1, 0.5) }, torch.Float32, []int64{5}, []float64{-1, -1, 0, 0.5, 0.5}, 0},
		{"clamp min", func() *torch.Tensor { return x().ClampMin(0.5) }, torch.Float32, []int64{5}, []float64{0.5, 0.5, 0.5, 1, 2}, 0},
		{"clamp max", func() *torch.Tensor { return x().ClampMax(-1.5) }, torch.Float32, []int64{5}, []float64{-2, -1.5, -1.5, -1.5, -1.5}, 0},
		{"clamp int64", func() *torch.Tensor { return torch.FromInt64([]int64{-5, 3, 9}, 3).Clamp(0, 4) }, torch.Int64, []int64{3}, []float64{0, 3, 4}, 0},
		{"clamp int64 to fraction", func() *torch.Tensor { return torch.FromInt64([]int64{-5, 3, 9}, 3).ClampMax(2.5) }, torch.Float32, []int64{3}, []float64{-5, 2.5, 2.5}, 0},
	})
}

func TestReductions(t *testing.T) {
	// x is [2, 3, 2]:
	//   [[1 -2] [3 4] [0 6]]
	//   [[-1 5] [2 -3] [7 1]]
	x := func() *torch.Tensor { return f32([]int64{2, 3, 2}, 1, -2, 3, 4, 0, 6, -1, 5, 2, -3, 7, 1) }
	runOpCases(t, []opCase{
		{"sum", func() *torch.Tensor { return x().Sum() }, torch.Float32, []int64{}, []float64{23}, 0},
		{"mean", func() *torch.Tensor { return x().Mean() }, torch.Float32, []int64{}, []float64{23.0 / 12}, 1e-6},
		{"max", func() *torch.Tensor { return x().Max() }, torch.Float32, []int64{}, []float64{7}, 0},
		{"min", func() *torch.Tensor { return x().Min() }, torch.Float32, []int64{}, []float64{-3}, 0},
		{"sum dim 0", func() *torch.Tensor { return x().SumDims([]int64{0}, false) }, torch.Float32, []int64{3, 2}, []float64{0, 3, 5, 1, 7, 7}, 0},
		{"sum dims 0,2 keepdim", func() *torch.Tensor { return x().SumDims([]int64{0, 2}, true) }, torch.Float32, []int64{1, 3, 1}, []float64{3, 6, 14}, 0},
		{"sum last dim", func() *torch.Tensor { return x().SumDims([]int64{-1}, false) }, torch.Float32, []int64{2, 3}, []float64{-1, 7, 6, 4, -1, 8}, 0},
		{"mean dim 1", func() *torch.Tensor { return x().MeanDims([]int64{1}, false) }, torch.Float32, []int64{2, 2}, []float64{4.0 / 3, 8.0 / 3, 8.0 / 3, 1}, 1e-6},
		{"max dim 1", func() *torch.Tensor { return x().MaxDims([]int64{1}, false) }, torch.Float32, []int64{2, 2}, []float64{3, 6, 7, 5}, 0},
		{"max dims 1,2 keepdim", func() *torch.Tensor { return x().MaxDims([]int64{1, 2}, true) }, torch.Float32, []int64{2, 1, 1}, []float64{6, 7}, 0},
		{"min dim 2", func() *torch.Tensor { return x().MinDims([]int64{2}, false) }, torch.Float32, []int64{2, 3}, []float64{-2, 3, 0, -1, -3, 1}, 0},
		{"argmax dim 1", func() *torch.Tensor { return x().Argmax(1, false) }, torch.Int64, []int64{2, 2}, []float64{1, 2, 2, 0}, 0},
		{"argmax keepdim", func() *torch.Tensor { return x().Argmax(-1, true) }, torch.Int64, []int64{2, 3, 1}, []float64{0, 1, 1, 1, 0, 0}, 0},
		{"argmin dim 0", func() *torch.Tensor { return x().Argmin(0, false) }, torch.Int64, []int64{3, 2}, []float64{1, 0, 1, 1, 0, 1}, 0},
		{"argmax all", func() *torch.Tensor { return x().ArgmaxAll() }, torch.Int64, []int64{}, []float64{10}, 0},
		{"sum int64", func() *torch.Tensor { return torch.FromInt64([]int64{1 << 40, 1 << 40}, 2).Sum() }, torch.Int64, []int64{}, []float64{1 << 41}, 0},
		{"sum bool counts", func() *torch.Tensor { return x().GtScalar(0).Sum() }, torch.Int64, []int64{}, []float64{8}, 0},
		{"all", func() *torch.Tensor { return x().GtScalar(-4).All() }, torch.Bool, []int64{}, []float64{1}, 0},
		{"all false", func() *torch.Tensor { return x().GtScalar(-3).All() }, torch.Bool, []int64{}, []float64{0}, 0},
		{"any", func() *torch.Tensor { return x().GtScalar(6).Any() }, torch.Bool, []int64{}, []float64{1}, 0},
		{"any false", func() *torch.Tensor { return x().GtScalar(7).Any() }, torch.Bool, []int64{}, []float64{0}, 0},
	})
}

func TestMatmul(t *testing.T) {
	a := func() *torch.Tensor { return f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6) }
	b := func() *torch.Tensor { return f32([]int64{3, 2}, 7, 8, 9, 10, 11, 12) }
	runOpCases(t, []opCase{
		{"matrix", func() *torch.Tensor { return a().Matmul(b()) }, torch.Float32, []int64{2, 2}, []float64{58, 64, 139, 154}, 0},
		{"matrix vector", func() *torch.Tensor { return a().Matmul(f32([]int64{3}, 1, 0, -1)) }, torch.Float32, []int64{2}, []float64{-2, -2}, 0},
		{"batched broadcast", func() *torch.Tensor {
			return torch.Stack([]*torch.Tensor{a(), a().MulScalar(-1)}, 0).Matmul(b())
		}, torch.Float32, []int64{2, 2, 2}, []float64{58, 64, 139, 154, -58, -64, -139, -154}, 0},
	})
}

func TestShapeOps(t *testing.T) {
	// x is [2, 3] = [[0 1 2] [3 4 5]].
	x := func() *torch.Tensor { return torch.Arange(0, 6, 1, torch.Float32, torch.CPU).Reshape(2, 3) }
	idx := func(is ...int64) *torch.Tensor { return torch.FromInt64(is, int64(len(is))) }
	runOpCases(t, []opCase{
		{"reshape infer", func() *torch.Tensor { return x().Reshape(3, -1) }, torch.Float32, []int64{3, 2}, []float64{0, 1, 2, 3, 4, 5}, 0},
		{"view", func() *torch.Tensor { return x().View(6) }, torch.Float32, []int64{6}, []float64{0, 1, 2, 3, 4, 5}, 0},
		{"reshape of transpose copies", func() *torch.Tensor { return x().Transpose(0, 1).Reshape(6) }, torch.Float32, []int64{6}, []float64{0, 3, 1, 4, 2, 5}, 0},
		{"permute", func() *torch.Tensor { return x().Reshape(1, 2, 3).Permute(2, 0, 1) }, torch.Float32, []int64{3, 1, 2}, []float64{0, 3, 1, 4, 2, 5}, 0},
		{"transpose", func() *torch.Tensor { return x().Transpose(-1, 0) }, torch.Float32, []int64{3, 2}, []float64{0, 3, 1, 4, 2, 5}, 0},
		{"squeeze", func() *torch.Tensor { return x().Reshape(2, 1, 3).Squeeze(1) }, torch.Float32, []int64{2, 3}, []float64{0, 1, 2, 3, 4, 5}, 0},
		{"squeeze keeps non-1", func() *torch.Tensor { return x().Squeeze(0) }, torch.Float32, []int64{2, 3}, []float64{0, 1, 2, 3, 4, 5}, 0},
		{"unsqueeze", func() *torch.Tensor { return x().Unsqueeze(-1) }, torch.Float32, []int64{2, 3, 1}, []float64{0, 1, 2, 3, 4, 5}, 0},
		{"expand", func() *torch.Tensor { return f32([]int64{2, 1}, 1, 2).Expand(-1, 3) }, torch.Float32, []int64{2, 3}, []float64{1, 1, 1, 2, 2, 2}, 0},
		{"expand new dim", func() *torch.Tensor { return f32([]int64{2}, 1, 2).Expand(2, 2) }, torch.Float32, []int64{2, 2}, []float64{1, 2, 1, 2}, 0},
		{"narrow", func() *torch.Tensor { return x().Narrow(1, 1, 2) }, torch.Float32, []int64{2, 2}, []float64{1, 2, 4, 5}, 0},
		{"narrow dim 0", func() *torch.Tensor { return x().Narrow(0, 1, 1) }, torch.Float32, []int64{1, 3}, []float64{3, 4, 5}, 0},
		{"index select repeats", func() *torch.Tensor { return x().IndexSelect(1, idx(2, 0, 2)) }, torch.Float32, []int64{2, 3}, []float64{2, 0, 2, 5, 3, 5}, 0},
		{"index select rows", func() *torch.Tensor { return x().IndexSelect(0, idx(1)) }, torch.Float32, []int64{1, 3}, []float64{3, 4, 5}, 0},
		{"cat dim 0", func() *torch.Tensor { return torch.Cat([]*torch.Tensor{x(), f32([]int64{1, 3}, 9, 9, 9)}, 0) }, torch.Float32, []int64{3, 3}, []float64{0, 1, 2, 3, 4, 5, 9, 9, 9}, 0},
		{"cat dim 1", func() *torch.Tensor { return torch.Cat([]*torch.Tensor{x(), f32([]int64{2, 1}, 7, 8)}, -1) }, torch.Float32, []int64{2, 4}, []float64{0, 1, 2, 7, 3, 4, 5, 8}, 0},
		{"stack dim 0", func() *torch.Tensor {
			return torch.Stack([]*torch.Tensor{f32([]int64{2}, 1, 2), f32([]int64{2}, 3, 4)}, 0)
		}, torch.Float32, []int64{2, 2}, []float64{1, 2, 3, 4}, 0},
		{"stack dim 1", func() *torch.Tensor {
			return torch.Stack([]*torch.Tensor{f32([]int64{2}, 1, 2), f32([]int64{2}, 3, 4)}, 1)
		}, torch.Float32, []int64{2, 2}, []float64{1, 3, 2, 4}, 0},
		{"flip last", func() *torch.Tensor { return x().Flip(1) }, torch.Float32, []int64{2, 3}, []float64{2, 1, 0, 5, 4, 3}, 0},
		{"flip both", func() *torch.Tensor { return x().Flip(0, -1) }, torch.Float32, []int64{2, 3}, []float64{5, 4, 3, 2, 1, 0}, 0},
	})
}

func TestViewsShareStorage(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	x := torch.Zeros([]int64{2, 3}, torch.Float32, torch.CPU)
	x.Narrow(1, 1, 1).Fill(5)
	x.Transpose(0, 1).Narrow(0, 2, 1).Fill(7)
	x.View(6).Narrow(0, 0, 1).Fill(1)
	assertClose(t, "x after writing through views", x.Float64s(), []float64{1, 5, 7, 0, 5, 7}, 0)

	e := torch.FromFloat32([]float32{1, 2}, 2, 1).Expand(2, 3)
	if got, want := e.Float32s(), []float32{1, 1, 1, 2, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("expanded values %v, want %v", got, want)
	}
}

func TestInPlace(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	x := f32([]int64{3}, 1, 2, 3)
	x.AddInPlace(f32([]int64{3}, 10, 20, 30))
	assertClose(t, "AddInPlace", x.Float64s(), []float64{11, 22, 33}, 0)
	x.SubInPlace(f32([]int64{1}, 1))
	assertClose(t, "SubInPlace broadcast", x.Float64s(), []float64{10, 21, 32}, 0)
	x.MulInPlace(f32([]int64{3}, 2, 0, -1))
	assertClose(t, "MulInPlace", x.Float64s(), []float64{20, 0, -32}, 0)
	x.AddScalarInPlace(2)
	assertClose(t, "AddScalarInPlace", x.Float64s(), []float64{22, 2, -30}, 0)
	x.MulScalarInPlace(0.5)
	assertClose(t, "MulScalarInPlace", x.Float64s(), []float64{11, 1, -15}, 0)
	x.CopyFrom(torch.FromInt64([]int64{4, 5, 6}, 3))
	assertClose(t, "CopyFrom int64", x.Float64s(), []float64{4, 5, 6}, 0)
	if x.DType() != torch.Float32 {
		t.Errorf("CopyFrom changed dtype to %v", x.DType())
	}
	x.Fill(-1)
	assertClose(t, "Fill", x.Float64s(), []float64{-1, -1, -1}, 0)

	i := torch.FromInt64([]int64{1, 2}, 2)
	i.AddScalarInPlace(3)
	i.MulScalarInPlace(-2)
	if i.DType() != torch.Int64 || !slices.Equal(i.Int64s(), []int64{-8, -10}) {
		t.Errorf("int64 [1 2] + 3, * -2 in place = %v, want int64 [-8 -10]", i)
	}
	if err := torch.Catch(func() { i.MulScalarInPlace(0.5) }); err == nil {
		t.Errorf("int64 tensor *= 0.5 in place: no error, want LibTorch's cast error")
	}

	torch.ManualSeed(3)
	u := torch.Zeros([]int64{1000}, torch.Float64, torch.CPU)
	u.Uniform(2, 3)
	for _, v := range u.Float64s() {
		if v < 2 || v >= 3 {
			t.Fatalf("Uniform(2, 3) gave %v", v)
		}
	}
	n := torch.Zeros([]int64{20000}, torch.Float64, torch.CPU)
	n.Normal(5, 2)
	mean, sd := n.Mean().Item(), n.SubScalar(5).Square().Mean().Sqrt().Item()
	if math.Abs(mean-5) > 0.05 || math.Abs(sd-2) > 0.05 {
		t.Errorf("Normal(5, 2): mean %.3f sd %.3f", mean, sd)
	}

	// A leaf that requires grad can be filled and initialised (as a
	// parameter is), and updated in place under NoGrad, but not outside it.
	p := torch.Zeros([]int64{2}, torch.Float32, torch.CPU).SetRequiresGrad(true)
	p.Fill(1)
	p.Uniform(0, 1)
	p.Normal(0, 1)
	p.CopyFrom(f32([]int64{2}, 3, 4))
	torch.NoGrad(func() { p.AddScalarInPlace(1) })
	assertClose(t, "parameter after in-place updates", p.Float64s(), []float64{4, 5}, 0)
	err := panicError(t, "in-place add to a leaf requiring grad", func() { p.AddInPlace(f32([]int64{2}, 1, 1)) })
	if err.Op != "add" || err.Msg == "" {
		t.Errorf("error %q: want Op add and LibTorch's message", err)
	}
}
