package nn_test

import (
	"math"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

func TestOutputShapes(t *testing.T) {
	tests := []struct {
		name  string
		build func(p nn.Path) nn.Module
		in    []int64
		want  []int64
	}{
		{"conv 3x3", func(p nn.Path) nn.Module { return nn.NewConv2d(p, 3, 8, 3, nn.Conv2dConfig{}) },
			[]int64{2, 3, 10, 12}, []int64{2, 8, 8, 10}},
		{"conv same padding", func(p nn.Path) nn.Module { return nn.NewConv2d(p, 3, 8, 3, nn.Conv2dConfig{Padding: 1}) },
			[]int64{2, 3, 10, 12}, []int64{2, 8, 10, 12}},
		{"conv stride 2", func(p nn.Path) nn.Module {
			return nn.NewConv2d(p, 3, 4, 3, nn.Conv2dConfig{Stride: 2, Padding: 1})
		}, []int64{1, 3, 96, 96}, []int64{1, 4, 48, 48}},
		{"conv dilation 2", func(p nn.Path) nn.Module { return nn.NewConv2d(p, 2, 2, 3, nn.Conv2dConfig{Dilation: 2}) },
			[]int64{1, 2, 9, 9}, []int64{1, 2, 5, 5}},
		{"conv depthwise", func(p nn.Path) nn.Module { return nn.NewConv2d(p, 6, 6, 3, nn.Conv2dConfig{Groups: 6}) },
			[]int64{1, 6, 5, 5}, []int64{1, 6, 3, 3}},
		{"conv 1x1", func(p nn.Path) nn.Module { return nn.NewConv2d(p, 6, 2, 1, nn.Conv2dConfig{NoBias: true}) },
			[]int64{3, 6, 4, 4}, []int64{3, 2, 4, 4}},
		{"linear", func(p nn.Path) nn.Module { return nn.NewLinear(p, 9, 30, nn.LinearConfig{}) },
			[]int64{5, 9}, []int64{5, 30}},
		{"linear batched", func(p nn.Path) nn.Module { return nn.NewLinear(p, 9, 2, nn.LinearConfig{NoBias: true}) },
			[]int64{4, 5, 9}, []int64{4, 5, 2}},
		{"batch norm", func(p nn.Path) nn.Module { return nn.NewBatchNorm2d(p, 3, nn.BatchNormConfig{}) },
			[]int64{2, 3, 4, 5}, []int64{2, 3, 4, 5}},
		{"max pool", func(nn.Path) nn.Module { return nn.MaxPool2d(2, 0, 0) },
			[]int64{1, 3, 96, 95}, []int64{1, 3, 48, 47}},
		{"max pool stride 1 pad 1", func(nn.Path) nn.Module { return nn.MaxPool2d(3, 1, 1) },
			[]int64{1, 3, 7, 7}, []int64{1, 3, 7, 7}},
		{"avg pool", func(nn.Path) nn.Module { return nn.AvgPool2d(3, 2, 0) },
			[]int64{2, 1, 9, 9}, []int64{2, 1, 4, 4}},
		{"adaptive avg pool", func(nn.Path) nn.Module { return nn.AdaptiveAvgPool2d(2, 3) },
			[]int64{2, 5, 11, 7}, []int64{2, 5, 2, 3}},
		{"flatten", func(nn.Path) nn.Module { return nn.Flatten() },
			[]int64{2, 5, 3, 3}, []int64{2, 45}},
		{"dropout", func(p nn.Path) nn.Module { return nn.NewDropout(p, 0.5) },
			[]int64{4, 7}, []int64{4, 7}},
		{"dropout2d", func(p nn.Path) nn.Module { return nn.NewDropout2d(p, 0.5) },
			[]int64{4, 3, 2, 2}, []int64{4, 3, 2, 2}},
		{"leaky relu", func(nn.Path) nn.Module { return nn.LeakyReLU(0.1) },
			[]int64{3, 1}, []int64{3, 1}},
		{"empty sequential", func(nn.Path) nn.Module { return nn.NewSequential() },
			[]int64{2, 2}, []int64{2, 2}},
		{"test net", func(p nn.Path) nn.Module { return newTestNet(p) },
			[]int64{3, 1, 16, 16}, []int64{3, 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := nn.NewStore(torch.CPU)
			m := tt.build(store.Root())
			for _, training := range []bool{true, false} {
				store.SetTraining(training)
				if got := m.Forward(randn(tt.in...)).Shape(); !slices.Equal(got, tt.want) {
					t.Errorf("training %v: output shape %v, want %v", training, got, tt.want)
				}
			}
		})
	}
}

// conv2dDirect is a plain convolution over float64 slices: x [n, cin, h, w],
// w [cout, cin/groups, k, k], b [cout] or nil.
func conv2dDirect(x []float64, xs []int64, w []float64, ws []int64, b []float64,
	stride, pad, dil, groups int64) ([]float64, []int64) {
	n, cin, h, wd := xs[0], xs[1], xs[2], xs[3]
	cout, cpg, k := ws[0], ws[1], ws[2]
	oh := (h+2*pad-dil*(k-1)-1)/stride + 1
	ow := (wd+2*pad-dil*(k-1)-1)/stride + 1
	out := make([]float64, n*cout*oh*ow)
	opg := cout / groups
	for i := range n {
		for o := range cout {
			g := o / opg
			for y := range oh {
				for xo := range ow {
					s := 0.0
					if b != nil {
						s = b[o]
					}
					for c := range cpg {
						ci := g*cpg + c
						for ky := range k {
							for kx := range k {
								iy, ix := y*stride-pad+ky*dil, xo*stride-pad+kx*dil
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += x[((i*cin+ci)*h+iy)*wd+ix] * w[((o*cpg+c)*k+ky)*k+kx]
							}
						}
					}
					out[((i*cout+o)*oh+y)*ow+xo] = s
				}
			}
		}
	}
	return out, []int64{n, cout, oh, ow}
}

func TestConv2dMatchesDirect(t *testing.T) {
	tests := []struct {
		name       string
		in, out, k int64
		cfg        nn.Conv2dConfig
		inputShape []int64
	}{
		{"plain", 3, 4, 3, nn.Conv2dConfig{}, []int64{2, 3, 7, 6}},
		{"padded strided", 3, 5, 3, nn.Conv2dConfig{Stride: 2, Padding: 1}, []int64{2, 3, 7, 6}},
		{"dilated", 2, 3, 3, nn.Conv2dConfig{Dilation: 2, Padding: 2}, []int64{1, 2, 8, 9}},
		{"grouped", 4, 6, 3, nn.Conv2dConfig{Groups: 2, Padding: 1}, []int64{2, 4, 5, 5}},
		{"no bias 5x5", 2, 2, 5, nn.Conv2dConfig{NoBias: true, Stride: 3}, []int64{1, 2, 11, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			torch.ManualSeed(7)
			store := nn.NewStore(torch.CPU)
			conv := nn.NewConv2d(store.Root(), tt.in, tt.out, tt.k, tt.cfg)
			if (conv.Bias == nil) != tt.cfg.NoBias {
				t.Fatalf("bias %v with NoBias %v", conv.Bias, tt.cfg.NoBias)
			}
			x := randn(tt.inputShape...)
			got := conv.Forward(x)
			var b []float64
			if conv.Bias != nil {
				b = conv.Bias.Float64s()
			}
			stride, dil, groups := tt.cfg.Stride, tt.cfg.Dilation, tt.cfg.Groups
			if stride == 0 {
				stride = 1
			}
			if dil == 0 {
				dil = 1
			}
			if groups == 0 {
				groups = 1
			}
			want, wantShape := conv2dDirect(x.Float64s(), x.Shape(), conv.Weight.Float64s(), conv.Weight.Shape(), b,
				stride, tt.cfg.Padding, dil, groups)
			if !slices.Equal(got.Shape(), wantShape) {
				t.Fatalf("shape %v, want %v", got.Shape(), wantShape)
			}
			closeTo(t, "conv output", got.Float64s(), want, 1e-4)
		})
	}
}

func TestLinearMatchesDirect(t *testing.T) {
	torch.ManualSeed(8)
	store := nn.NewStore(torch.CPU)
	l := nn.NewLinear(store.Root(), 5, 3, nn.LinearConfig{})
	x := randn(4, 5)
	got := l.Forward(x).Float64s()
	xs, w, b := x.Float64s(), l.Weight.Float64s(), l.Bias.Float64s()
	want := make([]float64, 4*3)
	for i := range 4 {
		for o := range 3 {
			s := b[o]
			for k := range 5 {
				s += xs[i*5+k] * w[o*5+k]
			}
			want[i*3+o] = s
		}
	}
	closeTo(t, "linear output", got, want, 1e-5)
}

func TestBatchNorm2d(t *testing.T) {
	const n, c, h, w = 4, 3, 5, 2
	const eps = 1e-5
	torch.ManualSeed(9)
	store := nn.NewStore(torch.CPU)
	bn := nn.NewBatchNorm2d(store.Root(), c, nn.BatchNormConfig{})
	if bn.Momentum != 0.1 || bn.Eps != eps {
		t.Fatalf("defaults momentum %g eps %g", bn.Momentum, bn.Eps)
	}
	closeTo(t, "initial weight", bn.Weight.Float64s(), []float64{1, 1, 1}, 0)
	closeTo(t, "initial bias", bn.Bias.Float64s(), []float64{0, 0, 0}, 0)
	closeTo(t, "initial running mean", bn.RunningMean.Float64s(), []float64{0, 0, 0}, 0)
	closeTo(t, "initial running var", bn.RunningVar.Float64s(), []float64{1, 1, 1}, 0)
	gamma, beta := []float64{0.5, 2, -1}, []float64{0.1, -0.3, 1}
	torch.NoGrad(func() {
		bn.Weight.CopyFrom(torch.FromFloat64(gamma, c))
		bn.Bias.CopyFrom(torch.FromFloat64(beta, c))
	})

	x := randn(n, c, h, w).MulScalar(3).AddScalar(2)
	xs := x.Float64s()
	at := func(i, ch, j int) float64 { return xs[(i*c+ch)*h*w+j] }
	mean, varB, varU := make([]float64, c), make([]float64, c), make([]float64, c)
	m := float64(n * h * w)
	for ch := range c {
		for i := range n {
			for j := range h * w {
				mean[ch] += at(i, ch, j) / m
			}
		}
		for i := range n {
			for j := range h * w {
				d := at(i, ch, j) - mean[ch]
				varB[ch] += d * d / m
			}
		}
		varU[ch] = varB[ch] * m / (m - 1)
	}
	normalise := func(mu, v []float64) []float64 {
		out := make([]float64, len(xs))
		for i := range n {
			for ch := range c {
				for j := range h * w {
					out[(i*c+ch)*h*w+j] = (at(i, ch, j)-mu[ch])/math.Sqrt(v[ch]+eps)*gamma[ch] + beta[ch]
				}
			}
		}
		return out
	}

	// Training: batch statistics, and the running ones move by momentum.
	store.Train()
	closeTo(t, "training output", bn.Forward(x).Float64s(), normalise(mean, varB), 1e-4)
	rm, rv := make([]float64, c), make([]float64, c)
	for ch := range c {
		rm[ch] = 0.9*0 + 0.1*mean[ch]
		rv[ch] = 0.9*1 + 0.1*varU[ch]
	}
	closeTo(t, "running mean after one batch", bn.RunningMean.Float64s(), rm, 1e-5)
	closeTo(t, "running var after one batch", bn.RunningVar.Float64s(), rv, 1e-5)
	bn.Forward(x)
	for ch := range c {
		rm[ch] = 0.9*rm[ch] + 0.1*mean[ch]
		rv[ch] = 0.9*rv[ch] + 0.1*varU[ch]
	}
	closeTo(t, "running mean after two batches", bn.RunningMean.Float64s(), rm, 1e-5)
	closeTo(t, "running var after two batches", bn.RunningVar.Float64s(), rv, 1e-5)
	if got := bn.NumBatchesTracked.Int64s(); got[0] != 2 || bn.NumBatchesTracked.DType() != torch.Int64 {
		t.Errorf("num_batches_tracked = %v (%s), want 2 (int64)", got, bn.NumBatchesTracked.DType())
	}

	// Evaluation: running statistics, which stay put.
	store.Eval()
	closeTo(t, "evaluation output", bn.Forward(x).Float64s(), normalise(rm, rv), 1e-4)
	closeTo(t, "running mean after evaluation", bn.RunningMean.Float64s(), rm, 1e-5)
	if got := bn.NumBatchesTracked.Int64s()[0]; got != 2 {
		t.Errorf("evaluation changed num_batches_tracked to %d", got)
	}

	// One value per channel cannot be normalised in training, but can in
	// evaluation.
	one := randn(1, c, 1, 1)
	bn.Forward(one)
	store.Train()
	mustPanic(t, "more than 1 value per channel", func() { bn.Forward(one) })
	mustPanic(t, "want input [N, C, H, W]", func() { bn.Forward(randn(2, c)) })
}

func TestBatchNorm2dNoAffine(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	bn := nn.NewBatchNorm2d(store.Root().Sub("bn"), 2, nn.BatchNormConfig{NoAffine: true, Momentum: 0.5, Eps: 1e-3})
	if bn.Weight != nil || bn.Bias != nil || len(store.Params()) != 0 || store.Len() != 3 {
		t.Fatalf("NoAffine made %d params, %d tensors", len(store.Params()), store.Len())
	}
	x := torch.FromFloat32([]float32{1, 3, 10, 30}, 2, 2, 1, 1)
	y := bn.Forward(x).Float64s()
	// channel 0 holds {1, 10}: mean 5.5, biased var 20.25.
	want0 := (1 - 5.5) / math.Sqrt(20.25+1e-3)
	closeTo(t, "first element", y[:1], []float64{want0}, 1e-5)
	closeTo(t, "running mean", bn.RunningMean.Float64s(), []float64{0.5 * 5.5, 0.5 * 16.5}, 1e-5)
}

func TestDropout(t *testing.T) {
	torch.ManualSeed(10)
	store := nn.NewStore(torch.CPU)
	d := nn.NewDropout(store.Root(), 0.25)
	x := torch.Ones([]int64{200, 100}, torch.Float32, torch.CPU)

	y := d.Forward(x).Float64s()
	zeros := 0
	for _, v := range y {
		switch {
		case v == 0:
			zeros++
		case math.Abs(v-1/0.75) > 1e-6:
			t.Fatalf("kept element is %g, want 1/(1-p) = %g", v, 1/0.75)
		}
	}
	if frac := float64(zeros) / float64(len(y)); math.Abs(frac-0.25) > 0.02 {
		t.Errorf("dropped %.3f of the elements, want about 0.25", frac)
	}

	store.Eval()
	if got := d.Forward(x).Float64s(); !slices.Equal(got, x.Float64s()) {
		t.Error("dropout changed its input in evaluation mode")
	}
}

func TestDropout2d(t *testing.T) {
	torch.ManualSeed(11)
	store := nn.NewStore(torch.CPU)
	d := nn.NewDropout2d(store.Root(), 0.5)
	const n, c, hw = 8, 16, 9
	x := torch.Ones([]int64{n, c, 3, 3}, torch.Float32, torch.CPU)
	y := d.Forward(x).Float64s()
	dropped := 0
	for ch := range n * c {
		plane := y[ch*hw : (ch+1)*hw]
		first := plane[0]
		for _, v := range plane {
			if v != first {
				t.Fatalf("channel %d is partly dropped: %v", ch, plane)
			}
		}
		switch first {
		case 0:
			dropped++
		case 2:
		default:
			t.Fatalf("channel %d holds %g, want 0 or 2", ch, first)
		}
	}
	if dropped == 0 || dropped == n*c {
		t.Errorf("%d of %d channels dropped at p = 0.5", dropped, n*c)
	}
	store.Eval()
	if got := d.Forward(x).Float64s(); !slices.Equal(got, x.Float64s()) {
		t.Error("Dropout2d changed its input in evaluation mode")
	}
}

func TestActivations(t *testing.T) {
	in := []float64{-3, -0.5, 0, 0.25, 2}
	x := torch.FromFloat64(in, 5)
	tests := []struct {
		name string
		m    nn.Func
		f    func(float64) float64
	}{
		{"relu", nn.ReLU(), func(v float64) float64 { return math.Max(v, 0) }},
		{"leaky relu", nn.LeakyReLU(0.2), func(v float64) float64 { return math.Max(v, 0.2*v) }},
		{"gelu", nn.GELU(), func(v float64) float64 { return v / 2 * (1 + math.Erf(v/math.Sqrt2)) }},
		{"sigmoid", nn.Sigmoid(), func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{"tanh", nn.Tanh(), math.Tanh},
	}
	for _, tt := range tests {
		want := make([]float64, len(in))
		for i, v := range in {
			want[i] = tt.f(v)
		}
		closeTo(t, tt.name, tt.m.Forward(x).Float64s(), want, 1e-12)
	}
}

func TestPoolValues(t *testing.T) {
	// 4x4 input 0..15; 2x2 windows.
	x := torch.Arange(0, 16, 1, torch.Float32, torch.CPU).Reshape(1, 1, 4, 4)
	closeTo(t, "max pool", nn.MaxPool2d(2, 0, 0).Forward(x).Float64s(), []float64{5, 7, 13, 15}, 0)
	closeTo(t, "avg pool", nn.AvgPool2d(2, 0, 0).Forward(x).Float64s(), []float64{2.5, 4.5, 10.5, 12.5}, 0)
	closeTo(t, "global avg pool", nn.AdaptiveAvgPool2d(1, 1).Forward(x).Float64s(), []float64{7.5}, 0)
}

func TestSequentialOrder(t *testing.T) {
	x := torch.FromFloat64([]float64{1, -2}, 2)
	addOne := nn.Func(func(x *torch.Tensor) *torch.Tensor { return x.AddScalar(1) })
	double := nn.Func(func(x *torch.Tensor) *torch.Tensor { return x.MulScalar(2) })
	s := nn.NewSequential(addOne).Add(double, nn.ReLU())
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	// relu(2·(x+1)), not 2·x+1 or any other order.
	closeTo(t, "sequential", s.Forward(x).Float64s(), []float64{4, 0}, 0)
}

func TestBadGeometryPanics(t *testing.T) {
	p := nn.NewStore(torch.CPU).Root()
	tests := []struct {
		name string
		f    func()
	}{
		{"conv zero channels", func() { nn.NewConv2d(p.Sub("a"), 0, 4, 3, nn.Conv2dConfig{}) }},
		{"conv groups", func() { nn.NewConv2d(p.Sub("b"), 3, 4, 3, nn.Conv2dConfig{Groups: 2}) }},
		{"conv negative padding", func() { nn.NewConv2d(p.Sub("c"), 3, 4, 3, nn.Conv2dConfig{Padding: -1}) }},
		{"linear", func() { nn.NewLinear(p.Sub("d"), 3, 0, nn.LinearConfig{}) }},
		{"batch norm", func() { nn.NewBatchNorm2d(p.Sub("e"), 0, nn.BatchNormConfig{}) }},
		{"batch norm momentum", func() { nn.NewBatchNorm2d(p.Sub("f"), 2, nn.BatchNormConfig{Momentum: 2}) }},
		{"dropout", func() { nn.NewDropout(p, 1.5) }},
		{"dropout2d", func() { nn.NewDropout2d(p, -0.1) }},
		{"dropout NaN", func() { nn.NewDropout(p, math.NaN()) }},
		{"pool kernel", func() { nn.MaxPool2d(0, 0, 0) }},
		{"pool padding", func() { nn.AvgPool2d(2, 2, 2) }},
		{"adaptive", func() { nn.AdaptiveAvgPool2d(0, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, "nn.", tt.f) })
	}
	if n := p.Store().Len(); n != 0 {
		t.Errorf("failed constructions left %d tensors in the store", n)
	}
}

func TestGradientsReachEveryParameter(t *testing.T) {
	torch.ManualSeed(12)
	store := nn.NewStore(torch.CPU)
	net := newTestNet(store.Root())
	net.Forward(randn(4, 1, 12, 12)).Square().Mean().Backward()
	for _, p := range store.NamedParams() {
		g := p.Tensor.Grad()
		if g == nil {
			t.Errorf("%s has no gradient", p.Name)
			continue
		}
		if !slices.Equal(g.Shape(), p.Tensor.Shape()) {
			t.Errorf("%s: gradient shape %v", p.Name, g.Shape())
		}
	}
	for _, b := range store.NamedBuffers() {
		if b.Tensor.RequiresGrad() {
			t.Errorf("buffer %s requires grad", b.Name)
		}
	}
}
