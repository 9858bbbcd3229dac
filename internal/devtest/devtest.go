// Package devtest helps tests that compare a CUDA device with the CPU run
// on any machine.
package devtest

import (
	"testing"

	"github.com/fkd-project/fkd/torch"
)

// Device returns cuda:0 when LibTorch sees a CUDA device, else the CPU,
// saying in the test log that the comparison is then the CPU with itself:
// the test's code still runs, which proves its tables and tolerances work.
func Device(t testing.TB) torch.Device {
	t.Helper()
	if torch.CUDAAvailable() {
		return torch.CUDA(0)
	}
	t.Logf("no CUDA device (LibTorch %s): comparing the CPU with itself", torch.Version())
	return torch.CPU
}
