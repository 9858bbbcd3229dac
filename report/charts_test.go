package report

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/train"
)

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
