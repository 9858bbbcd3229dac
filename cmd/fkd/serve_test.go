package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefuses checks that "fkd serve" stops with one line, before
// listening, on a model it cannot load and on a cascade it cannot find.
func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want []string // one of them
	}{
		{[]string{"--model", filepath.Join(dir, "missing.pt"), "--detector", "whole"}, []string{"missing.pt"}},
		{[]string{"--model", filepath.Join(dir, "missing.pt"), "--cascade", filepath.Join(dir, "no.xml")}, []string{"no.xml", "without OpenCV"}},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		status := run(append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...), &stdout, &stderr)
		msg := stderr.String()
		named := strings.Contains(msg, tt.want[0]) || len(tt.want) > 1 && strings.Contains(msg, tt.want[1])
		if status != 1 || !named || strings.Count(msg, "\n") != 1 {
			t.Errorf("fkd serve %s: status %d, stderr %q; want 1 and a line naming %s", strings.Join(tt.args, " "), status, msg, tt.want)
		}
	}
}
