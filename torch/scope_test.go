package torch_test

import (
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestScope(t *testing.T) {
	before := torch.Ones([]int64{2}, torch.Float32, torch.CPU)
	defer before.Free()

	s := torch.NewScope()
	a := torch.Ones([]int64{2}, torch.Float32, torch.CPU)
	b := a.Add(before) // results of ops belong to the scope too
	g := a.Grad()      // nil: no gradient
	kept := torch.Keep(b.MulScalar(2))
	keptB := torch.Keep(b)
	if got := torch.Keep(); got != nil {
		t.Errorf("Keep() = %v, want nil", got)
	}
	s.Close()
	s.Close() // idempotent

	if a.Defined() {
		t.Errorf("tensor made in the scope survived Close")
	}
	if g != nil {
		t.Errorf("Grad of a fresh tensor = %v", g)
	}
	if !before.Defined() {
		t.Errorf("tensor made before the scope was freed by its Close")
	}
	if !kept.Defined() || !keptB.Defined() {
		t.Fatalf("kept tensors were freed")
	}
	assertClose(t, "kept tensor", kept.Float64s(), []float64{4, 4}, 0)
	assertClose(t, "tensor made before the scope", before.Float64s(), []float64{1, 1}, 0)

	// Kept out of the last scope, a tensor is the caller's to free, and
	// a later scope does not take it.
	torch.WithScope(func() { kept.AddScalar(1) })
	if !kept.Defined() {
		t.Errorf("a later scope freed a tensor kept out of an earlier one")
	}
	kept.Free()
	keptB.Free()
	if kept.Defined() {
		t.Errorf("Free of a kept tensor did not free it")
	}
}

func TestNestedScopes(t *testing.T) {
	outer := torch.NewScope()
	o := torch.Zeros([]int64{1}, torch.Float32, torch.CPU)

	inner := torch.NewScope()
	i := torch.Zeros([]int64{1}, torch.Float32, torch.CPU)
	up := torch.Keep(torch.Ones([]int64{1}, torch.Float32, torch.CPU)) // moves to outer
	torch.Keep(o)                                                      // not in the inner scope: nothing happens
	inner.Close()

	if i.Defined() {
		t.Errorf("inner tensor survived the inner Close")
	}
	if !up.Defined() || !o.Defined() {
		t.Fatalf("inner Close freed a tensor that belongs to the outer scope")
	}
	assertClose(t, "kept to the outer scope", up.Float64s(), []float64{1}, 0)

	outer.Close()
	if up.Defined() {
		t.Errorf("tensor kept into the outer scope survived the outer Close")
	}
	if o.Defined() {
		t.Errorf("outer tensor survived the outer Close")
	}
}

func TestScopeClosesOnPanic(t *testing.T) {
	var made *torch.Tensor
	err := torch.Catch(func() {
		torch.WithScope(func() {
			made = torch.Zeros([]int64{2}, torch.Float32, torch.CPU)
			made.Matmul(made.Reshape(1, 2)) // fails
		})
	})
	if err == nil {
		t.Fatalf("bad matmul did not fail")
	}
	if made.Defined() {
		t.Errorf("tensor of a scope that panicked was not freed")
	}
	// No scope is left open: a tensor made now is not freed by the next
	// scope's Close.
	after := torch.Zeros([]int64{1}, torch.Float32, torch.CPU)
	defer after.Free()
	torch.WithScope(func() {})
	if !after.Defined() {
		t.Errorf("a scope was left open by the panic")
	}
}

func TestGradOutlivesScope(t *testing.T) {
	p := torch.FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)
	defer p.Free()
	torch.WithScope(func() {
		p.Square().Sum().Backward()
		g := p.Grad()
		g.Free() // frees the handle, not the parameter's gradient
	})
	g := p.Grad()
	if g == nil {
		t.Fatalf("gradient lost when the scope that computed it closed")
	}
	defer g.Free()
	assertClose(t, "gradient", g.Float64s(), []float64{2, 4}, 0)
}

func TestNoGrad(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	x := torch.Ones([]int64{2}, torch.Float32, torch.CPU).SetRequiresGrad(true)
	if !x.Mul(x).RequiresGrad() {
		t.Fatalf("op on a tensor requiring grad is not recorded")
	}
	torch.NoGrad(func() {
		if y := x.Mul(x); y.RequiresGrad() {
			t.Errorf("op inside NoGrad requires grad")
		}
		torch.NoGrad(func() {})
		if y := x.AddScalar(1); y.RequiresGrad() {
			t.Errorf("nested NoGrad turned recording back on")
		}
		x.AddScalarInPlace(1) // allowed on a leaf without recording
	})
	if !x.Mul(x).RequiresGrad() {
		t.Errorf("recording not restored after NoGrad")
	}
	torch.Catch(func() { torch.NoGrad(func() { x.Matmul(x.Reshape(1, 2)) }) })
	if !x.Mul(x).RequiresGrad() {
		t.Errorf("recording not restored after a panic inside NoGrad")
	}
	assertClose(t, "x after in-place update under NoGrad", x.Float64s(), []float64{2, 2}, 0)
}

func TestManualSeed(t *testing.T) {
	draw := func(seed uint64) ([]float32, []float64) {
		torch.ManualSeed(seed)
		u := torch.Rand([]int64{8}, torch.Float32, torch.CPU)
		n := torch.Randn([]int64{3, 2}, torch.Float64, torch.CPU)
		defer u.Free()
		defer n.Free()
		return u.Float32s(), n.Float64s()
	}
	u1, n1 := draw(42)
	u2, n2 := draw(42)
	u3, n3 := draw(43)
	if !slices.Equal(u1, u2) || !slices.Equal(n1, n2) {
		t.Errorf("same seed, different draws:\n %v %v\n %v %v", u1, n1, u2, n2)
	}
	if slices.Equal(u1, u3) || slices.Equal(n1, n3) {
		t.Errorf("seeds 42 and 43 gave the same draws")
	}
}

func TestNumThreads(t *testing.T) {
	orig := torch.NumThreads()
	defer torch.SetNumThreads(orig)
	if orig < 1 {
		t.Errorf("NumThreads = %d", orig)
	}
	for _, n := range []int{1, 2, 3} {
		torch.SetNumThreads(n)
		if got := torch.NumThreads(); got != n {
			t.Errorf("SetNumThreads(%d): NumThreads = %d", n, got)
		}
	}
	torch.SetNumThreads(0)
	if got := torch.NumThreads(); got != runtime.NumCPU() {
		t.Errorf("SetNumThreads(0): NumThreads = %d, want one per CPU (%d)", got, runtime.NumCPU())
	}
	// Ops still give the same answer with one thread.
	torch.SetNumThreads(1)
	x := torch.Arange(0, 1000, 1, torch.Float64, torch.CPU)
	defer x.Free()
	if got := x.Sum().Item(); got != 999*1000/2 {
		t.Errorf("sum with one thread = %v", got)
	}
}

// TestInputsStayAliveDuringOps runs ops on tensors that nothing refers to
// once the op has started, while another goroutine keeps the garbage
// collector busy. The binding must keep each input reachable until LibTorch
// returns: if the collector ran an input's cleanup mid-op, LibTorch would
// read freed memory (a crash, or a wrong sum). Failure is probabilistic,
// but without runtime.KeepAlive in the binding eight runs of eight failed.
func TestInputsStayAliveDuringOps(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	defer func() { stop.Store(true); <-done }()

	const n = 8 << 20 // elements; 32 MiB of float32, beyond malloc's mmap threshold
	for i := range 12 {
		y := torch.Zeros([]int64{n}, torch.Float32, torch.CPU).Exp()
		z := y.Add(torch.Ones([]int64{n}, torch.Float32, torch.CPU))
		y.Free()
		sum := z.Sum()
		z.Free()
		if got := sum.Item(); got != 2*n {
			t.Fatalf("iteration %d: sum %v, want %v", i, got, 2*n)
		}
		sum.Free()
	}
}

func TestAutocastCPU(t *testing.T) {
	x := torch.Randn([]int64{2, 3, 8, 8}, torch.Float32, torch.CPU)
	w := torch.Randn([]int64{4, 3, 3, 3}, torch.Float32, torch.CPU)
	var inside torch.DType
	torch.Autocast(torch.CPU, torch.BFloat16, func() {
		inside = torch.Conv2d(x, w, nil, torch.Conv2dOptions{}).DType()
	})
	if inside != torch.BFloat16 {
		t.Errorf("conv2d under torch.CPU autocast gave %v, want bfloat16", inside)
	}
	if got := torch.Conv2d(x, w, nil, torch.Conv2dOptions{}).DType(); got != torch.Float32 {
		t.Errorf("conv2d after autocast gave %v, want float32 (state not restored)", got)
	}
	err := torch.Catch(func() { torch.Autocast(torch.CPU, torch.Float16, func() {}) })
	if err == nil || !strings.Contains(err.Error(), "bfloat16") {
		t.Errorf("torch.CPU autocast with float16: error %v, want one naming bfloat16", err)
	}
}
