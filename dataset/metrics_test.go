package dataset

import (
	"math"
	"testing"
)

func TestRMSE(t *testing.T) {
	tests := []struct {
		name        string
		pred, truth []float32
		mask        []bool
		want        float64
	}{
		{"exact", []float32{1, 2}, []float32{1, 2}, nil, 0},
		{"one error", []float32{1, 5}, []float32{1, 2}, nil, math.Sqrt(9.0 / 2)},
		// errors 3 and 4 present, 100 masked out: sqrt((9+16)/2)
		{"masked", []float32{4, 6, 100}, []float32{1, 2, 0}, []bool{true, true, false}, math.Sqrt(12.5)},
		{"nothing present", []float32{1}, []float32{2}, []bool{false}, math.NaN()},
		{"empty", nil, nil, nil, math.NaN()},
	}
	for _, tt := range tests {
		got := RMSE(tt.pred, tt.truth, tt.mask)
		if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want)) && math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: RMSE = %v, want %v", tt.name, got, tt.want)
		}
	}
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
