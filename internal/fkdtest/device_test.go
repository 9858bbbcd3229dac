package fkdtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// recorder is a testing.TB that records what Device logs and whether it
// failed the test.
type recorder struct {
	testing.TB
	logs   []string
	failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.Logf(format, args...)
}

// TestDevice checks both sides of Device without a GPU: the fallback line
// bench/gpu/run.sh looks for, and the failure FKD_REQUIRE_CUDA=1 asks for.
func TestDevice(t *testing.T) {
	if torch.CUDAAvailable() {
		r := &recorder{TB: t}
		if dev := Device(r); !dev.IsCUDA() || r.failed || len(r.logs) != 0 {
			t.Errorf("with a GPU: Device = %v, failed %v, logs %q", dev, r.failed, r.logs)
		}
		return
	}
	t.Setenv(RequireCUDA, "")
	r := &recorder{TB: t}
	if dev := Device(r); dev != torch.CPU || r.failed {
		t.Errorf("without a GPU: Device = %v, failed %v; want the CPU, not failed", dev, r.failed)
	}
	if len(r.logs) != 1 || !strings.HasPrefix(r.logs[0], FallbackMarker) || !strings.Contains(r.logs[0], "comparing the CPU with itself") {
		t.Errorf("without a GPU: logs %q, want one line starting %q", r.logs, FallbackMarker)
	}

	t.Setenv(RequireCUDA, "1")
	r = &recorder{TB: t}
	Device(r)
	if !r.failed || len(r.logs) != 1 || !strings.HasPrefix(r.logs[0], FallbackMarker) || !strings.Contains(r.logs[0], RequireCUDA+"=1") {
		t.Errorf("without a GPU and %s=1: failed %v, logs %q; want a failure naming %s", RequireCUDA, r.failed, r.logs, RequireCUDA)
	}
}
