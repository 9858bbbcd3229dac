package torch_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/torch"
)

// TestTrainingMemoryFlat trains a small conv net for 500 steps, each step
// in its own Scope, and checks that the process's resident memory does not
// grow from step 50 to step 500. Nothing here calls runtime.GC: closing a
// scope must free a step's activations, gradients and temporaries at once,
// not when Go's collector gets round to it. A step makes about 1.3 MB of
// tensors, so leaking them would add some 600 MB by step 500.
//
// The loop stays on one OS thread, as a training loop should: glibc gives
// each thread that allocates its own malloc arena, so a goroutine that
// wanders between threads spreads LibTorch's allocations over several
// arenas and the resident size creeps up by a few percent for that reason
// alone. Small tensors keep glibc's heap from wandering for the same reason.
func TestTrainingMemoryFlat(t *testing.T) {
	const (
		steps     = 500
		settled   = 50 // steps after which memory should be at its plateau
		batch     = 8
		size      = 32
		outputs   = 30
		tolerance = 1.05
	)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	torch.ManualSeed(7)
	net := newMemNet(outputs)
	params := net.params()
	m := make([]*torch.Tensor, len(params))
	v := make([]*torch.Tensor, len(params))
	for i, p := range params {
		m[i] = torch.Zeros(p.Shape(), torch.Float32, torch.CPU)
		v[i] = torch.Zeros(p.Shape(), torch.Float32, torch.CPU)
	}

	// A new batch each step from reused Go buffers, as a data loader gives.
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, batch*size*size)
	ys := make([]float32, batch*outputs)

	var rssSettled int64
	for step := 1; step <= steps; step++ {
		for i := range xs {
			xs[i] = float32(rng.NormFloat64())
		}
		for i := range ys {
			ys[i] = rng.Float32()
		}
		loss := net.trainStep(params, m, v, int64(step), xs, ys, batch, size)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			t.Fatalf("step %d: loss %v", step, loss)
		}
		if step == settled {
			rssSettled = fkdtest.ResidentBytes(t)
		}
	}
	rssEnd := fkdtest.ResidentBytes(t)
	t.Logf("resident memory after step %d: %.1f MiB, after step %d: %.1f MiB (%+.1f%%)",
		settled, fkdtest.MiB(rssSettled), steps, fkdtest.MiB(rssEnd), 100*(float64(rssEnd)/float64(rssSettled)-1))
	if float64(rssEnd) > tolerance*float64(rssSettled) {
		t.Errorf("resident memory grew from %.1f MiB after step %d to %.1f MiB after step %d (limit %.0f%% growth): "+
			"tensors outlive their step's scope", fkdtest.MiB(rssSettled), settled, fkdtest.MiB(rssEnd), steps, 100*(tolerance-1))
	}
}

// memNet is two conv → batch norm → ReLU → max-pool blocks (1→8→16
// channels), global average pooling and a linear layer.
type memNet struct {
	convW, convB, gamma, beta, mean, variance [2]*torch.Tensor
	fcW, fcB                                  *torch.Tensor
}

func newMemNet(outputs int64) *memNet {
	n := &memNet{}
	in := int64(1)
	for i, out := range []int64{8, 16} {
		n.convW[i] = memParam(torch.Randn([]int64{out, in, 3, 3}, torch.Float32, torch.CPU).MulScalar(0.3))
		n.convB[i] = memParam(torch.Zeros([]int64{out}, torch.Float32, torch.CPU))
		n.gamma[i] = memParam(torch.Ones([]int64{out}, torch.Float32, torch.CPU))
		n.beta[i] = memParam(torch.Zeros([]int64{out}, torch.Float32, torch.CPU))
		n.mean[i] = torch.Zeros([]int64{out}, torch.Float32, torch.CPU)
		n.variance[i] = torch.Ones([]int64{out}, torch.Float32, torch.CPU)
		in = out
	}
	n.fcW = memParam(torch.Randn([]int64{outputs, in}, torch.Float32, torch.CPU).MulScalar(0.25))
	n.fcB = memParam(torch.Zeros([]int64{outputs}, torch.Float32, torch.CPU))
	return n
}

func memParam(t *torch.Tensor) *torch.Tensor { return t.SetRequiresGrad(true) }

func (n *memNet) params() []*torch.Tensor {
	ps := []*torch.Tensor{n.fcW, n.fcB}
	for i := range n.convW {
		ps = append(ps, n.convW[i], n.convB[i], n.gamma[i], n.beta[i])
	}
	return ps
}

// trainStep runs one forward pass, backward pass and Adam update inside a
// scope and returns the loss.
func (n *memNet) trainStep(params, m, v []*torch.Tensor, step int64, xs, ys []float32, batch, size int64) float64 {
	s := torch.NewScope()
	defer s.Close()
	x := torch.FromFloat32(xs, batch, 1, size, size)
	y := torch.FromFloat32(ys, batch, int64(len(ys))/batch)
	for i := range n.convW {
		x = torch.Conv2d(x, n.convW[i], n.convB[i], torch.Conv2dOptions{Padding: [2]int64{1, 1}})
		x = torch.BatchNorm(x, n.gamma[i], n.beta[i], n.mean[i], n.variance[i], true, 0.1, 1e-5)
		x = torch.MaxPool2d(x.Relu(), torch.Pool2dOptions{Kernel: [2]int64{2, 2}})
	}
	x = torch.AdaptiveAvgPool2d(x, 1, 1)
	pred := torch.Linear(x.Reshape(batch, -1), n.fcW, n.fcB)
	loss := torch.MSELoss(pred, y, torch.ReduceMean)
	torch.ZeroGrad(params)
	loss.Backward()
	torch.AdamStep(params, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, false, step)
	return loss.Item()
}
