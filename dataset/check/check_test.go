package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.WriteFiles(dir, 10, 3, 1, 0, synth.Options{PartialFrac: 0.5}); err != nil {
		t.Fatal(err)
	}
	train := filepath.Join(dir, "training.csv")
	data, _ := os.ReadFile(train)
	lines := strings.SplitAfter(string(data), "\n")
	lines[3] = "x" + lines[3] // line 4: left_eye_center_x is not a number
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644)

	// A test file whose third face lacks its last pixel (line 4).
	testData, _ := os.ReadFile(filepath.Join(dir, "test.csv"))
	testLines := strings.SplitAfter(string(testData), "\n")
	testLines[3] = testLines[3][:strings.LastIndexByte(testLines[3], ' ')] + "\n"
	badTest := filepath.Join(dir, "badtest.csv")
	os.WriteFile(badTest, []byte(strings.Join(testLines, "")), 0o644)

	// Header-only files.
	trainHeader := filepath.Join(dir, "train-header.csv")
	os.WriteFile(trainHeader, []byte(lines[0]), 0o644)
	testHeader := filepath.Join(dir, "test-header.csv")
	os.WriteFile(testHeader, []byte(testLines[0]), 0o644)

	// A training file with a mouth corner above the eyes on line 5.
	set := synth.Generate(40, 3, synth.Options{})
	c, _ := set.Keypoints(3)
	c[22], c[23] = c[2]-5, c[3]-6 // mouth_left_corner above the right eye centre
	var buf bytes.Buffer
	if err := dataset.WriteTraining(&buf, set); err != nil {
		t.Fatal(err)
	}
	mislabelled := filepath.Join(dir, "mislabelled.csv")
	os.WriteFile(mislabelled, buf.Bytes(), 0o644)

	tests := []struct {
		name    string
		path    string
		opt     Options
		want    []string // in the output
		wantErr string
	}{
		{"training", train, Options{}, []string{"training data", "read 10 rows", "faces: 10 kept, 0 skipped", "nose_tip_x  ", "complete rows"}, ""},
		{"test by header", filepath.Join(dir, "test.csv"), Options{}, []string{"test data", "ImageIds: 1..3"}, ""},
		{"test by flag", filepath.Join(dir, "test.csv"), Options{Test: true}, []string{"faces: 3 kept"}, ""},
		{"bad row", bad, Options{}, nil, `bad.csv line 4 column "left_eye_center_x"`},
		{"skip bad row", bad, Options{SkipBad: true}, []string{"faces: 9 kept, 1 skipped", "bad rows: 1", "line 4 column"}, ""},
		{"bad test row", badTest, Options{}, nil, `badtest.csv line 4 column "Image": got 9215 pixels, want 9216`},
		{"header-only training file", trainHeader, Options{}, nil, "no faces in " + trainHeader},
		{"header-only test file", testHeader, Options{}, nil, "no faces in " + testHeader},
		{"header-only test file by flag", testHeader, Options{Test: true}, nil, "no faces in " + testHeader},
		{"label outliers", mislabelled, Options{}, []string{"label outliers: 1\n  line 5: mouth_left_corner ("}, ""},
		{"no label outliers", train, Options{}, []string{"label outliers: 0\n"}, ""},
		{"lookup is neither", filepath.Join(dir, "IdLookupTable.csv"), Options{}, nil, `line 1 column "RowId": unexpected column`},
		{"missing", filepath.Join(dir, "nope.csv"), Options{}, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := File(&out, tt.path, tt.opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestWriteOutliersListsTheFirst(t *testing.T) {
	tests := []struct {
		n         int
		wantHead  string
		wantLines int
	}{
		{0, "\nlabel outliers: 0\n", 0},
		{3, "\nlabel outliers: 3\n", 3},
		{MaxListedOutliers + 7, "\nlabel outliers: 57 (the first 50 below)\n", MaxListedOutliers},
	}
	for _, tt := range tests {
		var outliers []dataset.Outlier
		for i := range tt.n {
			outliers = append(outliers, dataset.Outlier{Row: i, Line: i + 2, Reason: "nose_tip far from the others"})
		}
		var out bytes.Buffer
		writeOutliers(&out, outliers)
		if !strings.HasPrefix(out.String(), tt.wantHead) || strings.Count(out.String(), "\n  line ") != tt.wantLines {
			t.Errorf("%d outliers:\n%s", tt.n, out.String())
		}
	}
}
