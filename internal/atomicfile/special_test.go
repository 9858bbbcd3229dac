package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// TestWriteSpecialFiles checks that Write never replaces what is not a
// regular file: devices and FIFOs are written through, links followed.
func TestWriteSpecialFiles(t *testing.T) {
	tests := []struct {
		name string
		// setup makes the destination in dir and returns its path and a
		// check of what followed the write.
		setup   func(t *testing.T, dir string) (path string, after func(t *testing.T))
		wantErr string
	}{
		{"fifo is written through", func(t *testing.T, dir string) (string, func(*testing.T)) {
			path := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			got := make(chan string, 1)
			go func() {
				b, _ := os.ReadFile(path) // blocks until Write opens the FIFO
				got <- string(b)
			}()
			return path, func(t *testing.T) {
				wantMode(t, path, fs.ModeNamedPipe)
				select {
				case s := <-got:
					if s != "new" {
						t.Errorf("the FIFO's reader got %q, want %q", s, "new")
					}
				case <-time.After(5 * time.Second):
					t.Error("nothing was written to the FIFO")
					// Unblock the reader.
					if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
						f.Close()
					}
				}
			}
		}, ""},
		{"link to a character device is written through", func(t *testing.T, dir string) (string, func(*testing.T)) {
			path := filepath.Join(dir, "null")
			if err := os.Symlink("/dev/null", path); err != nil {
				t.Fatal(err)
			}
			return path, func(t *testing.T) {
				wantMode(t, path, fs.ModeSymlink)
				if info, err := os.Stat("/dev/null"); err != nil || info.Mode()&fs.ModeCharDevice == 0 {
					t.Errorf("/dev/null is no longer a character device: %v, %v", info, err)
				}
			}
		}, ""},
		{"link's target is replaced", func(t *testing.T, dir string) (string, func(*testing.T)) {
			other := filepath.Join(dir, "elsewhere")
			if err := os.Mkdir(other, 0o755); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(other, "real.csv")
			if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "out.csv")
			if err := os.Symlink(filepath.Join("elsewhere", "real.csv"), path); err != nil {
				t.Fatal(err)
			}
			return path, func(t *testing.T) {
				wantMode(t, path, fs.ModeSymlink)
				wantContent(t, target, "new")
				if info, _ := os.Stat(target); info.Mode().Perm() != 0o600 {
					t.Errorf("target's mode %v, want its old 0600", info.Mode().Perm())
				}
				wantEntries(t, other, 1)
			}
		}, ""},
		{"dangling link's target is created", func(t *testing.T, dir string) (string, func(*testing.T)) {
			path := filepath.Join(dir, "out.csv")
			if err := os.Symlink("later.csv", path); err != nil {
				t.Fatal(err)
			}
			return path, func(t *testing.T) {
				wantMode(t, path, fs.ModeSymlink)
				wantContent(t, filepath.Join(dir, "later.csv"), "new")
			}
		}, ""},
		{"directory is refused", func(t *testing.T, dir string) (string, func(*testing.T)) {
			path := filepath.Join(dir, "out")
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			return path, func(t *testing.T) {
				wantMode(t, path, fs.ModeDir)
				wantEntries(t, dir, 1)
			}
		}, "is a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, after := tc.setup(t, dir)
			done := make(chan error, 1)
			go func() { done <- Write(path, writeString("new")) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Write did not return")
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Write: %v, want error %q", err, tc.wantErr)
			}
			after(t)
		})
	}
}

// TestWriteStdout checks that "-" writes to os.Stdout. (The test writes
// to no /dev/stdout: the code before this one, run as root, replaced it.)
func TestWriteStdout(t *testing.T) {
	out := filepath.Join(t.TempDir(), "stdout")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	defer func() { os.Stdout = saved }()
	for _, path := range []string{"-", "/dev/stdout", "/dev/fd/1"} {
		if !IsStdout(path) {
			t.Errorf("IsStdout(%q) = false", path)
		}
	}
	wd, _ := os.Getwd()
	if err := Write("-", writeString("to stdout")); err != nil {
		t.Fatalf("Write(-): %v", err)
	}
	os.Stdout = saved
	wantContent(t, out, "to stdout")
	if _, err := os.Lstat(filepath.Join(wd, "-")); err == nil {
		os.Remove(filepath.Join(wd, "-"))
		t.Error(`Write("-") made a file named "-"`)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "file"), "x")
	mustMkdir(t, filepath.Join(dir, "sub"))
	mustMkdir(t, filepath.Join(dir, "readonly"))
	if err := os.Symlink("sub", filepath.Join(dir, "link-to-dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere/out.csv", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", filepath.Join(dir, "null")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Root writes anywhere, so a read-only directory is played by the
	// probe.
	readOnly := filepath.Join(dir, "readonly")
	saved := probe
	probe = func(d string) error {
		if d == readOnly {
			return fs.ErrPermission
		}
		return saved(d)
	}
	defer func() { probe = saved }()

	tests := []struct {
		path    string
		wantErr string
	}{
		{"-", ""},
		{"/dev/stdout", ""},
		{"null", ""},
		{"fifo", ""},
		{"file", ""},
		{"new.csv", ""},
		{"sub/new.csv", ""},
		{"a/b/c/new.csv", ""},
		{"dangling", ""},
		{"sub", "is a directory"},
		{"link-to-dir", "leads to the directory"},
		{"file/new.csv", "is not a directory"},
		{"file/a/b/new.csv", "is not a directory"},
		{"readonly/new.csv", "permission denied"},
		{"readonly/a/new.csv", "permission denied"},
		{"", "no file name"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			path := tc.path
			if path != "-" && path != "" && !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			err := Check(path)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Check(%q) = %v, want error %q", tc.path, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
		})
	}
	wantEntries(t, dir, 7) // Check wrote nothing
}

// TestCheckReadOnlyDir checks the real probe on a read-only directory,
// where permissions hold (not for root).
func TestCheckReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores permissions; TestCheck covers this with a stand-in probe")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	mustMkdir(t, dir)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if err := Check(filepath.Join(dir, "model.pt")); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Check in a read-only directory: %v, want permission denied", err)
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	old := start.Add(-time.Hour)
	files := []struct {
		name        string
		mtime       time.Time
		wantRemoved bool
	}{
		{".model.ckpt.tmp-123456", old, true},
		{".model.ckpt.tmp-99", old, true},
		{".model.ckpt.tmp-777", start.Add(time.Second), false}, // a write under way
		{".model.ckpt.tmp-abc", old, false},                    // not Write's pattern
		{".model.pt.tmp-123", old, false},                      // another file's
		{"model.ckpt", old, false},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		mustWrite(t, p, "x")
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(filepath.Join(dir, "model.ckpt"), start)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Errorf("removed %q, want 2 files", removed)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if gone := errors.Is(err, fs.ErrNotExist); gone != f.wantRemoved {
			t.Errorf("%s: removed %v, want %v", f.name, gone, f.wantRemoved)
		}
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing", "model.ckpt"), start); err != nil || removed != nil {
		t.Errorf("missing directory: %q, %v", removed, err)
	}
}

func wantMode(t *testing.T, path string, typ fs.FileMode) {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Type()&typ == 0 {
		t.Errorf("%s is now %v, want %v", path, info.Mode().Type(), typ)
	}
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

func wantEntries(t *testing.T, dir string, n int) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	if len(entries) != n {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %q, want %d entries (temporary files left?)", dir, names, n)
	}
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
}
