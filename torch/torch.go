// Package torch is a small Go binding to LibTorch, PyTorch's C++ core: dense
// tensors on the CPU or a CUDA device, the neural-net functions a keypoint
// detector needs, and reverse-mode automatic differentiation.
//
// Layers built on it: package torch/nn (modules, parameters, initialisation,
// saving) and torch/optim (optimisers, schedules, gradient clipping).
//
// # Errors
//
// LibTorch reports failures as C++ exceptions. The C shim catches every one
// and returns it as a *Error carrying the op's name and LibTorch's message.
// Tensor operations treat such a failure as a programmer error (a shape
// mismatch, a dtype the op does not take) and panic with the *Error; wrap
// code in Catch to receive it as an ordinary error instead. Functions that
// fail for reasons outside the program (files, devices) return errors.
//
// # Memory
//
// A tensor's storage lives in C++ memory that Go's garbage collector does
// not see, so fkd never waits for the collector to free it. Free drops one
// tensor's reference at once. A Scope owns every tensor created on its
// goroutine while it is open, and Close frees them all: a training step
// opens a scope, and what it made is gone when the step ends, while
// parameters made outside any scope outlive it. Keep moves a result out of
// a scope; Unscoped makes tensors outside every open scope, as an
// optimiser's buffers. A cleanup registered with the Go runtime frees
// anything unreachable that was never freed and belongs to no scope, as a
// safety net only. README.md in this directory tells more.
//
// When the package loads it sets glibc's malloc to serve large blocks from
// the heap and keep freed pages mapped (mallopt M_MMAP_THRESHOLD and
// M_TRIM_THRESHOLD), so the process holds on to its peak memory, and, when
// the process has OpenBLAS's pthreads build, runs OpenBLAS's calls on the
// calling thread. FKD_MALLOC=default keeps glibc's defaults;
// FKD_BLAS=default, OPENBLAS_NUM_THREADS or GOTO_NUM_THREADS keep
// OpenBLAS's own threads. Why: docs/architecture.md, "Threads, malloc and
// BLAS on the CPU".
//
// # Threads
//
// LibTorch's grad mode and fkd's scopes belong to an OS thread; NewScope and
// NoGrad lock the calling goroutine to its thread until they end. Use one
// goroutine per model; LibTorch parallelises each op internally over
// SetNumThreads threads. fkd's trainer also locks its goroutine for the
// whole run (runtime.LockOSThread), so that LibTorch's allocations come
// from and return to one thread's malloc arena.
package torch

//go:generate go run ./internal/opgen

// #cgo CXXFLAGS: -std=c++20 -I/usr/include/torch/csrc/api/include -Wno-deprecated-declarations
// #cgo LDFLAGS: -ltorch -ltorch_cpu -lc10 -ldl
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"
)

// Error is a failure reported by LibTorch: the op that failed and
// LibTorch's message.
type Error struct {
	Op  string // the op's name, e.g. "conv2d"
	Msg string // LibTorch's message, first line of the C++ exception
}

// Error returns "torch <op>: <message>".
func (e *Error) Error() string { return "torch " + e.Op + ": " + e.Msg }

// takeError converts and frees a shim error; nil for success.
func takeError(e C.fkd_err) *Error {
	if e == nil {
		return nil
	}
	err := &Error{Op: C.GoString(e.op), Msg: C.GoString(e.msg)}
	C.free(unsafe.Pointer(e))
	return err
}

// must panics with the *Error a shim call returned, if any.
func must(e C.fkd_err) {
	if err := takeError(e); err != nil {
		panic(err)
	}
}

// Catch runs f and returns the *Error it panicked with, if any. Other
// panics pass through unchanged.
func Catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var te *Error
			if e, ok := r.(error); ok && errors.As(e, &te) {
				err = te
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

func init() {
	if os.Getenv("FKD_MALLOC") != "default" {
		C.fkd_tune_malloc()
	}
	if blasTuned(os.Getenv) {
		C.fkd_tune_blas()
	}
}

// blasTuned reports whether fkd should run OpenBLAS's calls on the calling
// thread (see the package comment): unless FKD_BLAS=default, or the user
// chose OpenBLAS's thread count with its own variables.
func blasTuned(getenv func(string) string) bool {
	return getenv("FKD_BLAS") != "default" && getenv("OPENBLAS_NUM_THREADS") == "" && getenv("GOTO_NUM_THREADS") == ""
}

// ScopeDepth returns how many scopes are open on the calling goroutine's
// thread: 0 unless the goroutine is inside NewScope...Close.
func ScopeDepth() int { return int(C.fkd_scope_depth()) }

// Version returns the version of the LibTorch fkd was built against.
func Version() string { return C.GoString(C.fkd_version()) }

// SetNumThreads sets how many threads LibTorch uses inside one CPU op;
// n <= 0 means one per logical CPU. LibTorch's own default on a small
// machine can be 1, so programs should call this once at start. The count
// holds for the whole process: OpenMP keeps it per OS thread, so every op
// applies it to the thread it runs on.
func SetNumThreads(n int) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	C.fkd_set_num_threads(C.int(n))
}

// NumThreads returns LibTorch's intra-op thread count.
func NumThreads() int { return int(C.fkd_get_num_threads()) }

// ManualSeed seeds LibTorch's random number generators (CPU and CUDA).
func ManualSeed(seed uint64) { C.fkd_manual_seed(C.uint64_t(seed)) }

// NoGrad runs f with gradient recording turned off on this goroutine, as
// for evaluation or parameter updates.
func NoGrad(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := C.fkd_grad_enabled()
	C.fkd_set_grad_enabled(0)
	defer C.fkd_set_grad_enabled(prev)
	f()
}

// Autocast runs f with automatic mixed precision on this goroutine, as
// PyTorch's torch.autocast: ops that gain from it (convolutions, matrix
// products) run in dt on dev, the others in float32. dt is Float16 or
// BFloat16 on CUDA, BFloat16 on the CPU. Outputs may be of dt: convert
// them to Float32 before a loss.
func Autocast(dev Device, dt DType, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var prevOn, prevDT C.int
	must(C.fkd_autocast_begin(C.int(dev.Type), C.int(dt), &prevOn, &prevDT))
	defer C.fkd_autocast_end(C.int(dev.Type), prevOn, prevDT)
	f()
}

// Scope owns the tensors created on its goroutine while it is open.
type Scope struct {
	closed bool
}

// NewScope opens a scope on the calling goroutine, which stays locked to
// its OS thread until Close. Scopes nest; close them in reverse order, on
// the goroutine that opened them (defer s.Close()).
func NewScope() *Scope {
	runtime.LockOSThread()
	C.fkd_scope_open()
	return &Scope{}
}

// Close frees the storage of every tensor created in the scope and not
// kept. Using such a tensor afterwards panics. Close is idempotent.
func (s *Scope) Close() {
	if s.closed {
		return
	}
	s.closed = true
	C.fkd_scope_close()
	runtime.UnlockOSThread()
}

// Keep moves tensors out of the innermost open scope into the scope around
// it, or out of scope ownership altogether when there is none, so they
// survive Close. It returns its first argument for convenience.
func Keep(ts ...*Tensor) *Tensor {
	for _, t := range ts {
		if t != nil && !t.owned && !t.freed && !t.stale() {
			if C.fkd_scope_keep(t.h) != 0 {
				t.own() // out of every scope: Go recycles it now
			}
		}
	}
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

// Unscoped runs f with the scopes open on the calling goroutine set aside:
// the tensors f makes belong to no scope, so they outlive the caller's
// scopes, and Go frees them (Free, or the runtime cleanup once
// unreachable). Tensors made before stay usable inside f. Scopes that f
// opens belong to f and must be closed by it. The caller's scopes are back
// when Unscoped returns, even when f panics.
func Unscoped(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.fkd_scopes_hide()
	defer C.fkd_scopes_restore()
	f()
}

// WithScope runs f inside a new scope and closes it when f returns.
func WithScope(f func()) {
	s := NewScope()
	defer s.Close()
	f()
}

// DType is a tensor's element type.
type DType int

// Element types.
const (
	Float32  DType = C.FKD_FLOAT32
	Float64  DType = C.FKD_FLOAT64
	Int64    DType = C.FKD_INT64
	Bool     DType = C.FKD_BOOL
	Uint8    DType = C.FKD_UINT8
	BFloat16 DType = C.FKD_BFLOAT16
	Float16  DType = C.FKD_FLOAT16
	Int32    DType = C.FKD_INT32
)

var dtypeNames = map[DType]string{
	Float32: "float32", Float64: "float64", Int64: "int64", Bool: "bool",
	Uint8: "uint8", BFloat16: "bfloat16", Float16: "float16", Int32: "int32",
}

var dtypeSizes = map[DType]int{
	Float32: 4, Float64: 8, Int64: 8, Bool: 1, Uint8: 1, BFloat16: 2, Float16: 2, Int32: 4,
}

// String returns the type's name, e.g. "float32".
func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Size returns the number of bytes of one element.
func (d DType) Size() int { return dtypeSizes[d] }

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float64 || d == BFloat16 || d == Float16
}
