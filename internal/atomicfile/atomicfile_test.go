package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		write   func(io.Writer) error
		want    string
		wantErr bool
	}{
		{"replaces", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", false},
		{"failure keeps old", func(w io.Writer) error {
			io.WriteString(w, "half")
			return errors.New("disk on fire")
		}, "new", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(path, tc.write)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Write error = %v, want error %v", err, tc.wantErr)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tc.want {
				t.Errorf("content %q, want %q", got, tc.want)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want 1 (temp file left behind?)", len(entries))
			}
		})
	}
}

func TestWriteKeepsOldOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	write := func(text string, fail error) error {
		return Write(path, func(w io.Writer) error {
			io.WriteString(w, text)
			return fail
		})
	}
	if err := write("first", nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := write("second, cut short", boom); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the write function's error", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "first" {
		t.Errorf("after a failed write the file holds %q, want the old %q", got, "first")
	}
	if err := write("second", nil); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if string(got) != "second" || len(entries) != 1 {
		t.Errorf("file %q, %d entries in the directory (temporary files left?)", got, len(entries))
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", info.Mode())
	}
	if err := Write(filepath.Join(path, "under", "a", "file"), func(io.Writer) error { return nil }); err == nil {
		t.Error("writing under a regular file succeeded")
	}
}
