package eval

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/models"
)

func TestOwnHoldout(t *testing.T) {
	const drop, keep = `{"drop_outliers":true}`, `{"epochs":3}`
	tests := []struct {
		name  string
		extra map[string]string
		want  Holdout
		ok    bool
	}{
		{"recorded", map[string]string{keyHoldout: "0.1", keySeed: "7", keyConfig: keep}, Holdout{0.1, 7, false}, true},
		{"dropped outliers", map[string]string{keyHoldout: "0.2", keySeed: "1", keyConfig: drop}, Holdout{0.2, 1, true}, true},
		{"no config", map[string]string{keyHoldout: "0.2", keySeed: "1"}, Holdout{0.2, 1, false}, true},
		{"no hold-out part", map[string]string{keyHoldout: "0", keySeed: "1"}, Holdout{}, false},
		{"no seed", map[string]string{keyHoldout: "0.1"}, Holdout{}, false},
		{"nothing", nil, Holdout{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := OwnHoldout(models.Meta{Extra: tt.extra})
			if h != tt.want || ok != tt.ok {
				t.Errorf("got %+v, %v; want %+v, %v", h, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestProvenanceRoundTrip checks that ReadProvenance reads back what
// Extra writes, and that the keys on disk are those older fkd wrote.
func TestProvenanceRoundTrip(t *testing.T) {
	full := Provenance{Config: `{"drop_outliers":true}`, Holdout: &Holdout{0.1, 7, true}, BestEpoch: 3, BestRMSE: 2.5,
		Epochs: 4, TrainFaces: 90, HoldoutFaces: 10, Stopped: "done", AMP: "bf16", Dropped: 2, Data: "abc",
		Weights: "ema", PseudoCoords: 12}
	bare := Provenance{Config: `{}`, Holdout: &Holdout{0, 1, false}, BestRMSE: math.NaN(), TrainFaces: 5,
		HoldoutFaces: 0, Dropped: -1, PseudoCoords: -1}
	for _, p := range []Provenance{full, bare} {
		e := p.Extra()
		got := ReadProvenance(models.Meta{Extra: e})
		if got.BestRMSE != p.BestRMSE && !(math.IsNaN(got.BestRMSE) && math.IsNaN(p.BestRMSE)) {
			t.Errorf("best RMSE %v, want %v", got.BestRMSE, p.BestRMSE)
		}
		got.BestRMSE, p.BestRMSE = 0, 0
		if !reflect.DeepEqual(got, p) {
			t.Errorf("read back %+v, want %+v", got, p)
		}
	}
	old := map[string]string{"train.holdout": "0.1", "train.seed": "7", "train.faces": "90", "train.holdout_faces": "10",
		"train.best_holdout_rmse_px": "", "train.data": "abc"}
	p := ReadProvenance(models.Meta{Extra: old})
	if p.Holdout == nil || *p.Holdout != (Holdout{0.1, 7, false}) || p.TrainFaces != 90 || p.HoldoutFaces != 10 ||
		!math.IsNaN(p.BestRMSE) || p.Data != "abc" || p.Dropped != -1 || p.PseudoCoords != -1 {
		t.Errorf("an older file reads as %+v", p)
	}
	if e := full.Extra(); len(e) != 14 || e["train.best_weights"] != "ema" || e["train.dropped_outliers"] != "2" {
		t.Errorf("Extra writes %v", e)
	}
}

// withOutlier returns a copy of a synthetic set of n faces whose face at
// row is a labelling mistake dataset.Outliers finds.
func withOutlier(t *testing.T, n, row int) *dataset.Set {
	t.Helper()
	set := synth.Generate(n, 3, synth.Options{})
	c, _ := set.Keypoints(row)
	c[22], c[23] = c[2]-5, c[3]-6 // mouth_left_corner above the right eye centre
	if o := dataset.Outliers(set); len(o) != 1 || o[0].Row != row {
		t.Fatalf("outliers %+v, want row %d only", o, row)
	}
	return set
}

func TestHoldoutSplit(t *testing.T) {
	set := withOutlier(t, 40, 5)
	tr, ho := dataset.Split(set, 0.5, 9)
	in := slices.Contains(ho, 5)
	less := func(idx []int) []int { return slices.DeleteFunc(slices.Clone(idx), func(i int) bool { return i == 5 }) }
	all := make([]int, 40)
	for i := range all {
		all[i] = i
	}
	tests := []struct {
		name        string
		h           Holdout
		train, held []int
		outliers    int
	}{
		{"no hold-out part", Holdout{}, all, nil, 0},
		{"no hold-out part, outliers left out", Holdout{DropOutliers: true}, less(all), nil, 1},
		{"a split", Holdout{0.5, 9, false}, tr, ho, 0},
		{"a split, outliers left out", Holdout{0.5, 9, true}, less(tr), less(ho), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.h.Split(set)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Train, tt.train) || !slices.Equal(p.Held, tt.held) || len(p.Outliers) != tt.outliers {
				t.Errorf("got %v | %v | %+v; want %v | %v | %d outliers", p.Train, p.Held, p.Outliers, tt.train, tt.held, tt.outliers)
			}
			if tt.outliers > 0 && p.Outliers[0].Held != (in && tt.h.Fraction > 0) {
				t.Errorf("outlier held %v, want %v", p.Outliers[0].Held, in)
			}
		})
	}
}
