package torch

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// CUDACompiled reports whether the LibTorch fkd runs on has its CUDA
// kernels loaded, whether or not a GPU is present. It is false for a
// CPU-only LibTorch, and for a CUDA LibTorch whose libtorch_cuda library
// was not linked.
func CUDACompiled() bool { return C.fkd_cuda_compiled() != 0 }

// CUDARuntimeVersion returns the version of the CUDA runtime LibTorch was
// built with, as "12.4", or "" without CUDA.
func CUDARuntimeVersion() string {
	v := int(C.fkd_cuda_runtime_version())
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// CuDNNVersion returns the version of cuDNN LibTorch uses, as "9.1.0", or
// "" without cuDNN.
func CuDNNVersion() string {
	v := int(C.fkd_cudnn_version())
	if v <= 0 {
		return ""
	}
	// cuDNN 9 and later number versions major*10000 + minor*100 + patch,
	// earlier ones major*1000 + minor*100 + patch.
	if v >= 90000 {
		return fmt.Sprintf("%d.%d.%d", v/10000, v%10000/100, v%100)
	}
	return fmt.Sprintf("%d.%d.%d", v/1000, v%1000/100, v%100)
}

// BuildConfig returns LibTorch's description of its build (compiler, BLAS,
// CUDA, CPU capability) followed by its parallel settings, as PyTorch's
// torch.__config__.show() and parallel_info() print them.
func BuildConfig() string {
	var out *C.char
	must(C.fkd_build_config(&out))
	defer C.free(unsafe.Pointer(out))
	return C.GoString(out)
}

// CUDADeviceInfo describes one CUDA device as the driver reports it.
type CUDADeviceInfo struct {
	Index         int
	Name          string // e.g. "NVIDIA H200"
	MemoryBytes   uint64 // total device memory
	Compute       string // compute capability, e.g. "9.0"
	DriverVersion string // the CUDA version the driver supports, e.g. "12.8"
}

// CUDADevices describes each CUDA device LibTorch can use, through the
// CUDA driver's library. It returns none, and no error, when LibTorch sees
// no device.
func CUDADevices() ([]CUDADeviceInfo, error) {
	n := CUDADeviceCount()
	var infos []CUDADeviceInfo
	for i := 0; i < n; i++ {
		var name [256]C.char
		var total C.uint64_t
		var major, minor, driver C.int
		if err := takeError(C.fkd_cuda_device_info(C.int(i), &name[0], C.int(len(name)), &total,
			&major, &minor, &driver)); err != nil {
			return infos, err
		}
		infos = append(infos, CUDADeviceInfo{
			Index:         i,
			Name:          C.GoString(&name[0]),
			MemoryBytes:   uint64(total),
			Compute:       fmt.Sprintf("%d.%d", int(major), int(minor)),
			DriverVersion: fmt.Sprintf("%d.%d", int(driver)/1000, int(driver)%1000/10),
		})
	}
	return infos, nil
}

// BLAS names the BLAS library that does LibTorch's matrix products in this
// process: the shared library loaded for it (Debian's LibTorch uses the
// system's libblas.so.3, which OpenBLAS or the slow reference BLAS
// provides), or, when none is loaded separately, the one LibTorch was built
// with (official builds link MKL into libtorch_cpu).
func BLAS() string {
	if lib := loadedBLAS("/proc/self/maps"); lib != "" {
		switch n := int(C.fkd_blas_threads()); {
		case n == 1:
			lib += " (1 thread)"
		case n > 1:
			lib += fmt.Sprintf(" (%d threads)", n)
		}
		return lib
	}
	for _, line := range strings.Split(BuildConfig(), "\n") {
		if _, v, ok := strings.Cut(strings.TrimSpace(line), "BLAS_INFO="); ok {
			v = strings.TrimSuffix(strings.TrimSpace(v), ",")
			return v + " (linked into LibTorch)"
		}
	}
	return "unknown"
}

// loadedBLAS reads a /proc/PID/maps file and describes the BLAS library
// mapped into the process, or returns "" when there is none.
func loadedBLAS(maps string) string {
	f, err := os.Open(maps)
	if err != nil {
		return ""
	}
	defer f.Close()
	var paths []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		p := fields[len(fields)-1]
		if !seen[p] && isBLASLibrary(filepath.Base(p)) {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	return describeBLAS(paths)
}

func isBLASLibrary(base string) bool {
	for _, prefix := range []string{"libblas.so", "libopenblas", "libmkl_", "libblis", "libcblas.so"} {
		if strings.HasPrefix(base, prefix) {
			return true
		}
	}
	return false
}

// blasKinds names BLAS implementations by a piece of their library's path,
// most specific first.
var blasKinds = []struct{ marker, name string }{
	{"openblas-pthread", "OpenBLAS (pthreads)"},
	{"openblas-openmp", "OpenBLAS (OpenMP)"},
	{"openblas-serial", "OpenBLAS (serial)"},
	{"openblas", "OpenBLAS"},
	{"libmkl_", "MKL"},
	{"blis", "BLIS"},
	{"atlas", "ATLAS"},
	{"/blas/", "reference BLAS (slow: install libopenblas0-pthread)"},
}

// describeBLAS names the implementation behind the mapped library paths:
// OpenBLAS (with its threading flavour when Debian's path says it), MKL,
// BLIS, ATLAS, or the reference BLAS, which is slow.
func describeBLAS(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	joined := strings.Join(paths, " ")
	for _, k := range blasKinds {
		if strings.Contains(joined, k.marker) {
			return k.name + ": " + paths[0]
		}
	}
	return "BLAS: " + paths[0]
}

// buildLibTorch describes the LibTorch installation fkd was built against,
// as "make build" found it, and buildLibTorchVersion is that
// installation's version; both are set with -ldflags -X, and "" in other
// builds.
var buildLibTorch, buildLibTorchVersion string

// BuiltAgainst returns the description of the LibTorch installation that
// "make build" found and built fkd against, e.g. "LibTorch 2.6.0 (archive
// 2.6.0+cu124) in /opt/libtorch; CUDA: yes"; "" for builds made otherwise
// (go build, go test).
func BuiltAgainst() string { return buildLibTorch }

// ReleaseVersion returns LibTorch's version as its installation names it,
// which can be more precise than Version: Debian's libtorch-dev 1.13.1
// carries 1.13.0 in its headers. It is Version in builds not made by
// "make build", or when the two disagree beyond the patch level.
func ReleaseVersion() string {
	v := Version()
	if buildLibTorchVersion == "" {
		return v
	}
	cut := func(s string) string {
		if i := strings.LastIndexByte(s, '.'); i >= 0 {
			return s[:i]
		}
		return s
	}
	if cut(buildLibTorchVersion) == cut(v) {
		return buildLibTorchVersion
	}
	return v
}
