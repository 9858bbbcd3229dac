package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset/synth"
)

// TestDataCommand runs fkd data (package check's tests check what it
// says).
func TestDataCommand(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.WriteFiles(dir, 10, 3, 1, 0, synth.Options{}); err != nil {
		t.Fatal(err)
	}
	train := filepath.Join(dir, "training.csv")
	tests := []struct {
		name   string
		args   []string
		status int
		want   string // in stderr
	}{
		{"unknown sub-command", []string{"verify", train}, 2, "want: check FILE"},
		{"no file", []string{"check"}, 2, "want: check FILE"},
		{"missing file", []string{"check", filepath.Join(dir, "none.csv")}, 1, "none.csv"},
		{"training file", []string{"check", train, "--skip-bad"}, 0, ""},
	}
	for _, tt := range tests {
		saved := os.Stdout
		os.Stdout, _ = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		var stdout, stderr bytes.Buffer
		status := run(append([]string{"data"}, tt.args...), &stdout, &stderr)
		os.Stdout.Close()
		os.Stdout = saved
		if status != tt.status || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: status %d, stderr %q; want %d and %q", tt.name, status, stderr.String(), tt.status, tt.want)
		}
	}
}
