package main

import (
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		sorted []float64
		want   float64
	}{
		{[]float64{3}, 3},
		{[]float64{1, 2}, 1.5},
		{[]float64{1, 2, 10}, 2},
		{[]float64{1, 2, 3, 100}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.sorted); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.sorted, got, tt.want)
		}
	}
}

// TestTrainStepFitsBatch checks the benchmark does real training: repeated
// steps on one small batch must drive the loss well down, and the output
// has the expected shape.
func TestTrainStepFitsBatch(t *testing.T) {
	torch.ManualSeed(3)
	n := newNet(torch.CPU)
	x := torch.Randn([]int64{4, 1, 16, 16}, torch.Float32, torch.CPU)
	y := torch.Rand([]int64{4, outputs}, torch.Float32, torch.CPU)

	torch.WithScope(func() {
		if got := n.forward(x).Shape(); len(got) != 2 || got[0] != 4 || got[1] != outputs {
			t.Fatalf("forward output shape %v, want [4 %d]", got, outputs)
		}
	})

	opt := newAdam(n.params())
	first := n.trainStep(opt, x, y)
	last := first
	for range 150 {
		last = n.trainStep(opt, x, y)
	}
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < first/4) {
		t.Errorf("loss went from %.4f to %.4f in 150 steps on one batch, want below a quarter", first, last)
	}
	if opt.step != 151 {
		t.Errorf("Adam step count %d, want 151", opt.step)
	}
}
