package train

import (
	"math"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestMaskedLossValues(t *testing.T) {
	// Differences pred - target in normalised units; the third is missing
	// and its target is far off, which must not matter.
	pred := []float32{0.01, -0.5, 3, 0.1}
	target := []float32{0, 0, -7, 0}
	mask := []float32{1, 1, 0, 1}
	// The thresholds in normalised units, written out rather than taken
	// from the constants so that a changed constant fails: Huber's delta
	// 1 px, Wing's width 10 px and curvature 2 px, 48 px to the unit.
	hw := 1.0 / 48
	ww, we := 10.0/48, 2.0/48
	wingC := ww - ww*math.Log(1+ww/we)
	tests := []struct {
		loss Loss
		want float64
	}{
		{MSE, (0.01*0.01 + 0.25 + 0.01) / 3},
		// 0.01 < delta: 0.5·d²; 0.5 and 0.1 > delta: delta·(|d| - delta/2).
		{Huber, (0.5*0.01*0.01 + hw*(0.5-hw/2) + hw*(0.1-hw/2)) / 3},
		// 0.01 and 0.1 < width: w·ln(1 + |d|/eps); 0.5 > width: |d| - C.
		{Wing, (ww*math.Log(1+0.01/we) + (0.5 - wingC) + ww*math.Log(1+0.1/we)) / 3},
	}
	for _, tt := range tests {
		t.Run(string(tt.loss), func(t *testing.T) {
			torch.WithScope(func() {
				p := torch.FromFloat32(pred, 1, 4)
				got := MaskedLoss(tt.loss, p, torch.FromFloat32(target, 1, 4), torch.FromFloat32(mask, 1, 4)).Item()
				if math.Abs(got-tt.want) > 1e-6*math.Max(1, math.Abs(tt.want)) {
					t.Errorf("%s loss = %.9g, want %.9g", tt.loss, got, tt.want)
				}
			})
		})
	}
}

func TestMaskedLossGradientSkipsMissing(t *testing.T) {
	for _, l := range []Loss{MSE, Huber, Wing} {
		t.Run(string(l), func(t *testing.T) {
			torch.WithScope(func() {
				// Two faces of 30 coordinates; every third one is missing
				// with a wild target.
				n := 2 * 30
				pv, tv, mv := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range pv {
					pv[i] = float32(i%7)*0.1 - 0.3
					tv[i] = float32(i%5) * 0.05
					mv[i] = 1
					if i%3 == 0 {
						tv[i], mv[i] = 100, 0
					}
				}
				p := torch.FromFloat32(pv, 2, 30).SetRequiresGrad(true)
				loss := MaskedLoss(l, p, torch.FromFloat32(tv, 2, 30), torch.FromFloat32(mv, 2, 30))
				loss.Backward()
				g := p.Grad().Float32s()
				for i, gi := range g {
					switch {
					case mv[i] == 0 && gi != 0:
						t.Errorf("gradient %g at missing coordinate %d, want 0", gi, i)
					case mv[i] == 1 && pv[i] != tv[i] && gi == 0:
						t.Errorf("gradient 0 at present coordinate %d (pred %g, target %g)", i, pv[i], tv[i])
					}
				}
				if l == MSE {
					// d/dp mean((p-t)²) over the 40 present = 2(p-t)/40.
					for i := range g {
						want := float64(0)
						if mv[i] == 1 {
							want = 2 * float64(pv[i]-tv[i]) / 40
						}
						if math.Abs(float64(g[i])-want) > 1e-6 {
							t.Errorf("MSE gradient at %d = %g, want %g", i, g[i], want)
						}
					}
				}
			})
		})
	}
}

func TestMaskedLossNothingPresent(t *testing.T) {
	torch.WithScope(func() {
		p := torch.FromFloat32([]float32{1, 2}, 1, 2).SetRequiresGrad(true)
		loss := MaskedLoss(Wing, p, torch.FromFloat32([]float32{0, 0}, 1, 2), torch.FromFloat32([]float32{0, 0}, 1, 2))
		if v := loss.Item(); v != 0 {
			t.Errorf("loss with nothing present = %g, want 0", v)
		}
		loss.Backward()
		for i, g := range p.Grad().Float32s() {
			if g != 0 {
				t.Errorf("gradient %d = %g, want 0", i, g)
			}
		}
	})
}

func TestParseLoss(t *testing.T) {
	tests := []struct {
		in      string
		want    Loss
		wantErr string
	}{
		{"mse", MSE, ""},
		{"Huber", Huber, ""},
		{"WING", Wing, ""},
		{"l1", "", `loss "l1": want mse, huber or wing`},
		{"", "", `loss "": want mse, huber or wing`},
	}
	for _, tt := range tests {
		got, err := ParseLoss(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr || got != "" {
				t.Errorf("ParseLoss(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLoss(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestLossConstants pins the documented thresholds and the coordinate
// normalisation x_norm = (x - 48) / 48 that the rest of fkd shares.
func TestLossConstants(t *testing.T) {
	tests := []struct {
		name      string
		got, want float64
	}{
		{"HuberDeltaPx", HuberDeltaPx, 1},
		{"WingWidthPx", WingWidthPx, 10},
		{"WingCurvatePx", WingCurvatePx, 2},
		{"CoordScale", CoordScale, 48},
		{"CoordCentre", CoordCentre, 48},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
