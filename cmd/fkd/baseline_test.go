package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func TestBaselineUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no model", []string{"--train", "t.csv", "--holdout", "0.1"}, "want one model"},
		{"unknown model", []string{"median", "--train", "t.csv", "--holdout", "0.1"}, "want one model"},
		{"no train", []string{"mean", "--holdout", "0.1"}, "--train is required"},
		{"nothing to do", []string{"mean", "--train", "t.csv"}, "nothing to do"},
		{"holdout of one", []string{"mean", "--train", "t.csv", "--holdout", "1"}, "outside [0, 1)"},
		{"outfile without test", []string{"mean", "--train", "t.csv", "--outfile", "o.csv", "--lookup", "l.csv"}, "--outfile needs"},
		{"test without outfile", []string{"mean", "--train", "t.csv", "--holdout", "0.1", "--test", "x.csv"}, "need --outfile"},
		{"patch flag on mean", []string{"mean", "--train", "t.csv", "--holdout", "0.1", "--search-radius", "3"}, "--search-radius applies"},
		{"zero patch radius", []string{"patch", "--train", "t.csv", "--holdout", "0.1", "--patch-radius", "0"}, "below 1"},
		{"bad flag", []string{"patch", "--train", "t.csv", "--radius", "3"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append([]string{"baseline"}, tt.args...), &stdout, &stderr)
			if status != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("status %d, stderr %q; want status 2 and %q", status, stderr.String(), tt.want)
			}
		})
	}
}

// writeBaselineFiles writes synthetic training and test files and a lookup
// table asking for a few coordinates of each test image; it returns their
// paths and the number of lookup rows.
func writeBaselineFiles(t *testing.T) (train, test, lookup string, rows int) {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, fill func(f *os.File) error) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := fill(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	trainSet := synth.Generate(120, 1, synth.Options{PartialFrac: 0.5})
	testSet := synth.Generate(9, 2, synth.Options{})
	train = write("training.csv", func(f *os.File) error { return dataset.WriteTraining(f, trainSet) })
	test = write("test.csv", func(f *os.File) error { return dataset.WriteTest(f, testSet) })
	lookup = write("IdLookupTable.csv", func(f *os.File) error {
		fmt.Fprintln(f, "RowId,ImageId,FeatureName,Location")
		names := dataset.CoordNames()
		for _, id := range testSet.IDs {
			for _, c := range []int{0, 1, 20, 21, 29} {
				rows++
				fmt.Fprintf(f, "%d,%d,%s,\n", rows, id, names[c])
			}
		}
		return nil
	})
	return train, test, lookup, rows
}

func TestBaselineHoldoutAndSubmission(t *testing.T) {
	train, test, lookup, rows := writeBaselineFiles(t)
	for _, kind := range []string{"mean", "patch"} {
		t.Run(kind, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			out := filepath.Join(t.TempDir(), "submission.csv")
			o := baselineOptions{
				kind: kind, train: train, test: test, lookup: lookup, out: out,
				patchRadius: 10, searchRadius: 2, workers: 2, holdout: 0.2, seed: 1,
				stdout: &stdout, stderr: &stderr,
			}
			if err := o.check(); err != nil {
				t.Fatal(err)
			}
			if err := o.run(); err != nil {
				t.Fatalf("%v\nstderr: %s", err, stderr.String())
			}

			// The table: a title, a blank line, a header, 15 keypoints, the total.
			lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
			if len(lines) != 3+dataset.NumKeypoints+1 {
				t.Fatalf("hold-out report has %d lines:\n%s", len(lines), stdout.String())
			}
			total := strings.Fields(lines[len(lines)-1])
			if total[0] != "all" || total[2] != "24" {
				t.Errorf("last line %q, want the total over 24 hold-out faces", lines[len(lines)-1])
			}
			if rmse, err := strconv.ParseFloat(total[3], 64); err != nil || !(rmse > 0 && rmse < 20) {
				t.Errorf("overall RMSE %q is not a plausible number", total[3])
			}

			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			sub := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			if sub[0] != "RowId,Location" || len(sub) != rows+1 {
				t.Fatalf("submission has header %q and %d lines, want RowId,Location and %d", sub[0], len(sub), rows+1)
			}
			for _, line := range sub[1:] {
				_, loc, _ := strings.Cut(line, ",")
				if v, err := strconv.ParseFloat(loc, 64); err != nil || v <= 0 || v >= dataset.ImageSize {
					t.Errorf("submission line %q: location is not inside the image", line)
				}
			}
			if !strings.Contains(stderr.String(), "0 filled") {
				t.Errorf("stderr does not report the filled rows: %s", stderr.String())
			}
		})
	}
}
