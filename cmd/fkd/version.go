package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/cmd/fkd/internal/sysinfo"
	"github.com/fkd-project/fkd/torch"
)

// version is fkd's release; a build may set it with
// -ldflags "-X main.version=...".
var version = "0.4.0-dev"

func init() {
	register(&command{name: "version", run: runVersion,
		summary: "fkd, Go and LibTorch versions, CUDA and cuDNN, the GPUs, threads and BLAS of this build",
		usage:   "[flags]"})
}

func runVersion(fs *pflag.FlagSet, args []string) error {
	threads := fs.Int("threads", 0, "intra-op threads to report, as --threads of the training commands (0: all cores)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	torch.SetNumThreads(*threads)
	return sysinfo.Write(os.Stdout, version)
}
