package dataset

import (
	"reflect"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	s := makeSet(200, 11) // about half complete, half with 4 keypoints
	complete := func(idx []int) (n int) {
		for _, i := range idx {
			if s.Complete(i) {
				n++
			}
		}
		return n
	}
	every := make([]int, s.Len())
	for i := range every {
		every[i] = i
	}
	allComplete := complete(every)
	tests := []struct {
		frac     float64
		wantHold int
	}{
		{0.1, 20},
		{0.25, 50},
		{0.5, 100},
		{0, 0},
		{1, 200},
	}
	for _, tt := range tests {
		train, hold := Split(s, tt.frac, 42)
		if len(hold) < tt.wantHold-1 || len(hold) > tt.wantHold+1 {
			t.Errorf("frac %v: %d held out, want about %d", tt.frac, len(hold), tt.wantHold)
		}
		all := append(append([]int(nil), train...), hold...)
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("frac %v: parts do not partition the rows", tt.frac)
			}
		}
		if !slices.IsSorted(train) || !slices.IsSorted(hold) {
			t.Errorf("frac %v: parts not sorted", tt.frac)
		}
		// Stratified: the complete rows are held out in proportion.
		if want := tt.frac * float64(allComplete); float64(complete(hold)) < want-1 || float64(complete(hold)) > want+1 {
			t.Errorf("frac %v: %d complete rows held out, want about %.1f", tt.frac, complete(hold), want)
		}
		t2, h2 := Split(s, tt.frac, 42)
		if !reflect.DeepEqual(train, t2) || !reflect.DeepEqual(hold, h2) {
			t.Errorf("frac %v: same seed, different split", tt.frac)
		}
	}
	_, a := Split(s, 0.1, 1)
	_, b := Split(s, 0.1, 2)
	if reflect.DeepEqual(a, b) {
		t.Error("seeds 1 and 2 gave the same split")
	}
}

func TestSplitSmallGroups(t *testing.T) {
	// Two complete rows and three partial ones: even a small fraction
	// puts one of each kind on both sides.
	s := makeSet(40, 3)
	var idx []int
	var nc, np int
	for i := range s.Len() {
		if s.Complete(i) && nc < 2 {
			idx, nc = append(idx, i), nc+1
		} else if !s.Complete(i) && np < 3 {
			idx, np = append(idx, i), np+1
		}
	}
	small := s.Subset(idx)
	for seed := range int64(20) {
		train, hold := Split(small, 0.05, seed)
		for _, part := range [][]int{train, hold} {
			var c, p int
			for _, i := range part {
				if small.Complete(i) {
					c++
				} else {
					p++
				}
			}
			if c == 0 || p == 0 {
				t.Fatalf("seed %d: part %v lacks complete or partial rows", seed, part)
			}
		}
	}
	// A test set (no keypoints) is one group.
	test := &Set{Images: make([]uint8, 10*PixelCount)}
	if train, hold := Split(test, 0.3, 1); len(train) != 7 || len(hold) != 3 {
		t.Errorf("test set split %d/%d, want 7/3", len(train), len(hold))
	}
}
