package torch

// #include "shim.h"
import "C"

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceType is the kind of processor a tensor lives on.
type DeviceType int

// Device types.
const (
	CPUDevice  DeviceType = C.FKD_CPU
	CUDADevice DeviceType = C.FKD_CUDA
)

// Device names a processor: the CPU, or one CUDA GPU by index.
type Device struct {
	Type  DeviceType
	Index int // CUDA device number; 0 for the CPU
}

// CPU is the host processor. It is the zero Device.
var CPU = Device{Type: CPUDevice}

// CUDA returns CUDA device i.
func CUDA(i int) Device { return Device{Type: CUDADevice, Index: i} }

// IsCUDA reports whether d is a CUDA device.
func (d Device) IsCUDA() bool { return d.Type == CUDADevice }

// String returns "cpu" or "cuda:<index>".
func (d Device) String() string {
	if d.Type == CUDADevice {
		return "cuda:" + strconv.Itoa(d.Index)
	}
	return "cpu"
}

// CUDADeviceCount returns the number of CUDA devices LibTorch can use: 0
// with a CPU-only LibTorch or when no GPU or driver is present.
func CUDADeviceCount() int { return int(C.fkd_cuda_device_count()) }

// CUDAAvailable reports whether at least one CUDA device can be used.
func CUDAAvailable() bool { return CUDADeviceCount() > 0 }

// ParseDevice reads a device name: "cpu", "cuda" (device 0), "cuda:N", or
// "auto" (cuda:0 when a CUDA device is present, else the CPU). It checks
// that a requested CUDA device exists, and says why when it does not.
func ParseDevice(s string) (Device, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	switch {
	case name == "cpu":
		return CPU, nil
	case name == "auto" || name == "":
		if CUDAAvailable() {
			return CUDA(0), nil
		}
		return CPU, nil
	case name == "cuda" || strings.HasPrefix(name, "cuda:"):
		idx := 0
		if rest, ok := strings.CutPrefix(name, "cuda:"); ok {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return CPU, fmt.Errorf("device %q: want cuda:N with N a device number", s)
			}
			idx = n
		}
		n := CUDADeviceCount()
		if n == 0 && !CUDACompiled() {
			return CPU, fmt.Errorf("device %q: this fkd is built against a CPU-only LibTorch %s; "+
				"rebuild against a CUDA LibTorch (LIBTORCH=python make build for pip's PyTorch, or "+
				"LIBTORCH=/path/to/libtorch make build), check with fkd version, or use --device cpu", s, Version())
		}
		if n == 0 {
			return CPU, fmt.Errorf("device %q: no CUDA device found: LibTorch %s has CUDA %s but sees no GPU; "+
				"check nvidia-smi, the NVIDIA driver and CUDA_VISIBLE_DEVICES, or use --device cpu", s, Version(), CUDARuntimeVersion())
		}
		if idx >= n {
			return CPU, fmt.Errorf("device %q: only %d CUDA device(s) present (cuda:0..cuda:%d)", s, n, n-1)
		}
		return CUDA(idx), nil
	}
	return CPU, fmt.Errorf("device %q: want cpu, cuda, cuda:N or auto", s)
}
