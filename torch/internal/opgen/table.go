package main

// The op table: the one place where package torch's element-wise unary
// ops, binary ops and reductions are declared. Each row gives the op's
// name, what it computes in ATen (LibTorch's C++ tensor library) and the
// methods package torch exports for it, with their doc comments. From it
// opgen writes the C enums (shim_ops.h), the name and dispatch switches of
// the shim (shim_ops.inc) and the Go methods (ops_gen.go).
//
// A row's Name is LibTorch's name for the op: errors read "torch neg: ...",
// and the C enum is FKD_ followed by the name in capitals (FKD_NEG). The
// enums number the rows in order; new rows go at the end of their table.

// method is an exported Go method of *Tensor and the text of its doc
// comment after the method's name ("returns -t.").
type method struct {
	Name string
	Doc  string
}

// unaryOp is an element-wise op of one tensor, dispatched by fkd_unary.
type unaryOp struct {
	Name string
	ATen string // the result, a C++ expression in x (a const at::Tensor &)
	Go   method
}

// binaryOp is an op of two operands, dispatched by fkd_binary,
// fkd_binary_scalar and their in-place forms fkd_binary_ and
// fkd_binary_scalar_. Every op has all four forms in the shim; Go exports
// those named in the row.
type binaryOp struct {
	Name string
	// ATen is the result, a C++ expression in x and y (const at::Tensor &).
	ATen string
	// ATenScalar is the result with a scalar operand s (an at::Scalar,
	// integral when x is and the Go value is a whole number). Empty: ATen
	// with s as a 0-dimensional tensor of x's type.
	ATenScalar string
	// ATenInPlace is a C++ statement that sets x to x op y. Empty: ATen's
	// result copied into x.
	ATenInPlace string
	// ATenScalarInPlace sets x to x op s. Empty: ATenScalar's result
	// copied into x.
	ATenScalarInPlace string
	// Math is what the op computes, for the doc comments; {b} stands for
	// the second operand (o, or s in the scalar forms).
	Math string
	// The Go methods of each form; empty for none.
	Go, GoScalar, GoInPlace, GoScalarInPlace string
}

// reduceOp is a reduction, dispatched by fkd_reduce.
type reduceOp struct {
	Name string
	// ATenAll reduces over all elements of x; ATenDims over dims (an
	// at::IntArrayRef, never empty) keeping them as size 1 when keepdim.
	ATenAll, ATenDims string
	// OneDim ops take one dimension or none: ATenDims uses dims[0].
	OneDim bool
	// The Go methods: over all elements (no arguments), over a list of
	// dimensions (dims []int64, keepdim bool), over one dimension (dim
	// int64, keepdim bool). A zero method is not exported.
	All, Dims, Dim method
}

var unaryOps = []unaryOp{
	{"neg", "at::neg(x)", method{"Neg", "returns -t."}},
	{"abs", "at::abs(x)", method{"Abs", "returns |t|, element-wise."}},
	{"sqrt", "at::sqrt(x)", method{"Sqrt", "returns the square root of each element."}},
	{"exp", "at::exp(x)", method{"Exp", "returns e raised to each element."}},
	{"log", "at::log(x)", method{"Log", "returns the natural logarithm of each element."}},
	{"relu", "at::relu(x)", method{"Relu", "returns max(t, 0), element-wise: the rectified linear unit."}},
	{"sigmoid", "at::sigmoid(x)", method{"Sigmoid", "returns 1/(1+exp(-t)), element-wise."}},
	{"tanh", "at::tanh(x)", method{"Tanh", "returns the hyperbolic tangent of each element."}},
	{"gelu", "at::gelu(x)", method{"Gelu", "returns the Gaussian error linear unit t·Φ(t) of each element, computed exactly (erf-based)."}},
	{"square", "at::mul(x, x)", method{"Square", "returns t·t, element-wise."}},
	{"floor", "at::floor(x)", method{"Floor", "rounds each element down to a whole number."}},
	{"round", "at::round(x)", method{"Round", "rounds each element to the nearest whole number, halves to even."}},
	{"sign", "at::sign(x)", method{"Sign", "returns -1, 0 or 1 for each element by its sign."}},
	{"logical_not", "at::logical_not(x)", method{"LogicalNot", "returns a bool tensor that is true where t is zero."}},
	{"isfinite", "at::isfinite(x)", method{"IsFinite", "returns a bool tensor that is true where t is neither infinite nor NaN."}},
	{"clone", "x.clone()", method{"Clone", "returns a copy of t with storage of its own; autograd tracks the copy."}},
	{"contiguous", "x.contiguous()", method{"Contiguous", "returns t with its elements in row-major order, copying only when they are not."}},
	{"detach", "x.detach()", method{"Detach", "returns a tensor sharing t's storage that autograd does not track."}},
	{"rsqrt", "at::rsqrt(x)", method{"Rsqrt", "returns 1/√t, element-wise."}},
	{"sin", "at::sin(x)", method{"Sin", "returns the sine of each element (in radians)."}},
	{"cos", "at::cos(x)", method{"Cos", "returns the cosine of each element (in radians)."}},
	{"channels_last", "x.to(x.options(), false, false, at::MemoryFormat::ChannelsLast)", method{"ChannelsLast", channelsLastDoc}},
}

// channelsLastDoc is the doc comment of ChannelsLast, too long for its row.
const channelsLastDoc = "returns the 4-D tensor t with its elements laid out channels last, " +
	"NHWC in memory (its shape and values stay [N, C, H, W]), copying only when LibTorch " +
	"would not already take it for such a tensor (IsChannelsLast). " +
	"A tensor of one channel is restrided too: its layout is otherwise ambiguous, " +
	"and a convolution would keep its output in row-major order. " +
	"Convolutions on the CPU run faster on channels-last tensors, and the ops that follow keep the layout."

var binaryOps = []binaryOp{
	{Name: "add", ATen: "at::add(x, y)", ATenScalar: "at::add(x, s)", ATenInPlace: "x.add_(y)", ATenScalarInPlace: "x.add_(s)",
		Math: "t + {b}", Go: "Add", GoScalar: "AddScalar", GoInPlace: "AddInPlace", GoScalarInPlace: "AddScalarInPlace"},
	{Name: "sub", ATen: "at::sub(x, y)", ATenScalar: "at::sub(x, s)", ATenInPlace: "x.sub_(y)", ATenScalarInPlace: "x.sub_(s)",
		Math: "t - {b}", Go: "Sub", GoScalar: "SubScalar", GoInPlace: "SubInPlace"},
	{Name: "mul", ATen: "at::mul(x, y)", ATenScalar: "at::mul(x, s)", ATenInPlace: "x.mul_(y)", ATenScalarInPlace: "x.mul_(s)",
		Math: "t·{b}, element by element", Go: "Mul", GoScalar: "MulScalar", GoInPlace: "MulInPlace", GoScalarInPlace: "MulScalarInPlace"},
	{Name: "div", ATen: "at::div(x, y)", ATenScalar: "at::div(x, s)", ATenInPlace: "x.div_(y)", ATenScalarInPlace: "x.div_(s)",
		Math: "t / {b} (true division: integer operands give a floating-point result)", Go: "Div", GoScalar: "DivScalar"},
	{Name: "pow", ATen: "at::pow(x, y)", ATenScalar: "at::pow(x, s)",
		Math: "t raised to the power {b}", Go: "Pow", GoScalar: "PowScalar"},
	{Name: "eq", ATen: "at::eq(x, y)", ATenScalar: "at::eq(x, s)",
		Math: "the bool tensor t == {b}", Go: "Eq", GoScalar: "EqScalar"},
	{Name: "ne", ATen: "at::ne(x, y)", ATenScalar: "at::ne(x, s)",
		Math: "the bool tensor t != {b}", Go: "Ne"},
	{Name: "lt", ATen: "at::lt(x, y)", ATenScalar: "at::lt(x, s)",
		Math: "the bool tensor t < {b}", Go: "Lt", GoScalar: "LtScalar"},
	{Name: "le", ATen: "at::le(x, y)", ATenScalar: "at::le(x, s)",
		Math: "the bool tensor t <= {b}", Go: "Le", GoScalar: "LeScalar"},
	{Name: "gt", ATen: "at::gt(x, y)", ATenScalar: "at::gt(x, s)",
		Math: "the bool tensor t > {b}", Go: "Gt", GoScalar: "GtScalar"},
	{Name: "ge", ATen: "at::ge(x, y)", ATenScalar: "at::ge(x, s)",
		Math: "the bool tensor t >= {b}", Go: "Ge", GoScalar: "GeScalar"},
	{Name: "maximum", ATen: "at::maximum(x, y)", ATenScalar: "at::clamp_min(x, s)",
		Math: "the larger of t and {b} at each element", Go: "Maximum"},
	{Name: "minimum", ATen: "at::minimum(x, y)", ATenScalar: "at::clamp_max(x, s)",
		Math: "the smaller of t and {b} at each element", Go: "Minimum"},
	{Name: "matmul", ATen: "at::matmul(x, y)",
		Math: "the matrix product of t and {b} (as torch.matmul: leading dimensions are batches)", Go: "Matmul"},
	{Name: "logical_and", ATen: "at::logical_and(x, y)",
		Math: "the bool tensor that is true where both t and {b} are nonzero", Go: "LogicalAnd"},
	{Name: "logical_or", ATen: "at::logical_or(x, y)",
		Math: "the bool tensor that is true where t or {b} is nonzero", Go: "LogicalOr"},
	{Name: "atan2", ATen: "at::atan2(x, y)",
		Math: "atan2(t, {b}), the angle in radians of the point ({b}, t)", Go: "Atan2"},
}

var reduceOps = []reduceOp{
	{Name: "sum", ATenAll: "at::sum(x)", ATenDims: "at::sum(x, dims, keepdim)",
		All:  method{"Sum", "returns the sum of all elements as a 0-dimensional tensor."},
		Dims: method{"SumDims", "returns the sums over dims (negative ones count from the end), which stay as size 1 when keepdim is true."}},
	{Name: "mean", ATenAll: "at::mean(x)", ATenDims: "at::mean(x, dims, keepdim)",
		All:  method{"Mean", "returns the mean of all elements as a 0-dimensional tensor."},
		Dims: method{"MeanDims", "returns the means over dims (negative ones count from the end), which stay as size 1 when keepdim is true."}},
	{Name: "amax", ATenAll: "at::max(x)", ATenDims: "at::amax(x, dims, keepdim)",
		All:  method{"Max", "returns the largest element as a 0-dimensional tensor."},
		Dims: method{"MaxDims", "returns the largest elements over dims (negative ones count from the end), which stay as size 1 when keepdim is true."}},
	{Name: "amin", ATenAll: "at::min(x)", ATenDims: "at::amin(x, dims, keepdim)",
		All:  method{"Min", "returns the smallest element as a 0-dimensional tensor."},
		Dims: method{"MinDims", "returns the smallest elements over dims (negative ones count from the end), which stay as size 1 when keepdim is true."}},
	{Name: "argmax", ATenAll: "at::argmax(x, c10::nullopt, keepdim)", ATenDims: "at::argmax(x, dims[0], keepdim)", OneDim: true,
		All: method{"ArgmaxAll", "returns the flat index of the largest element."},
		Dim: method{"Argmax", "returns the index of the largest element over dimension dim."}},
	{Name: "argmin", ATenAll: "at::argmin(x, c10::nullopt, keepdim)", ATenDims: "at::argmin(x, dims[0], keepdim)", OneDim: true,
		Dim: method{"Argmin", "returns the index of the smallest element over dimension dim."}},
	{Name: "all", ATenAll: "at::all(x)", ATenDims: "at::all(x, dims[0], keepdim)", OneDim: true,
		All: method{"All", "returns a 0-dimensional bool tensor that is true when every element is nonzero."}},
	{Name: "any", ATenAll: "at::any(x)", ATenDims: "at::any(x, dims[0], keepdim)", OneDim: true,
		All: method{"Any", "returns a 0-dimensional bool tensor that is true when any element is nonzero."}},
}
