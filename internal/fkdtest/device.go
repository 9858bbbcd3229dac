package fkdtest

// Device comparisons: tests that compare a CUDA device with the CPU run on
// any machine.

import (
	"os"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// RequireCUDA names the environment variable that, set to 1, makes Device
// fail the test when LibTorch sees no CUDA device instead of comparing the
// CPU with itself. bench/gpu/run.sh sets it on the GPU machine, where a
// CUDA test passing on the CPU would be a lie.
const RequireCUDA = "FKD_REQUIRE_CUDA"

// FallbackMarker starts the line Device logs when it falls back to the
// CPU; bench/gpu/run.sh looks for it in the tests' output.
const FallbackMarker = "cuda-fallback:"

// Device returns cuda:0 when LibTorch sees a CUDA device, else the CPU,
// saying in the test log (a line starting FallbackMarker) that the
// comparison is then the CPU with itself: the test's code still runs,
// which proves its tables and tolerances work. With FKD_REQUIRE_CUDA=1 it
// fails the test instead.
func Device(t testing.TB) torch.Device {
	t.Helper()
	if torch.CUDAAvailable() {
		return torch.CUDA(0)
	}
	cuda := "a CPU-only LibTorch"
	if torch.CUDACompiled() {
		cuda = "a CUDA LibTorch that sees no GPU"
	}
	if os.Getenv(RequireCUDA) == "1" {
		t.Fatalf("%s no CUDA device (LibTorch %s, %s) and %s=1: this test must run on a GPU", FallbackMarker, torch.Version(), cuda, RequireCUDA)
		return torch.CPU
	}
	t.Logf("%s no CUDA device (LibTorch %s, %s): comparing the CPU with itself", FallbackMarker, torch.Version(), cuda)
	return torch.CPU
}
