package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTidy(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	stale := filepath.Join(dir, ".sub.csv.tmp-42")
	mustWrite(t, stale, "x")
	old := start.Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"a stale file", filepath.Join(dir, "sub.csv"), "removed " + stale + ", a temporary file an interrupted run left\n"},
		{"nothing left", filepath.Join(dir, "sub.csv"), ""},
		{"standard output", Stdout, ""},
	}
	for _, tt := range tests {
		var w bytes.Buffer
		Tidy(&w, tt.path, start)
		if w.String() != tt.want {
			t.Errorf("%s: said %q, want %q", tt.name, w.String(), tt.want)
		}
	}
	if os.Geteuid() == 0 {
		return // root removes from a read-only folder
	}
	mustWrite(t, stale, "x")
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	var w bytes.Buffer
	Tidy(&w, filepath.Join(dir, "sub.csv"), start)
	if !strings.HasPrefix(w.String(), "warning: remove stale temporary files of ") {
		t.Errorf("read-only folder: said %q, want a warning", w.String())
	}
}
