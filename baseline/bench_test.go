package baseline

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/fkd-project/fkd/dataset/synth"
)

// benchWorkers lists 1, the powers of two below the CPU count, and the CPU
// count.
func benchWorkers() []int {
	counts := []int{1}
	for w := 2; w < runtime.NumCPU(); w *= 2 {
		counts = append(counts, w)
	}
	if n := runtime.NumCPU(); n > 1 {
		counts = append(counts, n)
	}
	return counts
}

// BenchmarkPatchPredict times the default patch search over 1000
// synthetic faces (about the size of a Kaggle test set) for each worker
// count. bench/baseline/run.sh compares worker counts with patchbench
// instead, in interleaved rounds, which a shared machine needs.
func BenchmarkPatchPredict(b *testing.B) {
	train := synth.Generate(1000, 1, synth.Options{PartialFrac: 0.5})
	test := synth.Generate(1000, 2, synth.Options{})
	for _, workers := range benchWorkers() {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			p := NewPatch()
			p.Workers = workers
			if err := p.Fit(train); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := p.Predict(test.Images); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*test.Len()), "µs/face")
		})
	}
}

// BenchmarkPatchFit times averaging the patches of 1000 synthetic faces.
func BenchmarkPatchFit(b *testing.B) {
	train := synth.Generate(1000, 1, synth.Options{PartialFrac: 0.5})
	p := NewPatch()
	for b.Loop() {
		if err := p.Fit(train); err != nil {
			b.Fatal(err)
		}
	}
}
