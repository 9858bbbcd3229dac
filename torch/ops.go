package torch

// #include "shim.h"
import "C"

import "runtime"

// The element-wise helpers call the shim directly rather than through call:
// out then stays on the stack, and the ops that run most often allocate
// nothing but their Tensor.

func (t *Tensor) unary(op C.int) *Tensor {
	var out *C.fkd_tensor
	err := C.fkd_unary(op, t.live(), &out)
	runtime.KeepAlive(t)
	return result(err, out)
}

func (t *Tensor) binary(op C.int, o *Tensor) *Tensor {
	var out *C.fkd_tensor
	err := C.fkd_binary(op, t.live(), o.live(), &out)
	runtime.KeepAlive(t)
	runtime.KeepAlive(o)
	return result(err, out)
}

func (t *Tensor) binaryScalar(op C.int, s float64) *Tensor {
	var out *C.fkd_tensor
	err := C.fkd_binary_scalar(op, t.live(), C.double(s), &out)
	runtime.KeepAlive(t)
	return result(err, out)
}

// Element-wise arithmetic with broadcasting. Each returns a new tensor.

func (t *Tensor) Add(o *Tensor) *Tensor       { return t.binary(C.FKD_ADD, o) }
func (t *Tensor) Sub(o *Tensor) *Tensor       { return t.binary(C.FKD_SUB, o) }
func (t *Tensor) Mul(o *Tensor) *Tensor       { return t.binary(C.FKD_MUL, o) }
func (t *Tensor) Div(o *Tensor) *Tensor       { return t.binary(C.FKD_DIV, o) }
func (t *Tensor) Pow(o *Tensor) *Tensor       { return t.binary(C.FKD_POW, o) }
func (t *Tensor) Maximum(o *Tensor) *Tensor   { return t.binary(C.FKD_MAXIMUM, o) }
func (t *Tensor) Minimum(o *Tensor) *Tensor   { return t.binary(C.FKD_MINIMUM, o) }
func (t *Tensor) Atan2(o *Tensor) *Tensor     { return t.binary(C.FKD_ATAN2, o) }
func (t *Tensor) Matmul(o *Tensor) *Tensor    { return t.binary(C.FKD_MATMUL, o) }
func (t *Tensor) AddScalar(s float64) *Tensor { return t.binaryScalar(C.FKD_ADD, s) }
func (t *Tensor) SubScalar(s float64) *Tensor { return t.binaryScalar(C.FKD_SUB, s) }
func (t *Tensor) MulScalar(s float64) *Tensor { return t.binaryScalar(C.FKD_MUL, s) }
func (t *Tensor) DivScalar(s float64) *Tensor { return t.binaryScalar(C.FKD_DIV, s) }
func (t *Tensor) PowScalar(s float64) *Tensor { return t.binaryScalar(C.FKD_POW, s) }

// Comparisons return bool tensors.

func (t *Tensor) Eq(o *Tensor) *Tensor         { return t.binary(C.FKD_EQ, o) }
func (t *Tensor) Ne(o *Tensor) *Tensor         { return t.binary(C.FKD_NE, o) }
func (t *Tensor) Lt(o *Tensor) *Tensor         { return t.binary(C.FKD_LT, o) }
func (t *Tensor) Le(o *Tensor) *Tensor         { return t.binary(C.FKD_LE, o) }
func (t *Tensor) Gt(o *Tensor) *Tensor         { return t.binary(C.FKD_GT, o) }
func (t *Tensor) Ge(o *Tensor) *Tensor         { return t.binary(C.FKD_GE, o) }
func (t *Tensor) EqScalar(s float64) *Tensor   { return t.binaryScalar(C.FKD_EQ, s) }
func (t *Tensor) LtScalar(s float64) *Tensor   { return t.binaryScalar(C.FKD_LT, s) }
func (t *Tensor) LeScalar(s float64) *Tensor   { return t.binaryScalar(C.FKD_LE, s) }
func (t *Tensor) GtScalar(s float64) *Tensor   { return t.binaryScalar(C.FKD_GT, s) }
func (t *Tensor) GeScalar(s float64) *Tensor   { return t.binaryScalar(C.FKD_GE, s) }
func (t *Tensor) LogicalAnd(o *Tensor) *Tensor { return t.binary(C.FKD_LOGICAL_AND, o) }
func (t *Tensor) LogicalOr(o *Tensor) *Tensor  { return t.binary(C.FKD_LOGICAL_OR, o) }
func (t *Tensor) LogicalNot() *Tensor          { return t.unary(C.FKD_LOGICAL_NOT) }

// Element-wise functions.

func (t *Tensor) Neg() *Tensor        { return t.unary(C.FKD_NEG) }
func (t *Tensor) Abs() *Tensor        { return t.unary(C.FKD_ABS) }
func (t *Tensor) Sqrt() *Tensor       { return t.unary(C.FKD_SQRT) }
func (t *Tensor) Rsqrt() *Tensor      { return t.unary(C.FKD_RSQRT) }
func (t *Tensor) Square() *Tensor     { return t.unary(C.FKD_SQUARE) }
func (t *Tensor) Exp() *Tensor        { return t.unary(C.FKD_EXP) }
func (t *Tensor) Log() *Tensor        { return t.unary(C.FKD_LOG) }
func (t *Tensor) Sin() *Tensor        { return t.unary(C.FKD_SIN) }
func (t *Tensor) Cos() *Tensor        { return t.unary(C.FKD_COS) }
func (t *Tensor) Floor() *Tensor      { return t.unary(C.FKD_FLOOR) }
func (t *Tensor) Round() *Tensor      { return t.unary(C.FKD_ROUND) }
func (t *Tensor) Sign() *Tensor       { return t.unary(C.FKD_SIGN) }
func (t *Tensor) IsFinite() *Tensor   { return t.unary(C.FKD_ISFINITE) }
func (t *Tensor) Clone() *Tensor      { return t.unary(C.FKD_CLONE) }
func (t *Tensor) Contiguous() *Tensor { return t.unary(C.FKD_CONTIGUOUS) }

// Relu, Sigmoid, Tanh and Gelu (exact, erf-based) are the usual activations.
func (t *Tensor) Relu() *Tensor    { return t.unary(C.FKD_RELU) }
func (t *Tensor) Sigmoid() *Tensor { return t.unary(C.FKD_SIGMOID) }
func (t *Tensor) Tanh() *Tensor    { return t.unary(C.FKD_TANH) }
func (t *Tensor) Gelu() *Tensor    { return t.unary(C.FKD_GELU) }

// LeakyRelu returns max(x, slope*x) for 0 <= slope < 1.
func (t *Tensor) LeakyRelu(slope float64) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_leaky_relu(h, C.double(slope), out) }, t)
}

// Clamp limits values to [min, max].
func (t *Tensor) Clamp(min, max float64) *Tensor { return t.clamp(true, min, true, max) }

// ClampMin limits values from below.
func (t *Tensor) ClampMin(min float64) *Tensor { return t.clamp(true, min, false, 0) }

// ClampMax limits values from above.
func (t *Tensor) ClampMax(max float64) *Tensor { return t.clamp(false, 0, true, max) }

func (t *Tensor) clamp(hasMin bool, min float64, hasMax bool, max float64) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_clamp(h, boolInt(hasMin), C.double(min), boolInt(hasMax), C.double(max), out)
	}, t)
}

// Where returns a where cond is true, else b (with broadcasting).
func Where(cond, a, b *Tensor) *Tensor {
	c, x, y := cond.live(), a.live(), b.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_where(c, x, y, out) }, cond, a, b)
}

// In-place updates (a = a op b). They are not recorded by autograd when
// used inside NoGrad, and fail on a leaf that requires grad outside it.

func (t *Tensor) AddInPlace(o *Tensor) { t.inPlace(o, C.fkd_binary_(C.FKD_ADD, t.live(), o.live())) }
func (t *Tensor) SubInPlace(o *Tensor) { t.inPlace(o, C.fkd_binary_(C.FKD_SUB, t.live(), o.live())) }
func (t *Tensor) MulInPlace(o *Tensor) { t.inPlace(o, C.fkd_binary_(C.FKD_MUL, t.live(), o.live())) }
func (t *Tensor) AddScalarInPlace(s float64) {
	t.inPlace(nil, C.fkd_binary_scalar_(C.FKD_ADD, t.live(), C.double(s)))
}
func (t *Tensor) MulScalarInPlace(s float64) {
	t.inPlace(nil, C.fkd_binary_scalar_(C.FKD_MUL, t.live(), C.double(s)))
}
func (t *Tensor) Fill(v float64) { t.inPlace(nil, C.fkd_fill_(t.live(), C.double(v))) }
func (t *Tensor) Uniform(lo, hi float64) {
	t.inPlace(nil, C.fkd_uniform_(t.live(), C.double(lo), C.double(hi)))
}
func (t *Tensor) Normal(mean, std float64) {
	t.inPlace(nil, C.fkd_normal_(t.live(), C.double(mean), C.double(std)))
}
func (t *Tensor) CopyFrom(src *Tensor) { t.inPlace(src, C.fkd_copy_(t.live(), src.live())) }

// inPlace finishes an in-place op on t with operand o (or nil): it keeps
// both reachable until the shim call, evaluated as err, has returned (see
// call), then panics on failure.
func (t *Tensor) inPlace(o *Tensor, err C.fkd_err) {
	runtime.KeepAlive(t)
	runtime.KeepAlive(o)
	must(err)
}

func (t *Tensor) reduce(op C.int, dims []int64, keepdim bool) *Tensor {
	h := t.live()
	dp, nd := ints(dims)
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_reduce(op, h, dp, nd, boolInt(keepdim), out) }, t)
}

// Reductions over all elements return a 0-dimensional tensor; the Dims
// forms reduce over the given dimensions (negative counts from the end).

func (t *Tensor) Sum() *Tensor  { return t.reduce(C.FKD_SUM, nil, false) }
func (t *Tensor) Mean() *Tensor { return t.reduce(C.FKD_MEAN, nil, false) }
func (t *Tensor) Max() *Tensor  { return t.reduce(C.FKD_AMAX, nil, false) }
func (t *Tensor) Min() *Tensor  { return t.reduce(C.FKD_AMIN, nil, false) }
func (t *Tensor) All() *Tensor  { return t.reduce(C.FKD_ALL, nil, false) }
func (t *Tensor) Any() *Tensor  { return t.reduce(C.FKD_ANY, nil, false) }
func (t *Tensor) SumDims(dims []int64, keepdim bool) *Tensor {
	return t.reduce(C.FKD_SUM, dims, keepdim)
}
func (t *Tensor) MeanDims(dims []int64, keepdim bool) *Tensor {
	return t.reduce(C.FKD_MEAN, dims, keepdim)
}
func (t *Tensor) MaxDims(dims []int64, keepdim bool) *Tensor {
	return t.reduce(C.FKD_AMAX, dims, keepdim)
}
func (t *Tensor) MinDims(dims []int64, keepdim bool) *Tensor {
	return t.reduce(C.FKD_AMIN, dims, keepdim)
}

// Argmax returns the index of the largest element over dimension dim.
func (t *Tensor) Argmax(dim int64, keepdim bool) *Tensor {
	return t.reduce(C.FKD_ARGMAX, []int64{dim}, keepdim)
}

// Argmin returns the index of the smallest element over dimension dim.
func (t *Tensor) Argmin(dim int64, keepdim bool) *Tensor {
	return t.reduce(C.FKD_ARGMIN, []int64{dim}, keepdim)
}

// ArgmaxAll returns the flat index of the largest element.
func (t *Tensor) ArgmaxAll() *Tensor { return t.reduce(C.FKD_ARGMAX, nil, false) }

// Reshape returns a tensor with the same elements in a new shape, one
// dimension of which may be -1 (inferred). It copies only when it must.
func (t *Tensor) Reshape(shape ...int64) *Tensor { return t.reshape(shape, false) }

// View is Reshape without copying: it fails when the layout does not allow it.
func (t *Tensor) View(shape ...int64) *Tensor { return t.reshape(shape, true) }

func (t *Tensor) reshape(shape []int64, view bool) *Tensor {
	h := t.live()
	sp, nd := ints(shape)
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_reshape(h, sp, nd, boolInt(view), out) }, t)
}

// Permute reorders the dimensions.
func (t *Tensor) Permute(dims ...int64) *Tensor {
	h := t.live()
	dp, nd := ints(dims)
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_permute(h, dp, nd, out) }, t)
}

// Transpose swaps two dimensions.
func (t *Tensor) Transpose(d0, d1 int64) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_transpose(h, C.int64_t(d0), C.int64_t(d1), out) }, t)
}

// Squeeze removes dimension dim when its size is 1.
func (t *Tensor) Squeeze(dim int64) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_squeeze(h, C.int64_t(dim), out) }, t)
}

// Unsqueeze inserts a dimension of size 1 at dim.
func (t *Tensor) Unsqueeze(dim int64) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_unsqueeze(h, C.int64_t(dim), out) }, t)
}

// Expand broadcasts size-1 dimensions to the given shape without copying
// (-1 keeps a dimension).
func (t *Tensor) Expand(shape ...int64) *Tensor {
	h := t.live()
	sp, nd := ints(shape)
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_expand(h, sp, nd, out) }, t)
}

// Narrow returns elements start..start+length-1 of dimension dim, sharing storage.
func (t *Tensor) Narrow(dim, start, length int64) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_narrow(h, C.int64_t(dim), C.int64_t(start), C.int64_t(length), out)
	}, t)
}

// IndexSelect gathers the entries of dimension dim named by the int64
// tensor index.
func (t *Tensor) IndexSelect(dim int64, index *Tensor) *Tensor {
	h, ih := t.live(), index.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_index_select(h, C.int64_t(dim), ih, out) }, t, index)
}

// Flip reverses the order of elements along the given dimensions.
func (t *Tensor) Flip(dims ...int64) *Tensor {
	h := t.live()
	dp, nd := ints(dims)
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_flip(h, dp, nd, out) }, t)
}

// Cat joins tensors along an existing dimension.
func Cat(ts []*Tensor, dim int64) *Tensor { return join(ts, dim, false) }

// Stack joins tensors of equal shape along a new dimension.
func Stack(ts []*Tensor, dim int64) *Tensor { return join(ts, dim, true) }

func join(ts []*Tensor, dim int64, stack bool) *Tensor {
	arr, free := handles(ts)
	defer free()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_cat(arr, C.int(len(ts)), C.int64_t(dim), boolInt(stack), out)
	})
}
