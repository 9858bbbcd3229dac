package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// TestBuildNoneFinished: a comparison none of whose runs finished still
// gets a report naming each of them, and Build fails.
func TestBuildNoneFinished(t *testing.T) {
	dir := t.TempDir()
	runs := []Run{
		{Path: filepath.Join(dir, "runs", "cnn3"), Listed: true, Spec: "cnn3", Shard: "shard 1/2"},
		{Path: filepath.Join(dir, "runs", "fpn"), Listed: true, Spec: "fpn", Shard: "shard 2/2"},
	}
	var out bytes.Buffer
	err := (&Env{Stdout: &out, Stderr: &out}).Build(nil, "training.csv", runs, dir, torch.CPU)
	if err == nil || !strings.Contains(err.Error(), "no finished run") {
		t.Fatalf("Build: %v, want no finished run", err)
	}
	for _, name := range []string{"README.md", "index.html"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"0 of 2", "cnn3 (shard 1/2)", "fpn (shard 2/2)", "not started"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q:\n%s", name, want, b)
			}
		}
	}
}
