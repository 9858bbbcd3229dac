package torch_test

import (
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestChannelsLast(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	torch.ManualSeed(1)
	x := torch.Randn([]int64{2, 3, 4, 5}, torch.Float32, torch.CPU)
	if x.IsChannelsLast() {
		t.Fatalf("a new tensor reports channels last")
	}
	cl := x.ChannelsLast()
	if !cl.IsChannelsLast() {
		t.Fatalf("ChannelsLast gave a tensor that is not channels last")
	}
	assertShape(t, "ChannelsLast", cl, 2, 3, 4, 5)
	assertClose(t, "ChannelsLast values", cl.Float64s(), x.Float64s(), 0)
	back := cl.Contiguous()
	if back.IsChannelsLast() {
		t.Errorf("Contiguous of a channels-last tensor is still channels last")
	}
	assertClose(t, "Contiguous values", back.Float64s(), x.Float64s(), 0)
	if again := cl.ChannelsLast(); !again.IsChannelsLast() {
		t.Errorf("ChannelsLast of a channels-last tensor is not channels last")
	}

	// The layout carries through a convolution, and the result is the
	// same as in row-major order.
	w := torch.Randn([]int64{6, 3, 3, 3}, torch.Float32, torch.CPU)
	o := torch.Conv2dOptions{Padding: [2]int64{1, 1}}
	want := torch.Conv2d(x, w, nil, o)
	got := torch.Conv2d(cl, w.ChannelsLast(), nil, o)
	if !got.IsChannelsLast() {
		t.Errorf("a convolution of channels-last tensors is not channels last")
	}
	assertClose(t, "channels-last convolution", got.Float64s(), want.Float64s(), 1e-5)

	// One channel: row-major and channels-last storage hold the values in
	// the same order; only the strides tell LibTorch which layout is meant.
	one := torch.Randn([]int64{2, 1, 4, 4}, torch.Float32, torch.CPU)
	if one.IsChannelsLast() {
		t.Errorf("a new one-channel tensor reports channels last")
	}
	oneCL := one.ChannelsLast()
	if !oneCL.IsChannelsLast() {
		t.Errorf("ChannelsLast of a one-channel tensor is not channels last")
	}
	assertClose(t, "one channel, channels last", oneCL.Float64s(), one.Float64s(), 0)
	// A convolution with such weights lays its output out channels last.
	w1 := torch.Randn([]int64{4, 1, 3, 3}, torch.Float32, torch.CPU)
	if y := torch.Conv2d(one, w1.ChannelsLast(), nil, o); !y.IsChannelsLast() {
		t.Errorf("a convolution with one-channel channels-last weights is not channels last")
	}
	if v := f32([]int64{3}, 1, 2, 3); v.IsChannelsLast() {
		t.Errorf("a 1-D tensor reports channels last")
	}
	if err := torch.Catch(func() { f32([]int64{3}, 1, 2, 3).ChannelsLast() }); err == nil {
		t.Errorf("ChannelsLast of a 1-D tensor: no error")
	}
}

func TestZerosLike(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	torch.ManualSeed(2)
	x := torch.Randn([]int64{2, 3, 4, 5}, torch.Float32, torch.CPU)
	one := torch.Randn([]int64{4, 1, 3, 3}, torch.Float64, torch.CPU)
	tests := []struct {
		name         string
		src          *torch.Tensor
		channelsLast bool
	}{
		{"row-major", x, false},
		{"channels last", x.ChannelsLast(), true},
		{"one channel, channels last", one.ChannelsLast(), true},
		{"1-D", f32([]int64{3}, 1, 2, 3), false},
	}
	for _, tt := range tests {
		z := torch.ZerosLike(tt.src, torch.CPU)
		if got, want := z.Shape(), tt.src.Shape(); !slices.Equal(got, want) {
			t.Errorf("%s: shape %v, want %v", tt.name, got, want)
		}
		if z.DType() != tt.src.DType() {
			t.Errorf("%s: dtype %v, want %v", tt.name, z.DType(), tt.src.DType())
		}
		if z.IsChannelsLast() != tt.channelsLast {
			t.Errorf("%s: channels last %v, want %v", tt.name, z.IsChannelsLast(), tt.channelsLast)
		}
		assertClose(t, tt.name+" values", z.Float64s(), make([]float64, tt.src.Numel()), 0)
	}
}

func TestReluInPlace(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	x := f32([]int64{4}, -2, -0.5, 0.5, 3).SetRequiresGrad(true)
	y := x.MulScalar(2) // not a leaf: in place is allowed
	y.ReluInPlace()
	assertClose(t, "ReluInPlace", y.Float64s(), []float64{0, 0, 1, 6}, 0)
	y.Sum().Backward()
	assertClose(t, "ReluInPlace gradient", x.Grad().Float64s(), []float64{0, 0, 2, 2}, 0)

	leaf := f32([]int64{2}, -1, 1).SetRequiresGrad(true)
	if err := torch.Catch(func() { leaf.ReluInPlace() }); err == nil {
		t.Errorf("ReluInPlace on a leaf that requires grad: no error")
	}
}
