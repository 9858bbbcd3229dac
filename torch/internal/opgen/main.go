// Command opgen writes package torch's generated files from the op table
// in table.go and the package's sources:
//
//   - shim_ops.h: the C enums of the unary ops, binary ops and reductions,
//     included by shim.h;
//   - shim_ops.inc: their names and ATen dispatch, included by shim.cpp;
//   - ops_gen.go: the documented *Tensor methods over them;
//   - cgo_flags.go: "#cgo noescape" and "#cgo nocallback" for every shim
//     function the package calls.
//
// It runs from go generate in the torch directory (see torch.go); -dir
// names that directory when run from elsewhere. Files whose contents are
// unchanged are left alone.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", ".", "the torch package's directory")
	flag.Parse()
	files, err := generate(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "opgen:", err)
		os.Exit(1)
	}
	for _, f := range files {
		path := filepath.Join(*dir, f.name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "opgen:", err)
			os.Exit(1)
		}
	}
}

// generate returns the generated files of the torch package in dir.
func generate(dir string) ([]file, error) {
	if err := checkTable(); err != nil {
		return nil, fmt.Errorf("op table: %w", err)
	}
	ops, err := opsGo()
	if err != nil {
		return nil, err
	}
	files := []file{
		{"shim_ops.h", shimOpsH()},
		{"shim_ops.inc", shimOpsInc()},
		{"ops_gen.go", ops},
	}
	flags, err := cgoFlags(dir, files)
	if err != nil {
		return nil, err
	}
	return append(files, file{"cgo_flags.go", flags}), nil
}
