package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// writeConfig writes a config file into a new directory and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fkd.yml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseTrain sets up "fkd train" options from args, as the command does.
func parseTrain(t *testing.T, args ...string) (*trainOptions, error) {
	t.Helper()
	o := &trainOptions{}
	fs := pflag.NewFlagSet("fkd train", pflag.ContinueOnError)
	return o, o.setup(fs, args)
}

func TestTrainFlagPrecedence(t *testing.T) {
	t.Chdir(t.TempDir()) // no config.yml here
	cfgPath := writeConfig(t, `
data:
  train: faces/training.csv
  test: /abs/test.csv
train:
  epochs: 7
  lr: 0.01
  loss: wing
  out: runs/m.pt
submit:
  outfile: ignored.csv
`)
	dir := filepath.Dir(cfgPath)

	t.Run("defaults", func(t *testing.T) {
		o, err := parseTrain(t)
		if err != nil {
			t.Fatal(err)
		}
		if o.cfg.Epochs != 30 || o.cfg.LR != 0.001 || o.trainPath != "data/training.csv" || o.cfg.Out != "output/model.pt" {
			t.Errorf("defaults: epochs %d, lr %g, train %q, out %q", o.cfg.Epochs, o.cfg.LR, o.trainPath, o.cfg.Out)
		}
		if o.outfile != filepath.Join("output", "submission.csv") {
			t.Errorf("submission beside the model: got %q", o.outfile)
		}
	})
	t.Run("config over defaults", func(t *testing.T) {
		o, err := parseTrain(t, "--config", cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		c := o.cfg
		if c.Epochs != 7 || c.LR != 0.01 || c.Loss != "wing" || c.Batch != 64 {
			t.Errorf("epochs %d, lr %g, loss %s, batch %d; want 7, 0.01, wing, 64", c.Epochs, c.LR, c.Loss, c.Batch)
		}
		if want := filepath.Join(dir, "faces/training.csv"); o.trainPath != want {
			t.Errorf("train path %q, want %q (relative to the config file)", o.trainPath, want)
		}
		if o.test != "/abs/test.csv" || o.cfg.Out != filepath.Join(dir, "runs/m.pt") {
			t.Errorf("test %q, out %q", o.test, o.cfg.Out)
		}
	})
	t.Run("flags over config", func(t *testing.T) {
		o, err := parseTrain(t, "--config", cfgPath, "--epochs", "3", "--loss", "huber", "--train", "mine.csv")
		if err != nil {
			t.Fatal(err)
		}
		if o.cfg.Epochs != 3 || o.cfg.Loss != "huber" || o.trainPath != "mine.csv" || o.cfg.LR != 0.01 {
			t.Errorf("epochs %d, loss %s, train %q, lr %g; want 3, huber, mine.csv, 0.01", o.cfg.Epochs, o.cfg.Loss, o.trainPath, o.cfg.LR)
		}
	})
	t.Run("default config file", func(t *testing.T) {
		if err := os.WriteFile("config.yml", []byte("train:\n  batch: 16\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove("config.yml")
		o, err := parseTrain(t)
		if err != nil {
			t.Fatal(err)
		}
		if o.cfg.Batch != 16 {
			t.Errorf("batch %d, want 16 from ./config.yml", o.cfg.Batch)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		name, text string
		want       string
	}{
		{"unknown key", "train:\n  epoch: 3\n", "line 2: train.epoch: fkd train has no flag --epoch"},
		{"bad value", "train:\n  epochs: many\n", `line 2: train.epochs: invalid argument "many"`},
		{"unknown section", "trian:\n  epochs: 3\n", `line 1: unknown section "trian"`},
		{"unknown data key", "data:\n  solution: s.csv\n", "unknown key data.solution"},
		{"list value", "train:\n  epochs: [1, 2]\n", "train.epochs: want a single value"},
		{"not a mapping", "- train\n", "want a mapping of sections"},
		{"duplicate key", "train:\n  epochs: 1\n  epochs: 2\n", "appears twice"},
		{"nested config", "train:\n  config: other.yml\n", "cannot name another"},
		{"bad yaml", "train: [\n", "config"},
		{"invalid setting", "train:\n  optimizer: lbfgs\n", `optimizer "lbfgs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			_, err := parseTrain(t, "--config", path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	t.Run("missing explicit file", func(t *testing.T) {
		_, err := parseTrain(t, "--config", "nowhere.yml")
		if err == nil || !strings.Contains(err.Error(), "nowhere.yml") {
			t.Errorf("got %v, want an error naming nowhere.yml", err)
		}
	})
	t.Run("empty sections are fine", func(t *testing.T) {
		path := writeConfig(t, "# nothing yet\ntrain:\nsubmit:\n  outfile:\n")
		if _, err := parseTrain(t, "--config", path); err != nil {
			t.Error(err)
		}
	})
}

func TestRepoConfigFileParses(t *testing.T) {
	// The config.yml at the repository root must load for every command
	// that reads one.
	path := filepath.Join("..", "..", defaultConfigFile)
	if _, err := os.Stat(path); err != nil {
		t.Skip("no config.yml at the repository root")
	}
	if _, err := parseTrain(t, "--config", path); err != nil {
		t.Errorf("train: %v", err)
	}
	var so submitOptions
	fs := pflag.NewFlagSet("fkd submit", pflag.ContinueOnError)
	submitFlags(fs, &so)
	if err := applyConfig(fs, "submit", path, true, submitDataFlags); err != nil {
		t.Errorf("submit: %v", err)
	}
	var eo evaluateOptions
	fs = pflag.NewFlagSet("fkd evaluate", pflag.ContinueOnError)
	evaluateFlags(fs, &eo)
	if err := applyConfig(fs, "evaluate", path, true, evaluateDataFlags); err != nil {
		t.Errorf("evaluate: %v", err)
	}
	if eo.data != filepath.Join("..", "..", "data", "training.csv") {
		t.Errorf("evaluate --data from data.train: %q", eo.data)
	}
}
