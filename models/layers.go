package models

import (
	"math"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// tracer adds up the multiply-accumulates of a model's convolutions and
// linear layers while it is on; Count turns it on for one forward pass.
// It also lists the model's convolution–normalisation pairs, which a
// model loaded for inference folds (foldBatchNorm).
type tracer struct {
	on      bool
	macs    int64
	convBNs []*convBN
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
	// fold, set for a model loaded for inference, has evaluation run one
	// convolution with the normalisation folded into its weight and bias
	// (foldWeight, foldBias, made at the first such pass), which saves a
	// pass over the activations. A forward pass in training mode drops
	// them for good, as the weights they were made from will change.
	fold                 bool
	foldWeight, foldBias *torch.Tensor
}

// convBNReLU returns conv → BN → ReLU.
func (b *builder) convBNReLU(p nn.Path, in, out, kernel, stride int64) *convBN {
	c := &convBN{
		conv: b.conv(p.Sub("conv"), in, out, kernel, stride, false),
		bn:   nn.NewBatchNorm2d(p.Sub("bn"), out, nn.BatchNormConfig{}),
	}
	b.trace.convBNs = append(b.trace.convBNs, c)
	return c
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
	var y *torch.Tensor
	switch {
	case c.fold && !c.bn.Training():
		if c.foldWeight == nil {
			c.foldWeight, c.foldBias = c.folded()
		}
		y = torch.Conv2d(x, c.foldWeight, c.foldBias, c.conv.Options)
		if c.conv.trace.on {
			c.conv.trace.macs += int64(y.Numel()) * c.conv.macsPerOutput
		}
	default:
		if c.fold && c.bn.Training() {
			c.fold = false
			c.dropFolded()
		}
		y = c.bn.Forward(c.conv.Forward(x))
	}
	if !c.linear {
		y.ReluInPlace()
	}
	return y
}

// folded returns the convolution's weight and bias with the evaluation
// mode's normalisation folded in: with s = γ/√(σ² + ε) per channel, the
// weight times s and the bias β − μ·s (the convolution has none of its
// own). They belong to no scope: the store frees them with the model
// (FoldBatchNorm registers that), or a training-mode pass drops them.
func (c *convBN) folded() (weight, bias *torch.Tensor) {
	torch.Unscoped(func() {
		torch.NoGrad(func() {
			torch.WithScope(func() {
				bn := c.bn
				s := bn.RunningVar.AddScalar(bn.Eps).Rsqrt()
				if bn.Weight != nil {
					s = s.Mul(bn.Weight)
				}
				weight = c.conv.Weight.Mul(s.Reshape(-1, 1, 1, 1))
				if c.conv.Weight.IsChannelsLast() && !weight.IsChannelsLast() {
					weight = weight.ChannelsLast()
				}
				bias = bn.RunningMean.Mul(s).Neg()
				if bn.Bias != nil {
					bias = bias.Add(bn.Bias)
				}
				torch.Keep(weight, bias)
			})
		})
	})
	return weight, bias
}

// FoldBatchNorm readies m for inference: in evaluation mode each
// convolution followed by a batch normalisation runs as one convolution
// with the normalisation folded into its weight and bias, made at the
// first such pass from the weights then. That saves a pass over the
// activations (the ONNX export folds them alike), and changes the outputs
// in the last bits only. Load and LoadEnsemble do it; call it yourself on
// a trained model whose weights will not change again, e.g. before
// predicting with it, so that it predicts as its loaded file will, bit
// for bit. A forward pass in training mode undoes it for good. Models of
// other kinds are left as they are.
func FoldBatchNorm(m Model) {
	switch mm := m.(type) {
	case *model:
		foldBatchNorm(mm.trace, mm.store)
	case *ensemble:
		foldBatchNorm(mm.trace, mm.store)
	}
}

// foldBatchNorm marks the pairs trace lists for folding, and has store
// free their folded tensors when it is freed.
func foldBatchNorm(trace *tracer, store *nn.Store) {
	for _, c := range trace.convBNs {
		if !c.fold {
			c.fold = true
			store.OnFree(c.dropFolded)
		}
	}
}

// dropFolded frees the folded weight and bias, if any.
func (c *convBN) dropFolded() {
	c.foldWeight.Free()
	c.foldBias.Free()
	c.foldWeight, c.foldBias = nil, nil
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
