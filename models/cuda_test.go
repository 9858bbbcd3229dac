package models_test

// TestCUDAModels runs every architecture on a CUDA device and compares it
// with the CPU; without one it compares the CPU with itself (see
// torch/cuda_test.go).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/torch"
)

// TestCUDAModels runs the forward pass of each architecture, in training
// and evaluation mode, and its backward pass on the device and on the CPU
// from the same weights and faces, and compares the outputs and every
// parameter's gradient. Dropout is off: its masks come from each device's
// own generator.
func TestCUDAModels(t *testing.T) {
	dev := fkdtest.Device(t)
	// CUDA's float32 convolutions may run in TF32 (cuDNN's default on
	// Ampere and newer GPUs), 10 bits of mantissa.
	tol := 1e-6
	if dev.IsCUDA() {
		tol = 1e-2
	}
	specs := []string{
		"cnn3:width=8,dropout=0",
		"tinyresnet:width=8,blocks=1,dropout=0",
		"fpn:width=8,channels=16,dropout=0",
		"fpnheat:width=8,channels=16,dropout=0",
	}
	rng := rand.New(rand.NewPCG(9, 9))
	pixels := make([]float32, 4*96*96)
	for i := range pixels {
		pixels[i] = rng.Float32()
	}
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			cpu := newModel(t, spec)
			gpu := newModel(t, spec)
			gpu.Store().ToDevice(dev)
			type result struct {
				train, eval []float64
				grads       [][]float64
			}
			run := func(m interface {
				Forward(*torch.Tensor) *torch.Tensor
			}, params []*torch.Tensor, d torch.Device, setTraining func(bool)) result {
				s := torch.NewScope()
				defer s.Close()
				x := torch.FromFloat32(pixels, 4, 1, 96, 96).ToDevice(d)
				var r result
				setTraining(false)
				torch.NoGrad(func() { r.eval = m.Forward(x).Float64s() })
				setTraining(true)
				y := m.Forward(x)
				if y.Device() != d {
					t.Errorf("output on %v, want %v", y.Device(), d)
				}
				r.train = y.Float64s()
				y.Square().Sum().Backward()
				for _, p := range params {
					if g := p.Grad(); g != nil {
						r.grads = append(r.grads, g.Float64s())
					} else {
						r.grads = append(r.grads, nil)
					}
				}
				torch.ZeroGrad(params)
				return r
			}
			want := run(cpu, cpu.Store().Params(), torch.CPU, cpu.Store().SetTraining)
			got := run(gpu, gpu.Store().Params(), dev, gpu.Store().SetTraining)
			compare := func(what string, got, want []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values on the device, %d on the CPU", what, len(got), len(want))
				}
				// Differences count against the largest value of the
				// tensor: TF32 errors scale with the values summed.
				scale := 1e-12
				for _, w := range want {
					scale = max(scale, math.Abs(w))
				}
				for i := range got {
					if !(math.Abs(got[i]-want[i]) <= tol*scale) {
						t.Errorf("%s: element %d = %.7g on %v, %.7g on the CPU (tolerance %g of %.3g)", what, i, got[i], dev, want[i], tol, scale)
						return
					}
				}
			}
			compare("evaluation output", got.eval, want.eval)
			compare("training output", got.train, want.train)
			names := cpu.Store().NamedParams()
			for i := range want.grads {
				if (got.grads[i] == nil) != (want.grads[i] == nil) {
					t.Errorf("%s: gradient present on the device %v, on the CPU %v", names[i].Name, got.grads[i] != nil, want.grads[i] != nil)
					continue
				}
				compare(fmt.Sprintf("gradient of %s", names[i].Name), got.grads[i], want.grads[i])
			}
		})
	}
}
