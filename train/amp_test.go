package train

import (
	"math"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestLossScaler(t *testing.T) {
	tests := []struct {
		name      string
		grad      []float32
		wantOK    bool
		wantGrad  []float32 // after unscaling, when ok
		wantScale float64
	}{
		{"finite", []float32{1024, -2048}, true, []float32{1024.0 / 65536, -2048.0 / 65536}, 65536},
		{"overflow", []float32{float32(math.Inf(1)), 1}, false, nil, 32768},
		{"nan", []float32{float32(math.NaN()), 1}, false, nil, 32768},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := torch.Zeros([]int64{2}, torch.Float32, torch.CPU).SetRequiresGrad(true)
			p.Mul(torch.FromFloat32(tc.grad, 2)).Sum().Backward()
			s := newLossScaler()
			if ok := s.unscale([]*torch.Tensor{p}); ok != tc.wantOK {
				t.Fatalf("unscale = %v, want %v", ok, tc.wantOK)
			}
			if s.scale != tc.wantScale {
				t.Errorf("scale %g, want %g", s.scale, tc.wantScale)
			}
			if tc.wantOK {
				got := p.Grad().Float32s()
				for i := range got {
					if got[i] != tc.wantGrad[i] {
						t.Errorf("grad %v, want %v", got, tc.wantGrad)
						break
					}
				}
			}
		})
	}
	t.Run("growth", func(t *testing.T) {
		s := newLossScaler()
		p := torch.Zeros([]int64{1}, torch.Float32, torch.CPU).SetRequiresGrad(true)
		for range lossScalerGrowth {
			p.Sum().Backward()
			s.unscale([]*torch.Tensor{p})
			torch.ZeroGrad([]*torch.Tensor{p})
		}
		if s.scale != 2*lossScalerInit {
			t.Errorf("scale after %d clean steps %g, want %g", lossScalerGrowth, s.scale, 2.0*lossScalerInit)
		}
	})
}
