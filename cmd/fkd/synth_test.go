package main

import (
	"bytes"
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
		{"no out", []string{"--train-faces", "3"}, "--out is required"},
		{"negative n", []string{"--out", "d", "--train-faces", "-1"}, "must not be negative"},
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

// TestSynthCommand writes a small set through the command (synth's
// tests check the files).
func TestSynthCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "synth")
	stdout := captureStdout(t, func() {
		if status, msg := runQuiet("synth", "--out", dir, "--train-faces", "40", "--test-faces", "12", "--seed", "3", "--full", "0.5", "--partial", "0.5"); status != 0 {
			t.Fatalf("status %d: %s", status, msg)
		}
	})
	if !strings.HasPrefix(stdout, "wrote 40 training faces (") || !strings.Contains(stdout, "--solution "+filepath.Join(dir, "solution.csv")) {
		t.Errorf("output %q", stdout)
	}
	if _, _, err := dataset.ReadTraining(filepath.Join(dir, "training.csv"), dataset.ReadOptions{}); err != nil {
		t.Error(err)
	}
}
