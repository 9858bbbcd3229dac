package nn_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

func TestStoreNames(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	newTestNet(store.Root())

	named := store.NamedTensors()
	if len(named) != len(testNetTensors) || store.Len() != len(testNetTensors) {
		t.Fatalf("%d tensors (Len %d), want %d", len(named), store.Len(), len(testNetTensors))
	}
	var wantParams, wantBuffers []string
	wantCount := 0
	for i, want := range testNetTensors {
		got := named[i]
		if got.Name != want.name || !slices.Equal(got.Tensor.Shape(), want.shape) {
			t.Errorf("tensor %d: %s %v, want %s %v", i, got.Name, got.Tensor.Shape(), want.name, want.shape)
		}
		if got.Tensor.RequiresGrad() != want.param {
			t.Errorf("%s: requires grad %v, want %v", got.Name, got.Tensor.RequiresGrad(), want.param)
		}
		if want.param {
			wantParams = append(wantParams, want.name)
			n := 1
			for _, d := range want.shape {
				n *= int(d)
			}
			wantCount += n
		} else {
			wantBuffers = append(wantBuffers, want.name)
		}
		if tt, ok := store.Get(want.name); !ok || tt != got.Tensor {
			t.Errorf("Get(%q) does not return the store's tensor", want.name)
		}
	}
	names := func(ns []nn.NamedTensor) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Name)
		}
		return out
	}
	if got := names(store.NamedParams()); !slices.Equal(got, wantParams) {
		t.Errorf("NamedParams = %v, want %v", got, wantParams)
	}
	if got := names(store.NamedBuffers()); !slices.Equal(got, wantBuffers) {
		t.Errorf("NamedBuffers = %v, want %v", got, wantBuffers)
	}
	params := store.Params()
	for i, p := range store.NamedParams() {
		if params[i] != p.Tensor {
			t.Errorf("Params()[%d] is not %s", i, p.Name)
		}
	}
	if got := store.NumParams(); got != wantCount {
		t.Errorf("NumParams = %d, want %d", got, wantCount)
	}
	if got := len(store.StateDict()); got != len(testNetTensors) {
		t.Errorf("StateDict has %d entries, want %d", got, len(testNetTensors))
	}
	if _, ok := store.Get("features.2.weight"); ok {
		t.Error("Get found a tensor the ReLU at index 2 cannot have")
	}
}

func TestPathNames(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	root := store.Root()
	tests := []struct {
		path nn.Path
		want string
	}{
		{root, ""},
		{root.Sub("a"), "a"},
		{root.Sub("a").Sub("0"), "a.0"},
		{root.Sub("a").Sub("0").Sub("conv"), "a.0.conv"},
	}
	for _, tt := range tests {
		if got := tt.path.Name(); got != tt.want {
			t.Errorf("Name() = %q, want %q", got, tt.want)
		}
		if tt.path.Store() != store {
			t.Errorf("%q: Store() is not the store", tt.want)
		}
	}
	w := root.Sub("a").Sub("0").Param("w", []int64{2}, nn.Zeros())
	if got, _ := store.Get("a.0.w"); got != w {
		t.Error(`Param under a.0 is not named "a.0.w"`)
	}
	b := root.Buffer("count", torch.Zeros(nil, torch.Int64, torch.CPU))
	if got, _ := store.Get("count"); got != b || b.RequiresGrad() {
		t.Error(`root Buffer is not "count", or requires grad`)
	}
}

func TestPathBadNames(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	root := store.Root()
	root.Param("w", []int64{1}, nn.Zeros())
	tests := []struct {
		name  string
		f     func()
		panic string
	}{
		{"empty sub", func() { root.Sub("") }, "bad name"},
		{"dotted sub", func() { root.Sub("a.b") }, "bad name"},
		{"empty param", func() { root.Param("", []int64{1}, nn.Zeros()) }, "bad name"},
		{"dotted param", func() { root.Param("x.y", []int64{1}, nn.Zeros()) }, "bad name"},
		{"reserved", func() { root.Param("__metadata__", []int64{1}, nn.Zeros()) }, "bad name"},
		{"duplicate param", func() { root.Param("w", []int64{1}, nn.Zeros()) }, `"w" is already in the store`},
		{"duplicate buffer", func() { root.Buffer("w", torch.Zeros([]int64{1}, torch.Float32, torch.CPU)) }, "already"},
		{"grad buffer", func() {
			root.Buffer("g", torch.Zeros([]int64{1}, torch.Float32, torch.CPU).SetRequiresGrad(true))
		}, "requires grad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.panic, tt.f) })
	}
	if store.Len() != 1 {
		t.Errorf("failed registrations left %d tensors, want 1", store.Len())
	}
}

func TestTrainingMode(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	p := store.Root()
	if !store.Training() || !p.Training() {
		t.Fatal("a new store is not in training mode")
	}
	store.Eval()
	if store.Training() || p.Training() {
		t.Error("Eval did not switch to evaluation mode")
	}
	store.Train()
	if !store.Training() {
		t.Error("Train did not switch to training mode")
	}
	store.SetTraining(false)
	if store.Training() {
		t.Error("SetTraining(false) left training mode on")
	}
}

func TestFreeze(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	newTestNet(store.Root())
	all := len(store.Params())
	tests := []struct {
		op     string
		prefix string
		n      int // parameters changed
		left   int // trainable afterwards
	}{
		{"freeze", "features.0", 2, all - 2},
		{"freeze", "features.0", 0, all - 2},
		{"freeze", "features", 3, all - 5}, // features.1.{weight,bias}, features.4.weight
		{"unfreeze", "features.1", 2, all - 3},
		{"freeze", "feat", 0, all - 3}, // not a component of any name
		{"unfreeze", "", 3, all},
		{"freeze", "", all, 0},
	}
	for _, tt := range tests {
		var n int
		if tt.op == "freeze" {
			n = store.Freeze(tt.prefix)
		} else {
			n = store.Unfreeze(tt.prefix)
		}
		if n != tt.n || len(store.Trainable()) != tt.left {
			t.Errorf("%s(%q) changed %d, left %d trainable; want %d and %d",
				tt.op, tt.prefix, n, len(store.Trainable()), tt.n, tt.left)
		}
	}
	if len(store.Params()) != all {
		t.Error("freezing changed Params")
	}
}

func TestCloneAndCopyFrom(t *testing.T) {
	store, net, x, before := evalTestNet()

	best := store.Clone(torch.CPU)
	if best.Len() != store.Len() || best.Training() != store.Training() {
		t.Fatalf("clone has %d tensors, training %v; want %d, %v", best.Len(), best.Training(), store.Len(), store.Training())
	}
	for _, nt := range store.NamedTensors() {
		c, ok := best.Get(nt.Name)
		if !ok {
			t.Fatalf("clone lacks %s", nt.Name)
		}
		sameBits(t, nt.Name, c, nt.Tensor)
	}

	// Training changes the model; the snapshot must not follow.
	store.Train()
	net.Forward(x)
	torch.NoGrad(func() {
		for _, p := range store.Params() {
			p.AddScalarInPlace(0.5)
		}
	})
	store.Eval()
	if changed := net.Forward(x).Float64s(); slices.Equal(changed, before) {
		t.Fatal("changing the parameters did not change the output")
	}
	if err := store.CopyFrom(best); err != nil {
		t.Fatal(err)
	}
	if after := net.Forward(x).Float64s(); !slices.Equal(after, before) {
		t.Error("output after CopyFrom(snapshot) differs from the snapshot's")
	}
	for _, nt := range store.NamedTensors() {
		c, _ := best.Get(nt.Name)
		sameBits(t, nt.Name, nt.Tensor, c)
	}
}

func TestCopyFromMismatch(t *testing.T) {
	build := func(f func(p nn.Path)) *nn.Store {
		s := nn.NewStore(torch.CPU)
		f(s.Root())
		return s
	}
	base := func(p nn.Path) {
		p.Param("a", []int64{2, 3}, nn.Ones())
		p.Buffer("n", torch.Zeros(nil, torch.Int64, torch.CPU))
	}
	tests := []struct {
		name string
		src  func(p nn.Path)
		want string
	}{
		{"missing", func(p nn.Path) { p.Param("a", []int64{2, 3}, nn.Ones()) }, `"n" missing`},
		{"unexpected", func(p nn.Path) { base(p); p.Param("extra", []int64{1}, nn.Ones()) }, `unexpected "extra"`},
		{"shape", func(p nn.Path) {
			p.Param("a", []int64{3, 2}, nn.Ones())
			p.Buffer("n", torch.Zeros(nil, torch.Int64, torch.CPU))
		}, `"a" has shape [3 2], want [2 3]`},
		{"dtype", func(p nn.Path) {
			p.Param("a", []int64{2, 3}, nn.Ones())
			p.Buffer("n", torch.Zeros(nil, torch.Int32, torch.CPU))
		}, `"n" has dtype int32, want int64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := build(base)
			a, _ := dst.Get("a")
			want := a.Float64s()
			src := build(tt.src)
			torch.NoGrad(func() {
				for _, p := range src.Params() {
					p.MulScalarInPlace(7)
				}
			})
			err := dst.CopyFrom(src)
			if !errors.Is(err, nn.ErrMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CopyFrom error %v, want ErrMismatch mentioning %s", err, tt.want)
			}
			if got := a.Float64s(); !slices.Equal(got, want) {
				t.Error("a failed CopyFrom changed the destination")
			}
		})
	}
}

func TestStoreFree(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	w := store.Root().Param("w", []int64{3}, nn.Zeros())
	store.Free()
	if w.Defined() || store.Len() != 0 || store.NumParams() != 0 {
		t.Errorf("after Free: tensor defined %v, Len %d", w.Defined(), store.Len())
	}
}

func TestStoreToDevice(t *testing.T) {
	if !torch.CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	torch.ManualSeed(3)
	store := nn.NewStore(torch.CPU)
	net := newTestNet(store.Root())
	store.Eval()
	x := randn(2, 1, 8, 8)
	want := net.Forward(x).Float64s()
	w, _ := store.Get("head.weight")

	store.ToDevice(torch.CUDA(0))
	if store.Device() != torch.CUDA(0) {
		t.Fatalf("store device %v", store.Device())
	}
	for _, nt := range store.NamedTensors() {
		if nt.Tensor.Device() != torch.CUDA(0) {
			t.Errorf("%s on %v after ToDevice(cuda:0)", nt.Name, nt.Tensor.Device())
		}
	}
	if w2, _ := store.Get("head.weight"); w2 != w || !w.RequiresGrad() {
		t.Error("ToDevice replaced a parameter or dropped requires grad")
	}
	got := net.Forward(x.ToDevice(torch.CUDA(0))).Float64s()
	closeTo(t, "output on cuda:0", got, want, 1e-4)

	// A training step on the device reaches every trainable parameter.
	store.Train()
	net.Forward(randn(4, 1, 8, 8).ToDevice(torch.CUDA(0))).Square().Mean().Backward()
	for _, p := range store.NamedParams() {
		if g := p.Tensor.Grad(); g == nil || g.Device() != torch.CUDA(0) {
			t.Errorf("%s: no gradient on cuda:0", p.Name)
		}
	}

	store.ToDevice(torch.CPU)
	store.Eval()
	if w.Device() != torch.CPU {
		t.Errorf("head.weight on %v after ToDevice(cpu)", w.Device())
	}
	if net.Forward(x).Numel() != 2*30 {
		t.Error("forward on the CPU after the round trip failed")
	}
}

// TestSetDataKeepsParameter checks what Store.ToDevice relies on: a
// parameter that takes new data keeps its identity, its requires-grad flag
// and its place in autograd, on any device.
func TestSetDataKeepsParameter(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	w := store.Root().Param("w", []int64{3}, nn.Zeros())
	src := torch.FromFloat32([]float32{1, 2, 3}, 3)
	torch.NoGrad(func() { w.SetData(src) })
	src.Free()
	if got, _ := store.Get("w"); got != w || !w.RequiresGrad() {
		t.Fatal("SetData replaced the parameter or dropped requires grad")
	}
	closeTo(t, "w", w.Float64s(), []float64{1, 2, 3}, 0)
	w.Square().Sum().Backward()
	closeTo(t, "grad", w.Grad().Float64s(), []float64{2, 4, 6}, 0)
}
