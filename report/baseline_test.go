package report

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/train"
)

func TestBaselineModelAndName(t *testing.T) {
	tests := []struct {
		b        Baseline
		wantName string
		isPatch  bool
	}{
		{Baseline{Kind: "mean"}, "mean baseline", false},
		{Baseline{Kind: "patch", PatchRadius: 10, SearchRadius: 2, Workers: 3}, "patch search (patch radius 10, search radius 2)", true},
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
	b := Baseline{Kind: "patch"}
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
	b := Baseline{Kind: "mean", Train: filepath.Join(dir, "training.csv"), Holdout: 0.2, Seed: 1,
		Test: filepath.Join(dir, "test.csv"), Lookup: filepath.Join(dir, "IdLookupTable.csv"), Out: out}
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr}
	if err := env.RunBaseline(b); err != nil {
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

func TestChartSize(t *testing.T) {
	tests := []struct {
		chart         string
		width, height int
		w, h          int
	}{
		{"curves", 0, 0, ChartWidth, ChartHeight},
		{"landmarks", 0, 0, LandmarksWidth, LandmarksHeight},
		{"curves", 500, 0, 500, ChartHeight},
		{"landmarks", 0, 300, LandmarksWidth, 300},
	}
	for _, tt := range tests {
		if w, h := ChartSize(tt.chart, tt.width, tt.height); w != tt.w || h != tt.h {
			t.Errorf("ChartSize(%q, %d, %d) = %d, %d; want %d, %d", tt.chart, tt.width, tt.height, w, h, tt.w, tt.h)
		}
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(filepath.Join(dir, "new", "report")); err != nil {
		t.Errorf("a folder to make: %v", err)
	}
	if err := CheckDir(file); err == nil || !strings.HasPrefix(err.Error(), "report folder "+file+": ") {
		t.Errorf("a file: got %v, want an error naming the report folder", err)
	}
}

func TestCurves(t *testing.T) {
	dir := t.TempDir()
	h := &train.History{Config: train.DefaultConfig(), BestEpoch: 2}
	h.Config.Model = "cnn3:width=4"
	for e := 1; e <= 3; e++ {
		h.Epochs = append(h.Epochs, train.EpochStats{Epoch: e, TrainRMSEPx: 10 / float64(e), HoldoutRMSEPx: 12 / float64(e)})
	}
	histPath := filepath.Join(dir, "model.history.json")
	if err := train.WriteHistory(histPath, h); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "curves.png")
	got, err := Curves(histPath, out, 400, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Epochs) != 3 || got.Config.Model != "cnn3:width=4" {
		t.Errorf("history of %d epochs of %s", len(got.Epochs), got.Config.Model)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != 400 || cfg.Height != 300 {
		t.Errorf("%s: %v, %dx%d; want a 400x300 PNG", out, err, cfg.Width, cfg.Height)
	}
	if _, err := Curves(filepath.Join(dir, "none.json"), out, 400, 300); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("no history: %v", err)
	}
}
