package torch_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// assertClose reports an error when got and want differ in length or in
// any element by more than tol. NaN never matches.
func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values %v, want %d values %v", what, len(got), got, len(want), want)
		return
	}
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol) {
			t.Errorf("%s: element %d = %.8g, want %.8g (±%g)\n got  %v\n want %v", what, i, got[i], want[i], tol, got, want)
			return
		}
	}
}

// assertShape reports an error when a tensor's shape is not want.
func assertShape(t *testing.T, what string, x *torch.Tensor, want ...int64) {
	t.Helper()
	if got := x.Shape(); !slices.Equal(got, want) {
		t.Errorf("%s: shape %v, want %v", what, got, want)
	}
}

// panicError runs f and returns the *torch.Error it panicked with. It fails
// the test when f returns normally or panics with something else.
func panicError(t *testing.T, what string, f func()) *torch.Error {
	t.Helper()
	var got any
	func() {
		defer func() { got = recover() }()
		f()
	}()
	if got == nil {
		t.Fatalf("%s: did not panic", what)
	}
	err, ok := got.(error)
	var te *torch.Error
	if !ok || !errors.As(err, &te) {
		t.Fatalf("%s: panicked with %T %v, want *torch.Error", what, got, got)
	}
	return te
}

// uniform returns n values drawn uniformly from [lo, hi).
func uniform(rng *rand.Rand, n int, lo, hi float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = lo + (hi-lo)*rng.Float64()
	}
	return xs
}

// spread returns n distinct values in about [-scale, scale], in random
// order, at least scale/n apart: inputs for max, abs or relu whose finite
// differences never cross a kink.
func spread(rng *rand.Rand, n int, scale float64) []float64 {
	xs := make([]float64, n)
	for i, p := range rng.Perm(n) {
		xs[i] = scale * (2*(float64(p)+0.5)/float64(n) - 1)
	}
	return xs
}

func float32s(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func numel(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// gradInput is one input of a gradient check: a float64 tensor's shape and
// values.
type gradInput struct {
	shape []int64
	data  []float64
}

func in(data []float64, shape ...int64) gradInput {
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("test input: %d values for shape %v", len(data), shape))
	}
	return gradInput{shape: shape, data: data}
}

// Finite-difference step and tolerances for gradcheck. Central differences
// on float64 with this step are accurate to about 1e-9 for smooth functions.
const (
	fdStep = 1e-6
	fdAbs  = 1e-6
	fdRel  = 1e-5
)

// gradcheck compares the gradients autograd computes for f with central
// finite differences. f maps float64 inputs to an output; the scalar that
// is differentiated is the sum of that output times fixed random weights,
// so every output element matters with a different factor.
func gradcheck(t *testing.T, f func(xs []*torch.Tensor) *torch.Tensor, inputs ...gradInput) {
	t.Helper()
	s := torch.NewScope()
	defer s.Close()

	leaves := make([]*torch.Tensor, len(inputs))
	for i, x := range inputs {
		leaves[i] = torch.FromFloat64(x.data, x.shape...).SetRequiresGrad(true)
	}
	out := f(leaves)
	if out.DType() != torch.Float64 {
		t.Fatalf("output dtype %s, want float64", out.DType())
	}
	if !out.RequiresGrad() {
		t.Fatalf("output does not require grad")
	}
	rng := rand.New(rand.NewPCG(uint64(out.Numel()), 17))
	weights := torch.FromFloat64(uniform(rng, out.Numel(), -1, 1), out.Shape()...)
	out.Mul(weights).Sum().Backward()

	vals := make([][]float64, len(inputs))
	for i, x := range inputs {
		vals[i] = slices.Clone(x.data)
	}
	loss := func() float64 {
		var v float64
		torch.WithScope(func() {
			xs := make([]*torch.Tensor, len(vals))
			for i := range vals {
				xs[i] = torch.FromFloat64(vals[i], inputs[i].shape...)
			}
			v = f(xs).Mul(weights).Sum().Item()
		})
		return v
	}

	for i := range inputs {
		g := leaves[i].Grad()
		if g == nil {
			t.Errorf("input %d: no gradient after Backward", i)
			continue
		}
		assertShape(t, fmt.Sprintf("input %d gradient", i), g, inputs[i].shape...)
		analytic := g.Float64s()
		bad := 0
		for j := range vals[i] {
			orig := vals[i][j]
			vals[i][j] = orig + fdStep
			plus := loss()
			vals[i][j] = orig - fdStep
			minus := loss()
			vals[i][j] = orig
			numeric := (plus - minus) / (2 * fdStep)
			if !(math.Abs(analytic[j]-numeric) <= fdAbs+fdRel*math.Abs(numeric)) {
				if bad == 0 {
					t.Errorf("input %d element %d: autograd %.10g, finite difference %.10g", i, j, analytic[j], numeric)
				}
				bad++
			}
		}
		if bad > 1 {
			t.Errorf("input %d: %d of %d gradient elements wrong", i, bad, len(vals[i]))
		}
	}
}
