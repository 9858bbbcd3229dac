package dataset

import (
	"math"
	"strings"
	"testing"
)

// wantErr is for a case table's wantErr column, in the tests of package
// dataset: where want is "", it returns false and the case goes on; else
// err must contain want (the test fails at once if not) and it returns
// true, the case done.
func wantErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
	return true
}

func TestScoreSubmission(t *testing.T) {
	const solution = "RowId,ImageId,FeatureName,Location\r\n" +
		"1,1,left_eye_center_x,60\r\n" +
		"2,1,left_eye_center_y,\r\n" + // not scored
		"3,1,nose_tip_x,50\r\n" +
		"4,2,nose_tip_y,40\r\n"
	tests := []struct {
		name, sub string
		want      float64 // NaN: want an error containing wantErr
		wantErr   string
	}{
		// errors 3, 4, 0 over three scored rows: sqrt(25/3)
		{"in order", "RowId,Location\n1,63\n2,0\n3,54\n4,40\n", math.Sqrt(25.0 / 3), ""},
		{"any order, unscored empty", "RowId,Location\n4,40\n3,54\n2,\n1,63\n", math.Sqrt(25.0 / 3), ""},
		{"perfect", "RowId,Location\n1,60\n2,1\n3,50\n4,40\n", 0, ""},
		{"missing row", "RowId,Location\n1,60\n2,1\n4,40\n", math.NaN(), "lacks 1 of the solution's RowIds, the first RowId 3 (solution line 4)"},
		{"extra row", "RowId,Location\n1,60\n2,1\n3,50\n4,40\n5,0\n", math.NaN(), `submission line 6 column "RowId": RowId 5 is not in the solution`},
		{"repeated row", "RowId,Location\n1,60\n1,60\n", math.NaN(), `submission line 3 column "RowId": RowId 1 repeats line 2`},
		{"empty answer", "RowId,Location\n1,\n", math.NaN(), `submission line 2 column "Location": "" is not a number`},
		{"NaN answer", "RowId,Location\n1,NaN\n", math.NaN(), `"NaN" is not a number`},
		{"no Location", "RowId\n1\n", math.NaN(), `submission line 1 column "Location": column missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScoreSubmission(strings.NewReader(tt.sub), strings.NewReader(solution))
			if wantErr(t, err, tt.wantErr) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.RMSE-tt.want) > 1e-12 || got.Scored != 3 {
				t.Errorf("RMSE %v over %d rows, want %v over 3", got.RMSE, got.Scored, tt.want)
			}
		})
	}
	got, _ := ScoreSubmission(strings.NewReader("RowId,Location\n1,63\n2,0\n3,54\n4,40\n"), strings.NewReader(solution))
	// left eye: error 3 (its y is not scored); nose: errors 4 and 0.
	if got.PerKeypoint[0] != 3 || math.Abs(got.PerKeypoint[10]-math.Sqrt(8)) > 1e-12 || !math.IsNaN(got.PerKeypoint[1]) {
		t.Errorf("per keypoint %v", got.PerKeypoint)
	}
}

func TestScoreSolutionErrors(t *testing.T) {
	tests := []struct{ name, sol, want string }{
		{"bad location", "RowId,Location\n1,x\n", `solution line 2 column "Location": "x" is not a number`},
		{"bad feature", "RowId,FeatureName,Location\n1,nose,3\n", `solution line 2 column "FeatureName": unknown feature "nose"`},
		{"repeat", "RowId,Location\n1,3\n1,4\n", `solution line 3 column "RowId": RowId 1 repeats line 2`},
		{"empty", "", "solution: empty file"},
	}
	for _, tt := range tests {
		_, err := ScoreSubmission(strings.NewReader("RowId,Location\n"), strings.NewReader(tt.sol))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
