package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsembleCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	trainPath, test, lookup, rows := writeBaselineFiles(t)
	dir := t.TempDir()
	var paths []string
	for _, width := range []string{"4", "6"} {
		out := filepath.Join(dir, "w"+width, "model.pt")
		args := tinyTrainArgs(trainPath, test, lookup, out)
		args = append(args, "--arch", "cnn3:width="+width, "--holdout", "0.3")
		var stdout, stderr bytes.Buffer
		if status := run(append([]string{"train"}, args...), &stdout, &stderr); status != 0 {
			t.Fatalf("train: status %d: %s", status, stderr.String())
		}
		paths = append(paths, out)
	}
	ens := filepath.Join(dir, "ensemble.json")
	var stdout, stderr bytes.Buffer
	table := captureStdout(t, func() {
		if status := run([]string{"ensemble", "--models", strings.Join(paths, ","), "--train", trainPath,
			"--tta", "flip", "--out", ens, "--device", "cpu"}, &stdout, &stderr); status != 0 {
			t.Fatalf("ensemble: status %d: %s", status, stderr.String())
		}
	})
	if !strings.Contains(table, "ensemble, fitted weights") || !strings.Contains(table, "wrote "+ens) {
		t.Errorf("fkd ensemble printed:\n%s", table)
	}
	data, err := os.ReadFile(ens)
	if err != nil || !strings.Contains(string(data), `"w4/model.pt"`) || !strings.Contains(string(data), `"tta": "flip"`) {
		t.Fatalf("ensemble file (%v):\n%s", err, data)
	}

	// The file and a plain list both work wherever a model goes.
	for _, model := range []string{ens, strings.Join(paths, ",")} {
		evaluation := captureStdout(t, func() {
			if status := run([]string{"evaluate", "--model", model, "--train", trainPath, "--device", "cpu"}, &stdout, &stderr); status != 0 {
				t.Fatalf("evaluate --model %s: status %d: %s", model, status, stderr.String())
			}
		})
		if !strings.HasPrefix(evaluation, "ensemble:") || !strings.Contains(evaluation, "hold-out part (fraction 0.3, seed 1)") {
			t.Errorf("evaluate --model %s:\n%s", model, evaluation)
		}
		sub := filepath.Join(dir, "sub.csv")
		if status := run([]string{"submit", "--model", model, "--test", test, "--lookup", lookup, "--out", sub, "--device", "cpu"}, &stdout, &stderr); status != 0 {
			t.Fatalf("submit --model %s: status %d: %s", model, status, stderr.String())
		}
		if got, err := os.ReadFile(sub); err != nil || strings.Count(string(got), "\n") != rows+1 {
			t.Errorf("submission: %v, %d lines", err, strings.Count(string(got), "\n"))
		}
	}

	// Members split differently cannot be weighted fairly.
	other := filepath.Join(dir, "other", "model.pt")
	args := append(tinyTrainArgs(trainPath, test, lookup, other), "--holdout", "0.3", "--seed", "5")
	if status := run(append([]string{"train"}, args...), &stdout, &stderr); status != 0 {
		t.Fatalf("train: status %d: %s", status, stderr.String())
	}
	stderr.Reset()
	status := run([]string{"ensemble", "--models", paths[0] + "," + other, "--train", trainPath, "--out", ens, "--device", "cpu"}, &stdout, &stderr)
	if status == 0 || !strings.Contains(stderr.String(), "share one hold-out split") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("mixed splits: status %d, stderr %q", status, stderr.String())
	}
}
