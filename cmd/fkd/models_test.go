package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestModelsCommandErrors(t *testing.T) {
	tests := []struct {
		args       []string
		wantStderr string
	}{
		{[]string{"models", "cnn4"}, `unknown model architecture "cnn4"`},
		{[]string{"models", "cnn3:width"}, `option "width" is not key=value`},
		{[]string{"models", "cnn3:width=1"}, "cnn3 option width=1: want 4 to 256"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if status := run(tt.args, &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), tt.wantStderr) {
			t.Errorf("fkd %q: status %d, stderr %q; want 2, %q", tt.args, status, stderr.String(), tt.wantStderr)
		}
	}
}
