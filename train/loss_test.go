package train

import (
	"context"
	"math"
	"testing"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
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

// TestMaskedLossWeights: a mask of weights gives the weighted mean, and
// each coordinate's gradient scales with its weight.
func TestMaskedLossWeights(t *testing.T) {
	pred := []float32{0.2, -0.1, 0.4, 0.3}
	target := []float32{0, 0, 0, 5}
	tests := []struct {
		name string
		w    []float32
	}{
		{"ones", []float32{1, 1, 1, 0}},
		{"half", []float32{1, 0.5, 0.5, 0}},
		{"quarter", []float32{0.25, 1, 0.25, 0}},
		{"only pseudo", []float32{0.5, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			torch.WithScope(func() {
				p := torch.FromFloat32(pred, 1, 4).SetRequiresGrad(true)
				loss := MaskedLoss(MSE, p, torch.FromFloat32(target, 1, 4), torch.FromFloat32(tt.w, 1, 4))
				var num, den float64
				for i, w := range tt.w {
					d := float64(pred[i] - target[i])
					num += float64(w) * d * d
					den += float64(w)
				}
				if got := loss.Item(); math.Abs(got-num/den) > 1e-6 {
					t.Errorf("loss %.7g, want %.7g", got, num/den)
				}
				loss.Backward()
				for i, g := range p.Grad().Float32s() {
					want := 2 * float64(tt.w[i]) * float64(pred[i]-target[i]) / den
					if math.Abs(float64(g)-want) > 1e-6 {
						t.Errorf("gradient %d = %g, want %g", i, g, want)
					}
				}
			})
		})
	}
}

// TestHeatmapLoss checks the expected squared distance on maps worked
// out by hand (4×4 cells, centres at -0.75, -0.25, 0.25 and 0.75): the
// weighted mean over x and y of Σ p·(centre - target)² along each axis.
func TestHeatmapLoss(t *testing.T) {
	type cell struct {
		i, j int // row, column
		p    float32
	}
	tests := []struct {
		name   string
		cells  []cell // of the one map
		tx, ty float32
		mx, my float32 // weights of x and y
		want   float64
	}{
		{"one cell on target", []cell{{1, 2, 1}}, 0.25, -0.25, 1, 1, 0},
		// x at 0.75 for 0.25: 0.25; y at -0.75 for 0: 0.5625.
		{"one cell off target", []cell{{0, 3, 1}}, 0.25, 0, 1, 1, (0.25 + 0.5625) / 2},
		// x half at -0.75, half at 0.75 for 0: 0.5625; y on target.
		{"two cells across", []cell{{2, 0, 0.5}, {2, 3, 0.5}}, 0, 0.25, 1, 1, 0.5625 / 2},
		// x a quarter at -0.75, the rest at -0.25, for -0.5: 0.0625; y missing.
		{"y missing", []cell{{0, 0, 0.25}, {3, 1, 0.75}}, -0.5, 0.9, 1, 0, 0.0625},
		// x at -0.25 for 0.25: 0.25, weighing 0.5; y on target.
		{"x weighs half", []cell{{1, 1, 1}}, 0.25, -0.25, 0.5, 1, 0.5 * 0.25 / 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maps := make([]float32, 16)
			for _, c := range tt.cells {
				maps[c.i*4+c.j] = c.p
			}
			var got float64
			torch.WithScope(func() {
				got = HeatmapLoss(torch.FromFloat32(maps, 1, 1, 4, 4),
					torch.FromFloat32([]float32{tt.tx, tt.ty}, 1, 2),
					torch.FromFloat32([]float32{tt.mx, tt.my}, 1, 2)).Item()
			})
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("loss %.7g, want %.7g", got, tt.want)
			}
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

// TestRunHeatmapLoss runs one step, on every training face at once, with
// a heatmap loss: the epoch's training loss is the coordinate loss plus
// the weighted heatmap loss of the initial model on those faces.
func TestRunHeatmapLoss(t *testing.T) {
	set := synth.Generate(20, 5, synth.Options{PartialFrac: 0.5})
	for _, spec := range []string{"fpnheat:width=4,channels=8,dropout=0", "fpnheat:width=4,channels=8,dropout=0,maps=48"} {
		t.Run(spec, func(t *testing.T) {
			c := smallConfig(t.TempDir())
			c.Model, c.Epochs, c.Warmup, c.Batch, c.HeatmapLoss = spec, 1, 0, 16, 0.25
			res, err := Run(context.Background(), c, set, Options{})
			if err != nil {
				t.Fatal(err)
			}
			res.Model.Store().Free()
			if res.Train.Len() != c.Batch {
				t.Fatalf("test set-up: %d training faces, want one batch of %d", res.Train.Len(), c.Batch)
			}
			m := fkdtest.NewModel(t, spec, initSeed(c.Seed))
			defer m.Store().Free()
			f := newFaces(res.Train, torch.CPU, nil, 0)
			defer f.Free()
			var coord, heat float64
			torch.WithScope(func() {
				x, y, mask := f.batch(epochOrder(c.Seed, 0, f.n))
				pred, maps, ok := models.Heatmaps(m, x)
				if !ok {
					t.Fatal("no heatmaps")
				}
				coord = MaskedLoss(c.Loss, pred, y, mask).Item()
				heat = HeatmapLoss(maps, y, mask).Item()
			})
			want := coord + c.HeatmapLoss*heat
			if got := res.History[0].TrainLoss; math.Abs(got-want) > 1e-5*want {
				t.Errorf("training loss %.7g, want %.7g (coordinates %.7g, heatmaps %.7g)", got, want, coord, heat)
			}
		})
	}
}
