package torch

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"
)

// hostReads counts the reads of tensor values back to Go (Item, the
// slice copies, UnscaleGrads): each waits for the device to finish the
// work queued before it.
var hostReads atomic.Uint64

// HostReads returns how many times the process has read tensor values back
// to Go memory since it started. On a GPU each read is a synchronisation
// that stalls the queue of work, so a training loop should read rarely;
// tests use this count to prove that it does.
func HostReads() uint64 { return hostReads.Load() }

// Tensor is a LibTorch tensor. The zero value is not usable; tensors come
// from the constructors and ops of this package. A *Tensor must not be used
// after Free, or after the Scope it was created in has closed.
type Tensor struct {
	h     *C.fkd_tensor
	gen   uint64 // the handle's generation when this Tensor was made
	freed bool   // Free was called
	owned bool   // Go recycles the handle (a cleanup is registered)
}

// head is the part of a shim handle Go reads without a call. Handles are
// never returned to the system, so it is readable even when stale.
func head(h *C.fkd_tensor) *C.fkd_handle { return &h.head }

// wrap takes a handle the shim returned. A handle that a scope owns is
// recycled when the scope closes; any other is recycled by a cleanup once
// the Tensor is unreachable.
func wrap(h *C.fkd_tensor) *Tensor {
	if h == nil {
		return nil
	}
	hd := head(h)
	t := &Tensor{h: h, gen: uint64(hd.gen)}
	if hd.scoped == 0 {
		t.own()
	}
	return t
}

// own makes Go responsible for recycling t's handle.
func (t *Tensor) own() {
	t.owned = true
	runtime.AddCleanup(t, func(h *C.fkd_tensor) { C.fkd_release(h) }, t.h)
}

// call runs a shim op that produces one tensor and panics on failure.
// inputs are the tensors whose handles f passes to the shim: they stay
// reachable until the op has returned, because the cleanup of an input that
// became unreachable mid-op would recycle the handle LibTorch is reading.
func call(f func(out **C.fkd_tensor) C.fkd_err, inputs ...*Tensor) *Tensor {
	var out *C.fkd_tensor
	err := f(&out)
	for _, in := range inputs {
		runtime.KeepAlive(in)
	}
	if err != nil {
		panic(takeError(err))
	}
	return wrap(out)
}

// result wraps the tensor a shim op returned, or panics with its error.
func result(err C.fkd_err, out *C.fkd_tensor) *Tensor {
	if err != nil {
		panic(takeError(err))
	}
	return wrap(out)
}

// stale reports whether t's handle has been recycled since t was made: its
// scope closed (or, for a handle Go owned, never: Go recycles only
// unreachable ones).
func (t *Tensor) stale() bool { return uint64(head(t.h).gen) != t.gen }

// Free drops this handle's reference to the tensor's storage now, without
// waiting for its scope to close or for the garbage collector. The storage
// itself goes when nothing else holds it: a view or another tensor sharing
// it (Narrow, Detach, To with nothing to change) keeps it, and so does a
// parameter whose gradient Grad returned, which keeps its gradient. Free is
// idempotent and safe on a nil *Tensor, and on a tensor whose scope has
// closed; other uses of a freed tensor panic.
func (t *Tensor) Free() {
	if t == nil || t.freed || t.stale() {
		return
	}
	t.freed = true
	C.fkd_free(t.h)
	runtime.KeepAlive(t)
}

// Defined reports whether t holds storage (it has not been freed and its
// scope has not closed).
func (t *Tensor) Defined() bool {
	return t != nil && !t.freed && !t.stale()
}

// live returns t's handle after checking, in Go, that t may be used.
func (t *Tensor) live() *C.fkd_tensor {
	if t == nil {
		panic(&Error{Op: "tensor", Msg: "nil tensor"})
	}
	if t.freed || t.stale() {
		panic(&Error{Op: "tensor", Msg: "tensor used after Free or after its scope closed"})
	}
	return t.h
}

// handle returns t's shim handle, or nil for a nil *Tensor (an optional
// argument such as a missing bias).
func handle(t *Tensor) *C.fkd_tensor {
	if t == nil {
		return nil
	}
	return t.live()
}

// handles returns the shim handles of ts in a C array, and a function that
// frees the array. Until that function runs, ts stay reachable (see call).
func handles(ts []*Tensor) (**C.fkd_tensor, func()) {
	if len(ts) == 0 {
		return nil, func() {}
	}
	for _, t := range ts {
		t.live() // check them all before allocating: a panic here leaks nothing
	}
	arr := (**C.fkd_tensor)(C.malloc(C.size_t(len(ts)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	s := unsafe.Slice(arr, len(ts))
	for i, t := range ts {
		s[i] = t.h
	}
	return arr, func() {
		C.free(unsafe.Pointer(arr))
		runtime.KeepAlive(ts)
	}
}

// ints passes a shape or dimension list to C. The pointer is valid for the
// duration of the cgo call only (Go memory, no C pointers inside).
func ints(xs []int64) (*C.int64_t, C.int) {
	if len(xs) == 0 {
		return nil, 0
	}
	return (*C.int64_t)(unsafe.Pointer(&xs[0])), C.int(len(xs))
}

func numel(shape []int64) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(&Error{Op: "shape", Msg: fmt.Sprintf("negative dimension in %v", shape)})
		}
		n *= int(d)
	}
	return n
}

// fromData copies len(data) elements of the given type into a new CPU tensor.
func fromData(ptr unsafe.Pointer, n int, dt DType, shape []int64) *Tensor {
	if want := numel(shape); want != n {
		panic(&Error{Op: "from_data", Msg: fmt.Sprintf("%d values do not fill shape %v (%d elements)", n, shape, want)})
	}
	if n == 0 {
		return Full(shape, 0, dt, CPU)
	}
	sp, nd := ints(shape)
	return call(func(out **C.fkd_tensor) C.fkd_err { return C.fkd_from_data(ptr, sp, nd, C.int(dt), out) })
}

// FromFloat32 copies data into a new float32 CPU tensor of the given shape.
func FromFloat32(data []float32, shape ...int64) *Tensor {
	return fromData(unsafe.Pointer(unsafe.SliceData(data)), len(data), Float32, shape)
}

// FromFloat64 copies data into a new float64 CPU tensor of the given shape.
func FromFloat64(data []float64, shape ...int64) *Tensor {
	return fromData(unsafe.Pointer(unsafe.SliceData(data)), len(data), Float64, shape)
}

// FromInt64 copies data into a new int64 CPU tensor of the given shape.
func FromInt64(data []int64, shape ...int64) *Tensor {
	return fromData(unsafe.Pointer(unsafe.SliceData(data)), len(data), Int64, shape)
}

// FromBool copies data into a new bool CPU tensor of the given shape.
func FromBool(data []bool, shape ...int64) *Tensor {
	return fromData(unsafe.Pointer(unsafe.SliceData(data)), len(data), Bool, shape)
}

// FromUint8 copies data into a new uint8 CPU tensor of the given shape.
func FromUint8(data []uint8, shape ...int64) *Tensor {
	return fromData(unsafe.Pointer(unsafe.SliceData(data)), len(data), Uint8, shape)
}

// FromBytes copies raw little-endian element data of type dt into a new
// CPU tensor of the given shape.
func FromBytes(data []byte, dt DType, shape ...int64) *Tensor {
	n := numel(shape)
	if n*dt.Size() != len(data) {
		panic(&Error{Op: "from_data", Msg: fmt.Sprintf("%d bytes do not fill shape %v of %s", len(data), shape, dt)})
	}
	if n == 0 {
		return Full(shape, 0, dt, CPU)
	}
	sp, nd := ints(shape)
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_from_data(unsafe.Pointer(&data[0]), sp, nd, C.int(dt), out)
	})
}

// copyOut copies t's elements (converted to dt if needed) into dst, which
// must hold exactly Numel elements of dt.
func (t *Tensor) copyOut(dst unsafe.Pointer, n int, dt DType) {
	src := t
	if t.DType() != dt {
		src = t.To(t.Device(), dt)
		defer src.Free()
	}
	if n == 0 {
		return
	}
	hostReads.Add(1)
	err := C.fkd_copy_data(src.live(), dst, C.int64_t(n*dt.Size()))
	runtime.KeepAlive(src)
	must(err)
}

// Float32s copies the tensor's elements, converted to float32, into a new
// slice in row-major order. The tensor may live on any device.
func (t *Tensor) Float32s() []float32 {
	out := make([]float32, t.Numel())
	t.copyOut(unsafe.Pointer(unsafe.SliceData(out)), len(out), Float32)
	return out
}

// Float64s copies the elements, converted to float64, into a new slice.
func (t *Tensor) Float64s() []float64 {
	out := make([]float64, t.Numel())
	t.copyOut(unsafe.Pointer(unsafe.SliceData(out)), len(out), Float64)
	return out
}

// Int64s copies the elements, converted to int64, into a new slice.
func (t *Tensor) Int64s() []int64 {
	out := make([]int64, t.Numel())
	t.copyOut(unsafe.Pointer(unsafe.SliceData(out)), len(out), Int64)
	return out
}

// Bools copies the elements, converted to bool, into a new slice.
func (t *Tensor) Bools() []bool {
	out := make([]bool, t.Numel())
	t.copyOut(unsafe.Pointer(unsafe.SliceData(out)), len(out), Bool)
	return out
}

// Uint8s copies the elements, converted to uint8, into a new slice.
func (t *Tensor) Uint8s() []uint8 {
	out := make([]uint8, t.Numel())
	t.copyOut(unsafe.Pointer(unsafe.SliceData(out)), len(out), Uint8)
	return out
}

// Bytes returns the raw little-endian bytes of the elements in row-major
// order, in the tensor's own dtype.
func (t *Tensor) Bytes() []byte {
	out := make([]byte, t.Numel()*t.DType().Size())
	if len(out) > 0 {
		hostReads.Add(1)
		err := C.fkd_copy_data(t.live(), unsafe.Pointer(&out[0]), C.int64_t(len(out)))
		runtime.KeepAlive(t)
		must(err)
	}
	return out
}

// Item returns the value of a one-element tensor as a float64.
func (t *Tensor) Item() float64 {
	hostReads.Add(1)
	var v C.double
	err := C.fkd_item(t.live(), &v)
	runtime.KeepAlive(t)
	must(err)
	return float64(v)
}

// Full returns a tensor of the given shape filled with value.
func Full(shape []int64, value float64, dt DType, dev Device) *Tensor {
	sp, nd := ints(shape)
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_full(sp, nd, C.double(value), C.int(dt), C.int(dev.Type), C.int(dev.Index), out)
	})
}

// Zeros returns a tensor of zeros.
func Zeros(shape []int64, dt DType, dev Device) *Tensor { return Full(shape, 0, dt, dev) }

// ZerosLike returns zeros of t's shape and dtype on dev, laid out as t is
// (channels last or not): a buffer, gradient or copy that matches t.
func ZerosLike(t *Tensor, dev Device) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_zeros_like(h, C.int(dev.Type), C.int(dev.Index), out)
	}, t)
}

// Ones returns a tensor of ones.
func Ones(shape []int64, dt DType, dev Device) *Tensor { return Full(shape, 1, dt, dev) }

// Rand returns a tensor of values drawn uniformly from [0, 1).
func Rand(shape []int64, dt DType, dev Device) *Tensor {
	sp, nd := ints(shape)
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_rand(sp, nd, 0, C.int(dt), C.int(dev.Type), C.int(dev.Index), out)
	})
}

// Randn returns a tensor of values drawn from the standard normal distribution.
func Randn(shape []int64, dt DType, dev Device) *Tensor {
	sp, nd := ints(shape)
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_rand(sp, nd, 1, C.int(dt), C.int(dev.Type), C.int(dev.Index), out)
	})
}

// Arange returns the 1-D tensor start, start+step, ... up to but not
// including end.
func Arange(start, end, step float64, dt DType, dev Device) *Tensor {
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_arange(C.double(start), C.double(end), C.double(step), C.int(dt), C.int(dev.Type), C.int(dev.Index), out)
	})
}

// Dim returns the number of dimensions.
func (t *Tensor) Dim() int {
	defer runtime.KeepAlive(t)
	return int(C.fkd_ndim(t.live()))
}

// Shape returns the size of each dimension.
func (t *Tensor) Shape() []int64 {
	defer runtime.KeepAlive(t)
	var buf [8]int64
	h := t.live()
	n := int(C.fkd_shape(h, (*C.int64_t)(unsafe.Pointer(&buf[0])), C.int(len(buf))))
	if n <= len(buf) {
		return append([]int64(nil), buf[:n]...)
	}
	s := make([]int64, n)
	C.fkd_shape(h, (*C.int64_t)(unsafe.Pointer(&s[0])), C.int(n))
	return s
}

// Size returns the size of dimension d; negative d counts from the end.
func (t *Tensor) Size(d int) int64 {
	s := t.Shape()
	if d < 0 {
		d += len(s)
	}
	if d < 0 || d >= len(s) {
		panic(&Error{Op: "size", Msg: fmt.Sprintf("dimension %d out of range for shape %v", d, s)})
	}
	return s[d]
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return numel(t.Shape()) }

// DType returns the element type.
func (t *Tensor) DType() DType {
	defer runtime.KeepAlive(t)
	return DType(C.fkd_dtype(t.live()))
}

// Device returns the device holding the tensor.
func (t *Tensor) Device() Device {
	defer runtime.KeepAlive(t)
	var typ, idx C.int
	C.fkd_device(t.live(), &typ, &idx)
	return Device{Type: DeviceType(typ), Index: int(idx)}
}

// To returns the tensor on dev with element type dt (t itself is not
// changed; when nothing changes, the result shares t's storage).
func (t *Tensor) To(dev Device, dt DType) *Tensor {
	h := t.live()
	return call(func(out **C.fkd_tensor) C.fkd_err {
		return C.fkd_to(h, C.int(dev.Type), C.int(dev.Index), C.int(dt), out)
	}, t)
}

// ToDevice returns the tensor on dev, keeping its element type.
func (t *Tensor) ToDevice(dev Device) *Tensor { return t.To(dev, t.DType()) }

// ToDType returns the tensor converted to dt on its own device.
func (t *Tensor) ToDType(dt DType) *Tensor { return t.To(t.Device(), dt) }

// SetData makes t use src's storage, shape, device and element type in
// place, keeping t's identity and its autograd settings: every holder of t
// sees the change. Storage is shared with src, which may be freed after.
// This is how a parameter moves to another device.
func (t *Tensor) SetData(src *Tensor) {
	defer runtime.KeepAlive(src)
	defer runtime.KeepAlive(t)
	must(C.fkd_set_data(t.live(), src.live()))
}

// String describes the tensor's type, shape and device, and its values
// when it has few.
func (t *Tensor) String() string {
	if !t.Defined() {
		return "Tensor(freed)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor(%s %v on %s", t.DType(), t.Shape(), t.Device())
	if n := t.Numel(); n <= 16 {
		fmt.Fprintf(&b, ": %v", t.Float64s())
	}
	b.WriteString(")")
	return b.String()
}

// RequiresGrad reports whether autograd records operations on t.
func (t *Tensor) RequiresGrad() bool {
	defer runtime.KeepAlive(t)
	return C.fkd_requires_grad(t.live()) != 0
}

// IsChannelsLast reports whether LibTorch takes t for a 4-D tensor laid
// out channels last (see ChannelsLast), as an op deciding the layout of its
// result does, rather than in row-major order.
func (t *Tensor) IsChannelsLast() bool {
	defer runtime.KeepAlive(t)
	return C.fkd_is_channels_last(t.live()) != 0
}

// SetRequiresGrad turns gradient recording for the leaf tensor t on or off
// and returns t.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	defer runtime.KeepAlive(t)
	must(C.fkd_set_requires_grad(t.live(), boolInt(on)))
	return t
}

// Backward computes the gradient of the scalar t with respect to every
// leaf that requires grad, accumulating into their Grad.
func (t *Tensor) Backward() {
	defer runtime.KeepAlive(t)
	must(C.fkd_backward(t.live(), nil))
}

// BackwardWith back-propagates the given gradient of a non-scalar t.
func (t *Tensor) BackwardWith(grad *Tensor) {
	defer runtime.KeepAlive(grad)
	defer runtime.KeepAlive(t)
	must(C.fkd_backward(t.live(), grad.live()))
}

// Grad returns the gradient accumulated in t by Backward, or nil when there
// is none. The result shares storage with the gradient.
func (t *Tensor) Grad() *Tensor {
	var out *C.fkd_tensor
	err := C.fkd_grad(t.live(), &out)
	runtime.KeepAlive(t)
	must(err)
	return wrap(out)
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
