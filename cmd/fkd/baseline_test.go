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
	"github.com/fkd-project/fkd/report"
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
		{"out without test", []string{"mean", "--train", "t.csv", "--out", "o.csv", "--lookup", "l.csv"}, "--out needs"},
		{"test without out", []string{"mean", "--train", "t.csv", "--holdout", "0.1", "--test", "x.csv"}, "need --out"},
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
				baselineJob: baselineJob{Kind: kind, PatchRadius: 10, SearchRadius: 2, Workers: 2,
					Train: train, Test: test, Lookup: lookup, Out: out, Holdout: 0.2, Seed: 1},
				env: &report.Env{Stdout: &stdout, Stderr: &stderr},
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

// TestBaselineInputErrors checks that bad or empty inputs stop the
// baselines with one clear line naming what is wrong.
func TestBaselineInputErrors(t *testing.T) {
	train, test, lookup, _ := writeBaselineFiles(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A valid training file whose left_eye_center_x column is empty: the
	// first field of every row.
	data, err := os.ReadFile(train)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	for i := 1; i < len(lines); i++ {
		if j := strings.IndexByte(lines[i], ','); j > 0 {
			lines[i] = lines[i][j:]
		}
	}
	noLeftEyeX := write("noeye.csv", strings.Join(lines, ""))
	headerOnlyTest := write("test-header.csv", "ImageId,Image\n")
	lookupData, err := os.ReadFile(lookup)
	if err != nil {
		t.Fatal(err)
	}
	extraField := write("lookup-extra.csv", string(lookupData)+"999,1,nose_tip_x,,oops\n")
	headerOnlyLookup := write("lookup-header.csv", "RowId,ImageId,FeatureName,Location\n")
	png := write("training.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x60")

	tests := []struct {
		name string
		b    baselineJob
		want string
	}{
		{"empty column, hold-out", baselineJob{Kind: "mean", Train: noLeftEyeX, Holdout: 0.1},
			"column left_eye_center_x is empty in all 120 faces: the mean baseline needs at least one value"},
		{"empty column, submission", baselineJob{Kind: "patch", Train: noLeftEyeX, Test: test, Lookup: lookup, Out: filepath.Join(dir, "s.csv")},
			"column left_eye_center_x is empty"},
		{"header-only test file", baselineJob{Kind: "mean", Train: train, Test: headerOnlyTest, Lookup: lookup, Out: filepath.Join(dir, "s.csv")},
			"no faces in " + headerOnlyTest},
		{"lookup row with an extra field", baselineJob{Kind: "mean", Train: train, Test: test, Lookup: extraField, Out: filepath.Join(dir, "s.csv")},
			"line 47: got 5 fields, want 4"},
		{"header-only lookup", baselineJob{Kind: "mean", Train: train, Test: test, Lookup: headerOnlyLookup, Out: filepath.Join(dir, "s.csv")},
			"no rows in " + headerOnlyLookup},
		{"binary training file", baselineJob{Kind: "mean", Train: png, Holdout: 0.1},
			png + " is not a CSV file: it looks like a PNG image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			o := baselineOptions{baselineJob: tt.b, env: &report.Env{Stdout: &stdout, Stderr: &stderr}}
			o.PatchRadius, o.SearchRadius, o.Seed = 10, 2, 1
			if err := o.check(); err != nil {
				t.Fatal(err)
			}
			err := o.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "s.csv")); err == nil {
				t.Error("a submission was written")
			}
		})
	}
}

// TestBaselineMissingImages checks that the warning about lookup ImageIds
// absent from the test file names the first few of them.
func TestBaselineMissingImages(t *testing.T) {
	train, test, lookup, rows := writeBaselineFiles(t)
	f, err := os.OpenFile(lookup, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []int{501, 502, 501, 503, 504, 505, 506, 507} {
		fmt.Fprintf(f, "%d,%d,nose_tip_x,\n", rows+1+i, id)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	o := baselineOptions{baselineJob: baselineJob{Kind: "mean", PatchRadius: 10, SearchRadius: 2, Seed: 1,
		Train: train, Test: test, Lookup: lookup, Out: filepath.Join(t.TempDir(), "s.csv")},
		env: &report.Env{Stdout: &stdout, Stderr: &stderr}}
	if err := o.run(); err != nil {
		t.Fatal(err)
	}
	want := "warning: 7 ImageIds of the lookup table are not in the test file (501, 502, 503, 504, 505, ...)"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}
