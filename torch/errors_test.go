package torch_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestOpErrors(t *testing.T) {
	tests := []struct {
		name   string
		op     func()
		wantOp string
		msg    string // a piece of LibTorch's (or the binding's) message
	}{
		{"matmul shapes", func() { f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6).Matmul(f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6)) }, "matmul", "cannot be multiplied"},
		{"conv2d channels", func() {
			torch.Conv2d(torch.Zeros([]int64{1, 3, 5, 5}, torch.Float32, torch.CPU), torch.Zeros([]int64{4, 2, 3, 3}, torch.Float32, torch.CPU), nil, torch.Conv2dOptions{})
		}, "conv2d", "channels"},
		{"conv2d input rank", func() {
			torch.Conv2d(torch.Zeros([]int64{5, 5}, torch.Float32, torch.CPU), torch.Zeros([]int64{1, 1, 3, 3}, torch.Float32, torch.CPU), nil, torch.Conv2dOptions{})
		}, "conv2d", "input"},
		{"linear shapes", func() {
			torch.Linear(torch.Zeros([]int64{2, 3}, torch.Float32, torch.CPU), torch.Zeros([]int64{4, 5}, torch.Float32, torch.CPU), nil)
		}, "linear", "cannot be multiplied"},
		{"add broadcast", func() { f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6).Add(f32([]int64{2}, 1, 2)) }, "add", "must match"},
		{"reshape size", func() { torch.Zeros([]int64{2, 3}, torch.Float32, torch.CPU).Reshape(4, 2) }, "reshape", "invalid for input of size 6"},
		{"cat sizes", func() {
			torch.Cat([]*torch.Tensor{torch.Zeros([]int64{2, 3}, torch.Float32, torch.CPU), torch.Zeros([]int64{2, 4}, torch.Float32, torch.CPU)}, 0)
		}, "cat", "Sizes of tensors must match"},
		{"stack sizes", func() {
			torch.Stack([]*torch.Tensor{torch.Zeros([]int64{2}, torch.Float32, torch.CPU), torch.Zeros([]int64{3}, torch.Float32, torch.CPU)}, 0)
		}, "stack", "equal size"},
		{"index out of range", func() {
			torch.Zeros([]int64{2, 3}, torch.Float32, torch.CPU).IndexSelect(1, torch.FromInt64([]int64{3}, 1))
		}, "index_select", "bounds"},
		{"narrow past the end", func() { torch.Zeros([]int64{4}, torch.Float32, torch.CPU).Narrow(0, 3, 2) }, "narrow", "exceeds dimension size"},
		{"backward of non-scalar", func() {
			torch.Zeros([]int64{2}, torch.Float32, torch.CPU).SetRequiresGrad(true).MulScalar(2).Backward()
		}, "backward", "scalar outputs"},
		{"backward without grad", func() { torch.Zeros([]int64{}, torch.Float32, torch.CPU).Backward() }, "backward", "does not require grad"},
		{"where condition type", func() {
			z := torch.Zeros([]int64{2}, torch.Float32, torch.CPU)
			torch.Where(z, z, z)
		}, "where", "bool"},
		{"wrong value count", func() { torch.FromFloat32([]float32{1, 2, 3}, 2, 2) }, "from_data", "3 values do not fill shape [2 2]"},
		{"wrong byte count", func() { torch.FromBytes(make([]byte, 6), torch.Float32, 2) }, "from_data", "6 bytes"},
		{"negative dimension", func() { torch.FromFloat32(nil, -1) }, "shape", "negative dimension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			err := panicError(t, tt.name, tt.op)
			if err.Op != tt.wantOp {
				t.Errorf("Op = %q, want %q (error %q)", err.Op, tt.wantOp, err)
			}
			if !strings.Contains(err.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", err.Msg, tt.msg)
			}
			if strings.Contains(err.Msg, "Exception raised from") || strings.HasSuffix(err.Msg, "\n") {
				t.Errorf("Msg carries a C++ backtrace or trailing newline: %q", err.Msg)
			}
			if got, want := err.Error(), "torch "+err.Op+": "+err.Msg; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}

			caught := torch.Catch(tt.op)
			var te *torch.Error
			if !errors.As(caught, &te) || te.Op != tt.wantOp {
				t.Errorf("Catch returned %v, want a *torch.Error from %s", caught, tt.wantOp)
			}
		})
	}
}

func TestCatch(t *testing.T) {
	if err := torch.Catch(func() {}); err != nil {
		t.Errorf("Catch of a function that succeeds = %v, want nil", err)
	}
	// A *torch.Error wrapped in another error is still caught.
	wrapped := torch.Catch(func() {
		panic(errors.Join(errors.New("context"), &torch.Error{Op: "op", Msg: "msg"}))
	})
	if te, ok := wrapped.(*torch.Error); !ok || te.Op != "op" {
		t.Errorf("Catch of a wrapped *torch.Error = %#v, want the *torch.Error", wrapped)
	}
	// Other panics pass through.
	for _, v := range []any{"a string", errors.New("a plain error")} {
		func() {
			defer func() {
				if r := recover(); r != v {
					t.Errorf("panic %v came out of Catch as %v", v, r)
				}
			}()
			torch.Catch(func() { panic(v) })
			t.Errorf("Catch swallowed panic %v", v)
		}()
	}
}

func TestUseAfterFree(t *testing.T) {
	live := torch.Ones([]int64{2}, torch.Float32, torch.CPU)
	defer live.Free()
	uses := []struct {
		name  string
		use   func(x *torch.Tensor)
		nilOK bool // nil means "none" here
	}{
		{"method", func(x *torch.Tensor) { x.Relu() }, false},
		{"second operand", func(x *torch.Tensor) { live.Add(x) }, false},
		{"function argument", func(x *torch.Tensor) { torch.Linear(live.Reshape(1, 2), x.Reshape(1, 2), nil) }, false},
		{"optional argument", func(x *torch.Tensor) { torch.Linear(live.Reshape(1, 2), live.Reshape(1, 2), x) }, true},
		{"list element", func(x *torch.Tensor) { torch.Cat([]*torch.Tensor{live, x}, 0) }, false},
		{"optimiser parameter", func(x *torch.Tensor) { torch.ZeroGrad([]*torch.Tensor{live, x}) }, false},
		{"metadata", func(x *torch.Tensor) { x.Shape() }, false},
		{"data", func(x *torch.Tensor) { x.Float32s() }, false},
		{"item", func(x *torch.Tensor) { x.Item() }, false},
		{"in place", func(x *torch.Tensor) { x.Fill(1) }, false},
		{"in place operand", func(x *torch.Tensor) { live.CopyFrom(x) }, false},
		{"backward", func(x *torch.Tensor) { x.Backward() }, false},
	}
	ends := []struct {
		name string
		make func(t *testing.T) *torch.Tensor
		msg  string
	}{
		{"freed", func(t *testing.T) *torch.Tensor {
			x := torch.Ones([]int64{2}, torch.Float32, torch.CPU)
			x.Free()
			x.Free() // idempotent
			return x
		}, "after Free or after its scope closed"},
		{"scope closed", func(t *testing.T) *torch.Tensor {
			var x *torch.Tensor
			torch.WithScope(func() { x = torch.Ones([]int64{2}, torch.Float32, torch.CPU) })
			return x
		}, "after Free or after its scope closed"},
		{"nil", func(t *testing.T) *torch.Tensor { return nil }, "nil tensor"},
	}
	for _, end := range ends {
		for _, u := range uses {
			t.Run(end.name+" "+u.name, func(t *testing.T) {
				x := end.make(t)
				if x == nil && u.nilOK {
					if err := torch.Catch(func() { u.use(x) }); err != nil {
						t.Errorf("nil for an optional tensor: %v", err)
					}
					return
				}
				if x.Defined() {
					t.Fatalf("Defined() = true")
				}
				err := panicError(t, u.name, func() { u.use(x) })
				if err.Op != "tensor" || !strings.Contains(err.Msg, end.msg) {
					t.Errorf("error %q, want Op tensor and a message containing %q", err, end.msg)
				}
			})
		}
	}
	var nilTensor *torch.Tensor
	nilTensor.Free() // safe on nil
	if !live.Defined() {
		t.Errorf("a live tensor reads as undefined")
	}
}

func TestNoCUDAErrors(t *testing.T) {
	if torch.CUDAAvailable() {
		t.Skip("a CUDA device is present")
	}
	err := panicError(t, "zeros on cuda", func() { torch.Zeros([]int64{1}, torch.Float32, torch.CUDA(0)) })
	if err.Op != "full" || err.Msg == "" {
		t.Errorf("error %q, want Op full and LibTorch's message", err)
	}
	x := torch.Zeros([]int64{1}, torch.Float32, torch.CPU)
	defer x.Free()
	err = panicError(t, "to cuda", func() { x.ToDevice(torch.CUDA(0)) })
	if err.Op != "to" || err.Msg == "" {
		t.Errorf("error %q, want Op to and LibTorch's message", err)
	}
}

func TestParseDevice(t *testing.T) {
	gpus := torch.CUDADeviceCount()
	if gpus < 0 {
		t.Fatalf("CUDADeviceCount = %d", gpus)
	}
	if torch.CUDAAvailable() != (gpus > 0) {
		t.Errorf("CUDAAvailable = %v with %d devices", torch.CUDAAvailable(), gpus)
	}
	auto := torch.CPU
	if gpus > 0 {
		auto = torch.CUDA(0)
	}
	cudaOK := func(i int) (torch.Device, string) {
		if i < gpus {
			return torch.CUDA(i), ""
		}
		if gpus == 0 && !torch.CUDACompiled() {
			return torch.CPU, "built against a CPU-only LibTorch"
		}
		if gpus == 0 {
			return torch.CPU, "no CUDA device found"
		}
		return torch.CPU, "CUDA device(s) present"
	}
	cuda0, cuda0Err := cudaOK(0)
	cuda3, cuda3Err := cudaOK(3)
	tests := []struct {
		in      string
		want    torch.Device
		wantErr string
	}{
		{"cpu", torch.CPU, ""},
		{" CPU ", torch.CPU, ""},
		{"auto", auto, ""},
		{"", auto, ""},
		{"cuda", cuda0, cuda0Err},
		{"cuda:0", cuda0, cuda0Err},
		{"CUDA:3", cuda3, cuda3Err},
		{"cuda:x", torch.CPU, "want cuda:N"},
		{"cuda:", torch.CPU, "want cuda:N"},
		{"cuda:-1", torch.CPU, "want cuda:N"},
		{"gpu", torch.CPU, "want cpu, cuda, cuda:N or auto"},
		{"cpu:0", torch.CPU, "want cpu, cuda, cuda:N or auto"},
	}
	for _, tt := range tests {
		got, err := torch.ParseDevice(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseDevice(%q): %v", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseDevice(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
		case err == nil && got != tt.want:
			t.Errorf("ParseDevice(%q) = %v, want %v", tt.in, got, tt.want)
		case err != nil && !strings.Contains(err.Error(), tt.in):
			t.Errorf("ParseDevice(%q) error %q does not name the input", tt.in, err)
		}
	}
	if gpus == 0 {
		_, err := torch.ParseDevice("cuda")
		if !strings.Contains(err.Error(), "--device cpu") || !strings.Contains(err.Error(), torch.Version()) {
			t.Errorf("no-GPU error %q should name the LibTorch version and suggest --device cpu", err)
		}
	}
}

func TestDeviceNames(t *testing.T) {
	tests := []struct {
		d    torch.Device
		name string
		cuda bool
	}{
		{torch.CPU, "cpu", false},
		{torch.Device{}, "cpu", false},
		{torch.CUDA(0), "cuda:0", true},
		{torch.CUDA(2), "cuda:2", true},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.name {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.name)
		}
		if got := tt.d.IsCUDA(); got != tt.cuda {
			t.Errorf("%v.IsCUDA() = %v", tt.d, got)
		}
	}
	if v := torch.Version(); !strings.HasPrefix(v, "1.") && !strings.HasPrefix(v, "2.") {
		t.Errorf("Version() = %q, want 1.x or 2.x", v)
	}
}
