// Package sysinfo gathers what fkd version prints: fkd's release and the
// commit it was built from, the Go and LibTorch versions, CUDA and cuDNN,
// the devices, the CPU threads and the BLAS. It is what a user pastes into
// a bug report, and what says whether a build can use the GPU.
package sysinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/fkd-project/fkd/torch"
)

// Write writes one line per fact, as "name  value"; release is fkd's
// release, which Release completes with the commit.
func Write(w io.Writer, release string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }

	row("fkd", "%s", Release(release))
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
	row("devices", "cpu: %d logical CPUs%s", runtime.NumCPU(), optional(", ", ConfigValue(config, "CPU capability usage")))
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
	row("threads", "%d intra-op%s", torch.NumThreads(), optional(", backend ", ConfigValue(config, "ATen parallel backend")))
	row("BLAS", "%s", torch.BLAS())
	return tw.Flush()
}

// Release returns release with the commit it was built from, when the
// build recorded one (go build in a git checkout does).
func Release(release string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return release
	}
	return withCommit(release, info.Settings)
}

// withCommit adds to release the commit the build settings record.
func withCommit(release string, settings []debug.BuildSetting) string {
	var rev, when string
	modified := false
	for _, kv := range settings {
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
		return release
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	s := release + ", commit " + rev
	if modified {
		s += " with local changes"
	}
	if when != "" {
		s += " of " + when
	}
	return s
}

// ConfigValue returns the value after "key:" or "key=" in LibTorch's
// build configuration text (torch.BuildConfig), or "".
func ConfigValue(config, key string) string {
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
