package models

import (
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// BenchmarkStep times one forward and backward pass of each architecture
// on a batch of 64 faces, in training mode, with one LibTorch thread per
// CPU: the work of one training step without the optimiser.
func BenchmarkStep(b *testing.B) {
	torch.SetNumThreads(0)
	for _, info := range List() {
		b.Run(info.Name, func(b *testing.B) {
			torch.ManualSeed(1)
			m, err := New(Spec{Arch: info.Name}, torch.CPU)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Store().Free()
			x := torch.Rand([]int64{64, 1, 96, 96}, torch.Float32, torch.CPU)
			defer x.Free()
			params := m.Store().Params()
			step := func() {
				torch.WithScope(func() {
					m.Forward(x).Square().Mean().Backward()
				})
				torch.ZeroGrad(params)
			}
			step() // warm up LibTorch's kernels and allocator
			for b.Loop() {
				step()
			}
		})
	}
}
