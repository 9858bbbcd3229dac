package dataset

import (
	"fmt"
	"math"
	"testing"
)

// sameFloat reports whether got is want to within tol: a NaN want asks
// for a NaN, and a NaN got matches only a NaN want.
func sameFloat(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol
}

func TestSameFloat(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		got, want float64
		same      bool
	}{
		{1, 1, true},
		{1, 1 + 1e-13, true},
		{1, 1.1, false},
		{nan, nan, true},
		{0, nan, false}, // the case the old TestRMSE let through
		{nan, 0, false},
		{math.Inf(1), nan, false},
	}
	for _, tt := range tests {
		if got := sameFloat(tt.got, tt.want, 1e-12); got != tt.same {
			t.Errorf("sameFloat(%v, %v) = %v, want %v", tt.got, tt.want, got, tt.same)
		}
	}
}

func TestRMSE(t *testing.T) {
	tests := []struct {
		name        string
		pred, truth []float32
		mask        []bool
		want        float64
	}{
		{"exact", []float32{1, 2}, []float32{1, 2}, nil, 0},
		{"one error", []float32{1, 5}, []float32{1, 2}, nil, math.Sqrt(9.0 / 2)},
		{"one coordinate", []float32{7}, []float32{4}, nil, 3},
		{"sign of the error", []float32{1, 2}, []float32{4, 6}, nil, math.Sqrt(12.5)},
		// errors 3 and 4 present, 100 masked out: sqrt((9+16)/2)
		{"masked", []float32{4, 6, 100}, []float32{1, 2, 0}, []bool{true, true, false}, math.Sqrt(12.5)},
		{"masked first", []float32{100, 4, 6}, []float32{0, 1, 2}, []bool{false, true, true}, math.Sqrt(12.5)},
		{"all present", []float32{4, 6, 100}, []float32{1, 2, 0}, []bool{true, true, true}, math.Sqrt(10025.0 / 3)},
		{"nothing present", []float32{1}, []float32{2}, []bool{false}, math.NaN()},
		{"nothing present, exact", []float32{2, 3}, []float32{2, 3}, []bool{false, false}, math.NaN()},
		{"empty", nil, nil, nil, math.NaN()},
		{"empty mask", []float32{}, []float32{}, []bool{}, math.NaN()},
	}
	for _, tt := range tests {
		got := RMSE(tt.pred, tt.truth, tt.mask)
		if !sameFloat(got, tt.want, 1e-12) {
			t.Errorf("%s: RMSE = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMetricsRejectUnequalLengths(t *testing.T) {
	tests := []struct {
		name        string
		pred, truth []float32
		mask        []bool
	}{
		{"truth short", make([]float32, 30), make([]float32, 29), nil},
		{"pred short", make([]float32, 29), make([]float32, 30), nil},
		{"mask short", make([]float32, 30), make([]float32, 30), make([]bool, 29)},
		{"mask long", make([]float32, 30), make([]float32, 30), make([]bool, 31)},
	}
	for _, tt := range tests {
		for fn, call := range map[string]func(){
			"RMSE":            func() { RMSE(tt.pred, tt.truth, tt.mask) },
			"PerKeypointRMSE": func() { PerKeypointRMSE(tt.pred, tt.truth, tt.mask) },
		} {
			want := "dataset: " + fn + ": pred, truth and mask differ in length"
			if got := panicMessage(call); got != want {
				t.Errorf("%s, %s: panic %q, want %q", fn, tt.name, got, want)
			}
		}
	}
	want := "dataset: PerKeypointRMSE needs whole rows of 30 coordinates"
	if got := panicMessage(func() { PerKeypointRMSE(make([]float32, 31), make([]float32, 31), nil) }); got != want {
		t.Errorf("31 coordinates: panic %q, want %q", got, want)
	}
}

// panicMessage calls f and returns what it panicked with, as text, or ""
// when it returned.
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestPerKeypointRMSE(t *testing.T) {
	// Two rows. Keypoint 0: errors (3,4) in row 0 and (0,0) in row 1:
	// sqrt(25/4) = 2.5. Keypoint 10: error 2 in x only (y masked), row 1
	// only: 2. Everything else exact or absent.
	pred := make([]float32, 2*NumCoords)
	truth := make([]float32, 2*NumCoords)
	mask := make([]bool, 2*NumCoords)
	pred[0], pred[1] = 3, 4
	mask[0], mask[1], mask[30], mask[31] = true, true, true, true
	pred[30+20], mask[30+20] = 2, true
	mask[2], mask[3] = true, true // keypoint 1 present and exact
	got := PerKeypointRMSE(pred, truth, mask)
	if got[0] != 2.5 || got[10] != 2 || got[1] != 0 {
		t.Errorf("got %v, want keypoint 0: 2.5, 1: 0, 10: 2", got)
	}
	if !math.IsNaN(got[5]) {
		t.Errorf("absent keypoint 5 = %v, want NaN", got[5])
	}
	// Pooled over all coordinates it agrees with RMSE: sqrt((9+16+4)/7).
	if r := RMSE(pred, truth, mask); math.Abs(r-math.Sqrt(29.0/7)) > 1e-12 {
		t.Errorf("RMSE = %v", r)
	}
}

func TestMeans(t *testing.T) {
	s := makeSet(3, 1)
	for i := range s.Coords {
		s.Coords[i], s.Mask[i] = 0, false
	}
	c, m := s.Keypoints(0)
	c[0], m[0] = 10, true
	c, m = s.Keypoints(2)
	c[0], m[0] = 20, true
	c[5], m[5] = 7, true
	got := Means(s)
	if got[0] != 15 || got[5] != 7 || got[1] != ImageSize/2 {
		t.Errorf("Means = %v, want [0]=15 [5]=7 [1]=48", got)
	}
}
