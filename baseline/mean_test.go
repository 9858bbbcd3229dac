package baseline

import (
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// faceRow is one training face for tests: coordinate j is present when
// present[j] is true.
type faceRow struct {
	coords  [dataset.NumCoords]float32
	present [dataset.NumCoords]bool
}

// fullRow returns a face row whose 30 coordinates are all v.
func fullRow(v float32) faceRow {
	var r faceRow
	for j := range r.coords {
		r.coords[j], r.present[j] = v, true
	}
	return r
}

// newTrainingSet builds a Set from images (nil means black faces) and rows.
func newTrainingSet(images [][]uint8, rows []faceRow) *dataset.Set {
	s := &dataset.Set{}
	for i, r := range rows {
		img := make([]uint8, dataset.PixelCount)
		if images != nil {
			img = images[i]
		}
		s.Images = append(s.Images, img...)
		for j := range dataset.NumCoords {
			c := r.coords[j]
			if !r.present[j] {
				c = 0
			}
			s.Coords = append(s.Coords, c)
			s.Mask = append(s.Mask, r.present[j])
		}
		s.IDs = append(s.IDs, i+1)
	}
	return s
}

func TestMeanFitPredict(t *testing.T) {
	a, b, c := fullRow(10), fullRow(20), fullRow(60)
	// Column 0 is missing from b: its mean is (10+60)/2 = 35.
	b.present[0] = false
	// Column 29 is present in b only: its mean is 20.
	a.present[29], c.present[29] = false, false
	// Column 7 varies: (1 + 2 + 6) / 3 = 3.
	a.coords[7], b.coords[7], c.coords[7] = 1, 2, 6

	var m Mean
	if err := m.Fit(newTrainingSet(nil, []faceRow{a, b, c})); err != nil {
		t.Fatal(err)
	}
	want := [dataset.NumCoords]float32{}
	for j := range want {
		want[j] = 30 // (10 + 20 + 60) / 3
	}
	want[0], want[29], want[7] = 35, 20, 3
	if got := m.Coords(); got != want {
		t.Errorf("Coords() = %v, want %v", got, want)
	}

	pred, err := m.Predict(make([]uint8, 2*dataset.PixelCount))
	if err != nil {
		t.Fatal(err)
	}
	if len(pred) != 2*dataset.NumCoords {
		t.Fatalf("Predict returned %d coordinates for 2 faces, want %d", len(pred), 2*dataset.NumCoords)
	}
	for i := range 2 {
		if got := pred[i*dataset.NumCoords:][:dataset.NumCoords]; !slices.Equal(got, want[:]) {
			t.Errorf("face %d: got %v, want %v", i, got, want)
		}
	}
}

func TestMeanPredictNoFaces(t *testing.T) {
	var m Mean
	if err := m.Fit(newTrainingSet(nil, []faceRow{fullRow(1)})); err != nil {
		t.Fatal(err)
	}
	pred, err := m.Predict(nil)
	if err != nil || len(pred) != 0 {
		t.Errorf("Predict(nil) = %v, %v; want no coordinates and no error", pred, err)
	}
}

// TestModelErrors checks the errors both models share.
func TestModelErrors(t *testing.T) {
	noNose := fullRow(40)
	noNose.present[2*10+1] = false // nose_tip_y
	tests := []struct {
		name    string
		train   *dataset.Set
		predict []uint8
		want    string // substring of the error; "" for success
	}{
		{"fit nil set", nil, nil, "no training faces"},
		{"fit empty set", &dataset.Set{}, nil, "no training faces"},
		{"fit test set", &dataset.Set{Images: make([]uint8, dataset.PixelCount), IDs: []int{1}}, nil, "no keypoints"},
		{"fit missing column", newTrainingSet(nil, []faceRow{noNose, noNose}), nil, "column nose_tip_y is empty in all 2 training faces: the baseline needs at least one value"},
		{"predict partial face", newTrainingSet(nil, []faceRow{fullRow(40)}), make([]uint8, dataset.PixelCount+5), "whole number"},
		{"fine", newTrainingSet(nil, []faceRow{fullRow(40)}), make([]uint8, dataset.PixelCount), ""},
	}
	for _, tt := range tests {
		for _, m := range []Model{&Mean{}, &Patch{PatchRadius: 3, SearchRadius: 1}} {
			t.Run(tt.name+"/"+typeName(m), func(t *testing.T) {
				err := m.Fit(tt.train)
				if err == nil {
					_, err = m.Predict(tt.predict)
				}
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("got error %v, want none", err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Errorf("got error %v, want one mentioning %q", err, tt.want)
				}
			})
		}
	}
}

func typeName(m Model) string {
	switch m.(type) {
	case *Mean:
		return "mean"
	case *Patch:
		return "patch"
	}
	return "unknown"
}

func TestPredictBeforeFit(t *testing.T) {
	for _, m := range []Model{&Mean{}, NewPatch()} {
		if _, err := m.Predict(make([]uint8, dataset.PixelCount)); err == nil {
			t.Errorf("%s: Predict before Fit succeeded", typeName(m))
		}
	}
}
