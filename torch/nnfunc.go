package torch

// #include "shim.h"
import "C"

import "fmt"

// Conv2dOptions are the geometry of a 2-D convolution. Zero values mean
// stride 1, padding 0, dilation 1, one group.
type Conv2dOptions struct {
	Stride   [2]int64
	Padding  [2]int64
	Dilation [2]int64
	Groups   int64
}

func orOne(v [2]int64) [2]int64 {
	if v[0] == 0 {
		v[0] = 1
	}
	if v[1] == 0 {
		v[1] = 1
	}
	return v
}

// Conv2d convolves x [N, Cin, H, W] with weight [Cout, Cin/groups, kH, kW]
// and adds bias [Cout] when it is not nil.
func Conv2d(x, weight, bias *Tensor, o Conv2dOptions) *Tensor {
	stride, dil := orOne(o.Stride), orOne(o.Dilation)
	groups := o.Groups
	if groups == 0 {
		groups = 1
	}
	xh, wh, bh := x.live(), weight.live(), handle(bias)
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_conv2d(xh, wh, bh, (*C.int64_t)(&stride[0]), (*C.int64_t)(&o.Padding[0]),
			(*C.int64_t)(&dil[0]), C.int64_t(groups), out)
	}, x, weight, bias)
}

// Pool2dOptions are the geometry of a pooling window. A zero Stride means
// the stride equals the kernel.
type Pool2dOptions struct {
	Kernel   [2]int64
	Stride   [2]int64
	Padding  [2]int64
	CeilMode bool
}

func pool2d(avg bool, x *Tensor, o Pool2dOptions) *Tensor {
	if o.Stride == [2]int64{} {
		o.Stride = o.Kernel
	}
	xh := x.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_pool2d(boolInt(avg), xh, (*C.int64_t)(&o.Kernel[0]), (*C.int64_t)(&o.Stride[0]),
			(*C.int64_t)(&o.Padding[0]), boolInt(o.CeilMode), out)
	}, x)
}

// MaxPool2d takes the maximum over each window of x [N, C, H, W].
func MaxPool2d(x *Tensor, o Pool2dOptions) *Tensor { return pool2d(false, x, o) }

// AvgPool2d averages each window of x [N, C, H, W] (padding counted as zeros).
func AvgPool2d(x *Tensor, o Pool2dOptions) *Tensor { return pool2d(true, x, o) }

// AdaptiveAvgPool2d averages x [N, C, H, W] down to [N, C, h, w].
func AdaptiveAvgPool2d(x *Tensor, h, w int64) *Tensor {
	size := [2]int64{h, w}
	xh := x.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_adaptive_avg_pool2d(xh, (*C.int64_t)(&size[0]), out)
	}, x)
}

// InterpolateMode selects how Interpolate computes new pixels.
type InterpolateMode int

// Interpolation modes.
const (
	Nearest InterpolateMode = iota
	Bilinear
)

// Interpolate resizes x [N, C, H, W] to [N, C, h, w]. alignCorners applies
// to Bilinear only (as in PyTorch).
func Interpolate(x *Tensor, h, w int64, mode InterpolateMode, alignCorners bool) *Tensor {
	size := [2]int64{h, w}
	xh := x.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_upsample2d(xh, (*C.int64_t)(&size[0]), boolInt(mode == Bilinear), boolInt(alignCorners), out)
	}, x)
}

// BatchNorm normalises x [N, C, ...] per channel. In training it uses the
// batch statistics and updates runningMean and runningVar in place
// (new = (1-momentum)*old + momentum*batch); in evaluation it uses them.
// weight, bias and the running tensors may be nil.
func BatchNorm(x, weight, bias, runningMean, runningVar *Tensor, training bool, momentum, eps float64) *Tensor {
	xh, wh, bh, mh, vh := x.live(), handle(weight), handle(bias), handle(runningMean), handle(runningVar)
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_batch_norm(xh, wh, bh, mh, vh, boolInt(training), C.double(momentum), C.double(eps), out)
	}, x, weight, bias, runningMean, runningVar)
}

// Dropout zeroes each element with probability p during training and
// scales the rest by 1/(1-p); outside training it returns x unchanged.
func Dropout(x *Tensor, p float64, training bool) *Tensor { return dropout(x, p, false, training) }

// Dropout2d zeroes whole channels of x [N, C, H, W] with probability p
// during training (spatial dropout).
func Dropout2d(x *Tensor, p float64, training bool) *Tensor { return dropout(x, p, true, training) }

func dropout(x *Tensor, p float64, spatial, training bool) *Tensor {
	if p < 0 || p > 1 {
		panic(&Error{Op: "dropout", Msg: fmt.Sprintf("probability %g outside [0, 1]", p)})
	}
	xh := x.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_dropout(xh, C.double(p), boolInt(spatial), boolInt(training), out)
	}, x)
}

// Linear returns x·weightᵀ + bias for x [..., in], weight [out, in] and
// bias [out] (nil for none).
func Linear(x, weight, bias *Tensor) *Tensor {
	xh, wh, bh := x.live(), weight.live(), handle(bias)
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_linear(xh, wh, bh, out) }, x, weight, bias)
}

// Softmax normalises exp(x) to sum to 1 along dim.
func Softmax(x *Tensor, dim int64) *Tensor { return softmax(x, dim, false) }

// LogSoftmax is the logarithm of Softmax, computed stably.
func LogSoftmax(x *Tensor, dim int64) *Tensor { return softmax(x, dim, true) }

func softmax(x *Tensor, dim int64, log bool) *Tensor {
	xh := x.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_softmax(xh, C.int64_t(dim), boolInt(log), out) }, x)
}

// Reduction says how a loss combines its per-element terms.
type Reduction int

// Loss reductions.
const (
	ReduceMean Reduction = C.FKD_REDUCE_MEAN
	ReduceSum  Reduction = C.FKD_REDUCE_SUM
	ReduceNone Reduction = C.FKD_REDUCE_NONE
)

// MSELoss is the squared error between pred and target.
func MSELoss(pred, target *Tensor, r Reduction) *Tensor {
	a, b := pred.live(), target.live()
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_mse_loss(a, b, C.int(r), out) }, pred, target)
}

// HuberLoss is 0.5·d² where |d| < delta, else delta·(|d| - 0.5·delta).
func HuberLoss(pred, target *Tensor, r Reduction, delta float64) *Tensor {
	return huber(pred, target, r, delta, false)
}

// SmoothL1Loss is HuberLoss divided by beta: 0.5·d²/beta where |d| < beta,
// else |d| - 0.5·beta.
func SmoothL1Loss(pred, target *Tensor, r Reduction, beta float64) *Tensor {
	return huber(pred, target, r, beta, true)
}

func huber(pred, target *Tensor, r Reduction, delta float64, smoothL1 bool) *Tensor {
	a, b := pred.live(), target.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_huber_loss(a, b, C.int(r), C.double(delta), boolInt(smoothL1), out)
	}, pred, target)
}

// AffineGrid turns affine matrices theta [N, 2, 3] into a sampling grid
// [N, H, W, 2] of normalised (x, y) coordinates in [-1, 1] for an output of
// size [N, C, H, W].
func AffineGrid(theta *Tensor, size [4]int64, alignCorners bool) *Tensor {
	th := theta.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_affine_grid(th, (*C.int64_t)(&size[0]), boolInt(alignCorners), out)
	}, theta)
}

// GridPadding says what GridSample reads outside the input.
type GridPadding int

// Padding modes of GridSample.
const (
	PadZeros GridPadding = iota
	PadBorder
	PadReflection
)

// GridSample samples x [N, C, H, W] at the normalised positions of grid
// [N, h, w, 2], giving [N, C, h, w].
func GridSample(x, grid *Tensor, mode InterpolateMode, padding GridPadding, alignCorners bool) *Tensor {
	xh, gh := x.live(), grid.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_grid_sample(xh, gh, boolInt(mode == Bilinear), C.int(padding), boolInt(alignCorners), out)
	}, x, grid)
}

// ZeroGrad drops the gradients of params (they read as nil until the next
// Backward), which frees their memory between steps.
func ZeroGrad(params []*Tensor) {
	arr, free := handles(params)
	defer free()
	must(C.fkd_zero_grad(arr, C.int(len(params))))
}

// SGDStep applies one SGD update to every parameter that has a gradient:
// g = grad + weightDecay·p; with momentum, buf = momentum·buf +
// (1-dampening)·g (buf = g on the first step) and g = g + momentum·buf
// (Nesterov) or g = buf; then p -= lr·g. bufs holds one momentum buffer
// per parameter (ignored when momentum is 0).
func SGDStep(params, bufs []*Tensor, lr, momentum, dampening, weightDecay float64, nesterov, firstStep bool) {
	if momentum != 0 && len(bufs) != len(params) {
		panic(&Error{Op: "sgd_step", Msg: fmt.Sprintf("%d momentum buffers for %d parameters", len(bufs), len(params))})
	}
	ps, freeP := handles(params)
	defer freeP()
	var bs **C.fkd_tensor
	if momentum != 0 {
		var freeB func()
		bs, freeB = handles(bufs)
		defer freeB()
	}
	must(C.fkd_sgd_step(ps, bs, C.int(len(params)), C.double(lr), C.double(momentum), C.double(dampening),
		C.double(weightDecay), boolInt(nesterov), boolInt(firstStep)))
}

// AdamStep applies one Adam update (step counts from 1) to every parameter
// that has a gradient, with first and second moment buffers m and v:
// m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², p -= lr·m̂/(√v̂ + eps) with
// bias-corrected m̂, v̂. Weight decay is added to the gradient (Adam) or,
// when decoupled, applied as p *= 1 - lr·weightDecay first (AdamW).
func AdamStep(params, m, v []*Tensor, lr, beta1, beta2, eps, weightDecay float64, decoupled bool, step int64) {
	if len(m) != len(params) || len(v) != len(params) {
		panic(&Error{Op: "adam_step", Msg: fmt.Sprintf("%d/%d moment buffers for %d parameters", len(m), len(v), len(params))})
	}
	if step < 1 {
		// Step 0 would divide by a zero bias correction and fill the
		// parameters with NaN.
		panic(&Error{Op: "adam_step", Msg: fmt.Sprintf("step %d: steps count from 1", step)})
	}
	ps, f1 := handles(params)
	defer f1()
	ms, f2 := handles(m)
	defer f2()
	vs, f3 := handles(v)
	defer f3()
	must(C.fkd_adam_step(ps, ms, vs, C.int(len(params)), C.double(lr), C.double(beta1), C.double(beta2),
		C.double(eps), C.double(weightDecay), boolInt(decoupled), C.int64_t(step)))
}

// ClipGradNorm scales the gradients of params so that their joint L2 norm
// is at most maxNorm, and returns the norm before clipping.
func ClipGradNorm(params []*Tensor, maxNorm float64) float64 {
	norm := ClipGradNormTensor(params, maxNorm)
	if norm == nil {
		return 0
	}
	defer norm.Free()
	return norm.Item()
}

// ClipGradNormTensor is ClipGradNorm without the read back to the host:
// the clipping happens on the gradients' device, and the joint norm before
// clipping comes back as a float64 scalar tensor (nil when no parameter has
// a gradient), to be read only when needed.
func ClipGradNormTensor(params []*Tensor, maxNorm float64) *Tensor {
	ps, free := handles(params)
	defer free()
	var total *C.fkd_tensor
	must(C.fkd_clip_grad_norm(ps, C.int(len(params)), C.double(maxNorm), &total))
	return wrap(total)
}

// UnscaleGrads multiplies the gradient of every parameter that has one by
// invScale and reports whether any of them holds an Inf or a NaN: the check
// of a float16 loss scaler, in one call and one read back to the host (on
// CUDA, LibTorch's fused _amp_foreach_non_finite_check_and_unscale_).
func UnscaleGrads(params []*Tensor, invScale float64) (foundInf bool) {
	ps, free := handles(params)
	defer free()
	var found C.int
	must(C.fkd_amp_unscale(ps, C.int(len(params)), C.double(invScale), &found))
	hostReads.Add(1)
	return found != 0
}

// EMAUpdate moves every tensor of avg towards the tensor of src at the
// same index, in place and without recording gradients: avg = decay·avg +
// (1-decay)·src for floating-point tensors, in two of LibTorch's foreach
// kernels over the whole list (fused on CUDA), and avg = src for the others
// (integer counters such as BatchNorm's num_batches_tracked). With decay 0
// the averages become src exactly. Each pair must agree in shape, dtype
// and device.
func EMAUpdate(avg, src []*Tensor, decay float64) {
	if len(avg) != len(src) {
		panic(&Error{Op: "ema_update", Msg: fmt.Sprintf("%d averages for %d tensors", len(avg), len(src))})
	}
	as, f1 := handles(avg)
	defer f1()
	ss, f2 := handles(src)
	defer f2()
	must(C.fkd_ema_update(as, ss, C.int(len(avg)), C.double(decay)))
}
