package torch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDescribeBLAS(t *testing.T) {
	tests := []struct {
		paths []string
		want  string
	}{
		{nil, ""},
		{[]string{"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"}, "OpenBLAS (pthreads): /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"},
		{[]string{"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"}, "OpenBLAS (OpenMP): "},
		{[]string{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"}, "reference BLAS (slow: install libopenblas0-pthread)"},
		{[]string{"/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3"}, "ATLAS: "},
		{[]string{"/opt/intel/lib/libmkl_rt.so.2"}, "MKL: /opt/intel/lib/libmkl_rt.so.2"},
		{[]string{"/usr/lib/libblis.so.4"}, "BLIS: "},
	}
	for _, tt := range tests {
		got := describeBLAS(tt.paths)
		if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
			t.Errorf("describeBLAS(%q) = %q, want prefix %q", tt.paths, got, tt.want)
		}
	}
}

func TestLoadedBLAS(t *testing.T) {
	maps := `55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1 /usr/bin/fkd
7f00a0000000-7f00a0200000 r-xp 00000000 fe:01 2 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13
7f00a1000000-7f00a1100000 r-xp 00000000 fe:01 3 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
7f00a1100000-7f00a1200000 r--p 00100000 fe:01 3 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
7f00a2000000-7f00a2001000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
`
	p := filepath.Join(t.TempDir(), "maps")
	if err := os.WriteFile(p, []byte(maps), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := loadedBLAS(p), "OpenBLAS (pthreads): /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"; got != want {
		t.Errorf("loadedBLAS = %q, want %q", got, want)
	}
	if got := loadedBLAS(filepath.Join(t.TempDir(), "missing")); got != "" {
		t.Errorf("loadedBLAS of a missing file = %q, want \"\"", got)
	}
}

func TestBuildFacts(t *testing.T) {
	if CUDADeviceCount() > 0 && !CUDACompiled() {
		t.Errorf("%d CUDA devices but CUDACompiled() is false", CUDADeviceCount())
	}
	if (CUDARuntimeVersion() != "") != CUDACompiled() {
		t.Errorf("CUDARuntimeVersion() = %q with CUDACompiled() = %v", CUDARuntimeVersion(), CUDACompiled())
	}
	if CuDNNVersion() != "" && !CUDACompiled() {
		t.Errorf("cuDNN %s without CUDA", CuDNNVersion())
	}
	cfg := BuildConfig()
	if !strings.Contains(cfg, "ATen parallel backend") || !strings.Contains(cfg, "get_num_threads") {
		t.Errorf("BuildConfig() lacks LibTorch's parallel info:\n%s", cfg)
	}
	devices, err := CUDADevices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != CUDADeviceCount() {
		t.Errorf("CUDADevices() gave %d devices, CUDADeviceCount() %d", len(devices), CUDADeviceCount())
	}
	for _, d := range devices {
		if d.Name == "" || d.MemoryBytes == 0 {
			t.Errorf("device %d: %+v", d.Index, d)
		}
	}
	if BLAS() == "" {
		t.Error("BLAS() is empty")
	}
	if ReleaseVersion() != Version() && BuiltAgainst() == "" {
		t.Errorf("ReleaseVersion() = %s differs from Version() = %s in a build without -X", ReleaseVersion(), Version())
	}
}

func TestBLASTuned(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{nil, true},
		{map[string]string{"FKD_BLAS": "default"}, false},
		{map[string]string{"OPENBLAS_NUM_THREADS": "4"}, false},
		{map[string]string{"GOTO_NUM_THREADS": "2"}, false},
		{map[string]string{"FKD_BLAS": "", "OMP_NUM_THREADS": "2"}, true},
	}
	for _, tt := range tests {
		if got := blasTuned(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("blasTuned(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}
