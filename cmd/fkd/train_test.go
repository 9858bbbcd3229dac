package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
	"github.com/fkd-project/fkd/train"
)

// tinyTrainArgs are the flags of a quick CPU training run on the files of
// writeBaselineFiles.
func tinyTrainArgs(trainPath, test, lookup, out string) []string {
	return []string{
		"--train", trainPath, "--test", test, "--lookup", lookup, "--out", out,
		"--arch", "cnn3:width=4", "--epochs", "2", "--batch", "16", "--device", "cpu", "--threads", "2",
	}
}

func TestTrainUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"argument", []string{"cnn3"}, "unexpected arguments"},
		{"bad loss", []string{"--loss", "l1"}, "--loss"},
		{"bad optimizer", []string{"--optimizer", "lbfgs"}, `optimizer "lbfgs"`},
		{"patience without holdout", []string{"--holdout", "0", "--patience", "3"}, "needs a hold-out part"},
		{"bad flag", []string{"--epoch", "3"}, "unknown flag"},
		{"resume without checkpoint", []string{"--resume"}, "model.ckpt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append([]string{"train"}, tt.args...), &stdout, &stderr)
			msg := stderr.String()
			if status == 0 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want one line containing %q", status, msg, tt.want)
			}
		})
	}
}

func TestTrainSubmitEvaluate(t *testing.T) {
	t.Chdir(t.TempDir())
	trainPath, test, lookup, rows := writeBaselineFiles(t)
	out := filepath.Join(t.TempDir(), "run", "model.pt")

	// Train once straight through, and once interrupted in epoch 2.
	o, err := parseTrain(t, tinyTrainArgs(trainPath, test, lookup, out)...)
	if err != nil {
		t.Fatal(err)
	}
	set := mustReadTraining(t, trainPath)
	res, err := train.Run(context.Background(), o.cfg, set, train.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	full := fkdtest.TensorBytes(t, out)

	cut := o.cfg
	cut.Out = filepath.Join(filepath.Dir(out), "again.pt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := train.Run(ctx, cut, set, train.Options{AfterStep: func(s train.StepInfo) {
		if s.Epoch == 2 {
			cancel()
		}
	}}); !errors.As(err, new(*train.InterruptedError)) {
		t.Fatalf("got %v, want an interruption", err)
	}

	// Resume through the command: the checkpoint's settings apply, even
	// against a config file that says otherwise; flags still win.
	cfgPath := writeConfig(t, "train:\n  epochs: 9\n  lr: 0.5\n")
	args := []string{"--resume", "--config", cfgPath, "--checkpoint", cut.CheckpointPath(),
		"--train", trainPath, "--test", test, "--lookup", lookup, "--device", "cpu", "--threads", "2"}
	ro, err := parseTrain(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if ro.cfg.Epochs != 2 || ro.cfg.LR != 0.001 || ro.cfg.Model != "cnn3:width=4" || ro.cfg.Out != cut.Out {
		t.Fatalf("resumed settings: epochs %d, lr %g, model %q, out %q; want the checkpoint's",
			ro.cfg.Epochs, ro.cfg.LR, ro.cfg.Model, ro.cfg.Out)
	}
	var stdout, stderr bytes.Buffer
	ro.stdout, ro.stderr = &stdout, &stderr
	if err := ro.run(context.Background()); err != nil {
		t.Fatalf("%v\nstderr: %s", err, stderr.String())
	}
	again := fkdtest.TensorBytes(t, ro.cfg.Out)
	for name, b := range full {
		if !bytes.Equal(b, again[name]) {
			t.Errorf("tensor %s differs between the resumed and the uninterrupted run", name)
		}
	}
	if !strings.Contains(stdout.String(), "hold-out RMSE") || !strings.Contains(stdout.String(), "wrote ") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	sub, err := os.ReadFile(ro.outfile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(sub), "\n"); n != rows+1 {
		t.Errorf("submission has %d lines, want %d", n, rows+1)
	}
	bad, err := parseTrain(t, append(args, "--lr", "0.01")...)
	if err != nil {
		t.Fatal(err)
	}
	bad.stdout, bad.stderr = &stdout, &stderr
	if err := bad.run(context.Background()); err == nil || !strings.Contains(err.Error(), "lr 0.01") {
		t.Errorf("resuming with another --lr: got %v", err)
	}

	// Evaluate the model on its own hold-out part.
	var eout, eerr bytes.Buffer
	if err := evaluateModel(&eout, &eerr, ro.cfg.Out, trainPath, torch.CPU, eval.NoTTA, eval.Faces{Seed: 1, Own: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(eout.String(), "\n"), "\n")
	total := strings.Fields(lines[len(lines)-1])
	if !strings.Contains(lines[0], "hold-out part (fraction 0.1, seed 1)") || len(total) != 4 || total[0] != "all" {
		t.Fatalf("evaluation:\n%s", eout.String())
	}
	rmse, err := strconv.ParseFloat(total[3], 64)
	if err != nil || !(rmse > 0) {
		t.Errorf("overall RMSE %q", total[3])
	}

	// Submit with the saved model: the same rows as after training.
	subPath := filepath.Join(t.TempDir(), "sub.csv")
	var sout, serr bytes.Buffer
	if status := run([]string{"submit", "--model", ro.cfg.Out, "--test", test, "--lookup", lookup,
		"--out", subPath, "--device", "cpu"}, &sout, &serr); status != 0 {
		t.Fatalf("submit: status %d: %s", status, serr.String())
	}
	again2, err := os.ReadFile(subPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again2, sub) {
		t.Error("fkd submit wrote another submission than fkd train did with the same model")
	}
}

func TestSubmitRejectsBadModels(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pt")
	if err := os.WriteFile(junk, []byte("PK\x03\x04 a zip, as PyTorch's .pt files are"), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.safetensors")
	torch.WithScope(func() {
		w := torch.Zeros([]int64{3, 3}, torch.Float32, torch.CPU)
		if err := nn.Save(foreign, map[string]*torch.Tensor{"conv.weight": w}, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	})
	// A training checkpoint is not a model either.
	trainPath, _, _, _ := writeBaselineFiles(t)
	o, err := parseTrain(t, "--train", trainPath, "--out", filepath.Join(dir, "m.pt"), "--arch", "cnn3:width=4",
		"--epochs", "1", "--batch", "16", "--device", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = train.Run(ctx, o.cfg, mustReadTraining(t, trainPath), train.Options{AfterStep: func(train.StepInfo) { cancel() }})
	cancel()
	if !errors.As(err, new(*train.InterruptedError)) {
		t.Fatalf("got %v, want an interruption", err)
	}

	tests := []struct {
		name, model, want string
	}{
		{"missing", filepath.Join(dir, "none.pt"), "none.pt"},
		{"zip", junk, "not an fkd model file"},
		{"foreign safetensors", foreign, "not an fkd model file"},
		{"checkpoint", o.cfg.CheckpointPath(), "is a training checkpoint, not a model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run([]string{"submit", "--model", tt.model, "--device", "cpu"}, &stdout, &stderr)
			msg := stderr.String()
			if status != 1 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want status 1 and one line containing %q", status, msg, tt.want)
			}
		})
	}
}

func mustReadTraining(t *testing.T, path string) *dataset.Set {
	t.Helper()
	s, _, err := dataset.ReadTraining(path, dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSettingsFlags: every setting of train.Settings is a flag of fkd
// train, which a resumed run can set from the checkpoint.
func TestSettingsFlags(t *testing.T) {
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	trainFlags(fs, &trainOptions{})
	for _, s := range train.Settings {
		if fs.Lookup(s.Flag) == nil {
			t.Errorf("setting %s: fkd train has no --%s", s.Key, s.Flag)
		}
	}
}
