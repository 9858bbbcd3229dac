package models

import (
	"math"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// newModel returns a new model of spec on the CPU, its weights drawn
// after torch.ManualSeed(seed), freed when the test ends: fkdtest.NewModel
// for the tests of package models, which cannot import fkdtest (it
// imports models).
func newModel(t *testing.T, spec string, seed uint64) Model {
	t.Helper()
	s, err := ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(seed)
	m, err := New(s, torch.CPU)
	if err != nil {
		t.Fatalf("New(%s): %v", spec, err)
	}
	t.Cleanup(m.Store().Free)
	return m
}

// cellCentre is the normalised centre of cell j of n cells, written out
// independently of softArgmax.
func cellCentre(j, n int) float64 { return (float64(j)+0.5)/float64(n)*2 - 1 }

// TestSoftArgmaxPeak puts one overwhelming logit (+1e4 over noise) in a
// different cell of each map and checks that soft-argmax returns that
// cell's centre, on square and oblong grids.
func TestSoftArgmaxPeak(t *testing.T) {
	for _, g := range []struct{ h, w int }{{24, 24}, {6, 8}, {1, 5}} {
		k := g.h * g.w // one map per cell
		logits := make([]float32, k*k)
		for m := range k {
			for c := range k {
				logits[m*k+c] = float32(math.Sin(float64(7*m + 3*c))) // noise in [-1, 1]
			}
			logits[m*k+m] = 1e4
		}
		var got []float32
		torch.WithScope(func() {
			x := torch.FromFloat32(logits, 1, int64(k), int64(g.h), int64(g.w))
			got = softArgmax(x).Float32s()
		})
		if len(got) != 2*k {
			t.Fatalf("%dx%d: %d outputs, want %d", g.h, g.w, len(got), 2*k)
		}
		for m := range k {
			i, j := m/g.w, m%g.w
			wantX, wantY := cellCentre(j, g.w), cellCentre(i, g.h)
			if math.Abs(float64(got[2*m])-wantX) > 1e-6 || math.Abs(float64(got[2*m+1])-wantY) > 1e-6 {
				t.Errorf("%dx%d grid, peak at row %d column %d: got (%g, %g), want (%g, %g)",
					g.h, g.w, i, j, got[2*m], got[2*m+1], wantX, wantY)
			}
		}
	}
}

// TestSoftArgmaxExpectation checks maps that are not one-hot: soft-argmax
// is the expected cell centre.
func TestSoftArgmaxExpectation(t *testing.T) {
	const h, w = 4, 4
	tests := []struct {
		name         string
		logits       func(i, j int) float32
		wantX, wantY float64
	}{
		{"uniform", func(i, j int) float32 { return 3 }, 0, 0},
		{"two equal peaks", func(i, j int) float32 {
			if (i == 0 && j == 0) || (i == 2 && j == 3) {
				return 50
			}
			return 0
		}, (cellCentre(0, w) + cellCentre(3, w)) / 2, (cellCentre(0, h) + cellCentre(2, h)) / 2},
		{"one column", func(i, j int) float32 {
			if j == 1 {
				return 60
			}
			return 0
		}, cellCentre(1, w), 0},
		{"weights 1:e", func(i, j int) float32 { // cells (0,0) and (0,1), the second e times likelier
			switch {
			case i == 0 && j == 0:
				return 40
			case i == 0 && j == 1:
				return 41
			}
			return 0
		}, (cellCentre(0, w) + math.E*cellCentre(1, w)) / (1 + math.E), cellCentre(0, h)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logits := make([]float32, h*w)
			for i := range h {
				for j := range w {
					logits[i*w+j] = tt.logits(i, j)
				}
			}
			var got []float32
			torch.WithScope(func() { got = softArgmax(torch.FromFloat32(logits, 1, 1, h, w)).Float32s() })
			if math.Abs(float64(got[0])-tt.wantX) > 1e-5 || math.Abs(float64(got[1])-tt.wantY) > 1e-5 {
				t.Errorf("got (%g, %g), want (%g, %g)", got[0], got[1], tt.wantX, tt.wantY)
			}
		})
	}
}

// TestHeatmaps: the maps of a heatmap model are probability
// distributions on its grid whose soft-argmax is Forward's output; other
// models have none.
func TestHeatmaps(t *testing.T) {
	tests := []struct {
		spec string
		side int64 // 0: no heatmaps
	}{
		{"fpnheat", 24},
		{"fpnheat:maps=48,width=8,channels=16", 48},
		{"fpn:head=heatmap", 24},
		{"fpn", 0},
		{"cnn3", 0},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			m := newModel(t, tt.spec, 1)
			m.Store().Eval()
			if got := HasHeatmaps(m); got != (tt.side > 0) {
				t.Errorf("HasHeatmaps = %v", got)
			}
			torch.NoGrad(func() {
				torch.WithScope(func() {
					x := torch.Rand([]int64{2, 1, 96, 96}, torch.Float32, torch.CPU)
					coords, maps, ok := Heatmaps(m, x)
					if ok != (tt.side > 0) {
						t.Fatalf("Heatmaps ok = %v", ok)
					}
					if !ok {
						if coords != nil || maps != nil {
							t.Error("Heatmaps of a model without them returned tensors")
						}
						return
					}
					if got, want := maps.Shape(), []int64{2, 15, tt.side, tt.side}; !slices.Equal(got, want) {
						t.Fatalf("maps of shape %v, want %v", got, want)
					}
					sums := maps.SumDims([]int64{2, 3}, false).Float32s()
					for i, v := range sums {
						if math.Abs(float64(v)-1) > 1e-5 {
							t.Errorf("map %d sums to %g", i, v)
						}
					}
					want := m.Forward(x).Float32s()
					again := softArgmaxProbs(maps).Float32s()
					for i, v := range coords.Float32s() {
						if v != want[i] || math.Abs(float64(again[i]-v)) > 1e-6 {
							t.Fatalf("coordinate %d: %g, Forward gives %g, soft-argmax of the maps %g", i, v, want[i], again[i])
						}
					}
				})
			})
		})
	}
}

func TestCellCentres(t *testing.T) {
	for _, cells := range []int64{1, 4, 24, 48} {
		var got []float32
		torch.WithScope(func() { got = CellCentres(cells, torch.Float32, torch.CPU).Float32s() })
		for j, v := range got {
			if want := cellCentre(j, int(cells)); math.Abs(float64(v)-want) > 1e-7 {
				t.Errorf("%d cells: centre %d = %g, want %g", cells, j, v, want)
			}
		}
	}
}
