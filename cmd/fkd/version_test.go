package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestVersion runs fkd version: its release line, and a refused argument
// (sysinfo's tests check the facts).
func TestVersion(t *testing.T) {
	var status int
	var stdout, stderr bytes.Buffer
	out := captureStdout(t, func() { status = run([]string{"version", "--threads", "1"}, &stdout, &stderr) })
	if status != 0 || !strings.HasPrefix(out, "fkd       "+version) || !strings.Contains(out, "threads   1 intra-op") {
		t.Errorf("status %d, stderr %q, stdout:\n%s", status, stderr.String(), out)
	}
	if status := run([]string{"version", "extra"}, &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), "takes no arguments") {
		t.Errorf("an argument: status %d, stderr %q", status, stderr.String())
	}
}
