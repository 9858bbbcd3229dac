//go:build !noopencv

package video

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCreateOutputs writes videos into a missing folder and over an
// existing file: the folders are made, the new file is 0644, a replaced
// file keeps its mode, and no temporary file is left.
func TestCreateOutputs(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "new", "deeper", "clip.avi")
	old := filepath.Join(dir, "old.avi")
	if err := os.WriteFile(old, []byte("an older video"), 0o640); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{fresh: 0o644, old: 0o640} {
		writeVideo(t, path, 3)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 && path == fresh || len(entries) != 2 && path == old {
			t.Errorf("%s: a temporary file was left: %v", path, entries)
		}
	}
}

// TestRemoveStale removes what a killed Writer left, and nothing else.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "clip-keypoints.avi")
	start := time.Now()
	long := start.Add(-time.Hour)
	files := []struct {
		name   string
		old    bool
		remove bool
	}{
		{".clip-keypoints.avi.12345.avi", true, true},
		{".clip-keypoints.avi.9.avi", true, true},
		{".clip-keypoints.avi.777.avi", false, false}, // another run's, under way
		{".clip-keypoints.avi.12x.avi", true, false},
		{".clip-keypoints.avi.123.mp4", true, false},
		{".other.avi.123.avi", true, false},
		{"clip-keypoints.avi", true, false},
		{".clip-keypoints.avi.tmp-42", true, false}, // atomicfile's
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		when := start.Add(time.Second) // a file system's clock may lag time.Now
		if f.old {
			when = long
		}
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(path, start)
	if err != nil || len(removed) != 2 {
		t.Errorf("removed %v, %v; want 2", removed, err)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if gone := errors.Is(err, os.ErrNotExist); gone != f.remove {
			t.Errorf("%s: removed %v, want %v", f.name, gone, f.remove)
		}
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing", "x.avi"), start); err != nil || len(removed) != 0 {
		t.Errorf("a missing folder: %v, %v", removed, err)
	}
}

// TestTruncated reads a video cut short: the frames before the cut, then
// a *TruncatedError saying how many of the frames announced were read,
// then io.EOF. A whole video ends with io.EOF alone.
func TestTruncated(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.avi")
	writeVideo(t, whole, 40)
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.avi")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		skip int
	}{{whole, 0}, {whole, 2}, {cut, 0}, {cut, 2}} {
		r, err := Open(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, _, err = r.Next()
			if err != nil {
				break
			}
			n++
			r.Skip(tt.skip)
		}
		var trunc *TruncatedError
		switch {
		case tt.path == whole && err != io.EOF:
			t.Errorf("%s, skipping %d: %v after %d frames, want io.EOF", tt.path, tt.skip, err, n)
		case tt.path == cut && !errors.As(err, &trunc):
			t.Errorf("%s, skipping %d: %v after %d frames, want a *TruncatedError", tt.path, tt.skip, err, n)
		case trunc != nil && (trunc.Announced != 40 || trunc.Read < 5 || trunc.Read >= 40 || n != (trunc.Read+tt.skip)/(tt.skip+1)):
			t.Errorf("%s, skipping %d: %v after %d frames", tt.path, tt.skip, err, n)
		}
		if trunc != nil {
			if _, _, err := r.Next(); err != io.EOF {
				t.Errorf("after the truncation: %v, want io.EOF", err)
			}
		}
		r.Close()
	}
}
