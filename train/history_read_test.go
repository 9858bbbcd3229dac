package train

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestReadHistory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.history.json")
	best := 1.5
	want := &History{
		Config: DefaultConfig(), BestEpoch: 1, BestHoldoutRMSEPx: &best, Stopped: "done",
		Epochs: []EpochStats{{Epoch: 1, TrainLoss: 0.5, TrainRMSEPx: 2, HoldoutLoss: math.NaN(), HoldoutRMSEPx: math.NaN(), LR: 1e-3, Seconds: 3}},
	}
	if err := WriteHistory(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stopped != "done" || got.BestEpoch != 1 || *got.BestHoldoutRMSEPx != best || len(got.Epochs) != 1 ||
		got.Epochs[0].TrainRMSEPx != 2 || !math.IsNaN(got.Epochs[0].HoldoutRMSEPx) || got.Config.Model != want.Config.Model {
		t.Errorf("read %+v, want %+v", got, want)
	}

	if _, err := ReadHistory(filepath.Join(dir, "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want an error wrapping os.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadHistory(bad); err == nil {
		t.Error("a truncated history was read without error")
	}
}
