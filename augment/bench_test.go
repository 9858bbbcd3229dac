package augment

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// BenchmarkApply augments a training batch of 64 faces on the CPU, with one
// LibTorch thread and with one per CPU, to set against a training step
// (tens of milliseconds). flip-tta is FlipBatch, as test-time augmentation
// uses it.
func BenchmarkApply(b *testing.B) {
	defer torch.SetNumThreads(torch.NumThreads())
	def, _ := Recipe("default")
	cases := []struct {
		name string
		o    Options
	}{
		{"default", def},
		{"geometric", Options{Flip: true, RotateDeg: 15, JitterPx: 4, Scale: 0.1}},
		{"grey", Options{Brightness: 0.2, Contrast: 0.2}},
		{"flip-tta", Options{}},
	}
	for _, threads := range []int{1, runtime.NumCPU()} {
		torch.SetNumThreads(threads)
		for _, bc := range cases {
			b.Run(fmt.Sprintf("%s/threads=%d", bc.name, threads), func(b *testing.B) {
				s := torch.NewScope()
				defer s.Close()
				images, coords, mask := faceBatch(64)
				torch.ManualSeed(1)
				for b.Loop() {
					torch.WithScope(func() {
						if bc.name == "flip-tta" {
							FlipBatch(images, coords)
							return
						}
						Apply(images, coords, mask, bc.o)
					})
				}
			})
		}
	}
}
