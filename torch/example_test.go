package torch_test

import (
	"fmt"

	"github.com/fkd-project/fkd/torch"
)

// A training step runs in a scope: everything it makes is freed when the
// step ends, except what it keeps.
func ExampleScope() {
	w := torch.FromFloat32([]float32{2}, 1) // made outside any scope: lives on
	defer w.Free()

	var temp, result *torch.Tensor
	torch.WithScope(func() {
		x := torch.FromFloat32([]float32{1, 2, 3}, 3)
		temp = x.Mul(w)
		result = torch.Keep(temp.Sum())
	})
	defer result.Free()
	fmt.Println(temp.Defined(), result.Defined(), w.Defined())
	fmt.Println(result.Item())
	// Output:
	// false true true
	// 12
}

func ExampleConv2d() {
	s := torch.NewScope()
	defer s.Close()
	// A 4×4 image of ones, a 3×3 kernel of ones, zero padding 1, stride 2:
	// each output sums the part of its window inside the image.
	x := torch.Ones([]int64{1, 1, 4, 4}, torch.Float32, torch.CPU)
	w := torch.Ones([]int64{1, 1, 3, 3}, torch.Float32, torch.CPU)
	y := torch.Conv2d(x, w, nil, torch.Conv2dOptions{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})
	fmt.Println(y.Shape(), y.Float32s())
	// Output: [1 1 2 2] [4 6 6 9]
}

func ExampleCatch() {
	a := torch.Zeros([]int64{2, 3}, torch.Float32, torch.CPU)
	defer a.Free()
	err := torch.Catch(func() { a.Matmul(a) })
	if te, ok := err.(*torch.Error); ok {
		fmt.Println("failed op:", te.Op)
	}
	// Output: failed op: matmul
}

func ExampleTensor_Backward() {
	s := torch.NewScope()
	defer s.Close()
	x := torch.FromFloat32([]float32{1, 2, 3}, 3).SetRequiresGrad(true)
	x.Square().Sum().Backward() // d/dx Σx² = 2x
	fmt.Println(x.Grad().Float32s())
	// Output: [2 4 6]
}

func ExampleNoGrad() {
	s := torch.NewScope()
	defer s.Close()
	p := torch.FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)
	torch.NoGrad(func() {
		fmt.Println(p.MulScalar(2).RequiresGrad())
		p.AddScalarInPlace(1) // a parameter update
	})
	fmt.Println(p.MulScalar(2).RequiresGrad(), p.Float32s())
	// Output:
	// false
	// true [2 3]
}

func ExampleSGDStep() {
	s := torch.NewScope()
	defer s.Close()
	p := torch.FromFloat32([]float32{1, -1}, 2).SetRequiresGrad(true)
	p.Square().Sum().Backward() // gradient 2p = [2 -2]
	torch.SGDStep([]*torch.Tensor{p}, nil, 0.25, 0, 0, 0, false, true)
	fmt.Println(p.Float32s())
	// Output: [0.5 -0.5]
}

func ExampleParseDevice() {
	d, err := torch.ParseDevice("cpu")
	fmt.Println(d, err)
	_, err = torch.ParseDevice("cuda:x")
	fmt.Println(err)
	// Output:
	// cpu <nil>
	// device "cuda:x": want cuda:N with N a device number
}

func ExampleInterpolate() {
	s := torch.NewScope()
	defer s.Close()
	x := torch.FromFloat32([]float32{0, 1, 2, 3}, 1, 1, 2, 2)
	fmt.Println(torch.Interpolate(x, 3, 3, torch.Bilinear, true).Float32s())
	fmt.Println(torch.Interpolate(x, 1, 4, torch.Nearest, false).Float32s())
	// Output:
	// [0 0.5 1 1 1.5 2 2 2.5 3]
	// [0 0 1 1]
}
