package nn

import (
	"fmt"

	"github.com/fkd-project/fkd/torch"
)

// Conv2dConfig is the geometry and initialisation of a Conv2d. The zero
// value is PyTorch's default: stride 1, no padding, dilation 1, one group,
// a bias, and PyTorch's default initialisation.
type Conv2dConfig struct {
	Stride   int64 // 0 means 1
	Padding  int64 // zeros added on every side
	Dilation int64 // 0 means 1
	Groups   int64 // 0 means 1; in and out channels must be multiples of it
	NoBias   bool
	// WeightInit defaults to U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (Kaiming
	// uniform with a = sqrt(5)), BiasInit to the same bound.
	WeightInit, BiasInit Init
}

// Conv2d is a 2-D convolution with a square kernel: weight
// [out, in/groups, k, k] and bias [out] (nil with NoBias).
type Conv2d struct {
	Weight  *torch.Tensor
	Bias    *torch.Tensor
	Options torch.Conv2dOptions
}

// NewConv2d creates a convolution from in to out channels with a
// kernel×kernel window, its parameters named p.weight and p.bias.
func NewConv2d(p Path, in, out, kernel int64, c Conv2dConfig) *Conv2d {
	stride, dilation, groups := orOne(c.Stride), orOne(c.Dilation), orOne(c.Groups)
	if in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || dilation <= 0 || groups <= 0 || c.Padding < 0 ||
		in%groups != 0 || out%groups != 0 {
		panic(&torch.Error{Op: "nn.Conv2d", Msg: fmt.Sprintf(
			"%s: bad geometry in %d, out %d, kernel %d, stride %d, padding %d, dilation %d, groups %d",
			p.describe(), in, out, kernel, stride, c.Padding, dilation, groups)})
	}
	shape := []int64{out, in / groups, kernel, kernel}
	conv := &Conv2d{
		Weight: p.Param("weight", shape, orInit(c.WeightInit, defaultWeightInit())),
		Options: torch.Conv2dOptions{
			Stride:   [2]int64{stride, stride},
			Padding:  [2]int64{c.Padding, c.Padding},
			Dilation: [2]int64{dilation, dilation},
			Groups:   groups,
		},
	}
	if !c.NoBias {
		conv.Bias = p.Param("bias", []int64{out}, orInit(c.BiasInit, defaultBiasInit(shape)))
	}
	return conv
}

// Forward convolves x [N, in, H, W].
func (c *Conv2d) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.Conv2d(x, c.Weight, c.Bias, c.Options)
}

// LinearConfig is the initialisation of a Linear. The zero value is
// PyTorch's default, with a bias.
type LinearConfig struct {
	NoBias bool
	// WeightInit defaults to U(-1/sqrt(in), 1/sqrt(in)), BiasInit to the
	// same bound.
	WeightInit, BiasInit Init
}

// Linear is an affine map x·weightᵀ + bias with weight [out, in] and bias
// [out] (nil with NoBias).
type Linear struct {
	Weight *torch.Tensor
	Bias   *torch.Tensor
}

// NewLinear creates a linear layer from in to out features, its parameters
// named p.weight and p.bias.
func NewLinear(p Path, in, out int64, c LinearConfig) *Linear {
	if in <= 0 || out <= 0 {
		panic(&torch.Error{Op: "nn.Linear", Msg: fmt.Sprintf("%s: bad size in %d, out %d", p.describe(), in, out)})
	}
	shape := []int64{out, in}
	l := &Linear{Weight: p.Param("weight", shape, orInit(c.WeightInit, defaultWeightInit()))}
	if !c.NoBias {
		l.Bias = p.Param("bias", []int64{out}, orInit(c.BiasInit, defaultBiasInit(shape)))
	}
	return l
}

// Forward maps x [..., in] to [..., out].
func (l *Linear) Forward(x *torch.Tensor) *torch.Tensor { return torch.Linear(x, l.Weight, l.Bias) }

// BatchNormConfig are the settings of a BatchNorm2d. The zero value is
// PyTorch's default: momentum 0.1, eps 1e-5, a learnt scale and shift.
type BatchNormConfig struct {
	// Momentum weighs each batch in the running statistics:
	// running = (1-momentum)·running + momentum·batch. 0 means 0.1.
	Momentum float64
	// Eps is added to the variance before its square root. 0 means 1e-5.
	Eps float64
	// NoAffine leaves out the learnt scale (weight) and shift (bias).
	NoAffine bool
}

// BatchNorm2d normalises each channel of x [N, C, H, W]. In training mode
// it uses the batch's mean and (biased) variance and folds them into the
// running statistics (the unbiased variance, as PyTorch does); in
// evaluation mode it uses the running statistics.
//
// Its parameters are weight [C] (ones) and bias [C] (zeros); its buffers
// running_mean [C] (zeros), running_var [C] (ones) and num_batches_tracked
// (an int64 scalar counting training batches), named as in PyTorch.
type BatchNorm2d struct {
	Weight, Bias            *torch.Tensor // nil with NoAffine
	RunningMean, RunningVar *torch.Tensor
	NumBatchesTracked       *torch.Tensor
	Momentum, Eps           float64
	store                   *Store
}

// NewBatchNorm2d creates batch normalisation over the given number of
// channels under p.
func NewBatchNorm2d(p Path, channels int64, c BatchNormConfig) *BatchNorm2d {
	if channels <= 0 {
		panic(&torch.Error{Op: "nn.BatchNorm2d", Msg: fmt.Sprintf("%s: %d channels", p.describe(), channels)})
	}
	if c.Momentum == 0 {
		c.Momentum = 0.1
	}
	if c.Eps == 0 {
		c.Eps = 1e-5
	}
	if c.Momentum < 0 || c.Momentum > 1 || c.Eps < 0 {
		panic(&torch.Error{Op: "nn.BatchNorm2d", Msg: fmt.Sprintf("%s: momentum %g outside [0, 1] or eps %g negative",
			p.describe(), c.Momentum, c.Eps)})
	}
	dev := p.store.device
	bn := &BatchNorm2d{Momentum: c.Momentum, Eps: c.Eps, store: p.store}
	if !c.NoAffine {
		bn.Weight = p.Param("weight", []int64{channels}, Ones())
		bn.Bias = p.Param("bias", []int64{channels}, Zeros())
	}
	bn.RunningMean = p.Buffer("running_mean", torch.Zeros([]int64{channels}, torch.Float32, dev))
	bn.RunningVar = p.Buffer("running_var", torch.Ones([]int64{channels}, torch.Float32, dev))
	bn.NumBatchesTracked = p.Buffer("num_batches_tracked", torch.Zeros(nil, torch.Int64, dev))
	return bn
}

// Forward normalises x [N, C, H, W], updating the running statistics in
// training mode.
func (b *BatchNorm2d) Forward(x *torch.Tensor) *torch.Tensor {
	shape := x.Shape()
	if len(shape) != 4 {
		panic(&torch.Error{Op: "nn.BatchNorm2d", Msg: fmt.Sprintf("want input [N, C, H, W], got shape %v", shape)})
	}
	training := b.store.training
	if training && shape[0]*shape[2]*shape[3] == 1 {
		panic(&torch.Error{Op: "nn.BatchNorm2d", Msg: fmt.Sprintf(
			"expected more than 1 value per channel when training, got input shape %v", shape)})
	}
	y := torch.BatchNorm(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, training, b.Momentum, b.Eps)
	if training {
		// An int64 one: adding the float scalar 1 to an int64 tensor in
		// place is refused by LibTorch's type promotion.
		one := torch.Ones(nil, torch.Int64, b.NumBatchesTracked.Device())
		b.NumBatchesTracked.AddInPlace(one)
		one.Free()
	}
	return y
}

// Training reports whether b normalises with batch statistics (its
// store is in training mode) rather than the running ones.
func (b *BatchNorm2d) Training() bool { return b.store.training }

// Dropout zeroes each element with probability P in training mode and
// scales the others by 1/(1-P); in evaluation mode it passes x through.
type Dropout struct {
	P     float64
	store *Store
}

// NewDropout creates dropout with probability prob in [0, 1] that follows
// the training mode of p's store. It has no tensors.
func NewDropout(p Path, prob float64) *Dropout {
	checkProb("Dropout", prob)
	return &Dropout{P: prob, store: p.store}
}

// Forward applies dropout in training mode.
func (d *Dropout) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.Dropout(x, d.P, d.store.training)
}

// Dropout2d zeroes whole channels of x [N, C, H, W] with probability P in
// training mode, scaling the others by 1/(1-P); in evaluation mode it
// passes x through.
type Dropout2d struct {
	P     float64
	store *Store
}

// NewDropout2d creates channel dropout with probability prob in [0, 1]
// that follows the training mode of p's store. It has no tensors.
func NewDropout2d(p Path, prob float64) *Dropout2d {
	checkProb("Dropout2d", prob)
	return &Dropout2d{P: prob, store: p.store}
}

// Forward applies channel dropout in training mode.
func (d *Dropout2d) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.Dropout2d(x, d.P, d.store.training)
}

func checkProb(op string, p float64) {
	if !(p >= 0 && p <= 1) {
		panic(&torch.Error{Op: "nn." + op, Msg: fmt.Sprintf("probability %g outside [0, 1]", p)})
	}
}

func orOne(v int64) int64 {
	if v == 0 {
		return 1
	}
	return v
}

func orInit(i, def Init) Init {
	if i == nil {
		return def
	}
	return i
}

// describe names a path in error messages.
func (p Path) describe() string {
	if p.prefix == "" {
		return "at the root"
	}
	return p.prefix
}
