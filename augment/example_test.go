package augment_test

import (
	"fmt"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/torch"
)

// A training step augments each batch after converting it to float and
// before the forward pass; reseeding LibTorch first makes the step
// repeatable.
func ExampleApply() {
	s := torch.NewScope()
	defer s.Close()
	images := torch.Rand([]int64{64, 1, 96, 96}, torch.Float32, torch.CPU)
	coords := torch.Zeros([]int64{64, 30}, torch.Float32, torch.CPU)
	mask := torch.Ones([]int64{64, 30}, torch.Float32, torch.CPU)

	opts, err := augment.ParseRecipe("default")
	if err != nil {
		panic(err)
	}
	torch.ManualSeed(42)
	x, y, m := augment.Apply(images, coords, mask, opts)
	fmt.Println(opts)
	fmt.Println(x.Shape(), y.Shape(), m.Shape())
	// Output:
	// flip,rotate=15,jitter=4,scale=0.1,brightness=0.2,contrast=0.2
	// [64 1 96 96] [64 30] [64 30]
}

// Test-time augmentation: predict on the faces and on their mirror images,
// map the second predictions back and average.
func ExampleUnflipCoords() {
	s := torch.NewScope()
	defer s.Close()
	images := torch.Zeros([]int64{1, 1, 96, 96}, torch.Float32, torch.CPU)
	predict := func(x *torch.Tensor) *torch.Tensor { // a stand-in for a model
		return torch.Zeros([]int64{x.Size(0), 30}, torch.Float32, torch.CPU).AddScalar(0.25)
	}
	mirrored, _ := augment.FlipBatch(images, nil)
	pred := predict(images).Add(augment.UnflipCoords(predict(mirrored))).DivScalar(2)
	// x averages 0.25 and its mirror about the image's centre, pixel 48.5
	// (1/96 normalised); y stays.
	fmt.Println(pred.Float32s()[:4])
	// Output: [0.010416664 0.25 0.010416664 0.25]
}

// A fixed transform, for deterministic augmentation: a face zoomed out to
// 90% and mirrored, both about the image's centre, (48.5, 48.5) in
// keypoint coordinates. Its left eye centre, at (60, 36), lands where its
// right eye centre should be, and is relabelled.
func ExampleApplyMatrix() {
	s := torch.NewScope()
	defer s.Close()
	images := torch.Zeros([]int64{1, 1, 96, 96}, torch.Float32, torch.CPU)
	c := make([]float32, 30)
	c[0], c[1] = (60-48)/48.0, (36-48)/48.0
	coords := torch.FromFloat32(c, 1, 30)
	mask := torch.Ones([]int64{1, 30}, torch.Float32, torch.CPU)

	m := augment.Matrices([]augment.Transform{{Flip: true, Scale: 0.9}}, torch.CPU)
	_, y, _ := augment.ApplyMatrix(images, coords, mask, m)
	p := y.Float32s()
	fmt.Printf("right eye centre at pixel (%.1f, %.1f)\n", p[2]*48+48, p[3]*48+48)
	// Output: right eye centre at pixel (38.2, 37.2)
}
