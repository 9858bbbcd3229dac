package dataset

// Tests added by a mutation pass over metrics.go, score.go and split.go:
// each one fails for a small change to the code (a flipped comparison, a
// dropped term, a changed constant) that the other tests let through.

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// keypointSet returns a set of faces whose keypoints are present as rows
// gives: bit k of rows[i] set means face i has keypoint k (both its
// coordinates). The coordinates are arbitrary.
func keypointSet(rows []uint32) *Set {
	n := len(rows)
	s := &Set{
		Images: make([]uint8, n*PixelCount),
		Coords: make([]float32, n*NumCoords),
		Mask:   make([]bool, n*NumCoords),
	}
	for i, bits := range rows {
		c, m := s.Keypoints(i)
		for k := range NumKeypoints {
			if bits&(1<<k) != 0 {
				c[2*k], c[2*k+1] = float32(10+k), float32(20+i%50)
				m[2*k], m[2*k+1] = true, true
			}
		}
	}
	return s
}

const allKeypoints = 1<<NumKeypoints - 1

func TestPerKeypointRMSEEveryKeypoint(t *testing.T) {
	// Two rows. Keypoint k is off by k+1 in x in row 0 and exact
	// elsewhere, so its RMSE over 4 coordinates is (k+1)/2; in row 1 its
	// y is missing and off by 1000, which must not count.
	pred := make([]float32, 2*NumCoords)
	truth := make([]float32, 2*NumCoords)
	mask := make([]bool, 2*NumCoords)
	for i := range mask {
		mask[i] = true
	}
	for k := range NumKeypoints {
		pred[2*k] = float32(k + 1)
		pred[NumCoords+2*k+1], mask[NumCoords+2*k+1] = 1000, false
	}
	got := PerKeypointRMSE(pred, truth, mask)
	for k := range NumKeypoints {
		if want := float64(k+1) / math.Sqrt(3); !sameFloat(got[k], want, 1e-12) {
			t.Errorf("keypoint %d: RMSE %v, want %v", k, got[k], want)
		}
	}
	// Without a mask every coordinate counts, the 1000s too.
	got = PerKeypointRMSE(pred, truth, nil)
	for k := range NumKeypoints {
		want := math.Sqrt((float64((k+1)*(k+1)) + 1e6) / 4)
		if !sameFloat(got[k], want, 1e-9) {
			t.Errorf("no mask, keypoint %d: RMSE %v, want %v", k, got[k], want)
		}
	}
}

func TestScoreSubmissionEdges(t *testing.T) {
	const solution = "RowId,Location\n1,10\n2,20\n"
	tests := []struct {
		name, sub, sol string
		want           float64 // NaN: no row scored
		scored         int
		wantErr        string
	}{
		{"Inf answer", "RowId,Location\n1,Inf\n2,20\n", solution, 0, 0, `submission line 2 column "Location": "Inf" is not a number`},
		{"-Inf answer", "RowId,Location\n1,10\n2,-Inf\n", solution, 0, 0, `submission line 3 column "Location": "-Inf" is not a number`},
		{"Inf truth", "RowId,Location\n1,10\n2,20\n", "RowId,Location\n1,+Inf\n2,20\n", 0, 0, `solution line 2 column "Location": "+Inf" is not a number`},
		{"NaN truth", "RowId,Location\n1,10\n2,20\n", "RowId,Location\n1,10\n2,NaN\n", 0, 0, `solution line 3 column "Location": "NaN" is not a number`},
		{"nothing scored", "RowId,Location\n1,3\n2,4\n", "RowId,Location\n1,\n2,\n", math.NaN(), 0, ""},
		{"no FeatureName", "RowId,Location\n2,26\n1,2\n", solution, math.Sqrt((64 + 36) / 2.0), 2, ""},
		{"two missing", "RowId,Location\n2,20\n", "RowId,Location\n3,1\n1,10\n2,20\n", 0, 0,
			"lacks 2 of the solution's RowIds, the first RowId 3 (solution line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScoreSubmission(strings.NewReader(tt.sub), strings.NewReader(tt.sol))
			if wantErr(t, err, tt.wantErr) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameFloat(got.RMSE, tt.want, 1e-12) || got.Scored != tt.scored {
				t.Errorf("RMSE %v over %d rows, want %v over %d", got.RMSE, got.Scored, tt.want, tt.scored)
			}
			for k, v := range got.PerKeypoint {
				if !math.IsNaN(v) {
					t.Errorf("keypoint %d: %v without a FeatureName column, want NaN", k, v)
				}
			}
		})
	}
}

func TestSplitGroupsByWholeKeypoints(t *testing.T) {
	// Two faces: one complete, one lacking only the y of keypoint 0. A
	// keypoint counts only with both coordinates, so they are two groups
	// of one face, and 5% of one face rounds to none held out.
	s := keypointSet([]uint32{allKeypoints, allKeypoints})
	_, m := s.Keypoints(1)
	m[1] = false
	for seed := range int64(5) {
		if train, hold := Split(s, 0.05, seed); len(hold) != 0 || len(train) != 2 {
			t.Errorf("seed %d: split %v / %v, want both faces in training", seed, train, hold)
		}
	}
}

func TestSplitKeepsATrainingFace(t *testing.T) {
	// Groups of 2, 3 and 4 faces: holding out 95% still leaves one face
	// of each group for training, and 5% still holds one out.
	var rows []uint32
	for g, size := range []int{2, 3, 4} {
		for range size {
			rows = append(rows, uint32(1)<<g)
		}
	}
	s := keypointSet(rows)
	tests := []struct {
		frac      float64
		wantTrain int
	}{
		{0.95, 3},
		{0.05, 9 - 3},
		{0.5, 1 + 1 + 2}, // 1, 1.5 → 2, 2
		{1, 0},
		{0, 9},
	}
	for _, tt := range tests {
		train, hold := Split(s, tt.frac, 3)
		if len(train) != tt.wantTrain || len(train)+len(hold) != 9 {
			t.Errorf("frac %v: %d training and %d held-out faces, want %d training of 9",
				tt.frac, len(train), len(hold), tt.wantTrain)
		}
	}
}

// TestSplitPinned pins one split. A change to the generator, its seeding
// or the order groups are drawn in changes every hold-out set: a model
// file's hold-out RMSE would then be measured on faces it trained on, and
// runs made before could not be compared with runs made after.
func TestSplitPinned(t *testing.T) {
	rows := make([]uint32, 40)
	for i := range rows {
		rows[i] = []uint32{allKeypoints, 1 | 2 | 1<<10 | 1<<14, 1<<10 | 1<<11, 0, 1 << 3}[i%5]
	}
	s := keypointSet(rows)
	tests := []struct {
		frac float64
		seed int64
		want []int
	}{
		{0.25, 1, []int{1, 2, 17, 20, 26, 33, 34, 35, 38, 39}},
		{0.25, 2, []int{4, 6, 8, 12, 25, 27, 30, 34, 36, 38}},
		{0.1, 1, []int{2, 20, 26, 34, 38}},
	}
	for _, tt := range tests {
		for range 3 { // the same each time, whatever the map order
			train, hold := Split(s, tt.frac, tt.seed)
			if !slices.Equal(hold, tt.want) {
				t.Errorf("frac %v seed %d: held out %v, want %v", tt.frac, tt.seed, hold, tt.want)
				break
			}
			if len(train)+len(hold) != len(rows) {
				t.Errorf("frac %v seed %d: %d + %d faces of %d", tt.frac, tt.seed, len(train), len(hold), len(rows))
			}
		}
	}
}
