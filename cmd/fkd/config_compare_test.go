package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/train"
)

// readHistory reads the history a run wrote beside its model.
func readHistory(t *testing.T, model string) train.History {
	t.Helper()
	b, err := os.ReadFile(strings.TrimSuffix(model, filepath.Ext(model)) + ".history.json")
	if err != nil {
		t.Fatal(err)
	}
	var h train.History
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestCompareTrainsAsTrainDoes: with one config file (its train section
// sets settings both commands take) and the same flags, fkd compare
// trains a model to the very same hold-out RMSE as fkd train, and both
// runs record the config file.
func TestCompareTrainsAsTrainDoes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	trainPath, _, _, _ := writeBaselineFiles(t)
	// Settings off their defaults, which fkd compare ignored before.
	if err := os.WriteFile("config.yml", []byte(`
train:
  warmup: 1
  lr: 0.003
  epochs: 2
  batch: 16
  flip: true
  out: elsewhere/model.pt
compare:
  out: cmp
`), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--train", trainPath, "--device", "cpu", "--threads", "1", "--holdout", "0.2"}
	var stdout, stderr bytes.Buffer
	if status := run(append([]string{"train", "--arch", "cnn3:width=4", "--out", "t/model.pt"}, common...), &stdout, &stderr); status != 0 {
		t.Fatalf("fkd train: status %d\n%s", status, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if status := run(append([]string{"compare", "--archs", "cnn3:width=4"}, common...), &stdout, &stderr); status != 0 {
		t.Fatalf("fkd compare: status %d\n%s", status, stderr.String())
	}
	if wantNote := "config: " + filepath.Join(dir, "config.yml"); !strings.Contains(stderr.String(), wantNote) {
		t.Errorf("fkd compare's stderr %q does not say %q", stderr.String(), wantNote)
	}
	trained := readHistory(t, "t/model.pt")
	compared := readHistory(t, filepath.Join("cmp", "runs", "cnn3_width-4", "model.pt"))
	for _, h := range []train.History{trained, compared} {
		if h.Config.Warmup != 1 || h.Config.LR != 0.003 || !strings.Contains(h.Config.Augment, "flip") {
			t.Errorf("run settings warmup %d, lr %g, augment %q: the config file's train section was not applied",
				h.Config.Warmup, h.Config.LR, h.Config.Augment)
		}
		if h.Config.ConfigFile != filepath.Join(dir, "config.yml") {
			t.Errorf("run records config file %q", h.Config.ConfigFile)
		}
	}
	if trained.BestHoldoutRMSEPx == nil || compared.BestHoldoutRMSEPx == nil {
		t.Fatal("a run has no hold-out RMSE")
	}
	if *trained.BestHoldoutRMSEPx != *compared.BestHoldoutRMSEPx {
		t.Errorf("hold-out RMSE: fkd train %v, fkd compare %v; want them bit-identical",
			*trained.BestHoldoutRMSEPx, *compared.BestHoldoutRMSEPx)
	}
}

func TestConfigFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("config.yml", []byte("train:\n  warmup: 3\n  epochs: 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantOut    []string
	}{
		{"print-config", []string{"train", "--print-config", "--epochs", "4"}, 0, []string{
			"warmup  ", "config.yml line 2 (train.warmup)", "epochs  ", "4 ", "command line", "lr ", "default"}},
		{"no-config", []string{"train", "--print-config", "--no-config"}, 0, []string{"warmup  ", "0 "}},
		{"both", []string{"train", "--no-config", "--config", "config.yml"}, 2, nil},
		{"compare reads train's section", []string{"compare", "--print-config"}, 0, []string{"config.yml line 3 (train.epochs)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			var status int
			out := captureStdout(t, func() { status = run(tt.args, &bytes.Buffer{}, &stderr) })
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d; stderr %q", status, tt.wantStatus, stderr.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCompareRefusesBadSpecsFirst: a misspelt architecture or option
// fails at once with a suggestion, before any model trains or any file
// is written.
func TestCompareRefusesBadSpecsFirst(t *testing.T) {
	t.Chdir(t.TempDir())
	trainPath, _, _, _ := writeBaselineFiles(t)
	tests := []struct {
		archs, want string
	}{
		{"cnn3,tinyresnt", "did you mean tinyresnet?"},
		{"cnn3,tinyresnet:widht=8", `tinyresnet has no option "widht" (did you mean width?)`},
		{"cnn3:width=2", "cnn3 option width=2: want 4 to 256"},
	}
	for _, tt := range tests {
		t.Run(tt.archs, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run([]string{"compare", "--archs", tt.archs, "--train", trainPath, "--out", "cmp",
				"--epochs", "1", "--device", "cpu", "--threads", "1"}, &stdout, &stderr)
			if status != 2 || !strings.Contains(stderr.String(), tt.want) || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("status %d, stderr %q; want 2 and one line containing %q", status, stderr.String(), tt.want)
			}
			if _, err := os.Stat("cmp"); !os.IsNotExist(err) {
				t.Errorf("the comparison's folder exists after the refusal (%v)", err)
			}
		})
	}
}
