package nn_test

import (
	"math"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// moments returns the mean, standard deviation, minimum and maximum.
func moments(v []float64) (mean, std, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		mean += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v))), lo, hi
}

func TestInitStatistics(t *testing.T) {
	conv := []int64{256, 128, 3, 3} // fan_in 1152, fan_out 2304
	dense := []int64{300, 200}      // fan_in 200, fan_out 300
	tests := []struct {
		name  string
		init  nn.Init
		shape []int64
		mean  float64
		std   float64
		bound float64 // uniform: values lie in [mean-bound, mean+bound]; 0 for normal
	}{
		{"kaiming uniform fan_in relu", nn.KaimingUniform(nn.FanIn, nn.GainReLU), conv,
			0, math.Sqrt2 / math.Sqrt(1152), math.Sqrt2 * math.Sqrt(3.0/1152)},
		{"kaiming uniform fan_out relu", nn.KaimingUniform(nn.FanOut, nn.GainReLU), conv,
			0, math.Sqrt2 / math.Sqrt(2304), math.Sqrt2 * math.Sqrt(3.0/2304)},
		{"kaiming uniform pytorch default", nn.KaimingUniform(nn.FanIn, nn.GainLeakyReLU(math.Sqrt(5))), dense,
			0, 1 / math.Sqrt(200) / math.Sqrt(3), 1 / math.Sqrt(200)},
		{"kaiming normal fan_out relu", nn.KaimingNormal(nn.FanOut, nn.GainReLU), conv,
			0, math.Sqrt2 / math.Sqrt(2304), 0},
		{"kaiming normal fan_in leaky", nn.KaimingNormal(nn.FanIn, nn.GainLeakyReLU(0.01)), conv,
			0, math.Sqrt(2/(1+0.0001)) / math.Sqrt(1152), 0},
		{"xavier uniform", nn.XavierUniform(nn.GainLinear), dense,
			0, math.Sqrt(2.0 / 500), math.Sqrt(6.0 / 500)},
		{"xavier normal tanh", nn.XavierNormal(nn.GainTanh), dense,
			0, 5.0 / 3 * math.Sqrt(2.0/500), 0},
		{"uniform", nn.Uniform(-2, 3), dense, 0.5, 5 / math.Sqrt(12), 2.5},
		{"normal", nn.Normal(1, 0.5), conv, 1, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			torch.ManualSeed(5)
			x := torch.Zeros(tt.shape, torch.Float32, torch.CPU)
			tt.init(x)
			v := x.Float64s()
			mean, std, lo, hi := moments(v)
			if math.Abs(mean-tt.mean) > 0.02*tt.std {
				t.Errorf("mean %g, want %g", mean, tt.mean)
			}
			if math.Abs(std-tt.std) > 0.02*tt.std {
				t.Errorf("std %g, want %g (±2%%)", std, tt.std)
			}
			if tt.bound > 0 {
				// float32 rounding may reach the bound itself.
				slack := 1e-6 * tt.bound
				if lo < tt.mean-tt.bound-slack || hi > tt.mean+tt.bound+slack {
					t.Errorf("values in [%g, %g], want within [%g, %g]", lo, hi, tt.mean-tt.bound, tt.mean+tt.bound)
				}
				if hi < tt.mean+0.99*tt.bound || lo > tt.mean-0.99*tt.bound {
					t.Errorf("values in [%g, %g] do not reach near the bound %g", lo, hi, tt.bound)
				}
			}

			// The same seed gives the same values.
			torch.ManualSeed(5)
			y := torch.Zeros(tt.shape, torch.Float32, torch.CPU)
			tt.init(y)
			if !slices.Equal(x.Bytes(), y.Bytes()) {
				t.Error("same seed, different values")
			}
		})
	}
}

func TestInitConstants(t *testing.T) {
	tests := []struct {
		name string
		init nn.Init
		want float64
	}{
		{"zeros", nn.Zeros(), 0},
		{"ones", nn.Ones(), 1},
		{"constant", nn.Constant(-0.75), -0.75},
	}
	for _, tt := range tests {
		x := torch.Full([]int64{3, 2}, 9, torch.Float32, torch.CPU)
		tt.init(x)
		for _, v := range x.Float64s() {
			if v != tt.want {
				t.Errorf("%s: value %g, want %g", tt.name, v, tt.want)
				break
			}
		}
	}
}

func TestInitOnParameterRecordsNoGrad(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	w := store.Root().Param("w", []int64{4, 3}, nn.Zeros())
	// Re-initialising a parameter that requires grad must work in place.
	nn.XavierUniform(1)(w)
	nn.Constant(2)(w)
	if !w.RequiresGrad() || w.Grad() != nil {
		t.Errorf("after init: requires grad %v, grad %v", w.RequiresGrad(), w.Grad())
	}
	if got := w.Sum().Item(); got != 24 {
		t.Errorf("sum %g, want 24", got)
	}
}

func TestDefaultLayerInit(t *testing.T) {
	torch.ManualSeed(6)
	store := nn.NewStore(torch.CPU)
	conv := nn.NewConv2d(store.Root().Sub("conv"), 16, 64, 3, nn.Conv2dConfig{})
	lin := nn.NewLinear(store.Root().Sub("fc"), 50, 40, nn.LinearConfig{})
	tests := []struct {
		name  string
		t     *torch.Tensor
		bound float64
		dense bool // enough values to come near the bound
	}{
		{"conv weight", conv.Weight, 1 / math.Sqrt(16*9), true},
		{"conv bias", conv.Bias, 1 / math.Sqrt(16*9), false},
		{"linear weight", lin.Weight, 1 / math.Sqrt(50), true},
		{"linear bias", lin.Bias, 1 / math.Sqrt(50), false},
	}
	for _, tt := range tests {
		_, _, lo, hi := moments(tt.t.Float64s())
		if lo < -tt.bound*(1+1e-6) || hi > tt.bound*(1+1e-6) {
			t.Errorf("%s in [%g, %g], want within ±%g", tt.name, lo, hi, tt.bound)
		}
		if tt.dense && (hi < 0.95*tt.bound || lo > -0.95*tt.bound) {
			t.Errorf("%s in [%g, %g], want near ±%g", tt.name, lo, hi, tt.bound)
		}
		if lo == hi {
			t.Errorf("%s is constant", tt.name)
		}
	}

	// Explicit initialisers replace the defaults.
	c := nn.NewConv2d(store.Root().Sub("c2"), 2, 2, 1, nn.Conv2dConfig{WeightInit: nn.Ones(), BiasInit: nn.Constant(3)})
	if c.Weight.Sum().Item() != 4 || c.Bias.Sum().Item() != 6 {
		t.Errorf("WeightInit/BiasInit ignored: weight %v bias %v", c.Weight.Float64s(), c.Bias.Float64s())
	}
}

func TestFansAndGains(t *testing.T) {
	tests := []struct {
		shape   []int64
		in, out int64
	}{
		{[]int64{4, 3}, 3, 4},
		{[]int64{8, 4, 3, 3}, 36, 72},
		{[]int64{8, 2, 5, 1}, 10, 40},
	}
	for _, tt := range tests {
		if in, out := nn.Fans(tt.shape); in != tt.in || out != tt.out {
			t.Errorf("Fans(%v) = %d, %d; want %d, %d", tt.shape, in, out, tt.in, tt.out)
		}
	}
	mustPanic(t, "at least 2 dimensions", func() { nn.Fans([]int64{5}) })
	mustPanic(t, "at least 2 dimensions", func() {
		nn.KaimingUniform(nn.FanIn, 1)(torch.Zeros([]int64{5}, torch.Float32, torch.CPU))
	})

	gains := []struct {
		name      string
		got, want float64
	}{
		{"leaky relu 0 is relu", nn.GainLeakyReLU(0), nn.GainReLU},
		{"leaky relu sqrt(5)", nn.GainLeakyReLU(math.Sqrt(5)), math.Sqrt(1.0 / 3)},
		{"leaky relu 0.01", nn.GainLeakyReLU(0.01), math.Sqrt(2 / 1.0001)},
		{"relu", nn.GainReLU, math.Sqrt(2)},
		{"tanh", nn.GainTanh, 5.0 / 3},
	}
	for _, g := range gains {
		if math.Abs(g.got-g.want) > 1e-12 {
			t.Errorf("gain %s = %g, want %g", g.name, g.got, g.want)
		}
	}
	if nn.FanIn.String() != "fan_in" || nn.FanOut.String() != "fan_out" {
		t.Errorf("FanMode names %q %q", nn.FanIn, nn.FanOut)
	}
}
