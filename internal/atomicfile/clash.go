package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A Role says what a file is to a command, for the messages of
// CheckDistinct: "the model", "the photo", "--out".
type Role struct {
	Path string // as the user gave it, or as a folder scan found it
	What string // what the file is, e.g. "--out" or "the input photo"
}

// CheckDistinct refuses, before any work, an output that would replace
// an input or another output. Two paths are the same file when they are
// the same device and inode after following symbolic links, or, for a
// file that does not exist yet, when they lead to the same place (their
// directories' links resolved). Standard output, character devices and
// FIFOs are written through, never replaced, and take part in no clash;
// an input that cannot be found is left to the command to report. The
// error is one line that names both paths.
func CheckDistinct(inputs, outputs []Role) error {
	type entry struct {
		id    fileID
		role  Role
		input bool
	}
	var byFile []entry
	find := func(id fileID) (entry, bool) {
		for _, e := range byFile {
			if e.id.same(id) {
				return e, true
			}
		}
		return entry{}, false
	}
	for _, in := range inputs {
		id, ok := identify(in.Path)
		if !ok {
			continue
		}
		if _, dup := find(id); !dup {
			byFile = append(byFile, entry{id, in, true})
		}
	}
	for _, out := range outputs {
		id, ok := identify(out.Path)
		if !ok {
			continue
		}
		if prev, dup := find(id); dup {
			if prev.input {
				return fmt.Errorf("refusing to write %s (%s): it is %s %s, which would be lost",
					out.Path, out.What, prev.role.What, prev.role.Path)
			}
			return fmt.Errorf("refusing to write %s (%s): %s %s is the same file",
				out.Path, out.What, prev.role.What, prev.role.Path)
		}
		byFile = append(byFile, entry{id, out, false})
	}
	return nil
}

// fileID identifies a file: an existing one by its FileInfo (os.SameFile
// compares device and inode), a missing one by its resolved path.
type fileID struct {
	info fs.FileInfo
	path string
}

func (a fileID) same(b fileID) bool {
	if a.info != nil && b.info != nil {
		return os.SameFile(a.info, b.info)
	}
	return a.info == nil && b.info == nil && a.path == b.path
}

// identify returns path's identity, and false for what takes part in no
// clash: standard streams, descriptor links, character devices, FIFOs
// and paths whose links cannot be followed.
func identify(path string) (fileID, bool) {
	if path == "" || stdStream(path) != nil || isMagic(path) {
		return fileID{}, false
	}
	target, magic, err := resolve(path)
	if err != nil || magic {
		return fileID{}, false
	}
	info, err := os.Stat(target)
	switch {
	case err == nil && isDeviceOrFIFO(info.Mode()):
		return fileID{}, false
	case err == nil:
		return fileID{info: info}, true
	case !errors.Is(err, fs.ErrNotExist):
		return fileID{}, false
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return fileID{}, false
	}
	// The nearest existing directory's links resolved, the rest as
	// written: two spellings of one missing file compare equal.
	dir, rest := filepath.Dir(abs), filepath.Base(abs)
	for {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return fileID{path: filepath.Join(real, rest)}, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fileID{path: abs}, true
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}
