package nn

import (
	"fmt"
	"math"

	"github.com/fkd-project/fkd/torch"
)

// Init fills a tensor in place, without recording gradients. Param applies
// one to each new parameter; an Init can also re-initialise an existing
// tensor: nn.KaimingNormal(nn.FanOut, nn.GainReLU)(conv.Weight).
//
// The random initialisers draw from LibTorch's generator on the tensor's
// device, so torch.ManualSeed makes them repeatable.
type Init func(t *torch.Tensor)

// Gains of common nonlinearities, as PyTorch's calculate_gain gives them:
// the factor that keeps activations' variance steady through a layer
// followed by that nonlinearity.
const (
	GainLinear  = 1.0 // also convolutions and sigmoid
	GainSigmoid = 1.0
	GainTanh    = 5.0 / 3
	GainReLU    = math.Sqrt2
	GainSELU    = 3.0 / 4
)

// GainLeakyReLU returns the gain for a leaky ReLU with the given negative
// slope: sqrt(2 / (1 + slope²)).
func GainLeakyReLU(slope float64) float64 { return math.Sqrt(2 / (1 + slope*slope)) }

// FanMode chooses which fan a Kaiming initialiser scales by.
type FanMode int

const (
	// FanIn preserves the variance of activations in the forward pass.
	FanIn FanMode = iota
	// FanOut preserves the variance of gradients in the backward pass.
	FanOut
)

// String returns "fan_in" or "fan_out", PyTorch's names for the modes.
func (m FanMode) String() string {
	if m == FanOut {
		return "fan_out"
	}
	return "fan_in"
}

// Fans returns the fan-in and fan-out of a weight of the given shape, as
// PyTorch computes them: for [out, in, k...] they are in·∏k and out·∏k. It
// panics for fewer than two dimensions.
func Fans(shape []int64) (fanIn, fanOut int64) {
	if len(shape) < 2 {
		panic(&torch.Error{Op: "nn.Fans", Msg: fmt.Sprintf("fan in and fan out need at least 2 dimensions, shape is %v", shape)})
	}
	receptive := int64(1)
	for _, d := range shape[2:] {
		receptive *= d
	}
	return shape[1] * receptive, shape[0] * receptive
}

func fan(shape []int64, mode FanMode) int64 {
	in, out := Fans(shape)
	if mode == FanOut {
		return out
	}
	return in
}

// Zeros fills with 0.
func Zeros() Init { return Constant(0) }

// Ones fills with 1.
func Ones() Init { return Constant(1) }

// Constant fills with v.
func Constant(v float64) Init { return func(t *torch.Tensor) { torch.NoGrad(func() { t.Fill(v) }) } }

// Uniform draws from the uniform distribution on [lo, hi).
func Uniform(lo, hi float64) Init {
	return func(t *torch.Tensor) { torch.NoGrad(func() { t.Uniform(lo, hi) }) }
}

// Normal draws from the normal distribution with the given mean and
// standard deviation.
func Normal(mean, std float64) Init {
	return func(t *torch.Tensor) { torch.NoGrad(func() { t.Normal(mean, std) }) }
}

// KaimingUniform draws from U(-b, b) with b = gain·sqrt(3/fan) (He et al.,
// 2015), fan chosen by mode. PyTorch's default for convolution and linear
// weights is KaimingUniform(FanIn, GainLeakyReLU(math.Sqrt(5))), which
// gives b = 1/sqrt(fan_in).
func KaimingUniform(mode FanMode, gain float64) Init {
	return func(t *torch.Tensor) {
		shape := t.Shape()
		if t.Numel() == 0 {
			return
		}
		bound := gain * math.Sqrt(3/float64(fan(shape, mode)))
		torch.NoGrad(func() { t.Uniform(-bound, bound) })
	}
}

// KaimingNormal draws from N(0, std²) with std = gain/sqrt(fan), fan chosen
// by mode.
func KaimingNormal(mode FanMode, gain float64) Init {
	return func(t *torch.Tensor) {
		shape := t.Shape()
		if t.Numel() == 0 {
			return
		}
		std := gain / math.Sqrt(float64(fan(shape, mode)))
		torch.NoGrad(func() { t.Normal(0, std) })
	}
}

// XavierUniform draws from U(-a, a) with a = gain·sqrt(6/(fan_in+fan_out))
// (Glorot and Bengio, 2010).
func XavierUniform(gain float64) Init {
	return func(t *torch.Tensor) {
		shape := t.Shape()
		if t.Numel() == 0 {
			return
		}
		in, out := Fans(shape)
		a := gain * math.Sqrt(6/float64(in+out))
		torch.NoGrad(func() { t.Uniform(-a, a) })
	}
}

// XavierNormal draws from N(0, std²) with std = gain·sqrt(2/(fan_in+fan_out)).
func XavierNormal(gain float64) Init {
	return func(t *torch.Tensor) {
		shape := t.Shape()
		if t.Numel() == 0 {
			return
		}
		in, out := Fans(shape)
		std := gain * math.Sqrt(2/float64(in+out))
		torch.NoGrad(func() { t.Normal(0, std) })
	}
}

// defaultWeightInit is PyTorch's default for convolution and linear
// weights: Kaiming uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
func defaultWeightInit() Init { return KaimingUniform(FanIn, GainLeakyReLU(math.Sqrt(5))) }

// defaultBiasInit is PyTorch's default for the bias of a layer whose
// weight has the given shape: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
func defaultBiasInit(weightShape []int64) Init {
	in, _ := Fans(weightShape)
	if in == 0 {
		return Zeros()
	}
	b := 1 / math.Sqrt(float64(in))
	return Uniform(-b, b)
}
