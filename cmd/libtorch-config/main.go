// Command libtorch-config finds the LibTorch to build fkd against and
// prints, as shell assignments, the cgo flags for it and a one-line
// description. The Makefile writes its output to bin/libtorch.env and
// sources it before every go command:
//
//	go run ./cmd/libtorch-config [-libtorch SPEC] >bin/libtorch.env
//
// SPEC is "" (Debian's LibTorch in /usr), "python" (the PyTorch that
// $PYTHON or python3 imports) or an unpacked LibTorch or PyTorch folder.
// The user's own CGO_CXXFLAGS and CGO_LDFLAGS follow fkd's. On error it
// prints one line to stderr and exits 1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fkd-project/fkd/cmd/libtorch-config/internal/libtorchcfg"
)

func main() {
	spec := flag.String("libtorch", os.Getenv("LIBTORCH"), "the LibTorch: empty for /usr, python, or a folder")
	flag.Parse()
	lt, err := libtorchcfg.Find(*spec, libtorchcfg.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "libtorch:", err)
		os.Exit(1)
	}
	writeEnv(os.Stdout, lt, os.Getenv("CGO_CXXFLAGS"), os.Getenv("CGO_LDFLAGS"))
}

// writeEnv prints the shell assignments for lt; userCXX and userLD are the
// caller's own cgo flags, kept after fkd's (Go's "-O2 -g" when unset).
func writeEnv(w io.Writer, lt *libtorchcfg.LibTorch, userCXX, userLD string) {
	f := lt.Flags()
	if strings.TrimSpace(userCXX) == "" {
		userCXX = "-O2 -g"
	}
	if strings.TrimSpace(userLD) == "" {
		userLD = "-O2 -g"
	}
	cuda := "0"
	if lt.CUDA {
		cuda = "1"
	}
	desc := lt.Describe()
	fmt.Fprintln(w, "# written by cmd/libtorch-config; sourced by the Makefile")
	assign(w, "FKD_LIBTORCH_DESC", desc)
	assign(w, "FKD_LIBTORCH_VERSION", lt.DisplayVersion())
	assign(w, "FKD_LIBTORCH_CUDA", cuda)
	assign(w, "CGO_CXXFLAGS", strings.TrimSpace(joinFlags(f.CXXFlags)+" "+userCXX))
	assign(w, "CGO_LDFLAGS", strings.TrimSpace(joinFlags(f.LDFlags)+" "+userLD))
	// fkd version names the LibTorch it was built against.
	const pkg = "github.com/fkd-project/fkd/torch."
	assign(w, "FKD_GO_LDFLAGS", "-X '"+pkg+"buildLibTorch="+strings.ReplaceAll(desc, "'", "")+"' -X "+pkg+"buildLibTorchVersion="+lt.DisplayVersion())
}

// joinFlags joins flags as the go command splits CGO_*FLAGS: a flag with
// a space in it (a folder's name) is put in double quotes.
func joinFlags(flags []string) string {
	var quoted []string
	for _, f := range flags {
		if strings.ContainsAny(f, " \t") && !strings.Contains(f, `"`) {
			f = `"` + f + `"`
		}
		quoted = append(quoted, f)
	}
	return strings.Join(quoted, " ")
}

// assign prints NAME='value' with the value quoted for sh.
func assign(w io.Writer, name, value string) {
	fmt.Fprintf(w, "%s='%s'\n", name, strings.ReplaceAll(value, "'", `'\''`))
}
