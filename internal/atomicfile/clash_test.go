package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckDistinct(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, "p.png")
	model := filepath.Join(dir, "m.pt")
	for _, f := range []string{photo, model} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link.png")
	if err := os.Symlink(photo, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.png")
	if err := os.Link(photo, hard); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	subLink := filepath.Join(dir, "sublink")
	if err := os.Symlink(sub, subLink); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	in := []Role{{photo, "the photo"}, {model, "the model"}}
	tests := []struct {
		name    string
		outputs []Role
		wantErr string // "" for none
	}{
		{"distinct", []Role{{filepath.Join(dir, "out.csv"), "--out"}}, ""},
		{"same path", []Role{{photo, "--out"}}, "it is the photo"},
		{"other spelling", []Role{{dir + "/./p.png", "--out"}}, "it is the photo"},
		{"symlink to input", []Role{{link, "--out"}}, "it is the photo"},
		{"hard link to input", []Role{{hard, "--out"}}, "it is the photo"},
		{"model", []Role{{model, "--outfile"}}, "it is the model"},
		{"two outputs", []Role{{filepath.Join(dir, "a.csv"), "--out"}, {filepath.Join(dir, "a.csv"), "the overlay"}}, "--out " + filepath.Join(dir, "a.csv") + " is the same file"},
		{"two missing outputs through a link", []Role{{filepath.Join(sub, "a.csv"), "--out"}, {filepath.Join(subLink, "a.csv"), "the overlay"}}, "is the same file"},
		{"missing folder", []Role{{filepath.Join(dir, "new", "a.csv"), "--out"}, {filepath.Join(dir, "new", "b.csv"), "the overlay"}}, ""},
		{"stdout twice", []Role{{"-", "--out"}, {"-", "--report"}}, ""},
		{"dev null twice", []Role{{"/dev/null", "--out"}, {"/dev/null", "--report"}}, ""},
		{"fifo", []Role{{fifo, "--out"}, {fifo, "--report"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDistinct(in, tt.outputs)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckDistinct: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("CheckDistinct: no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("CheckDistinct: %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestWriteMakesFolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "c.txt")
	if err := Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "hi"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "hi" {
		t.Fatalf("read back %q, %v", b, err)
	}
}
