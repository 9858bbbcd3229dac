package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/report"
)

func TestBaselineModelAndName(t *testing.T) {
	tests := []struct {
		b        baselineJob
		wantName string
		isPatch  bool
	}{
		{baselineJob{Kind: "mean"}, "mean baseline", false},
		{baselineJob{Kind: "patch", PatchRadius: 10, SearchRadius: 2, Workers: 3}, "patch search (patch radius 10, search radius 2)", true},
	}
	for _, tt := range tests {
		if got := tt.b.String(); got != tt.wantName {
			t.Errorf("%s: named %q, want %q", tt.b.Kind, got, tt.wantName)
		}
		p, isPatch := tt.b.Model().(*baseline.Patch)
		if isPatch != tt.isPatch || isPatch && (p.PatchRadius != 10 || p.SearchRadius != 2 || p.Workers != 3) {
			t.Errorf("%s: model %#v", tt.b.Kind, tt.b.Model())
		}
	}
}

func TestBaselineCheckColumns(t *testing.T) {
	rep := &dataset.Report{Source: "t.csv", Read: 5}
	for j := range rep.Present {
		rep.Present[j] = 5
	}
	b := baselineJob{Kind: "patch"}
	if err := b.CheckColumns(rep); err != nil {
		t.Errorf("every column present: %v", err)
	}
	rep.Present[21] = 0
	want := "t.csv: column nose_tip_y is empty in all 5 faces: the patch baseline needs at least one value in every keypoint column"
	if err := b.CheckColumns(rep); err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestRunBaseline scores the mean baseline on a hold-out part and writes
// its submission, as fkd baseline does.
func TestRunBaseline(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.WriteFiles(dir, 60, 5, 1, 1, synth.Options{PartialFrac: 0.5}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "new", "sub.csv") // its folder is made
	b := baselineJob{Kind: "mean", Train: filepath.Join(dir, "training.csv"), Holdout: 0.2, Seed: 1,
		Test: filepath.Join(dir, "test.csv"), Lookup: filepath.Join(dir, "IdLookupTable.csv"), Out: out}
	var stdout, stderr bytes.Buffer
	env := &report.Env{Stdout: &stdout, Stderr: &stderr}
	if err := runBaselineJob(env, b); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "mean baseline: fitted on 48 faces, scored on 12 hold-out faces (fraction 0.2, seed 1)") ||
		len(lines) != 3+dataset.NumKeypoints+1 {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	for _, want := range []string{"read " + b.Train + ": 60 faces", "read " + b.Test + ": 5 faces", "wrote " + out + ": 150 rows, 0 filled with training means"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if sub, err := os.ReadFile(out); err != nil || strings.Count(string(sub), "\n") != 151 {
		t.Errorf("submission: %v, %d lines", err, strings.Count(string(sub), "\n"))
	}
}
