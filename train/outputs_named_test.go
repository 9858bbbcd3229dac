package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckOutputFlags(t *testing.T) {
	dir := t.TempDir()
	// Directories where the files would go: "taken", and the history of
	// a model h.pt.
	taken := filepath.Join(dir, "taken")
	for _, d := range []string{taken, filepath.Join(dir, "h.history.json")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, out, checkpoint, outfile string
		want                           string // "" for no error
	}{
		{"all fine", filepath.Join(dir, "run", "m.pt"), "", filepath.Join(dir, "run", "sub.csv"), ""},
		{"no submission", filepath.Join(dir, "m.pt"), "", "", ""},
		{"model", taken, "", "", "--out: "},
		{"checkpoint", filepath.Join(dir, "m.pt"), taken, "", "--checkpoint: "},
		{"history", filepath.Join(dir, "h.pt"), "", "", "history: "},
		{"submission", filepath.Join(dir, "m.pt"), "", taken, "--submission: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Out, c.Checkpoint = tt.out, tt.checkpoint
			err := c.CheckOutputFlags(tt.outfile)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want none", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "is a directory")):
				t.Errorf("got %v, want an error starting %q saying it is a directory", err, tt.want)
			}
		})
	}
}
