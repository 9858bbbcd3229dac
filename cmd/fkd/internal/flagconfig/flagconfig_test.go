package flagconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var schema = Schema{
	Shared: "data", SharedKeys: []string{"train", "test"},
	IsCommand: func(name string) bool { return name == "train" || name == "submit" },
}

// newFlags returns the flags of a small command: --epochs, --lr, --out
// (a path) and --train (a path).
func newFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	fs.Int("epochs", 30, "")
	fs.Float64("lr", 0.001, "")
	fs.String("out", "model.pt", "")
	fs.String("train", "training.csv", "")
	fs.String("config", "", "")
	fs.Bool("print-config", false, "")
	fs.Bool("no-config", false, "")
	MarkPaths(fs, "out", "train")
	return fs
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown section", "trian:\n  epochs: 3\n", `line 1: unknown section "trian" (want data or a command name)`},
		{"unknown data key", "data:\n  solution: s.csv\n", "line 2: unknown key data.solution (want train, test)"},
		{"list value", "train:\n  epochs: [1, 2]\n", "line 2: train.epochs: want a single value"},
		{"not a mapping", "- train\n", "line 1: want a mapping of sections (data:, train:, ...)"},
		{"section not a mapping", "train: 3\n", `line 1: section "train": want key: value lines`},
		{"duplicate section", "train:\ntrain:\n", `line 2: section "train" appears twice`},
		{"duplicate key", "train:\n  epochs: 1\n  epochs: 2\n", "line 3: train.epochs appears twice"},
		{"bad yaml", "train: [\n", "config c.yml: yaml:"},
		{"second document", "train:\n  epochs: 3\n---\nsubmit:\n  tta: flip\n", "config c.yml line 3: a second YAML document"},
		{"second document after a marker", "---\ntrain:\n  epochs: 3\n\n---\ntrain:\n  epochs: 5\n", "config c.yml line 5: a second YAML document"},
		{"second document on its marker's line", "train:\n  epochs: 3\n--- {train: {epochs: 4}}\n", "config c.yml line 3: a second YAML document"},
		{"bad second document", "train:\n  epochs: 3\n---\ntrain: [\n", "config c.yml: after the first document: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schema.Parse("c.yml", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line containing %q", err, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	text := "data:\n  train: faces.csv\n  test: /abs/test.csv\ntrain:\n  epochs: 7\n  lr:\n  out: runs/m.pt\nsubmit:\n  outfile: x.csv\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"file over defaults", nil, map[string]string{
			"epochs": "7", "lr": "0.001", "out": filepath.Join(dir, "runs/m.pt"), "train": filepath.Join(dir, "faces.csv"),
		}},
		{"flags over file", []string{"--epochs", "3", "--train", "mine.csv"}, map[string]string{
			"epochs": "3", "train": "mine.csv", "out": filepath.Join(dir, "runs/m.pt"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlags()
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := schema.Apply(fs, "train", path, true, map[string]string{"train": "train"}); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				if got := fs.Lookup(name).Value.String(); got != want {
					t.Errorf("--%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
		explicit         bool
	}{
		{"unknown flag", "train:\n  epoch: 3\n", "line 2: train.epoch: fkd train has no flag --epoch", true},
		{"bad value", "train:\n  epochs: many\n", `line 2: train.epochs: invalid argument "many"`, true},
		{"nested config", "train:\n  config: other.yml\n", "line 2: train.config: a config file cannot name another", true},
		{"print-config in a file", "train:\n  print-config: true\n", "line 2: train.print-config: a command-line switch", true},
		{"no-config in a file", "train:\n  no-config: true\n", "line 2: train.no-config: a command-line switch", true},
		{"missing named file", "", "no such file", true},
		{"missing default file", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yml")
			if tt.text != "" {
				if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := schema.Apply(newFlags(), "train", path, tt.explicit, nil)
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestParseOneDocument: a file of one document, with or without its
// markers, or empty, parses.
func TestParseOneDocument(t *testing.T) {
	for _, text := range []string{"", "---\n", "train:\n  epochs: 3\n", "---\ntrain:\n  epochs: 3\n", "---\ntrain:\n  epochs: 3\n...\n", "# only a comment\n"} {
		if _, err := schema.Parse("c.yml", []byte(text)); err != nil {
			t.Errorf("Parse(%q): %v", text, err)
		}
	}
}
