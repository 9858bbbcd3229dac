// Package atomicfile writes files so that a reader, or a crash, never sees
// half of one: the content goes to a temporary file in the same directory,
// which is synced and then renamed over the destination.
//
// Only regular files are replaced that way. "-" means standard output; a
// character device (/dev/null, a terminal) or a FIFO is written through,
// never replaced; a symbolic link is followed and its target replaced
// atomically (the temporary file goes to the target's directory); a
// directory, a block device or a socket is refused.
//
// Commands call Check on every output path before they do any work, so
// that a path that cannot be written fails at once, not after an hour of
// training; RemoveStale removes the temporary files an interrupted
// process left beside a destination.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Stdout is the path that means standard output.
const Stdout = "-"

// maxLinks bounds the symbolic links followed from one path, as the
// kernel does (ELOOP).
const maxLinks = 40

// tempInfix joins a destination's base name and the random part of its
// temporary files: ".model.pt" + tempInfix + "123456".
const tempInfix = ".tmp-"

// IsStdout reports whether writing path writes to this process's
// standard output: "-", /dev/stdout and its aliases. A command that
// prints messages on standard output prints them elsewhere then.
func IsStdout(path string) bool {
	return stdStream(path) == os.Stdout
}

// stdStream returns os.Stdout or os.Stderr when path names one of them,
// else nil.
func stdStream(path string) *os.File {
	if path == Stdout {
		return os.Stdout
	}
	switch filepath.Clean(path) {
	case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return os.Stdout
	case "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2":
		return os.Stderr
	}
	return nil
}

// Write creates or replaces path with what write produces (through a
// buffer: write need not buffer itself). On any error a regular file at
// path is left as it was and the temporary file is removed. A character
// device, a FIFO and "-" (standard output) are written through, so an
// error there may leave part of the content written. A symbolic link is
// followed: its target is replaced. The folders that lead to the file
// are made when missing.
func Write(path string, write func(w io.Writer) error) error {
	if err := writeFile(path, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeFile(path string, write func(w io.Writer) error) error {
	if path == "" {
		return errors.New("no file name")
	}
	if f := stdStream(path); f != nil {
		return writeTo(f, write)
	}
	target, magic, err := resolve(path)
	if err != nil {
		return err
	}
	if magic {
		// /proc/self/fd/N and the like: the link is the file, wherever it
		// points; it cannot be replaced, only written to.
		return writeThrough(path, write)
	}
	info, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return replace(target, 0o644, write)
	case err != nil:
		return err
	case info.IsDir():
		return errors.New("is a directory")
	case isDeviceOrFIFO(info.Mode()):
		return writeThrough(target, write)
	case !info.Mode().IsRegular():
		return fmt.Errorf("not a regular file, character device or FIFO (%v)", info.Mode().Type())
	}
	return replace(target, info.Mode().Perm(), write)
}

// isDeviceOrFIFO reports whether mode is a character device's or a
// FIFO's: files written through, never replaced.
func isDeviceOrFIFO(mode fs.FileMode) bool {
	return mode&os.ModeCharDevice != 0 || mode&os.ModeNamedPipe != 0
}

// writeTo writes through a buffer to f, which it leaves open.
func writeTo(f *os.File, write func(w io.Writer) error) error {
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// writeThrough opens the existing file at path for writing and writes to
// it in place.
func writeThrough(path string, write func(w io.Writer) error) error {
	flag := os.O_WRONLY
	if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return err
	}
	if err := writeTo(f, write); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replace writes a temporary file beside path, with permissions perm, and
// renames it over path.
func replace(path string, perm fs.FileMode, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+base+tempInfix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = writeTo(f, write); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; give it the usual permissions, or
	// those of the file it replaces.
	if err = os.Chmod(tmp, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// resolve follows the symbolic links of path to the file they lead to,
// which need not exist. magic is true when a link is one of the kernel's
// descriptor links (/proc/.../fd/N, /dev/fd/N): those name an open file
// that cannot be replaced, and target is then path itself.
func resolve(path string) (target string, magic bool, err error) {
	p := path
	for range maxLinks {
		if isMagic(p) {
			return path, true, nil
		}
		info, err := os.Lstat(p)
		if err != nil || info.Mode()&os.ModeSymlink == 0 {
			// Missing, or not a link: the target (Stat and the caller
			// report other errors).
			return p, false, nil
		}
		dest, err := os.Readlink(p)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(dest) {
			// Relative to the link's directory as the kernel sees it,
			// that directory's own links resolved.
			dir, err := filepath.EvalSymlinks(filepath.Dir(p))
			if err != nil {
				return "", false, err
			}
			dest = filepath.Join(dir, dest)
		}
		p = dest
	}
	return "", false, fmt.Errorf("more than %d symbolic links", maxLinks)
}

func isMagic(p string) bool {
	p = filepath.Clean(p)
	return strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/dev/fd/")
}

// probe checks that files can be created in the existing directory dir.
// Tests replace it: root may write anywhere.
var probe = func(dir string) error {
	f, err := os.CreateTemp(dir, ".fkd-check"+tempInfix+"*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot create files in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Check reports whether Write(path, ...) can succeed, without writing
// path: "-", a character device and a FIFO always can; a directory (or a
// link to one), a block device and a socket cannot; otherwise the
// directory that will hold the file (a link's target's) must exist or be
// creatable below its nearest existing ancestor, which must be a
// directory where files can be created. Commands call it on every output
// path before they do any work. The error is one line that names path.
func Check(path string) error {
	if err := check(path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

func check(path string) error {
	if path == "" {
		return errors.New("no file name")
	}
	if stdStream(path) != nil {
		return nil
	}
	target, magic, err := resolve(path)
	if err != nil {
		return err
	}
	if magic {
		info, err := os.Stat(path)
		switch {
		case err != nil:
			return err
		case info.IsDir():
			return errors.New("it is a directory")
		}
		return nil
	}
	info, err := os.Stat(target)
	switch {
	case err == nil && info.IsDir():
		if target != path {
			return fmt.Errorf("it leads to the directory %s", target)
		}
		return errors.New("it is a directory")
	case err == nil && isDeviceOrFIFO(info.Mode()):
		return nil
	case err == nil && !info.Mode().IsRegular():
		return fmt.Errorf("not a regular file, character device or FIFO (%v)", info.Mode().Type())
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return err
	}
	// The file is regular or missing: the directory that will hold it
	// must take a new file, or be creatable.
	for dir := filepath.Dir(target); ; dir = filepath.Dir(dir) {
		info, err := os.Stat(dir)
		switch {
		case err == nil && info.IsDir():
			return probe(dir)
		case err == nil:
			return fmt.Errorf("%s is not a directory", dir)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return err
		}
		if parent := filepath.Dir(dir); parent == dir {
			return fmt.Errorf("no directory of %s exists", target)
		}
	}
}

// RemoveStale removes the temporary files that Write left beside path
// when its process was killed mid-write: files of path's own pattern
// (".NAME.tmp-" and digits, in the directory of a link's target) last
// modified before before, which is the start of the calling process's
// run, so that a write under way in another process is left alone
// unless it began before that. It returns the names removed; a missing
// directory is no error.
func RemoveStale(path string, before time.Time) ([]string, error) {
	if path == "" || stdStream(path) != nil {
		return nil, nil
	}
	target, magic, err := resolve(path)
	if err != nil || magic {
		return nil, err
	}
	dir, base := filepath.Split(target)
	prefix := "." + base + tempInfix
	removed, err := RemoveStaleIn(dir, func(name string) bool {
		rest, ok := strings.CutPrefix(name, prefix)
		return ok && AllDigits(rest)
	}, before)
	if err != nil {
		return removed, fmt.Errorf("remove stale temporary files of %s: %w", path, err)
	}
	return removed, nil
}

// RemoveStaleIn removes the regular files of the directory dir ("" for
// the working directory) whose names isTemp accepts and that were last
// modified before before, and returns their paths. A missing directory
// is no error. Writers whose temporary files have names of their own
// (RemoveStale's are Write's) call it with their pattern.
func RemoveStaleIn(dir string, isTemp func(name string) bool, before time.Time) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTemp(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// Tidy is RemoveStale for a command: it says on w which files it removed,
// and warns there of an error rather than returning it, since stale files
// left in place stop nothing.
func Tidy(w io.Writer, path string, before time.Time) {
	removed, err := RemoveStale(path, before)
	for _, name := range removed {
		fmt.Fprintf(w, "removed %s, a temporary file an interrupted run left\n", name)
	}
	if err != nil {
		fmt.Fprintf(w, "warning: %v\n", err)
	}
}

// AllDigits reports whether s is one or more decimal digits, as the
// random part of a temporary file's name is.
func AllDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
