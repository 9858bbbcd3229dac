package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScore runs fkd score (dataset's tests check the scoring).
func TestScore(t *testing.T) {
	dir := t.TempDir()
	sol := filepath.Join(dir, "sol.csv")
	sub := filepath.Join(dir, "sub.csv")
	os.WriteFile(sol, []byte("RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x,50\n"), 0o644)
	os.WriteFile(sub, []byte("RowId,Location\n2,53\n"), 0o644)
	tests := []struct {
		name   string
		args   []string
		status int
		want   string
	}{
		{"missing --solution", []string{"--submission", sub}, 2, "are required"},
		{"argument", []string{"--submission", sub, "--solution", sol, "x"}, 2, "unexpected arguments"},
		{"other rows", []string{"--submission", sub, "--solution", sol}, 1, "score " + sub + " against " + sol},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if status := run(append([]string{"score"}, tt.args...), &stdout, &stderr); status != tt.status || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: status %d, stderr %q; want %d and %q", tt.name, status, stderr.String(), tt.status, tt.want)
		}
	}
}
