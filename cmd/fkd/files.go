package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/internal/atomicfile"
)

// files lists what one run of a command reads and writes, so that an
// output that would replace an input, or another output, is refused
// before any work (atomicfile.CheckDistinct), and so that the temporary
// files a killed run left beside the outputs are removed
// (atomicfile.Tidy).
type files struct {
	in, out []atomicfile.Role
}

// input records paths that the command reads as what; "" is skipped.
func (f *files) input(what string, paths ...string) {
	for _, p := range paths {
		if p != "" {
			f.in = append(f.in, atomicfile.Role{Path: p, What: what})
		}
	}
}

// model records the files a --model flag's value reads: a model file, a
// list of them, or an ensemble file and its members.
func (f *files) model(what, spec string) {
	if strings.Contains(spec, ",") {
		f.input(what, ensemble.Inputs(spec)...)
		return
	}
	paths := ensemble.Inputs(spec)
	f.input(what, paths[0])
	for _, p := range paths[1:] {
		f.input(fmt.Sprintf("the ensemble %s's member", spec), p)
	}
}

// config records the config file, when it exists: a default config.yml
// that is missing is no input.
func (f *files) config(path string) {
	if _, err := os.Stat(path); err == nil {
		f.input("the config file", path)
	}
}

// output records paths that the command writes as what; "" is skipped.
func (f *files) output(what string, paths ...string) {
	for _, p := range paths {
		if p != "" {
			f.out = append(f.out, atomicfile.Role{Path: p, What: what})
		}
	}
}

// check refuses an output that cannot be written (atomicfile.Check), or
// that is an input or another output: one line naming both.
func (f *files) check() error {
	for _, o := range f.out {
		if err := atomicfile.Check(o.Path); err != nil {
			return fmt.Errorf("%s: %w", o.What, err)
		}
	}
	return atomicfile.CheckDistinct(f.in, f.out)
}

// tidy removes, saying so on w, the temporary files that a run killed
// before start left beside the outputs.
func (f *files) tidy(w io.Writer, start time.Time) {
	for _, o := range f.out {
		atomicfile.Tidy(w, o.Path, start)
	}
}

// checkInput reports, before any work, an input file that does not
// exist, named by its flag, so that the message says which setting to
// change.
func checkInput(flag, path string) error {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %s: no such file (give it with %s, or in the config file)", flag, path, flag)
	}
	return nil
}
