package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/torch"
)

// version is fkd's release; a build may set it with
// -ldflags "-X main.version=...".
var version = "0.4.0-dev"

func init() {
	register(&command{
		name:    "version",
		summary: "fkd, Go and LibTorch versions, CUDA and cuDNN, the GPUs, threads and BLAS of this build",
		usage:   "[flags]",
		run:     runVersion,
	})
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
	return printVersion(os.Stdout)
}

// printVersion writes one line per fact: what a user pastes into a bug
// report, and what says whether a build can use the GPU.
func printVersion(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }

	row("fkd", "%s", fkdVersion())
	row("Go", "%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	config := torch.BuildConfig()
	row("LibTorch", "%s", torch.ReleaseVersion())
	if b := torch.BuiltAgainst(); b != "" {
		row("built with", "%s", b)
	}
	if torch.CUDACompiled() {
		row("CUDA", "yes: built with CUDA %s", torch.CUDARuntimeVersion())
	} else {
		row("CUDA", "no: this LibTorch is CPU-only (for a GPU, rebuild: LIBTORCH=python make build, or LIBTORCH=/path/to/libtorch)")
	}
	if v := torch.CuDNNVersion(); v != "" {
		row("cuDNN", "%s", v)
	} else {
		row("cuDNN", "-")
	}
	row("devices", "cpu: %d logical CPUs%s", runtime.NumCPU(), optional(", ", configValue(config, "CPU capability usage")))
	devices, err := torch.CUDADevices()
	for _, d := range devices {
		row("", "cuda:%d: %s, %.1f GiB, compute capability %s, driver CUDA %s",
			d.Index, d.Name, float64(d.MemoryBytes)/(1<<30), d.Compute, d.DriverVersion)
	}
	if err != nil {
		row("", "CUDA devices: %v", err)
	} else if torch.CUDACompiled() && len(devices) == 0 {
		row("", "no CUDA device visible (check nvidia-smi, the driver and CUDA_VISIBLE_DEVICES)")
	}
	row("threads", "%d intra-op%s", torch.NumThreads(), optional(", backend ", configValue(config, "ATen parallel backend")))
	row("BLAS", "%s", torch.BLAS())
	return tw.Flush()
}

// fkdVersion is the release with the commit it was built from, when the
// build recorded one (go build in a git checkout does).
func fkdVersion() string {
	s := version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return s
	}
	var rev, when string
	modified := false
	for _, kv := range info.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			when = kv.Value
		case "vcs.modified":
			modified = kv.Value == "true"
		}
	}
	if rev == "" {
		return s
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	s += ", commit " + rev
	if modified {
		s += " with local changes"
	}
	if when != "" {
		s += " of " + when
	}
	return s
}

// configValue returns the value after "key:" or "key=" in LibTorch's build
// configuration text, or "".
func configValue(config, key string) string {
	for _, line := range strings.Split(config, "\n") {
		line = strings.TrimLeft(line, " -\t")
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest != "" && (rest[0] == ':' || rest[0] == '=') {
			return strings.TrimSpace(rest[1:])
		}
	}
	return ""
}

func optional(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
