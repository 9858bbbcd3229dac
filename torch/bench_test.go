package torch_test

import (
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// BenchmarkTinyAdd is the per-call cost of the binding: adding two
// one-element tensors, where LibTorch's own work is small. Inside a scope
// (as a training step runs) and outside one (results left to Free).
func BenchmarkTinyAdd(b *testing.B) {
	torch.SetNumThreads(1)
	a := torch.FromFloat32([]float32{1}, 1)
	c := torch.FromFloat32([]float32{2}, 1)
	b.Run("scoped", func(b *testing.B) {
		s := torch.NewScope()
		for i := 0; i < b.N; i++ {
			a.Add(c)
			if i%1000 == 999 {
				s.Close()
				s = torch.NewScope()
			}
		}
		s.Close()
	})
	b.Run("scoped-freed", func(b *testing.B) {
		s := torch.NewScope()
		for i := 0; i < b.N; i++ {
			a.Add(c).Free()
			if i%1000 == 999 {
				s.Close()
				s = torch.NewScope()
			}
		}
		s.Close()
	})
	b.Run("freed", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			a.Add(c).Free()
		}
	})
}
