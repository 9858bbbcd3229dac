package nn

import (
	"fmt"

	"github.com/fkd-project/fkd/torch"
)

// Module is a layer or a whole model: a function of one tensor whose
// parameters, if any, live in a Store. Modules that behave differently in
// training and evaluation (Dropout, BatchNorm2d) read the mode of the
// store they were built under.
type Module interface {
	Forward(x *torch.Tensor) *torch.Tensor
}

// Func is a Module without parameters or state, made from a function.
type Func func(x *torch.Tensor) *torch.Tensor

// Forward returns f(x).
func (f Func) Forward(x *torch.Tensor) *torch.Tensor { return f(x) }

// ReLU returns max(x, 0) element-wise.
func ReLU() Func { return (*torch.Tensor).Relu }

// LeakyReLU returns max(x, slope·x) element-wise.
func LeakyReLU(slope float64) Func {
	return func(x *torch.Tensor) *torch.Tensor { return x.LeakyRelu(slope) }
}

// GELU is the exact (erf-based) Gaussian error linear unit.
func GELU() Func { return (*torch.Tensor).Gelu }

// Sigmoid returns 1/(1+exp(-x)) element-wise.
func Sigmoid() Func { return (*torch.Tensor).Sigmoid }

// Tanh returns tanh(x) element-wise.
func Tanh() Func { return (*torch.Tensor).Tanh }

// MaxPool2d takes the maximum over square kernel×kernel windows of
// x [N, C, H, W], moving by stride (0 means stride = kernel), with padding
// on every side.
func MaxPool2d(kernel, stride, padding int64) Func {
	o := poolOptions("MaxPool2d", kernel, stride, padding)
	return func(x *torch.Tensor) *torch.Tensor { return torch.MaxPool2d(x, o) }
}

// AvgPool2d averages square kernel×kernel windows of x [N, C, H, W],
// moving by stride (0 means stride = kernel); padding counts as zeros.
func AvgPool2d(kernel, stride, padding int64) Func {
	o := poolOptions("AvgPool2d", kernel, stride, padding)
	return func(x *torch.Tensor) *torch.Tensor { return torch.AvgPool2d(x, o) }
}

func poolOptions(op string, kernel, stride, padding int64) torch.Pool2dOptions {
	if kernel <= 0 || stride < 0 || padding < 0 || 2*padding > kernel {
		panic(&torch.Error{Op: "nn." + op, Msg: fmt.Sprintf(
			"want kernel > 0, stride >= 0 and padding at most half the kernel; got kernel %d, stride %d, padding %d",
			kernel, stride, padding)})
	}
	if stride == 0 {
		stride = kernel
	}
	return torch.Pool2dOptions{
		Kernel:  [2]int64{kernel, kernel},
		Stride:  [2]int64{stride, stride},
		Padding: [2]int64{padding, padding},
	}
}

// AdaptiveAvgPool2d averages x [N, C, H, W] down to [N, C, h, w] whatever
// H and W are; AdaptiveAvgPool2d(1, 1) is global average pooling.
func AdaptiveAvgPool2d(h, w int64) Func {
	if h <= 0 || w <= 0 {
		panic(&torch.Error{Op: "nn.AdaptiveAvgPool2d", Msg: fmt.Sprintf("output size %dx%d is not positive", h, w)})
	}
	return func(x *torch.Tensor) *torch.Tensor { return torch.AdaptiveAvgPool2d(x, h, w) }
}

// Flatten reshapes x [N, ...] to [N, ∏...], as between convolutional
// features and a linear head.
func Flatten() Func {
	return func(x *torch.Tensor) *torch.Tensor {
		if x.Dim() == 0 {
			panic(&torch.Error{Op: "nn.Flatten", Msg: "cannot flatten a 0-dimensional tensor"})
		}
		return x.Reshape(x.Size(0), -1)
	}
}

// Sequential applies its layers in order, each to the output of the one
// before. Build layer i under path.Sub(strconv.Itoa(i)) to get PyTorch's
// names for an nn.Sequential ("features.0.weight", "features.1.weight").
type Sequential struct {
	Layers []Module
}

// NewSequential returns a Sequential of the given layers.
func NewSequential(layers ...Module) *Sequential { return &Sequential{Layers: layers} }

// Add appends layers and returns s.
func (s *Sequential) Add(layers ...Module) *Sequential {
	s.Layers = append(s.Layers, layers...)
	return s
}

// Len returns the number of layers.
func (s *Sequential) Len() int { return len(s.Layers) }

// Forward applies the layers in order; with none it returns x.
func (s *Sequential) Forward(x *torch.Tensor) *torch.Tensor {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}
