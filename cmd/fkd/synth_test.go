package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

func TestSynthUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"--n", "3"}, "--out is required"},
		{"negative n", []string{"--out", "d", "--n", "-1"}, "must not be negative"},
		{"bad partial", []string{"--out", "d", "--partial", "1.5"}, "--partial 1.5 is outside"},
		{"bad full", []string{"--out", "d", "--full", "-0.1"}, "--full -0.1 is outside"},
		{"argument", []string{"--out", "d", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if status := run(append([]string{"synth"}, tt.args...), &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: status %d, stderr %q; want 2 and %q", tt.name, status, stderr.String(), tt.want)
		}
	}
}

// TestSynthFiles writes a synthetic data set and reads every file back
// with the dataset package.
func TestSynthFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "synth")
	o := synthOptions{out: dir, n: 40, test: 12, seed: 3, partial: 0.5, full: 0.5}
	var out bytes.Buffer
	if err := o.run(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote 40 training faces") {
		t.Errorf("output %q", out.String())
	}
	train, rep, err := dataset.ReadTraining(filepath.Join(dir, "training.csv"), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 40 || rep.Complete == 0 || rep.Complete == 40 {
		t.Errorf("training: %d faces, %d complete", train.Len(), rep.Complete)
	}
	test, _, err := dataset.ReadTest(filepath.Join(dir, "test.csv"), dataset.ReadOptions{})
	if err != nil || test.Len() != 12 {
		t.Fatalf("test: %v, %d faces", err, test.Len())
	}
	rows, err := dataset.ReadLookup(filepath.Join(dir, "IdLookupTable.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ImageID < 1 || r.ImageID > 12 {
			t.Fatalf("lookup asks for image %d", r.ImageID)
		}
	}
	// The sample submission scores badly against the solution; the
	// solution scores 0 against itself.
	sample, _ := os.ReadFile(filepath.Join(dir, "SampleSubmission.csv"))
	solution, _ := os.ReadFile(filepath.Join(dir, "solution.csv"))
	if n := strings.Count(string(sample), "\n"); n != len(rows)+1 {
		t.Errorf("sample submission has %d lines for %d lookup rows", n, len(rows))
	}
	if s, err := dataset.ScoreSubmission(bytes.NewReader(sample), bytes.NewReader(solution)); err != nil || s.RMSE < 20 {
		t.Errorf("sample scores %v, %v; want a large RMSE", s.RMSE, err)
	}
	if s, err := dataset.ScoreSubmission(bytes.NewReader(solution), bytes.NewReader(solution)); err != nil || s.RMSE != 0 || s.Scored != len(rows) {
		t.Errorf("solution scores %v over %d rows, %v", s.RMSE, s.Scored, err)
	}

	// The same seed writes the same files.
	again := o
	again.out = filepath.Join(t.TempDir(), "again")
	if err := again.run(&out); err != nil {
		t.Fatal(err)
	}
	for _, name := range synthFiles {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(again.out, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
	}
}
