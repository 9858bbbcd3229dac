package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestScoreFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := write("sol.csv", "RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x,50\n2,1,nose_tip_y,40\n")
	short := write("sol-short.csv", "RowId,Location\n1,50\n2,40\n")
	sub := write("sub.csv", "RowId,Location\n1,53\n2,44\n")
	oneRow := write("one.csv", "RowId,Location\n1,53\n")
	tests := []struct {
		name, sub, sol string
		want           []string // lines of the output, fields single-spaced
		wantErr        string
	}{
		// errors 3 and 4: sqrt(25/2) = 3.5355
		{"per keypoint", sub, long, []string{"RMSE 3.5355 over 2 scored rows", "keypoint RMSE", "nose_tip 3.5355", "left_eye_center -"}, ""},
		{"overall only", sub, short, []string{"RMSE 3.5355 over 2 scored rows"}, ""},
		{"a row missing", oneRow, long, nil, "RowId 2 (solution line 3)"},
		{"no submission", filepath.Join(dir, "none.csv"), long, nil, "none.csv"},
		{"no solution", sub, filepath.Join(dir, "none.csv"), nil, "none.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score, err := ScoreFiles(tt.sub, tt.sol)
			if wantErr(t, err, tt.wantErr) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := score.Write(&out); err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
			for _, want := range tt.want {
				if !slices.Contains(lines, want) {
					t.Errorf("output lacks line %q:\n%s", want, out.String())
				}
			}
			if len(tt.want) == 1 && len(lines) != 1 {
				t.Errorf("output has %d lines, want 1:\n%s", len(lines), out.String())
			}
		})
	}
}
