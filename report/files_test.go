package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/train"
)

func TestOutputsFor(t *testing.T) {
	fixed := []string{"r/curves.png", "r/keypoints.png", "r/errors.png", "r/landmarks.png", "r/index.html", "r/README.md", "r/" + ResultsName}
	tests := []struct {
		labels []string
		want   []string
	}{
		{nil, fixed},
		{[]string{"cnn3", "fpn:width=48"}, append(slices.Clone(fixed), "r/curves-cnn3.png", "r/curves-fpn-width-48.png")},
	}
	for _, tt := range tests {
		if got := OutputsFor("r", tt.labels); !slices.Equal(got, tt.want) {
			t.Errorf("OutputsFor(r, %q) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}

// TestOutputsOfRuns: the charts of learning curves are named by the
// finished runs' labels; runs that cannot be read give the fixed files.
func TestOutputsOfRuns(t *testing.T) {
	dir := t.TempDir()
	for _, run := range []string{"a", "b"} {
		h := &train.History{Config: train.DefaultConfig(), Stopped: "completed 1 epochs", Epochs: []train.EpochStats{{}}}
		h.Config.Model, h.Config.Holdout = "cnn3", 0.1
		if err := train.WriteHistory(filepath.Join(dir, run, "model.history.json"), h); err != nil {
			t.Fatal(err)
		}
	}
	runs := Runs(filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	got := Outputs(runs, "out")
	for _, want := range []string{"out/index.html", "out/curves-cnn3--a.png", "out/curves-cnn3--b.png"} {
		if !slices.Contains(got, want) {
			t.Errorf("Outputs = %q, lacks %q", got, want)
		}
	}
	if got := Outputs(Runs(filepath.Join(dir, "none")), "out"); len(got) != 7 {
		t.Errorf("Outputs of a missing run = %q, want the 7 fixed files", got)
	}
	if in := Inputs(runs); !slices.Contains(in, filepath.Join(dir, "a", "model.pt")) || !slices.Contains(in, filepath.Join(dir, "b", "model.history.json")) {
		t.Errorf("Inputs = %q", in)
	}
}

func TestExpandMissing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ arg, want string }{
		{filepath.Join(dir, "nowhere"), "no such folder or file"},
		{filepath.Join(dir, "file", "run"), "not a directory"},
	}
	for _, tt := range tests {
		_, _, err := Expand([]string{tt.arg})
		if err == nil || !strings.Contains(err.Error(), "run "+tt.arg+": "+tt.want) {
			t.Errorf("Expand(%s): %v, want %q", tt.arg, err, tt.want)
		}
	}
	if runs, _, err := Expand([]string{dir}); err != nil || len(runs) != 1 {
		t.Errorf("Expand(existing folder) = %v, %v", runs, err)
	}
}

// TestWriteAllOrNone: a report that cannot write one of its files
// replaces none of the earlier report's, and leaves no temporary file.
func TestWriteAllOrNone(t *testing.T) {
	r, _, _ := fixtureReport(t)
	dir := t.TempDir()
	old := map[string]string{"curves.png": "earlier chart", "index.html": "earlier page"}
	for name, text := range old {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "README.md"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := r.write(dir); err == nil || !strings.Contains(err.Error(), "README.md") {
		t.Fatalf("write: %v, want an error naming README.md", err)
	}
	for name, text := range old {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != text {
			t.Errorf("%s: %q, %v; want the earlier %q", name, b, err, text)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %q", tmp)
	}
}
