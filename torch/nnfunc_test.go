package torch_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func shape4(s [4]int) []int64 { return []int64{int64(s[0]), int64(s[1]), int64(s[2]), int64(s[3])} }

func TestConv2dKnownAnswer(t *testing.T) {
	// One hand-computed case: a 3×3 input, a 2×2 kernel, bias 0.5.
	//   x = [1 2 3; 4 5 6; 7 8 9], w = [1 0; 0 -1]: each output is
	//   x[i][j] - x[i+1][j+1] + 0.5 = -4 + 0.5.
	torch.WithScope(func() {
		x := torch.Arange(1, 10, 1, torch.Float32, torch.CPU).Reshape(1, 1, 3, 3)
		w := torch.FromFloat32([]float32{1, 0, 0, -1}, 1, 1, 2, 2)
		b := torch.FromFloat32([]float32{0.5}, 1)
		y := torch.Conv2d(x, w, b, torch.Conv2dOptions{})
		assertShape(t, "hand conv", y, 1, 1, 2, 2)
		assertClose(t, "hand conv", y.Float64s(), []float64{-3.5, -3.5, -3.5, -3.5}, 0)
	})

	tests := []struct {
		name     string
		x, w     [4]int
		bias     bool
		stride   [2]int
		padding  [2]int
		dilation [2]int
		groups   int
	}{
		{name: "plain with bias", x: [4]int{1, 1, 4, 4}, w: [4]int{1, 1, 3, 3}, bias: true},
		{name: "stride 2 padding 1", x: [4]int{2, 2, 5, 5}, w: [4]int{3, 2, 3, 3}, bias: true, stride: [2]int{2, 2}, padding: [2]int{1, 1}},
		{name: "uneven stride and padding", x: [4]int{1, 2, 5, 6}, w: [4]int{2, 2, 2, 3}, stride: [2]int{1, 2}, padding: [2]int{2, 0}},
		{name: "dilation 2", x: [4]int{1, 2, 7, 7}, w: [4]int{2, 2, 3, 3}, bias: true, dilation: [2]int{2, 2}, padding: [2]int{2, 1}},
		{name: "groups 2", x: [4]int{2, 4, 5, 5}, w: [4]int{6, 2, 3, 3}, bias: true, padding: [2]int{1, 1}, groups: 2},
		{name: "depthwise", x: [4]int{2, 3, 4, 4}, w: [4]int{3, 1, 3, 3}, stride: [2]int{2, 2}, padding: [2]int{1, 1}, groups: 3},
		{name: "everything", x: [4]int{1, 4, 9, 8}, w: [4]int{4, 2, 3, 2}, bias: true, stride: [2]int{2, 1}, padding: [2]int{1, 2}, dilation: [2]int{2, 3}, groups: 2},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			xv := uniform(rng, tt.x[0]*tt.x[1]*tt.x[2]*tt.x[3], -1, 1)
			wv := uniform(rng, tt.w[0]*tt.w[1]*tt.w[2]*tt.w[3], -1, 1)
			var bv []float64
			var b *torch.Tensor
			if tt.bias {
				bv = uniform(rng, tt.w[0], -1, 1)
				b = torch.FromFloat64(bv, int64(tt.w[0])).ToDType(torch.Float32)
			}
			// Zero options mean stride 1, dilation 1, one group.
			stride, dil, groups := tt.stride, tt.dilation, tt.groups
			o := torch.Conv2dOptions{
				Stride:   [2]int64{int64(stride[0]), int64(stride[1])},
				Padding:  [2]int64{int64(tt.padding[0]), int64(tt.padding[1])},
				Dilation: [2]int64{int64(dil[0]), int64(dil[1])},
				Groups:   int64(groups),
			}
			for _, p := range []*[2]int{&stride, &dil} {
				for i := range p {
					p[i] = max(p[i], 1)
				}
			}
			groups = max(groups, 1)
			want, ws := conv2dRef(xv, tt.x, wv, tt.w, bv, stride, tt.padding, dil, groups)

			x := torch.FromFloat64(xv, shape4(tt.x)...).ToDType(torch.Float32)
			w := torch.FromFloat64(wv, shape4(tt.w)...).ToDType(torch.Float32)
			y := torch.Conv2d(x, w, b, o)
			assertShape(t, "conv2d", y, shape4(ws)...)
			assertClose(t, "conv2d", y.Float64s(), want, 1e-5)
		})
	}
}

func TestLinearKnownAnswer(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	rng := rand.New(rand.NewPCG(2, 2))
	xv, wv, bv := uniform(rng, 2*3*5, -1, 1), uniform(rng, 4*5, -1, 1), uniform(rng, 4, -1, 1)
	x := torch.FromFloat64(xv, 2, 3, 5).ToDType(torch.Float32)
	w := torch.FromFloat64(wv, 4, 5).ToDType(torch.Float32)
	b := torch.FromFloat64(bv, 4).ToDType(torch.Float32)

	y := torch.Linear(x, w, b)
	assertShape(t, "linear", y, 2, 3, 4)
	assertClose(t, "linear", y.Float64s(), linearRef(xv, 6, 5, wv, 4, bv), 1e-5)

	y = torch.Linear(x.Reshape(6, 5), w, nil)
	assertShape(t, "linear without bias", y, 6, 4)
	assertClose(t, "linear without bias", y.Float64s(), linearRef(xv, 6, 5, wv, 4, nil), 1e-5)

	// By hand: [1 2]·[[1 1] [0 -1]]ᵀ + [10 20] = [13 18].
	y = torch.Linear(f32([]int64{1, 2}, 1, 2), f32([]int64{2, 2}, 1, 1, 0, -1), f32([]int64{2}, 10, 20))
	assertClose(t, "hand linear", y.Float64s(), []float64{13, 18}, 0)
}

func TestPoolingKnownAnswer(t *testing.T) {
	// By hand, on x = 1..9 as [1, 1, 3, 3], 2×2 windows with stride 2 and
	// ceil mode: the windows are {1 2 4 5}, {3 6}, {7 8}, {9}; the mean
	// divides by the part of the window inside the input.
	torch.WithScope(func() {
		x := torch.Arange(1, 10, 1, torch.Float32, torch.CPU).Reshape(1, 1, 3, 3)
		o := torch.Pool2dOptions{Kernel: [2]int64{2, 2}, CeilMode: true}
		assertClose(t, "max ceil", torch.MaxPool2d(x, o).Float64s(), []float64{5, 6, 8, 9}, 0)
		assertClose(t, "avg ceil", torch.AvgPool2d(x, o).Float64s(), []float64{3, 4.5, 7.5, 9}, 0)
		o.CeilMode = false
		assertClose(t, "max floor", torch.MaxPool2d(x, o).Float64s(), []float64{5}, 0)
		// Padding counts as zeros in the mean: the top-left 2×2 window
		// over padding 1 holds 0 0 0 1; the last holds 5 6 8 9.
		o = torch.Pool2dOptions{Kernel: [2]int64{2, 2}, Padding: [2]int64{1, 1}}
		assertClose(t, "avg padded", torch.AvgPool2d(x, o).Float64s(), []float64{0.25, 1.25, 2.75, 7}, 0)
	})

	tests := []struct {
		name            string
		x               [4]int
		k, stride, pad  [2]int
		zeroStrideInOpt bool
	}{
		{name: "2x2 default stride", x: [4]int{2, 3, 4, 6}, k: [2]int{2, 2}, stride: [2]int{2, 2}, zeroStrideInOpt: true},
		{name: "3x3 stride 1 pad 1", x: [4]int{1, 2, 5, 5}, k: [2]int{3, 3}, stride: [2]int{1, 1}, pad: [2]int{1, 1}},
		{name: "3x3 stride 2 pad 1", x: [4]int{1, 1, 5, 6}, k: [2]int{3, 3}, stride: [2]int{2, 2}, pad: [2]int{1, 1}},
		{name: "2x3 stride 1x2", x: [4]int{2, 1, 4, 7}, k: [2]int{2, 3}, stride: [2]int{1, 2}, pad: [2]int{0, 1}},
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			xv := uniform(rng, tt.x[0]*tt.x[1]*tt.x[2]*tt.x[3], -1, 1)
			x := torch.FromFloat64(xv, shape4(tt.x)...).ToDType(torch.Float32)
			o := torch.Pool2dOptions{
				Kernel:  [2]int64{int64(tt.k[0]), int64(tt.k[1])},
				Padding: [2]int64{int64(tt.pad[0]), int64(tt.pad[1])},
			}
			if !tt.zeroStrideInOpt {
				o.Stride = [2]int64{int64(tt.stride[0]), int64(tt.stride[1])}
			}
			for _, avg := range []bool{false, true} {
				want, ws := pool2dRef(avg, xv, tt.x, tt.k, tt.stride, tt.pad)
				var y *torch.Tensor
				if avg {
					y = torch.AvgPool2d(x, o)
				} else {
					y = torch.MaxPool2d(x, o)
				}
				what := fmt.Sprintf("pool avg=%v", avg)
				assertShape(t, what, y, shape4(ws)...)
				assertClose(t, what, y.Float64s(), want, 1e-6)
			}
		})
	}
}

func TestAdaptiveAvgPoolKnownAnswer(t *testing.T) {
	// By hand: 1..9 as 3×3 down to 2×2 averages the overlapping windows
	// rows/cols [0,2) and [1,3): {1 2 4 5} {2 3 5 6} {4 5 7 8} {5 6 8 9}.
	torch.WithScope(func() {
		x := torch.Arange(1, 10, 1, torch.Float32, torch.CPU).Reshape(1, 1, 3, 3)
		assertClose(t, "hand adaptive", torch.AdaptiveAvgPool2d(x, 2, 2).Float64s(), []float64{3, 4, 6, 7}, 0)
		assertClose(t, "global", torch.AdaptiveAvgPool2d(x, 1, 1).Float64s(), []float64{5}, 0)
	})
	tests := []struct {
		x      [4]int
		oh, ow int
	}{
		{[4]int{2, 3, 5, 7}, 3, 2},
		{[4]int{1, 2, 4, 4}, 2, 2},
		{[4]int{1, 1, 6, 5}, 4, 3},
		{[4]int{1, 1, 3, 3}, 5, 4}, // output larger than the input
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_to_%dx%d", tt.x, tt.oh, tt.ow), func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			xv := uniform(rng, tt.x[0]*tt.x[1]*tt.x[2]*tt.x[3], -1, 1)
			y := torch.AdaptiveAvgPool2d(torch.FromFloat64(xv, shape4(tt.x)...).ToDType(torch.Float32), int64(tt.oh), int64(tt.ow))
			assertShape(t, "adaptive", y, int64(tt.x[0]), int64(tt.x[1]), int64(tt.oh), int64(tt.ow))
			assertClose(t, "adaptive", y.Float64s(), adaptiveAvgPoolRef(xv, tt.x, tt.oh, tt.ow), 1e-6)
		})
	}
}

func TestInterpolateKnownAnswer(t *testing.T) {
	// By hand on [[0 1] [2 3]].
	hand := []struct {
		name  string
		h, w  int64
		mode  torch.InterpolateMode
		align bool
		want  []float64
	}{
		{"nearest 2x", 4, 4, torch.Nearest, false, []float64{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3}},
		{"nearest to 1x3", 1, 3, torch.Nearest, false, []float64{0, 0, 1}},
		{"bilinear align corners", 3, 3, torch.Bilinear, true, []float64{0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3}},
		{"bilinear half pixel", 1, 4, torch.Bilinear, false, []float64{1, 1.25, 1.75, 2}},
	}
	for _, tt := range hand {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			x := f32([]int64{1, 1, 2, 2}, 0, 1, 2, 3)
			y := torch.Interpolate(x, tt.h, tt.w, tt.mode, tt.align)
			assertShape(t, tt.name, y, 1, 1, tt.h, tt.w)
			assertClose(t, tt.name, y.Float64s(), tt.want, 1e-6)
		})
	}

	tests := []struct {
		x        [4]int
		oh, ow   int
		bilinear bool
		align    bool
	}{
		{[4]int{1, 2, 2, 3}, 4, 6, false, false},
		{[4]int{1, 1, 4, 4}, 3, 2, false, false},
		{[4]int{2, 1, 5, 3}, 7, 9, false, false},
		{[4]int{1, 2, 2, 2}, 4, 4, true, false},
		{[4]int{1, 1, 3, 4}, 5, 3, true, false},
		{[4]int{1, 1, 3, 4}, 5, 3, true, true},
		{[4]int{2, 1, 4, 5}, 2, 7, true, true},
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_to_%dx%d_bilinear=%v_align=%v", tt.x, tt.oh, tt.ow, tt.bilinear, tt.align), func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			xv := uniform(rng, tt.x[0]*tt.x[1]*tt.x[2]*tt.x[3], -1, 1)
			mode := torch.Nearest
			if tt.bilinear {
				mode = torch.Bilinear
			}
			y := torch.Interpolate(torch.FromFloat64(xv, shape4(tt.x)...).ToDType(torch.Float32), int64(tt.oh), int64(tt.ow), mode, tt.align)
			assertShape(t, "interpolate", y, int64(tt.x[0]), int64(tt.x[1]), int64(tt.oh), int64(tt.ow))
			assertClose(t, "interpolate", y.Float64s(), resizeRef(xv, tt.x, tt.oh, tt.ow, tt.bilinear, tt.align), 1e-5)
		})
	}
}

func TestBatchNormKnownAnswer(t *testing.T) {
	const momentum, eps = 0.1, 1e-5
	tests := []struct {
		name     string
		shape    []int64 // [n, c, rest...]
		affine   bool
		running  bool
		training bool
	}{
		{"train 4d", []int64{3, 2, 2, 2}, true, true, true},
		{"train 2d", []int64{5, 3}, true, true, true},
		{"train no affine no running", []int64{4, 2, 3}, false, false, true},
		{"eval 4d", []int64{3, 2, 2, 2}, true, true, false},
		{"eval 2d no affine", []int64{2, 3}, false, true, false},
	}
	rng := rand.New(rand.NewPCG(6, 6))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			n, c := int(tt.shape[0]), int(tt.shape[1])
			rest := numel(tt.shape[2:])
			xv := uniform(rng, n*c*rest, -2, 3)
			x := torch.FromFloat64(xv, tt.shape...).ToDType(torch.Float32)
			var wv, bv, mv, vv []float64
			var w, b, m, v *torch.Tensor
			if tt.affine {
				wv, bv = uniform(rng, c, 0.5, 2), uniform(rng, c, -1, 1)
				w = torch.FromFloat64(wv, int64(c)).ToDType(torch.Float32)
				b = torch.FromFloat64(bv, int64(c)).ToDType(torch.Float32)
			}
			if tt.running {
				mv, vv = uniform(rng, c, -1, 1), uniform(rng, c, 0.5, 2)
				m = torch.FromFloat64(mv, int64(c)).ToDType(torch.Float32)
				v = torch.FromFloat64(vv, int64(c)).ToDType(torch.Float32)
			}
			want, wantMean, wantVar := batchNormRef(xv, n, c, rest, wv, bv, mv, vv, tt.training, momentum, eps)
			y := torch.BatchNorm(x, w, b, m, v, tt.training, momentum, eps)
			assertShape(t, "batch norm", y, tt.shape...)
			assertClose(t, "batch norm output", y.Float64s(), want, 1e-5)
			if tt.running {
				// In evaluation the reference returns the statistics unchanged.
				assertClose(t, "running mean", m.Float64s(), wantMean, 1e-6)
				assertClose(t, "running var", v.Float64s(), wantVar, 1e-6)
			}
		})
	}
}

func TestSoftmaxKnownAnswer(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	e1, e2, e3 := math.Exp(1), math.Exp(2), math.Exp(3)
	z := e1 + e2 + e3
	x := f32([]int64{2, 3}, 1, 2, 3, 1, 1, 1)
	assertClose(t, "softmax dim 1", torch.Softmax(x, 1).Float64s(), []float64{e1 / z, e2 / z, e3 / z, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-6)
	assertClose(t, "log softmax dim -1", torch.LogSoftmax(x, -1).Float64s(),
		[]float64{1 - math.Log(z), 2 - math.Log(z), 3 - math.Log(z), -math.Log(3), -math.Log(3), -math.Log(3)}, 1e-6)
	s0 := 1 / (1 + math.Exp(-1))
	assertClose(t, "softmax dim 0", torch.Softmax(x, 0).Float64s(), []float64{0.5, s0, 1 / (1 + math.Exp(-2)), 0.5, 1 - s0, 1 / (1 + math.Exp(2))}, 1e-6)
	big := f32([]int64{2}, 1000, 1001)
	assertClose(t, "softmax of large values", torch.Softmax(big, 0).Float64s(), []float64{1 - s0, s0}, 1e-6)
	assertClose(t, "log softmax of large values", torch.LogSoftmax(big, 0).Float64s(), []float64{-1 - math.Log1p(math.Exp(-1)), -math.Log1p(math.Exp(-1))}, 1e-5)
}

func TestLossesKnownAnswer(t *testing.T) {
	pred := []float64{-1, 0.5, 2, 2.2, 5}
	target := []float64{2, 1, 2, 2, 3}
	// Differences d = pred - target: -3, -0.5, 0, 0.2, 2.
	sq := []float64{9, 0.25, 0, 0.04, 4}
	huber1 := []float64{2.5, 0.125, 0, 0.02, 1.5}      // delta 1: 0.5d² or |d| - 0.5
	huber2 := []float64{4, 0.125, 0, 0.02, 2}          // delta 2: 0.5d² or 2(|d| - 1)
	smoothHalf := []float64{2.75, 0.25, 0, 0.04, 1.75} // beta 0.5: d² or |d| - 0.25
	smoothTwo := []float64{2, 0.0625, 0, 0.01, 1}      // beta 2: 0.25d² or |d| - 1
	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	sum := func(xs []float64) float64 { return mean(xs) * float64(len(xs)) }
	tests := []struct {
		name string
		loss func(p, y *torch.Tensor, r torch.Reduction) *torch.Tensor
		each []float64
	}{
		{"mse", torch.MSELoss, sq},
		{"huber delta 1", func(p, y *torch.Tensor, r torch.Reduction) *torch.Tensor { return torch.HuberLoss(p, y, r, 1) }, huber1},
		{"huber delta 2", func(p, y *torch.Tensor, r torch.Reduction) *torch.Tensor { return torch.HuberLoss(p, y, r, 2) }, huber2},
		{"smooth l1 beta 0.5", func(p, y *torch.Tensor, r torch.Reduction) *torch.Tensor { return torch.SmoothL1Loss(p, y, r, 0.5) }, smoothHalf},
		{"smooth l1 beta 2", func(p, y *torch.Tensor, r torch.Reduction) *torch.Tensor { return torch.SmoothL1Loss(p, y, r, 2) }, smoothTwo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			p := torch.FromFloat64(pred, 5).ToDType(torch.Float32)
			y := torch.FromFloat64(target, 5).ToDType(torch.Float32)
			none := tt.loss(p, y, torch.ReduceNone)
			assertShape(t, "no reduction", none, 5)
			assertClose(t, "no reduction", none.Float64s(), tt.each, 1e-6)
			m := tt.loss(p, y, torch.ReduceMean)
			assertShape(t, "mean", m)
			assertClose(t, "mean", m.Float64s(), []float64{mean(tt.each)}, 1e-6)
			assertClose(t, "sum", tt.loss(p, y, torch.ReduceSum).Float64s(), []float64{sum(tt.each)}, 1e-5)
		})
	}
}

func TestAffineGridGridSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	xv := uniform(rng, 2*3*4*5, -1, 1)
	identity := []float64{1, 0, 0, 0, 1, 0}

	t.Run("identity grid values", func(t *testing.T) {
		s := torch.NewScope()
		defer s.Close()
		theta := torch.FromFloat64(identity, 1, 2, 3).ToDType(torch.Float32)
		g := torch.AffineGrid(theta, [4]int64{1, 1, 2, 3}, false)
		assertShape(t, "grid", g, 1, 2, 3, 2)
		assertClose(t, "grid", g.Float64s(), []float64{-2. / 3, -0.5, 0, -0.5, 2. / 3, -0.5, -2. / 3, 0.5, 0, 0.5, 2. / 3, 0.5}, 1e-6)
		g = torch.AffineGrid(theta, [4]int64{1, 1, 2, 3}, true)
		assertClose(t, "grid align corners", g.Float64s(), []float64{-1, -1, 0, -1, 1, -1, -1, 1, 0, 1, 1, 1}, 1e-6)
	})

	// The identity grid samples every pixel at its centre, whatever the
	// interpolation and padding.
	for _, align := range []bool{false, true} {
		for _, mode := range []torch.InterpolateMode{torch.Bilinear, torch.Nearest} {
			for _, pad := range []torch.GridPadding{torch.PadZeros, torch.PadBorder, torch.PadReflection} {
				t.Run(fmt.Sprintf("identity align=%v mode=%d padding=%d", align, mode, pad), func(t *testing.T) {
					s := torch.NewScope()
					defer s.Close()
					x := torch.FromFloat64(xv, 2, 3, 4, 5).ToDType(torch.Float32)
					theta := torch.FromFloat64(slices.Concat(identity, identity), 2, 2, 3).ToDType(torch.Float32)
					y := torch.GridSample(x, torch.AffineGrid(theta, [4]int64{2, 3, 4, 5}, align), mode, pad, align)
					assertShape(t, "identity sample", y, 2, 3, 4, 5)
					assertClose(t, "identity sample", y.Float64s(), x.Float64s(), 1e-5)
				})
			}
		}
	}

	t.Run("mirror", func(t *testing.T) {
		s := torch.NewScope()
		defer s.Close()
		x := torch.FromFloat64(xv, 2, 3, 4, 5).ToDType(torch.Float32)
		theta := torch.FromFloat64([]float64{-1, 0, 0, 0, 1, 0, 1, 0, 0, 0, -1, 0}, 2, 2, 3).ToDType(torch.Float32)
		y := torch.GridSample(x, torch.AffineGrid(theta, [4]int64{2, 3, 4, 5}, false), torch.Bilinear, torch.PadZeros, false)
		want := torch.Cat([]*torch.Tensor{x.Narrow(0, 0, 1).Flip(3), x.Narrow(0, 1, 1).Flip(2)}, 0)
		assertClose(t, "mirrored", y.Float64s(), want.Float64s(), 1e-5)
	})

	for _, align := range []bool{false, true} {
		t.Run(fmt.Sprintf("random affine align=%v", align), func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			thetas := uniform(rng, 12, -1.2, 1.2)
			x := torch.FromFloat64(xv, 2, 3, 4, 5).ToDType(torch.Float32)
			grid := torch.AffineGrid(torch.FromFloat64(thetas, 2, 2, 3).ToDType(torch.Float32), [4]int64{2, 3, 6, 7}, align)
			assertShape(t, "grid", grid, 2, 6, 7, 2)
			var wantGrid, want []float64
			for n := range 2 {
				g := affineGridRef(thetas[6*n:6*n+6], 6, 7, align)
				wantGrid = append(wantGrid, g...)
				want = append(want, gridSampleRef(xv[60*n:60*n+60], 3, 4, 5, g, align)...)
			}
			assertClose(t, "grid", grid.Float64s(), wantGrid, 1e-5)
			y := torch.GridSample(x, grid, torch.Bilinear, torch.PadZeros, align)
			assertShape(t, "sample", y, 2, 3, 6, 7)
			assertClose(t, "sample", y.Float64s(), want, 1e-5)
		})
	}

	// Padding, by hand: x = [1 2 3] as a 1×3 image, aligned corners, read at
	// normalised x = 2, which is pixel 3, one past the right edge.
	t.Run("padding modes", func(t *testing.T) {
		tests := []struct {
			pad  torch.GridPadding
			want float64
		}{{torch.PadZeros, 0}, {torch.PadBorder, 3}, {torch.PadReflection, 2}}
		for _, tt := range tests {
			s := torch.NewScope()
			x := f32([]int64{1, 1, 1, 3}, 1, 2, 3)
			grid := f32([]int64{1, 1, 2, 2}, 2, 0, 0.5, 0)
			for _, mode := range []torch.InterpolateMode{torch.Bilinear, torch.Nearest} {
				y := torch.GridSample(x, grid, mode, tt.pad, true)
				// Normalised x = 0.5 is pixel 1.5: bilinear 2.5; nearest rounds half to even, pixel 2.
				inside := 2.5
				if mode == torch.Nearest {
					inside = 3
				}
				assertClose(t, fmt.Sprintf("padding %d mode %d", tt.pad, mode), y.Float64s(), []float64{tt.want, inside}, 1e-6)
			}
			s.Close()
		}
	})
}

func TestActivationsAgree(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	xs := []float64{-3, -1, -0.25, 0, 0.5, 2}
	x := torch.FromFloat64(xs, 6)
	var relu, leaky, sig, tanh, gel []float64
	for _, v := range xs {
		relu = append(relu, math.Max(v, 0))
		leaky = append(leaky, math.Max(v, 0)+0.2*math.Min(v, 0))
		sig = append(sig, 1/(1+math.Exp(-v)))
		tanh = append(tanh, math.Tanh(v))
		gel = append(gel, gelu(v))
	}
	assertClose(t, "relu", x.Relu().Float64s(), relu, 0)
	assertClose(t, "leaky relu", x.LeakyRelu(0.2).Float64s(), leaky, 1e-15)
	assertClose(t, "sigmoid", x.Sigmoid().Float64s(), sig, 1e-15)
	assertClose(t, "tanh", x.Tanh().Float64s(), tanh, 1e-15)
	assertClose(t, "gelu", x.Gelu().Float64s(), gel, 1e-15)
}

func TestDropout(t *testing.T) {
	const p = 0.3
	s := torch.NewScope()
	defer s.Close()
	x := torch.Ones([]int64{200, 500}, torch.Float32, torch.CPU)

	t.Run("elements", func(t *testing.T) {
		torch.ManualSeed(11)
		y := torch.Dropout(x, p, true)
		zero, kept := 0, float32(1/(1-p))
		for i, v := range y.Float32s() {
			switch v {
			case 0:
				zero++
			case kept:
			default:
				t.Fatalf("element %d = %v, want 0 or %v", i, v, kept)
			}
		}
		// 100000 Bernoulli(0.3) draws: the standard deviation of the
		// fraction is 0.0014; allow five of them.
		if frac := float64(zero) / 1e5; math.Abs(frac-p) > 0.007 {
			t.Errorf("fraction zeroed %.4f, want %.1f", frac, p)
		}
		if mean := y.Mean().Item(); math.Abs(mean-1) > 0.02 {
			t.Errorf("mean after dropout %.4f, want 1 (scaling by 1/(1-p) keeps it)", mean)
		}
		torch.ManualSeed(11)
		if again := torch.Dropout(x, p, true); !slices.Equal(again.Float32s(), y.Float32s()) {
			t.Errorf("same seed gave a different mask")
		}
		if other := torch.Dropout(x, p, true); slices.Equal(other.Float32s(), y.Float32s()) {
			t.Errorf("two draws gave the same mask")
		}
	})

	t.Run("gradient follows the mask", func(t *testing.T) {
		torch.ManualSeed(12)
		xg := torch.Full([]int64{50}, 2, torch.Float32, torch.CPU).SetRequiresGrad(true)
		y := torch.Dropout(xg, 0.5, true)
		y.Sum().Backward()
		// y = mask·2/(1-p) and dy/dx = mask/(1-p) = y/2.
		assertClose(t, "gradient", xg.Grad().Float64s(), y.DivScalar(2).Float64s(), 0)
	})

	t.Run("channels", func(t *testing.T) {
		torch.ManualSeed(13)
		xc := torch.Ones([]int64{16, 32, 3, 4}, torch.Float32, torch.CPU)
		y := torch.Dropout2d(xc, p, true)
		assertShape(t, "dropout2d", y, 16, 32, 3, 4)
		vals := y.Float32s()
		zeroed := 0
		for ch := range 16 * 32 {
			plane := vals[ch*12 : ch*12+12]
			first := plane[0]
			if first != 0 && first != float32(1/(1-p)) {
				t.Fatalf("channel %d: value %v, want 0 or %v", ch, first, 1/(1-p))
			}
			for _, v := range plane {
				if v != first {
					t.Fatalf("channel %d partly dropped: %v", ch, plane)
				}
			}
			if first == 0 {
				zeroed++
			}
		}
		// 512 channels: the standard deviation of the fraction is 0.02.
		if frac := float64(zeroed) / 512; math.Abs(frac-p) > 0.1 {
			t.Errorf("fraction of channels zeroed %.3f, want %.1f", frac, p)
		}
	})

	t.Run("evaluation and edge probabilities", func(t *testing.T) {
		xr := torch.Randn([]int64{4, 3, 2, 2}, torch.Float32, torch.CPU)
		want := xr.Float64s()
		assertClose(t, "dropout eval", torch.Dropout(xr, p, false).Float64s(), want, 0)
		assertClose(t, "dropout2d eval", torch.Dropout2d(xr, p, false).Float64s(), want, 0)
		assertClose(t, "dropout p=0", torch.Dropout(xr, 0, true).Float64s(), want, 0)
		assertClose(t, "dropout p=1", torch.Dropout(xr, 1, true).Float64s(), make([]float64, len(want)), 0)
		for _, bad := range []float64{-0.1, 1.5} {
			err := panicError(t, "dropout probability out of range", func() { torch.Dropout(xr, bad, true) })
			if err.Op != "dropout" {
				t.Errorf("Op %q, want dropout", err.Op)
			}
		}
	})
}
