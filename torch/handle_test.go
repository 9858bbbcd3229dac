package torch

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// A handle recycled when its scope closes goes to the next tensor made;
// the old *Tensor must know it is stale and leave the new tensor alone.
func TestRecycledHandle(t *testing.T) {
	s := NewScope()
	old := FromFloat32([]float32{1, 2}, 2)
	oldHandle := old.h
	s.Close()

	s = NewScope()
	defer s.Close()
	var fresh *Tensor
	for i := 0; i < 64 && (fresh == nil || fresh.h != oldHandle); i++ {
		fresh = FromFloat32([]float32{7}, 1)
	}
	if fresh.h != oldHandle {
		t.Skip("the pool did not hand the old handle out again")
	}
	if old.Defined() {
		t.Error("a tensor whose scope closed reads as defined after its handle was reused")
	}
	old.Free() // must not free the tensor that now holds the handle
	if !fresh.Defined() || fresh.Float32s()[0] != 7 {
		t.Fatalf("Free of a stale tensor reached the new one: %v", fresh)
	}
	func() {
		defer func() {
			r := recover()
			e, ok := r.(*Error)
			if !ok || !strings.Contains(e.Msg, "after Free or after its scope closed") {
				t.Errorf("stale use panicked with %v, want a use-after-close *Error", r)
			}
		}()
		old.Add(old)
	}()
}

// Only handles outside any scope get a cleanup; Keep out of the last
// scope hands the handle to Go, which recycles it once unreachable.
func TestHandleOwnership(t *testing.T) {
	outside := Zeros([]int64{1}, Float32, CPU)
	if !outside.owned {
		t.Error("a tensor made outside any scope is not owned by Go")
	}
	s := NewScope()
	inner := Zeros([]int64{1}, Float32, CPU)
	if inner.owned {
		t.Error("a tensor made in a scope is owned by Go")
	}
	kept := Keep(Zeros([]int64{1}, Float32, CPU))
	if !kept.owned {
		t.Error("a tensor kept out of the last scope is not owned by Go")
	}
	s.Close()
	if inner.Defined() || !kept.Defined() || !outside.Defined() {
		t.Errorf("after Close: inner %v, kept %v, outside %v", inner.Defined(), kept.Defined(), outside.Defined())
	}

	h, gen := kept.h, kept.gen
	kept = nil
	deadline := time.Now().Add(5 * time.Second)
	for uint64(head(h).gen) == gen && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if uint64(head(h).gen) == gen {
		t.Error("an unreachable kept tensor's handle was never recycled")
	}
	runtime.KeepAlive(outside)
}

func TestHostReads(t *testing.T) {
	x := FromFloat32([]float32{1, 2, 3}, 3)
	tests := []struct {
		name string
		read func()
	}{
		{"Item", func() { x.Sum().Item() }},
		{"Float32s", func() { x.Float32s() }},
		{"Float64s of another dtype", func() { x.Float64s() }},
		{"Bytes", func() { x.Bytes() }},
		{"UnscaleGrads", func() { UnscaleGrads([]*Tensor{x}, 1) }},
	}
	for _, tt := range tests {
		before := HostReads()
		tt.read()
		if got := HostReads() - before; got != 1 {
			t.Errorf("%s: %d host reads, want 1", tt.name, got)
		}
	}
	before := HostReads()
	x.Add(x).Mul(x).Sum().Free()
	if got := HostReads() - before; got != 0 {
		t.Errorf("ops without a read counted %d host reads", got)
	}
}

func TestUnscaleGrads(t *testing.T) {
	w := FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)
	v := FromFloat32([]float32{3}, 1).SetRequiresGrad(true)
	none := FromFloat32([]float32{5}, 1).SetRequiresGrad(true) // no gradient
	w.Mul(FromFloat32([]float32{4, 8}, 2)).Sum().Add(v.MulScalar(6).Sum()).Backward()
	if UnscaleGrads([]*Tensor{w, v, none}, 0.5) {
		t.Fatal("finite gradients reported as overflowing")
	}
	if g := w.Grad().Float32s(); g[0] != 2 || g[1] != 4 {
		t.Errorf("w.grad = %v, want [2 4]", g)
	}
	if g := v.Grad().Float32s(); g[0] != 3 {
		t.Errorf("v.grad = %v, want [3]", g)
	}
	v.Grad().Fill(float64(float32(1e38)))
	if !UnscaleGrads([]*Tensor{w, v}, 1e10) {
		t.Error("an overflow to Inf went unnoticed")
	}
	if UnscaleGrads(nil, 1) {
		t.Error("no parameters reported an overflow")
	}
}
