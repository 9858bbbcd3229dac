package torch_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// TestEMAUpdate checks EMAUpdate against the formula worked out in Go, for
// float32 and float64 tensors (one of them a parameter), and that integer
// tensors are copied.
func TestEMAUpdate(t *testing.T) {
	tests := []struct {
		name  string
		decay float64
	}{
		{"decay 0 copies", 0},
		{"decay 0.9", 0.9},
		{"decay 0.999", 0.999},
		{"decay 1 keeps", 1},
	}
	avgInit := []float64{1, -2, 0.5, 4}
	srcVals := []float64{3, 0.25, -0.5, -7}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			// A model's parameters require gradients: updating them in
			// place must work all the same.
			a32 := torch.FromFloat64(avgInit, 2, 2).ToDType(torch.Float32).SetRequiresGrad(true)
			a64 := torch.FromFloat64(avgInit, 4)
			aInt := torch.FromInt64([]int64{1, 2}, 2)
			s32 := torch.FromFloat64(srcVals, 2, 2).ToDType(torch.Float32).SetRequiresGrad(true)
			s64 := torch.FromFloat64(srcVals, 4)
			sInt := torch.FromInt64([]int64{40, 50}, 2)
			torch.EMAUpdate([]*torch.Tensor{a32, a64, aInt}, []*torch.Tensor{s32, s64, sInt}, tt.decay)
			got64 := a64.Float64s()
			got32 := a32.Float32s()
			for i := range avgInit {
				want := tt.decay*avgInit[i] + (1-tt.decay)*srcVals[i]
				if math.Abs(got64[i]-want) > 1e-12 {
					t.Errorf("float64 [%d] = %v, want %v", i, got64[i], want)
				}
				w32 := float32(tt.decay)*float32(avgInit[i]) + float32(1-tt.decay)*float32(srcVals[i])
				if math.Abs(float64(got32[i]-w32)) > 1e-6 {
					t.Errorf("float32 [%d] = %v, want %v", i, got32[i], w32)
				}
				if tt.decay == 0 && (got64[i] != srcVals[i] || got32[i] != float32(srcVals[i])) {
					t.Errorf("decay 0: [%d] = %v, %v; want the source %v exactly", i, got64[i], got32[i], srcVals[i])
				}
			}
			if got := aInt.Int64s(); got[0] != 40 || got[1] != 50 {
				t.Errorf("integer tensor %v, want the source [40 50]", got)
			}
		})
	}
}

func TestEMAUpdateRejects(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	f := torch.Zeros([]int64{3}, torch.Float32, torch.CPU)
	tests := []struct {
		name     string
		avg, src []*torch.Tensor
		want     string
	}{
		{"lengths", []*torch.Tensor{f}, nil, "1 averages for 0 tensors"},
		{"shape", []*torch.Tensor{f}, []*torch.Tensor{torch.Zeros([]int64{4}, torch.Float32, torch.CPU)}, "does not match"},
		{"dtype", []*torch.Tensor{f}, []*torch.Tensor{torch.Zeros([]int64{3}, torch.Float64, torch.CPU)}, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.Float32s()
			err := panicError(t, tt.name, func() { torch.EMAUpdate(tt.avg, tt.src, 0.5) })
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if after := f.Float32s(); after[0] != before[0] {
				t.Error("a refused update changed the average")
			}
		})
	}
}
