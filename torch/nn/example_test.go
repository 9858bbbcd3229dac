package nn_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// keypointNet is a tiny keypoint regressor: a convolutional trunk and a
// linear head predicting 15 (x, y) pairs.
type keypointNet struct {
	features *nn.Sequential
	head     *nn.Linear
}

func newKeypointNet(p nn.Path) *keypointNet {
	f := p.Sub("features")
	return &keypointNet{
		features: nn.NewSequential(
			nn.NewConv2d(f.Sub("0"), 1, 8, 3, nn.Conv2dConfig{Padding: 1, NoBias: true}),
			nn.NewBatchNorm2d(f.Sub("1"), 8, nn.BatchNormConfig{}),
			nn.ReLU(),
			nn.AdaptiveAvgPool2d(1, 1),
			nn.Flatten(),
		),
		head: nn.NewLinear(p.Sub("head"), 8, 30, nn.LinearConfig{}),
	}
}

func (m *keypointNet) Forward(x *torch.Tensor) *torch.Tensor {
	return m.head.Forward(m.features.Forward(x))
}

// Build a model under a store's root path, list its state dict, and save
// it with metadata.
func Example() {
	store := nn.NewStore(torch.CPU)
	model := newKeypointNet(store.Root())

	for _, nt := range store.NamedTensors() {
		fmt.Println(nt.Name, nt.Tensor.Shape())
	}
	fmt.Println("parameters:", store.NumParams())

	store.Eval()
	fmt.Println("output:", model.Forward(torch.Zeros([]int64{2, 1, 96, 96}, torch.Float32, torch.CPU)).Shape())

	dir, err := os.MkdirTemp("", "nn-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	if err := store.Save(path, map[string]string{"arch": "keypoint-net"}); err != nil {
		log.Fatal(err)
	}

	// Later: rebuild the same architecture and load the weights into it.
	restored := nn.NewStore(torch.CPU)
	newKeypointNet(restored.Root())
	metadata, err := restored.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("loaded", restored.Len(), "tensors of", metadata["arch"])
	// Output:
	// features.0.weight [8 1 3 3]
	// features.1.weight [8]
	// features.1.bias [8]
	// features.1.running_mean [8]
	// features.1.running_var [8]
	// features.1.num_batches_tracked []
	// head.weight [30 8]
	// head.bias [30]
	// parameters: 358
	// output: [2 30]
	// loaded 8 tensors of keypoint-net
}

// Keep a snapshot of the best weights during training and restore it at
// the end.
func ExampleStore_Clone() {
	store := nn.NewStore(torch.CPU)
	store.Root().Param("w", []int64{2}, nn.Constant(1))
	best := store.Clone(torch.CPU) // the snapshot, w = [1 1]

	w, _ := store.Get("w")
	torch.NoGrad(func() { w.AddScalarInPlace(5) }) // training moves on
	fmt.Println("trained:", w.Float64s())

	if err := store.CopyFrom(best); err != nil { // validation got worse: restore
		log.Fatal(err)
	}
	fmt.Println("restored:", w.Float64s())
	// Output:
	// trained: [6 6]
	// restored: [1 1]
}

// Initialisers fill a parameter when it is created, or re-initialise one
// later.
func ExampleKaimingNormal() {
	torch.ManualSeed(0)
	store := nn.NewStore(torch.CPU)
	conv := nn.NewConv2d(store.Root().Sub("conv"), 16, 32, 3, nn.Conv2dConfig{
		WeightInit: nn.KaimingNormal(nn.FanOut, nn.GainReLU), // as torchvision's ResNets
		BiasInit:   nn.Zeros(),
	})
	fanIn, fanOut := nn.Fans(conv.Weight.Shape())
	fmt.Println("fan in", fanIn, "fan out", fanOut)
	fmt.Println("bias sum", conv.Bias.Sum().Item())
	// Output:
	// fan in 144 fan out 288
	// bias sum 0
}
