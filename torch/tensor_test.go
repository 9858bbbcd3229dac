package torch_test

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		make  func() *torch.Tensor
		dtype torch.DType
		shape []int64
		check func(t *testing.T, x *torch.Tensor)
	}{
		{
			name: "float32",
			make: func() *torch.Tensor {
				return torch.FromFloat32([]float32{1.5, -2, 3.25, float32(math.Inf(1)), 1e-30, 7}, 2, 3)
			},
			dtype: torch.Float32, shape: []int64{2, 3},
			check: func(t *testing.T, x *torch.Tensor) {
				if got, want := x.Float32s(), []float32{1.5, -2, 3.25, float32(math.Inf(1)), 1e-30, 7}; !slices.Equal(got, want) {
					t.Errorf("Float32s = %v, want %v", got, want)
				}
			},
		},
		{
			name:  "float64",
			make:  func() *torch.Tensor { return torch.FromFloat64([]float64{math.Pi, -1e300, 0.1}, 3) },
			dtype: torch.Float64, shape: []int64{3},
			check: func(t *testing.T, x *torch.Tensor) {
				if got, want := x.Float64s(), []float64{math.Pi, -1e300, 0.1}; !slices.Equal(got, want) {
					t.Errorf("Float64s = %v, want %v", got, want)
				}
			},
		},
		{
			name:  "int64",
			make:  func() *torch.Tensor { return torch.FromInt64([]int64{math.MaxInt64, -5, 0, 1 << 40}, 2, 1, 2) },
			dtype: torch.Int64, shape: []int64{2, 1, 2},
			check: func(t *testing.T, x *torch.Tensor) {
				if got, want := x.Int64s(), []int64{math.MaxInt64, -5, 0, 1 << 40}; !slices.Equal(got, want) {
					t.Errorf("Int64s = %v, want %v", got, want)
				}
			},
		},
		{
			name:  "bool",
			make:  func() *torch.Tensor { return torch.FromBool([]bool{true, false, false, true}, 4) },
			dtype: torch.Bool, shape: []int64{4},
			check: func(t *testing.T, x *torch.Tensor) {
				if got, want := x.Bools(), []bool{true, false, false, true}; !slices.Equal(got, want) {
					t.Errorf("Bools = %v, want %v", got, want)
				}
				if got, want := x.Float64s(), []float64{1, 0, 0, 1}; !slices.Equal(got, want) {
					t.Errorf("bool Float64s = %v, want %v", got, want)
				}
			},
		},
		{
			name:  "uint8",
			make:  func() *torch.Tensor { return torch.FromUint8([]uint8{0, 255, 128, 7, 9, 10}, 3, 2) },
			dtype: torch.Uint8, shape: []int64{3, 2},
			check: func(t *testing.T, x *torch.Tensor) {
				if got, want := x.Uint8s(), []uint8{0, 255, 128, 7, 9, 10}; !slices.Equal(got, want) {
					t.Errorf("Uint8s = %v, want %v", got, want)
				}
				if got, want := x.Float32s(), []float32{0, 255, 128, 7, 9, 10}; !slices.Equal(got, want) {
					t.Errorf("uint8 Float32s = %v, want %v", got, want)
				}
			},
		},
		{
			name:  "scalar",
			make:  func() *torch.Tensor { return torch.FromFloat32([]float32{4}) },
			dtype: torch.Float32, shape: []int64{},
			check: func(t *testing.T, x *torch.Tensor) {
				if got := x.Item(); got != 4 {
					t.Errorf("Item = %v, want 4", got)
				}
			},
		},
		{
			name:  "empty",
			make:  func() *torch.Tensor { return torch.FromInt64(nil, 0, 3) },
			dtype: torch.Int64, shape: []int64{0, 3},
			check: func(t *testing.T, x *torch.Tensor) {
				if got := x.Int64s(); len(got) != 0 {
					t.Errorf("Int64s = %v, want none", got)
				}
			},
		},
		{
			name: "bytes",
			make: func() *torch.Tensor {
				b := make([]byte, 8)
				binary.LittleEndian.PutUint32(b, math.Float32bits(2.5))
				binary.LittleEndian.PutUint32(b[4:], math.Float32bits(-1))
				return torch.FromBytes(b, torch.Float32, 2)
			},
			dtype: torch.Float32, shape: []int64{2},
			check: func(t *testing.T, x *torch.Tensor) {
				if got, want := x.Float32s(), []float32{2.5, -1}; !slices.Equal(got, want) {
					t.Errorf("Float32s = %v, want %v", got, want)
				}
				b := x.Bytes()
				if len(b) != 8 || math.Float32frombits(binary.LittleEndian.Uint32(b[4:])) != -1 {
					t.Errorf("Bytes = %v, want the float32 bytes of [2.5 -1]", b)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.make()
			defer x.Free()
			if got := x.DType(); got != tt.dtype {
				t.Errorf("DType = %v, want %v", got, tt.dtype)
			}
			assertShape(t, "tensor", x, tt.shape...)
			if got, want := x.Numel(), numel(tt.shape); got != want {
				t.Errorf("Numel = %d, want %d", got, want)
			}
			if got := x.Dim(); got != len(tt.shape) {
				t.Errorf("Dim = %d, want %d", got, len(tt.shape))
			}
			if got := x.Device(); got != torch.CPU {
				t.Errorf("Device = %v, want cpu", got)
			}
			tt.check(t, x)
		})
	}
}

func TestFromDataCopies(t *testing.T) {
	data := []float32{1, 2, 3}
	x := torch.FromFloat32(data, 3)
	defer x.Free()
	data[0] = 100
	if got := x.Float32s(); got[0] != 1 {
		t.Errorf("tensor changed with the Go slice it came from: %v", got)
	}
	out := x.Float32s()
	out[1] = 100
	if got := x.Float32s(); got[1] != 2 {
		t.Errorf("tensor changed with a slice it was copied to: %v", got)
	}
}

func TestDTypeConversion(t *testing.T) {
	x := torch.FromFloat32([]float32{-1.7, 0, 2.9, 300}, 4)
	defer x.Free()
	tests := []struct {
		dt   torch.DType
		want []float64
	}{
		{torch.Float64, []float64{float64(float32(-1.7)), 0, float64(float32(2.9)), 300}},
		{torch.Int64, []float64{-1, 0, 2, 300}},
		{torch.Bool, []float64{1, 0, 1, 1}},
		{torch.Int32, []float64{-1, 0, 2, 300}},
		{torch.Float16, []float64{-1.7001953125, 0, 2.900390625, 300}},
	}
	for _, tt := range tests {
		t.Run(tt.dt.String(), func(t *testing.T) {
			y := x.ToDType(tt.dt)
			defer y.Free()
			if y.DType() != tt.dt {
				t.Errorf("DType = %v, want %v", y.DType(), tt.dt)
			}
			if got := y.Float64s(); !slices.Equal(got, tt.want) {
				t.Errorf("values %v, want %v", got, tt.want)
			}
			if got := len(y.Bytes()); got != 4*tt.dt.Size() {
				t.Errorf("len(Bytes) = %d, want %d", got, 4*tt.dt.Size())
			}
		})
	}
}

func TestDTypeProperties(t *testing.T) {
	tests := []struct {
		dt    torch.DType
		name  string
		size  int
		float bool
	}{
		{torch.Float32, "float32", 4, true},
		{torch.Float64, "float64", 8, true},
		{torch.Int64, "int64", 8, false},
		{torch.Bool, "bool", 1, false},
		{torch.Uint8, "uint8", 1, false},
		{torch.BFloat16, "bfloat16", 2, true},
		{torch.Float16, "float16", 2, true},
		{torch.Int32, "int32", 4, false},
		{torch.DType(99), "DType(99)", 0, false},
	}
	for _, tt := range tests {
		if got := tt.dt.String(); got != tt.name {
			t.Errorf("DType(%d).String() = %q, want %q", int(tt.dt), got, tt.name)
		}
		if got := tt.dt.Size(); got != tt.size {
			t.Errorf("%s.Size() = %d, want %d", tt.name, got, tt.size)
		}
		if got := tt.dt.IsFloat(); got != tt.float {
			t.Errorf("%s.IsFloat() = %v, want %v", tt.name, got, tt.float)
		}
	}
}

func TestCreation(t *testing.T) {
	tests := []struct {
		name  string
		make  func() *torch.Tensor
		dtype torch.DType
		shape []int64
		want  []float64
	}{
		{"zeros", func() *torch.Tensor { return torch.Zeros([]int64{2, 2}, torch.Float32, torch.CPU) }, torch.Float32, []int64{2, 2}, []float64{0, 0, 0, 0}},
		{"ones int64", func() *torch.Tensor { return torch.Ones([]int64{3}, torch.Int64, torch.CPU) }, torch.Int64, []int64{3}, []float64{1, 1, 1}},
		{"ones bool", func() *torch.Tensor { return torch.Ones([]int64{1, 2}, torch.Bool, torch.CPU) }, torch.Bool, []int64{1, 2}, []float64{1, 1}},
		{"full", func() *torch.Tensor { return torch.Full([]int64{2, 1, 2}, -2.5, torch.Float64, torch.CPU) }, torch.Float64, []int64{2, 1, 2}, []float64{-2.5, -2.5, -2.5, -2.5}},
		{"full scalar", func() *torch.Tensor { return torch.Full(nil, 7, torch.Uint8, torch.CPU) }, torch.Uint8, []int64{}, []float64{7}},
		{"arange int64", func() *torch.Tensor { return torch.Arange(0, 5, 1, torch.Int64, torch.CPU) }, torch.Int64, []int64{5}, []float64{0, 1, 2, 3, 4}},
		{"arange float step", func() *torch.Tensor { return torch.Arange(1, 2, 0.25, torch.Float32, torch.CPU) }, torch.Float32, []int64{4}, []float64{1, 1.25, 1.5, 1.75}},
		{"arange down", func() *torch.Tensor { return torch.Arange(3, 0, -1, torch.Float64, torch.CPU) }, torch.Float64, []int64{3}, []float64{3, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.make()
			defer x.Free()
			if x.DType() != tt.dtype {
				t.Errorf("DType = %v, want %v", x.DType(), tt.dtype)
			}
			assertShape(t, tt.name, x, tt.shape...)
			assertClose(t, tt.name, x.Float64s(), tt.want, 0)
		})
	}
}

func TestRandomCreation(t *testing.T) {
	torch.ManualSeed(1)
	const n = 20000
	u := torch.Rand([]int64{n}, torch.Float32, torch.CPU)
	defer u.Free()
	g := torch.Randn([]int64{100, 200}, torch.Float64, torch.CPU)
	defer g.Free()
	if u.DType() != torch.Float32 || g.DType() != torch.Float64 {
		t.Errorf("dtypes %v, %v; want float32, float64", u.DType(), g.DType())
	}
	assertShape(t, "randn", g, 100, 200)

	var sum float64
	for _, v := range u.Float32s() {
		if v < 0 || v >= 1 {
			t.Fatalf("Rand value %v outside [0, 1)", v)
		}
		sum += float64(v)
	}
	if mean := sum / n; math.Abs(mean-0.5) > 0.01 {
		t.Errorf("Rand mean %.4f, want 0.5 ± 0.01", mean)
	}
	vals := g.Float64s()
	var m, m2 float64
	for _, v := range vals {
		m += v
		m2 += v * v
	}
	m /= float64(len(vals))
	sd := math.Sqrt(m2/float64(len(vals)) - m*m)
	if math.Abs(m) > 0.02 || math.Abs(sd-1) > 0.02 {
		t.Errorf("Randn mean %.4f sd %.4f, want 0 and 1 (± 0.02)", m, sd)
	}
}

func TestMetadata(t *testing.T) {
	x := torch.Zeros([]int64{2, 3, 4}, torch.Float32, torch.CPU)
	defer x.Free()
	tests := []struct {
		d    int
		want int64
	}{{0, 2}, {1, 3}, {2, 4}, {-1, 4}, {-3, 2}}
	for _, tt := range tests {
		if got := x.Size(tt.d); got != tt.want {
			t.Errorf("Size(%d) = %d, want %d", tt.d, got, tt.want)
		}
	}
	for _, d := range []int{3, -4} {
		err := panicError(t, "Size out of range", func() { x.Size(d) })
		if err.Op != "size" {
			t.Errorf("Size(%d): Op %q, want size", d, err.Op)
		}
	}
}

func TestString(t *testing.T) {
	x := torch.FromFloat32([]float32{1, 2.5, 3, 4}, 2, 2)
	if got, want := x.String(), "Tensor(float32 [2 2] on cpu: [1 2.5 3 4])"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	big := torch.Zeros([]int64{17}, torch.Int64, torch.CPU)
	if got, want := big.String(), "Tensor(int64 [17] on cpu)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	x.Free()
	big.Free()
	if got, want := x.String(), "Tensor(freed)"; got != want {
		t.Errorf("String after Free = %q, want %q", got, want)
	}
}

func TestToSameDeviceAndTypeSharesStorage(t *testing.T) {
	x := torch.Zeros([]int64{3}, torch.Float32, torch.CPU)
	defer x.Free()
	y := x.To(torch.CPU, torch.Float32)
	defer y.Free()
	y.Fill(7)
	assertClose(t, "x after filling To's result", x.Float64s(), []float64{7, 7, 7}, 0)

	z := x.ToDType(torch.Float64)
	defer z.Free()
	z.Fill(1)
	assertClose(t, "x after filling a converted copy", x.Float64s(), []float64{7, 7, 7}, 0)

	c := x.ToDevice(torch.CPU)
	defer c.Free()
	if c.Device() != torch.CPU || c.DType() != torch.Float32 {
		t.Errorf("ToDevice(cpu) gave %s on %s", c.DType(), c.Device())
	}
}

func TestItem(t *testing.T) {
	x := torch.FromInt64([]int64{-3}, 1, 1)
	defer x.Free()
	if got := x.Item(); got != -3 {
		t.Errorf("Item = %v, want -3", got)
	}
	two := torch.Zeros([]int64{2}, torch.Float32, torch.CPU)
	defer two.Free()
	err := panicError(t, "Item of two elements", func() { two.Item() })
	if err.Op != "item" {
		t.Errorf("Op = %q, want item", err.Op)
	}
}

func TestSetData(t *testing.T) {
	p := torch.Zeros([]int64{2}, torch.Float32, torch.CPU).SetRequiresGrad(true)
	defer p.Free()
	src := torch.FromFloat64([]float64{1, 2, 3}, 3)
	p.SetData(src)
	src.Free() // p shares the storage and keeps it alive
	if p.DType() != torch.Float64 {
		t.Errorf("DType after SetData = %v, want float64", p.DType())
	}
	assertShape(t, "p after SetData", p, 3)
	assertClose(t, "p after SetData", p.Float64s(), []float64{1, 2, 3}, 0)
	if !p.RequiresGrad() {
		t.Errorf("SetData dropped requires_grad")
	}
}

func TestCloneDetachContiguous(t *testing.T) {
	x := torch.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3).SetRequiresGrad(true)
	defer x.Free()

	c := x.Clone()
	if !c.RequiresGrad() {
		t.Errorf("Clone of a tensor requiring grad does not require grad")
	}
	d := x.Detach()
	if d.RequiresGrad() {
		t.Errorf("Detach result requires grad")
	}
	torch.NoGrad(func() { d.MulScalarInPlace(2) }) // shares x's storage
	assertClose(t, "x after doubling its detached view", x.Float64s(), []float64{2, 4, 6, 8, 10, 12}, 0)
	assertClose(t, "clone after doubling x", c.Float64s(), []float64{1, 2, 3, 4, 5, 6}, 0)

	tr := x.Detach().Transpose(0, 1)
	viewErr := panicError(t, "View of a transposed tensor", func() { tr.View(6) })
	if viewErr.Op != "view" {
		t.Errorf("Op = %q, want view", viewErr.Op)
	}
	flat := tr.Contiguous().View(6)
	assertClose(t, "contiguous transpose", flat.Float64s(), []float64{2, 8, 4, 10, 6, 12}, 0)
	for _, y := range []*torch.Tensor{c, d, tr, flat} {
		y.Free()
	}
}
