package torch_test

import (
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestUnscoped(t *testing.T) {
	outer := torch.NewScope()
	inner := torch.NewScope()
	made := torch.Ones([]int64{2}, torch.Float32, torch.CPU) // inner's
	var free, scoped *torch.Tensor
	torch.Unscoped(func() {
		if d := torch.ScopeDepth(); d != 0 {
			t.Errorf("ScopeDepth inside Unscoped = %d, want 0", d)
		}
		free = made.MulScalar(3) // tensors from before stay usable
		torch.WithScope(func() { scoped = torch.Zeros([]int64{1}, torch.Float32, torch.CPU) })
	})
	if d := torch.ScopeDepth(); d != 2 {
		t.Errorf("ScopeDepth after Unscoped = %d, want 2", d)
	}
	if scoped.Defined() {
		t.Errorf("a scope opened inside Unscoped did not free its tensor")
	}
	after := torch.Zeros([]int64{1}, torch.Float32, torch.CPU) // inner's again
	inner.Close()
	outer.Close()

	if made.Defined() || after.Defined() {
		t.Errorf("tensors made in the scope outside Unscoped survived its Close")
	}
	if !free.Defined() {
		t.Fatalf("a tensor made inside Unscoped was freed by the caller's scope")
	}
	assertClose(t, "tensor made inside Unscoped", free.Float64s(), []float64{3, 3}, 0)
	free.Free()
	if free.Defined() {
		t.Errorf("Free of an unscoped tensor did not free it")
	}
}

func TestUnscopedRestoresOnPanic(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	err := torch.Catch(func() {
		torch.Unscoped(func() {
			torch.NewScope() // left open: Unscoped closes it
			torch.Zeros([]int64{2}, torch.Float32, torch.CPU).Add(torch.Zeros([]int64{3}, torch.Float32, torch.CPU))
		})
	})
	if err == nil {
		t.Fatalf("a shape mismatch inside Unscoped did not panic")
	}
	if d := torch.ScopeDepth(); d != 1 {
		t.Errorf("ScopeDepth after a panic in Unscoped = %d, want 1", d)
	}
	x := torch.Zeros([]int64{1}, torch.Float32, torch.CPU)
	s.Close()
	if x.Defined() {
		t.Errorf("the caller's scope no longer owns new tensors after a panic in Unscoped")
	}
}

// A gradient's handle, freed, leaves the gradient with its parameter: Free
// drops only the handle's reference.
func TestFreeGradKeepsParameterGrad(t *testing.T) {
	p := torch.FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)
	defer p.Free()
	torch.WithScope(func() { p.MulScalar(3).Sum().Backward() })
	g := p.Grad()
	g.Free()
	if g.Defined() {
		t.Errorf("a freed gradient handle reads as defined")
	}
	g = p.Grad()
	if g == nil {
		t.Fatalf("freeing a gradient's handle dropped the parameter's gradient")
	}
	defer g.Free()
	assertClose(t, "gradient after its handle was freed", g.Float64s(), []float64{3, 3}, 0)
}
