package nn_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// newTestNet builds a small convolutional network shaped like fkd's models
// under p: a Sequential "features" trunk and a linear "head".
func newTestNet(p nn.Path) nn.Module {
	f := p.Sub("features")
	features := nn.NewSequential(
		nn.NewConv2d(f.Sub("0"), 1, 4, 3, nn.Conv2dConfig{Padding: 1}),
		nn.NewBatchNorm2d(f.Sub("1"), 4, nn.BatchNormConfig{}),
		nn.ReLU(),
		nn.MaxPool2d(2, 0, 0),
		nn.NewConv2d(f.Sub("4"), 4, 8, 3, nn.Conv2dConfig{NoBias: true}),
		nn.NewDropout2d(f.Sub("5"), 0.1),
		nn.AdaptiveAvgPool2d(1, 1),
		nn.Flatten(),
	)
	head := nn.NewLinear(p.Sub("head"), 8, 30, nn.LinearConfig{})
	return nn.NewSequential(features, head)
}

// testNetTensors are the names and shapes newTestNet creates, in order.
var testNetTensors = []struct {
	name  string
	shape []int64
	param bool
}{
	{"features.0.weight", []int64{4, 1, 3, 3}, true},
	{"features.0.bias", []int64{4}, true},
	{"features.1.weight", []int64{4}, true},
	{"features.1.bias", []int64{4}, true},
	{"features.1.running_mean", []int64{4}, false},
	{"features.1.running_var", []int64{4}, false},
	{"features.1.num_batches_tracked", []int64{}, false},
	{"features.4.weight", []int64{8, 4, 3, 3}, true},
	{"head.weight", []int64{30, 8}, true},
	{"head.bias", []int64{30}, true},
}

// randn returns a float32 tensor of standard normal values.
func randn(shape ...int64) *torch.Tensor { return torch.Randn(shape, torch.Float32, torch.CPU) }

// evalTestNet builds newTestNet from seed 1 in evaluation mode and returns
// it with its store, an input and the output for that input.
func evalTestNet() (store *nn.Store, net nn.Module, x *torch.Tensor, out []float64) {
	torch.ManualSeed(1)
	store = nn.NewStore(torch.CPU)
	net = newTestNet(store.Root())
	x = randn(2, 1, 8, 8)
	store.Eval()
	return store, net, x, net.Forward(x).Float64s()
}

// closeTo fails t when got and want differ by more than tol anywhere.
func closeTo(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > worst || math.IsNaN(d) {
			worst, at = d, i
			if math.IsNaN(d) {
				break
			}
		}
	}
	if at >= 0 && !(worst <= tol) {
		t.Errorf("%s: element %d is %g, want %g (|diff| %g > %g)", what, at, got[at], want[at], worst, tol)
	}
}

// mustPanic fails t unless f panics with a message containing substr.
func mustPanic(t *testing.T, substr string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("did not panic, want a panic mentioning %q", substr)
			return
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, substr) {
			t.Errorf("panic %q does not mention %q", msg, substr)
		}
	}()
	f()
}

// sameBits fails t unless a and b have the same dtype, shape and bytes.
func sameBits(t *testing.T, name string, a, b *torch.Tensor) {
	t.Helper()
	if a.DType() != b.DType() || !slices.Equal(a.Shape(), b.Shape()) {
		t.Errorf("%s: %s %v, want %s %v", name, a.DType(), a.Shape(), b.DType(), b.Shape())
		return
	}
	if !slices.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("%s: bytes differ", name)
	}
}
