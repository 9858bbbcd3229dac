package models

import (
	"math"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// tracer adds up the multiply-accumulates of a model's convolutions and
// linear layers while it is on; Count turns it on for one forward pass.
type tracer struct {
	on   bool
	macs int64
}

// builder makes the layers of one model, each reporting to the model's
// tracer.
type builder struct {
	trace *tracer
}

// conv is a convolution whose forward pass reports its multiply-adds.
type conv struct {
	*nn.Conv2d
	macsPerOutput int64 // in/groups · kernel²: multiply-adds per output element
	trace         *tracer
}

// Forward convolves x and, while tracing, counts one multiply-add per
// weight per output element.
func (c *conv) Forward(x *torch.Tensor) *torch.Tensor {
	y := c.Conv2d.Forward(x)
	if c.trace.on {
		c.trace.macs += int64(y.Numel()) * c.macsPerOutput
	}
	return y
}

// conv returns a kernel×kernel convolution with "same" padding (kernel/2),
// so that stride s maps H to ceil(H/s). Its weight is drawn by Kaiming's
// normal initialisation for a following ReLU (fan-out, as torchvision's
// ResNets do); it has a bias only when bias is set (a BatchNorm after it
// makes one redundant).
func (b *builder) conv(p nn.Path, in, out, kernel, stride int64, bias bool) *conv {
	c := nn.NewConv2d(p, in, out, kernel, nn.Conv2dConfig{
		Stride:     stride,
		Padding:    kernel / 2,
		NoBias:     !bias,
		WeightInit: nn.KaimingNormal(nn.FanOut, nn.GainReLU),
		BiasInit:   nn.Zeros(),
	})
	return &conv{Conv2d: c, macsPerOutput: in * kernel * kernel, trace: b.trace}
}

// linear is a fully connected layer whose forward pass reports its
// multiply-adds.
type linear struct {
	*nn.Linear
	in    int64
	trace *tracer
}

// Forward maps x [..., in] to [..., out] and, while tracing, counts in
// multiply-adds per output element.
func (l *linear) Forward(x *torch.Tensor) *torch.Tensor {
	y := l.Linear.Forward(x)
	if l.trace.on {
		l.trace.macs += int64(y.Numel()) * l.in
	}
	return y
}

// outputGain scales the output layer's initial weights: with inputs of
// about unit size, the initial outputs have a standard deviation of about
// outputGain, half a pixel, so that a new model predicts about 0, the face
// centre, for every keypoint, and training starts from a centred face
// rather than from noise.
const outputGain = 0.01

// output returns the final linear layer, which produces the normalised
// coordinates: weights N(0, outputGain²/in) and a zero bias.
func (b *builder) output(p nn.Path, in, out int64) *linear {
	return b.linear(p, in, out, nn.Normal(0, outputGain/math.Sqrt(float64(in))))
}

func (b *builder) linear(p nn.Path, in, out int64, init nn.Init) *linear {
	l := nn.NewLinear(p, in, out, nn.LinearConfig{WeightInit: init, BiasInit: nn.Zeros()})
	return &linear{Linear: l, in: in, trace: b.trace}
}

// convBN is a convolution without bias, batch normalisation and, unless
// linear is set, a ReLU. Its tensors are named p.conv.* and p.bn.*.
type convBN struct {
	conv   *conv
	bn     *nn.BatchNorm2d
	linear bool // no ReLU: the output is added to a residual first
}

// convBNReLU returns conv → BN → ReLU.
func (b *builder) convBNReLU(p nn.Path, in, out, kernel, stride int64) *convBN {
	return &convBN{
		conv: b.conv(p.Sub("conv"), in, out, kernel, stride, false),
		bn:   nn.NewBatchNorm2d(p.Sub("bn"), out, nn.BatchNormConfig{}),
	}
}

// convBNLinear returns conv → BN without the ReLU.
func (b *builder) convBNLinear(p nn.Path, in, out, kernel, stride int64) *convBN {
	c := b.convBNReLU(p, in, out, kernel, stride)
	c.linear = true
	return c
}

// Forward applies the convolution, normalisation and activation. The ReLU
// works in place: nothing else reads the normalised tensor, and batch
// normalisation's gradient does not need its output.
func (c *convBN) Forward(x *torch.Tensor) *torch.Tensor {
	y := c.bn.Forward(c.conv.Forward(x))
	if !c.linear {
		y.ReluInPlace()
	}
	return y
}

// flattenGrid is a head's first step for regression: it pools features
// [N, C, H, W] to [N, C, grid, grid] by averaging and flattens them to
// [N, C·grid²]. Unlike global average pooling it keeps where on the face
// a feature fired, which a coordinate regressor needs.
func flattenGrid(grid int64) nn.Func {
	return func(x *torch.Tensor) *torch.Tensor {
		return torch.AdaptiveAvgPool2d(x, grid, grid).Reshape(x.Size(0), -1)
	}
}
