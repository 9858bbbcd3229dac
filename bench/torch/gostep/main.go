// Command gostep times training steps of a small conv net through fkd's Go
// binding to LibTorch, for bench/torch/run.sh to set beside the same net in
// LibTorch's C++ frontend (step.cpp) and in PyTorch (step.py).
//
// The net: three blocks of 3×3 convolution (padding 1), batch norm, ReLU
// and 2×2 max-pooling (1→16→32→64 channels), global average pooling and a
// linear layer to 30 outputs; float32, a fixed batch of N×1×S×S inputs
// with random targets, MSE loss, Adam (lr 1e-3). Parameters start as
// PyTorch's nn.Conv2d, nn.BatchNorm2d and nn.Linear start them, drawn from
// LibTorch's generator in the same order, so that with the same seed the
// three programs compute the same losses.
//
// It also times the per-call cost of a tiny op, adding two one-element
// tensors, three ways: inside a scope that holds the sums until it closes,
// every 1000 calls, as a training step holds its tensors (tiny_add_ns;
// step.cpp and step.py also time holding theirs in a vector or list of
// 1000, tiny_add_held_ns); inside a scope, each sum freed at once by Free,
// a second call, as the C++ and Python loops drop theirs
// (tiny_add_freed_ns); and outside any scope, each sum freed at once and
// carrying the runtime cleanup that guards against a forgotten Free
// (tiny_add_unscoped_ns).
//
// The main goroutine stays locked to one OS thread for the whole run, as
// fkd train locks its goroutine (-lock-thread=false leaves it free).
// Go may otherwise move it to another thread between scopes, and
// LibTorch's allocations then come from and return to several threads'
// malloc arenas. A locked run also prints the held adds without the lock
// (tiny_add_unlocked_ns).
//
// --device cuda runs both on a CUDA GPU: the parameters and batch are made
// on the CPU as above and moved there. CUDA ops are asynchronous, so the
// tiny adds are timed as a run of calls followed by one synchronisation
// (reading the last sum back), and each step ends with one (reading its
// loss).
//
// Each tiny-add figure is the fastest of its chunks of 10,000 calls, per
// call: on a shared machine the mean over all calls measures the other
// processes as much as the binding.
//
// Output, one result per line, for run.sh to read:
//
//	step_ms median=<ms> min=<ms> loss_first=<loss> loss_last=<loss>
//	tiny_add_ns <ns per call>
//	tiny_add_freed_ns <ns per call>
//	tiny_add_unscoped_ns <ns per call>
//	tiny_add_unlocked_ns <ns per call>
//	threads=<n> libtorch=<version> os_threads=<n>
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/fkd-project/fkd/torch"
)

func main() {
	threads := flag.Int("threads", 0, "LibTorch intra-op threads (0: one per CPU)")
	warmup := flag.Int("warmup", 5, "untimed training steps first")
	steps := flag.Int("steps", 30, "timed training steps")
	batch := flag.Int64("batch", 64, "images per batch")
	size := flag.Int64("size", 96, "image height and width")
	tiny := flag.Int("tiny", 200000, "calls of the one-element add to time (0: skip)")
	seed := flag.Uint64("seed", 1, "LibTorch random seed")
	device := flag.String("device", "cpu", "where to run: cpu, cuda or cuda:N")
	lockThread := flag.Bool("lock-thread", true, "keep the main goroutine on one OS thread for the whole run, as fkd train does")
	cpuProfile := flag.String("cpuprofile", "", "write a Go CPU profile to this file")
	flag.Parse()
	if *lockThread {
		runtime.LockOSThread()
	}
	dev, err := torch.ParseDevice(*device)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gostep:", err)
		os.Exit(1)
	}
	if err := profile(*cpuProfile, func() error {
		return run(dev, *threads, *warmup, *steps, *batch, *size, *tiny, *seed, *lockThread)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "gostep:", err)
		os.Exit(1)
	}
}

// profile runs f, recording a CPU profile into path unless path is empty.
func profile(path string, f func() error) error {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	ferr := f()
	pprof.StopCPUProfile()
	if err := out.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return ferr
}

func run(dev torch.Device, threads, warmup, steps int, batch, size int64, tiny int, seed uint64, locked bool) error {
	if steps < 1 || warmup < 0 || batch < 1 || size < 8 {
		return fmt.Errorf("want steps >= 1, warmup >= 0, batch >= 1 and size >= 8")
	}
	torch.SetNumThreads(threads)
	torch.ManualSeed(seed)

	n := newNet(dev)
	x := torch.Randn([]int64{batch, 1, size, size}, torch.Float32, torch.CPU).ToDevice(dev)
	y := torch.Rand([]int64{batch, outputs}, torch.Float32, torch.CPU).ToDevice(dev)
	adam := newAdam(n.params())

	var times []float64
	var first, last float64
	for i := range warmup + steps {
		start := time.Now()
		loss := n.trainStep(adam, x, y)
		elapsed := time.Since(start)
		if i == 0 {
			first = loss
		}
		last = loss
		if math.IsNaN(loss) {
			return fmt.Errorf("step %d: loss is NaN", i+1)
		}
		if i >= warmup {
			times = append(times, float64(elapsed.Nanoseconds())/1e6)
		}
	}
	slices.Sort(times)
	fmt.Printf("step_ms median=%.3f min=%.3f loss_first=%.6f loss_last=%.6f\n",
		median(times), times[0], first, last)

	if tiny > 0 {
		fmt.Printf("tiny_add_ns %.1f\n", timeTinyAdd(tiny, dev, heldByScope))
		fmt.Printf("tiny_add_freed_ns %.1f\n", timeTinyAdd(tiny, dev, freedInScope))
		fmt.Printf("tiny_add_unscoped_ns %.1f\n", timeTinyAdd(tiny, dev, unscoped))
		if locked {
			// The same held adds from a goroutine that is locked to its
			// thread only while each scope is open, as NewScope alone
			// does: between scopes Go may move it to another thread.
			runtime.UnlockOSThread()
			fmt.Printf("tiny_add_unlocked_ns %.1f\n", timeTinyAdd(tiny, dev, heldByScope))
			runtime.LockOSThread()
		}
	}
	fmt.Printf("threads=%d libtorch=%s os_threads=%d\n", torch.NumThreads(), torch.Version(), osThreads())
	return nil
}

// outputs is the number of values the net predicts (15 keypoints × 2).
const outputs = 30

// block is one conv → batch norm → ReLU → max-pool stage.
type block struct {
	weight, bias            *torch.Tensor // convolution
	gamma, beta             *torch.Tensor // batch-norm scale and shift
	runningMean, runningVar *torch.Tensor
}

type net struct {
	blocks   []block
	fcW, fcB *torch.Tensor
	fcIn     int64 // features into the linear layer
}

// newNet makes the net's parameters on the CPU, so that every device
// starts from the same values, and moves them to dev.
func newNet(dev torch.Device) *net {
	n := &net{}
	in := int64(1)
	for _, out := range []int64{16, 32, 64} {
		w, b := uniformLayer([]int64{out, in, 3, 3}, in*9, dev)
		n.blocks = append(n.blocks, block{
			weight: w, bias: b,
			gamma:       param(torch.Ones([]int64{out}, torch.Float32, dev)),
			beta:        param(torch.Zeros([]int64{out}, torch.Float32, dev)),
			runningMean: torch.Zeros([]int64{out}, torch.Float32, dev),
			runningVar:  torch.Ones([]int64{out}, torch.Float32, dev),
		})
		in = out
	}
	n.fcIn = in
	n.fcW, n.fcB = uniformLayer([]int64{outputs, in}, in, dev)
	return n
}

// uniformLayer makes a weight and bias as PyTorch's nn.Conv2d and nn.Linear
// initialise them: kaiming_uniform_ with a = √5 for the weight, then
// U(-1/√fanIn, 1/√fanIn) for the bias. The arithmetic follows PyTorch's so
// that the bounds agree to the last bit. The values are drawn on the CPU
// and the tensors moved to dev.
func uniformLayer(shape []int64, fanIn int64, dev torch.Device) (w, b *torch.Tensor) {
	a := math.Sqrt(5)
	gain := math.Sqrt(2 / (1 + a*a))
	bound := math.Sqrt(3) * (gain / math.Sqrt(float64(fanIn)))
	w = torch.Zeros(shape, torch.Float32, torch.CPU)
	w.Uniform(-bound, bound)
	b = torch.Zeros([]int64{shape[0]}, torch.Float32, torch.CPU)
	bb := 1 / math.Sqrt(float64(fanIn))
	b.Uniform(-bb, bb)
	return param(toDevice(w, dev)), param(toDevice(b, dev))
}

func param(t *torch.Tensor) *torch.Tensor { return t.SetRequiresGrad(true) }

// toDevice returns t on dev, freeing the CPU copy when it moves.
func toDevice(t *torch.Tensor, dev torch.Device) *torch.Tensor {
	if dev == torch.CPU {
		return t
	}
	moved := t.ToDevice(dev)
	t.Free()
	return moved
}

func (n *net) params() []*torch.Tensor {
	var ps []*torch.Tensor
	for _, b := range n.blocks {
		ps = append(ps, b.weight, b.bias, b.gamma, b.beta)
	}
	return append(ps, n.fcW, n.fcB)
}

func (n *net) forward(x *torch.Tensor) *torch.Tensor {
	pool := torch.Pool2dOptions{Kernel: [2]int64{2, 2}}
	conv := torch.Conv2dOptions{Padding: [2]int64{1, 1}}
	for _, b := range n.blocks {
		x = torch.Conv2d(x, b.weight, b.bias, conv)
		x = torch.BatchNorm(x, b.gamma, b.beta, b.runningMean, b.runningVar, true, 0.1, 1e-5)
		x = torch.MaxPool2d(x.Relu(), pool)
	}
	x = torch.AdaptiveAvgPool2d(x, 1, 1).Reshape(-1, n.fcIn)
	return torch.Linear(x, n.fcW, n.fcB)
}

// adam holds Adam's moment buffers and step count.
type adam struct {
	params, m, v []*torch.Tensor
	step         int64
}

func newAdam(params []*torch.Tensor) *adam {
	a := &adam{params: params}
	for _, p := range params {
		a.m = append(a.m, torch.Zeros(p.Shape(), torch.Float32, p.Device()))
		a.v = append(a.v, torch.Zeros(p.Shape(), torch.Float32, p.Device()))
	}
	return a
}

// trainStep runs one forward and backward pass and one Adam update, and
// returns the loss. Everything the step makes is freed when it returns.
func (n *net) trainStep(opt *adam, x, y *torch.Tensor) float64 {
	s := torch.NewScope()
	defer s.Close()
	torch.ZeroGrad(opt.params)
	loss := torch.MSELoss(n.forward(x), y, torch.ReduceMean)
	loss.Backward()
	opt.step++
	torch.AdamStep(opt.params, opt.m, opt.v, 1e-3, 0.9, 0.999, 1e-8, 0, false, opt.step)
	return loss.Item()
}

// timeTinyAdd returns the wall time of one a+b on one-element tensors on
// dev, its sum freed as mode says, over calls calls in chunks (bestChunk:
// the fastest chunk's time per call). On a CUDA device
// the calls only queue kernels: the clock stops after the last sum has
// been read back, which waits for all of them.
// How timeTinyAdd's sums are freed.
const (
	freedInScope = iota // inside a scope, each freed at once
	heldByScope         // inside a scope, all freed when it closes
	unscoped            // outside any scope, each freed at once
)

func timeTinyAdd(calls int, dev torch.Device, mode int) float64 {
	a := torch.Full([]int64{1}, 1, torch.Float32, dev)
	b := torch.Full([]int64{1}, 2, torch.Float32, dev)
	defer a.Free()
	defer b.Free()
	sync := func() {
		if dev.IsCUDA() {
			s := a.Add(b)
			s.Item()
			s.Free()
		}
	}
	// adds makes n sums, inside a scope whose Close (timed too) frees what
	// is left, or outside any scope, where each sum also gets the runtime
	// cleanup that every tensor made outside a scope carries.
	adds := func(n int) {
		switch mode {
		case freedInScope:
			s := torch.NewScope()
			defer s.Close()
			for range n {
				a.Add(b).Free()
			}
		case heldByScope:
			s := torch.NewScope()
			defer s.Close()
			for range n {
				a.Add(b)
			}
		default:
			for range n {
				a.Add(b).Free()
			}
		}
	}
	const perScope = 1000
	adds(perScope) // warm up
	sync()
	return bestChunk(calls, func(n int) {
		for done := 0; done < n; done += perScope {
			adds(min(perScope, n-done))
		}
		sync()
	})
}

// tinyChunk is how many calls bestChunk times at once: about 10 ms of
// work, long against the clock's resolution and a scope's close, short
// against the pauses another process on the machine causes.
const tinyChunk = 10000

// bestChunk runs run over calls calls in chunks of tinyChunk, timing each,
// and returns the wall time per call of the fastest chunk: the cost of the
// call itself, without the time the machine spent elsewhere. step.cpp and
// step.py time theirs the same way.
func bestChunk(calls int, run func(n int)) float64 {
	best := math.Inf(1)
	for done := 0; done < calls; done += tinyChunk {
		n := min(tinyChunk, calls-done)
		start := time.Now()
		run(n)
		best = min(best, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	return best
}

func median(sorted []float64) float64 {
	k := len(sorted)
	if k%2 == 1 {
		return sorted[k/2]
	}
	return (sorted[k/2-1] + sorted[k/2]) / 2
}

// osThreads returns the number of OS threads in this process (Linux), or
// -1 when /proc cannot tell.
func osThreads() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	var n int
	for line := range strings.Lines(string(b)) {
		if _, err := fmt.Sscanf(line, "Threads: %d", &n); err == nil {
			return n
		}
	}
	return -1
}
