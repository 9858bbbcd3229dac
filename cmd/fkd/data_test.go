package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func TestDataCheck(t *testing.T) {
	dir := t.TempDir()
	o := synthOptions{out: dir, n: 10, test: 3, seed: 1, partial: 0.5}
	if err := o.run(new(bytes.Buffer)); err != nil {
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
		opt     dataCheckOptions
		want    []string // in the output
		wantErr string
	}{
		{"training", dataCheckOptions{path: train}, []string{"training data", "read 10 rows", "faces: 10 kept, 0 skipped", "nose_tip_x  ", "complete rows"}, ""},
		{"test by header", dataCheckOptions{path: filepath.Join(dir, "test.csv")}, []string{"test data", "ImageIds: 1..3"}, ""},
		{"test by flag", dataCheckOptions{path: filepath.Join(dir, "test.csv"), test: true}, []string{"faces: 3 kept"}, ""},
		{"bad row", dataCheckOptions{path: bad}, nil, `bad.csv line 4 column "left_eye_center_x"`},
		{"skip bad row", dataCheckOptions{path: bad, skipBad: true}, []string{"faces: 9 kept, 1 skipped", "bad rows: 1", "line 4 column"}, ""},
		{"bad test row", dataCheckOptions{path: badTest}, nil, `badtest.csv line 4 column "Image": got 9215 pixels, want 9216`},
		{"header-only training file", dataCheckOptions{path: trainHeader}, nil, "no faces in " + trainHeader},
		{"header-only test file", dataCheckOptions{path: testHeader}, nil, "no faces in " + testHeader},
		{"header-only test file by flag", dataCheckOptions{path: testHeader, test: true}, nil, "no faces in " + testHeader},
		{"label outliers", dataCheckOptions{path: mislabelled}, []string{"label outliers: 1\n  line 5: mouth_left_corner ("}, ""},
		{"no label outliers", dataCheckOptions{path: train}, []string{"label outliers: 0\n"}, ""},
		{"lookup is neither", dataCheckOptions{path: filepath.Join(dir, "IdLookupTable.csv")}, nil, `line 1 column "RowId": unexpected column`},
		{"missing", dataCheckOptions{path: filepath.Join(dir, "nope.csv")}, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := tt.opt.run(&out)
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
	var stdout, stderr bytes.Buffer
	if status := run([]string{"data", "verify", train}, &stdout, &stderr); status != 2 {
		t.Errorf("unknown sub-command: status %d", status)
	}
}
