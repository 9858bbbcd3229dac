// shim_process.cpp: the process-wide settings of shim.h that are not
// LibTorch's: how glibc's malloc keeps large blocks, and whether OpenBLAS
// runs threads of its own. Package torch applies them when it loads, and
// its package comment says how to keep the defaults; why is told once in
// docs/architecture.md ("Threads, malloc and BLAS on the CPU").

#include "shim.h"

#include <dlfcn.h>
#include <malloc.h>

extern "C" {

// Serves large blocks from the heap instead of mmap, and never trims the
// heap: the pages a training step frees stay mapped for the next one.
void fkd_tune_malloc(void) {
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

// Runs OpenBLAS's calls on the calling thread, without its worker threads,
// when the process has OpenBLAS's pthreads build. The symbols are looked up
// at run time, so a LibTorch with MKL or another BLAS is left alone.
void fkd_tune_blas(void) {
	auto parallel = reinterpret_cast<int (*)(void)>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
	auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
	if (parallel != nullptr && set != nullptr && parallel() == 1) set(1);
}

int fkd_blas_threads(void) {
	auto get = reinterpret_cast<int (*)(void)>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
	return get == nullptr ? 0 : get();
}

} // extern "C"
