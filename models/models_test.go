package models_test

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// newModel builds spec on the CPU from seed 1, freeing it when the test
// ends.
func newModel(t *testing.T, spec string) models.Model {
	t.Helper()
	return fkdtest.NewModel(t, spec, 1)
}

// faces returns n random faces [n, 1, 96, 96] in [0, 1).
func faces(n int64) *torch.Tensor { return torch.Rand([]int64{n, 1, 96, 96}, torch.Float32, torch.CPU) }

// archSpecs are the registered architectures with their defaults and with
// some options changed.
var archSpecs = []string{
	"cnn3", "cnn3:width=8,dropout=0",
	"tinyresnet", "tinyresnet:width=8,blocks=1,dropout=0.5",
	"fpn", "fpn:width=8,channels=16,dropout=0",
	"fpn:head=heatmap", "fpn:width=8,channels=16,dropout=0.3,head=heatmap",
	"fpnheat", "fpnheat:maps=48", "fpn:width=8,channels=16,maps=48",
}

func TestForwardShapeAndInitialOutput(t *testing.T) {
	for _, spec := range archSpecs {
		t.Run(spec, func(t *testing.T) {
			m := newModel(t, spec)
			for _, training := range []bool{true, false} {
				m.Store().SetTraining(training)
				torch.WithScope(func() {
					y := m.Forward(faces(2))
					if got := y.Shape(); !slices.Equal(got, []int64{2, 30}) {
						t.Fatalf("training %v: output shape %v, want [2 30]", training, got)
					}
					// The small output layer makes a new model predict
					// about the face centre: within 4 pixels of it.
					if worst := y.Abs().Max().Item(); !(worst < 4.0/48) {
						t.Errorf("training %v: initial output reaches %.3f, want about 0", training, worst)
					}
				})
			}
		})
	}
}

func TestForwardRejectsOtherShapes(t *testing.T) {
	m := newModel(t, "cnn3")
	for _, shape := range [][]int64{{2, 1, 64, 64}, {2, 3, 96, 96}, {1, 96, 96}} {
		err := torch.Catch(func() {
			torch.WithScope(func() { m.Forward(torch.Zeros(shape, torch.Float32, torch.CPU)) })
		})
		if err == nil || !strings.Contains(err.Error(), "want faces [N, 1, 96, 96]") {
			t.Errorf("input %v: error %v", shape, err)
		}
	}
}

// layerCost is what one layer adds to models.Count: parameters, and
// multiply-adds for one face.
type layerCost struct {
	params int
	macs   int64
}

// convBN is a k×k convolution in→out without bias, producing an hw×hw
// map, followed by batch normalisation (a scale and a shift per channel).
func convBN(in, out, k, hw int) layerCost {
	return layerCost{out*in*k*k + 2*out, int64(hw * hw * out * in * k * k)}
}

// convBias is a k×k convolution in→out with a bias and no normalisation.
func convBias(in, out, k, hw int) layerCost {
	return layerCost{out*in*k*k + out, int64(hw * hw * out * in * k * k)}
}

// fc is a linear layer in→out with a bias.
func fc(in, out int) layerCost { return layerCost{in*out + out, int64(in * out)} }

func total(layers ...layerCost) (params int, macs int64) {
	for _, l := range layers {
		params += l.params
		macs += l.macs
	}
	return params, macs
}

// cnn3Cost works out cnn3 with width w from its layer table: three
// conv-BN blocks 1→w (stride 2, on 48×48), w→2w (24×24), 2w→5w (12×12),
// each followed by a 2×2 max pool, a 1×1 reduction 5w→24 on the 6×6 grid
// and a linear layer 24·36→30.
func cnn3Cost(w int) (int, int64) {
	return total(
		convBN(1, w, 3, 48),
		convBN(w, 2*w, 3, 24),
		convBN(2*w, 5*w, 3, 12),
		convBN(5*w, 24, 1, 6),
		fc(24*6*6, 30),
	)
}

// tinyResNetCost works out tinyresnet: a stride-2 stem 1→w on 48×48, a
// max pool to 24×24, four stages of basic blocks with widths w, 2w, 4w, 8w
// on 24, 12, 6 and 3 cells a side (each block two 3×3 conv-BNs, the first
// block of stages 2-4 also a 1×1 conv-BN shortcut), average pooling and a
// linear layer 8w→30.
func tinyResNetCost(w, blocks int) (int, int64) {
	layers := []layerCost{convBN(1, w, 3, 48)}
	in, hw := w, 24
	for stage := range 4 {
		out := w << stage
		if stage > 0 {
			hw /= 2
		}
		for range blocks {
			layers = append(layers, convBN(in, out, 3, hw), convBN(out, out, 3, hw))
			if in != out { // the first block of stages 2-4, stride 2
				layers = append(layers, convBN(in, out, 1, hw))
			}
			in = out
		}
	}
	return total(append(layers, fc(8*w, 30))...)
}

// fpnCost works out fpn with stem width w, pyramid channels c, finest
// level side maps and either head: a 7×7 stride-2 stem 1→w on 48×48,
// three stages of two 3×3 conv-BNs (2w, 4w, 8w channels on 24, 12, 6
// cells a side), 1×1 laterals with bias from each stage to c (and with
// maps 48 from the stem too, on 48×48), a 3×3 conv-BN smoothing on
// maps×maps, then the head on maps×maps: for regression a 1×1 conv-BN
// c→16 and a linear layer 16·12·12→30 (after pooling to 12×12); for
// heatmap a 3×3 conv-BN c→c, a 1×1 convolution with bias c→15 and 15
// sharpnesses.
func fpnCost(w, c, maps int, heatmap bool) (int, int64) {
	layers := []layerCost{convBN(1, w, 7, 48)}
	in, hw := w, 48
	for i := range 3 {
		out := w << (i + 1)
		hw /= 2
		layers = append(layers, convBN(in, out, 3, hw), convBN(out, out, 3, hw), convBias(out, c, 1, hw))
		in = out
	}
	if maps == 48 {
		layers = append(layers, convBias(w, c, 1, 48))
	}
	layers = append(layers, convBN(c, c, 3, maps))
	if heatmap {
		layers = append(layers, convBN(c, c, 3, maps), convBias(c, 15, 1, maps), layerCost{params: 15})
	} else {
		layers = append(layers, convBN(c, 16, 1, maps), fc(16*12*12, 30))
	}
	return total(layers...)
}

// TestCount pins the parameters and multiply-adds of every registered
// architecture, with its defaults and with other options, both as numbers
// (what fkd models prints) and as worked out from the layer tables above.
func TestCount(t *testing.T) {
	byHand := func(params int, macs int64) [2]int64 { return [2]int64{int64(params), macs} }
	tests := []struct {
		spec   string
		params int
		macs   int64
		hand   [2]int64
	}{
		{"cnn3", 91_686, 14_064_192, byHand(cnn3Cost(24))},
		{"cnn3:width=8", 34_070, 1_719_360, byHand(cnn3Cost(8))},
		{"tinyresnet", 703_758, 19_799_808, byHand(tinyResNetCost(16, 2))},
		{"tinyresnet:width=8", 177_558, 5_033_856, byHand(tinyResNetCost(8, 2))},
		{"tinyresnet:width=8,blocks=1", 79_158, 2_379_648, byHand(tinyResNetCost(8, 1))},
		{"tinyresnet:blocks=3", 1_096_398, 30_416_640, byHand(tinyResNetCost(16, 3))},
		{"fpn", 378_254, 32_398_848, byHand(fpnCost(16, 32, 24, false))},
		{"fpn:width=8,channels=16", 147_046, 8_676_864, byHand(fpnCost(8, 16, 24, false))},
		{"fpn:maps=48", 378_798, 50_388_480, byHand(fpnCost(16, 32, 48, false))},
		{"fpn:head=heatmap", 318_350, 37_619_712, byHand(fpnCost(16, 32, 24, true))},
		{"fpn:width=8,channels=16,head=heatmap", 80_214, 9_925_632, byHand(fpnCost(8, 16, 24, true))},
		{"fpnheat", 318_350, 37_619_712, byHand(fpnCost(16, 32, 24, true))},
		{"fpnheat:maps=24", 318_350, 37_619_712, byHand(fpnCost(16, 32, 24, true))},
		{"fpnheat:maps=48", 318_894, 71_479_296, byHand(fpnCost(16, 32, 48, true))},
		{"fpnheat:width=8,channels=16,maps=48", 80_358, 18_597_888, byHand(fpnCost(8, 16, 48, true))},
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		tested[strings.Split(tt.spec, ":")[0]] = true
		t.Run(tt.spec, func(t *testing.T) {
			if tt.hand != [2]int64{int64(tt.params), tt.macs} {
				t.Errorf("pinned %d parameters, %d multiply-adds; the layer table gives %d, %d",
					tt.params, tt.macs, tt.hand[0], tt.hand[1])
			}
			m := newModel(t, tt.spec)
			m.Store().Train()
			params, macs := models.Count(m)
			if params != m.Store().NumParams() {
				t.Errorf("Count gives %d parameters, the store holds %d", params, m.Store().NumParams())
			}
			if params != tt.params || macs != tt.macs {
				t.Errorf("Count = %d parameters, %d multiply-adds; want %d, %d", params, macs, tt.params, tt.macs)
			}
			if !m.Store().Training() {
				t.Error("Count left the model in evaluation mode")
			}
			if _, again := models.Count(m); again != macs {
				t.Errorf("second Count gives %d multiply-adds, first %d", again, macs)
			}
		})
	}
	for _, info := range models.List() {
		if !tested[info.Name] {
			t.Errorf("architecture %s has no pinned count", info.Name)
		}
	}
}

func TestBackwardReachesEveryParameter(t *testing.T) {
	for _, spec := range archSpecs {
		t.Run(spec, func(t *testing.T) {
			m := newModel(t, spec)
			m.Store().Train()
			torch.WithScope(func() {
				target := torch.Rand([]int64{4, 30}, torch.Float32, torch.CPU)
				m.Forward(faces(4)).Sub(target).Square().Mean().Backward()
				for _, p := range m.Store().NamedParams() {
					g := p.Tensor.Grad()
					if g == nil {
						t.Errorf("%s has no gradient", p.Name)
						continue
					}
					if s := g.Abs().Sum().Item(); !(s > 0) || math.IsInf(s, 0) {
						t.Errorf("%s: gradient magnitude %g", p.Name, s)
					}
				}
			})
			torch.ZeroGrad(m.Store().Params())
		})
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    models.Spec
		wantErr string
	}{
		{in: "fpn", want: models.Spec{Arch: "fpn"}},
		{in: "  cnn3 ", want: models.Spec{Arch: "cnn3"}},
		{in: "fpn:width=48,dropout=0.2", want: models.Spec{Arch: "fpn", Options: map[string]string{"width": "48", "dropout": "0.2"}}},
		{in: "fpn: width = 48 , head=regression", want: models.Spec{Arch: "fpn", Options: map[string]string{"width": "48", "head": "regression"}}},
		{in: "x:a=b=c", want: models.Spec{Arch: "x", Options: map[string]string{"a": "b=c"}}},
		{in: "", wantErr: "no architecture name"},
		{in: ":width=3", wantErr: "no architecture name"},
		{in: "fpn:", wantErr: "no options after the colon"},
		{in: "fpn,width=3", wantErr: "bad architecture name"},
		{in: "fpn:width", wantErr: `option "width" is not key=value`},
		{in: "fpn:width=3,", wantErr: `option "" is not key=value`},
		{in: "fpn:=3", wantErr: "has no name"},
		{in: "fpn:width=", wantErr: `option "width" has no value`},
		{in: "fpn:width=3,width=4", wantErr: `option "width" given twice`},
	}
	for _, tt := range tests {
		got, err := models.ParseSpec(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSpec(%q): error %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Arch != tt.want.Arch || !maps.Equal(got.Options, tt.want.Options) {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if (got.Options == nil) != (tt.want.Options == nil) {
			t.Errorf("ParseSpec(%q): options %#v, want %#v", tt.in, got.Options, tt.want.Options)
		}
		back, err := models.ParseSpec(got.String())
		if err != nil || back.String() != got.String() {
			t.Errorf("ParseSpec(%q).String() = %q does not read back: %v, %v", tt.in, got, back, err)
		}
	}
}

func TestSpecString(t *testing.T) {
	tests := []struct {
		spec models.Spec
		want string
	}{
		{models.Spec{Arch: "fpn"}, "fpn"},
		{models.Spec{Arch: "fpn", Options: map[string]string{}}, "fpn"},
		{models.Spec{Arch: "fpn", Options: map[string]string{"width": "48", "dropout": "0.2"}}, "fpn:dropout=0.2,width=48"},
	}
	for _, tt := range tests {
		if got := tt.spec.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestNewFillsDefaults(t *testing.T) {
	for _, info := range models.List() {
		m := newModel(t, info.Name+":dropout=0.3")
		got := m.Spec()
		want := maps.Clone(info.Defaults)
		want["dropout"] = "0.3"
		if got.Arch != info.Name || !maps.Equal(got.Options, want) {
			t.Errorf("%s: Spec() = %v, want options %v", info.Name, got, want)
		}
		got.Options["dropout"] = "0.9" // a copy: the model's spec stays
		if m.Spec().Options["dropout"] != "0.3" {
			t.Errorf("%s: Spec() shares its options map", info.Name)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		spec    models.Spec
		wantErr string
	}{
		{models.Spec{Arch: "resnet152"}, `unknown model architecture "resnet152" (known: cnn3, fpn, fpnheat, tinyresnet)`},
		{models.Spec{Arch: "cnn3", Options: map[string]string{"depth": "4"}}, `cnn3 has no option "depth" (options: dropout, width)`},
		{models.Spec{Arch: "cnn3", Options: map[string]string{"width": "wide"}}, "cnn3 option width=wide: not an integer"},
		{models.Spec{Arch: "cnn3", Options: map[string]string{"width": "0"}}, "cnn3 option width=0: want 4 to 256"},
		{models.Spec{Arch: "tinyresnet", Options: map[string]string{"dropout": "1"}}, "tinyresnet option dropout=1: want a probability"},
		{models.Spec{Arch: "tinyresnet", Options: map[string]string{"dropout": "NaN"}}, "tinyresnet option dropout=NaN: want a probability"},
		{models.Spec{Arch: "fpn", Options: map[string]string{"head": "cascade"}}, "fpn option head=cascade: want one of heatmap, regression"},
		{models.Spec{Arch: "fpnheat", Options: map[string]string{"maps": "96"}}, "fpnheat option maps=96: want one of 24, 48"},
		{models.Spec{Arch: "tinyresnt"}, `unknown model architecture "tinyresnt" (did you mean tinyresnet?)`},
		{models.Spec{Arch: "fpnhaet"}, `(did you mean fpnheat?)`},
		{models.Spec{Arch: "tinyresnet", Options: map[string]string{"widht": "8"}}, `tinyresnet has no option "widht" (did you mean width?)`},
	}
	for _, tt := range tests {
		m, err := models.New(tt.spec, torch.CPU)
		if err == nil {
			m.Store().Free()
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("New(%v): error %v, want one containing %q", tt.spec, err, tt.wantErr)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		spec    string
		want    string // the full spec, or "" when an error containing wantErr is due
		wantErr string
	}{
		{"cnn3", "cnn3:dropout=0.1,width=24", ""},
		{"tinyresnet:width=8", "tinyresnet:blocks=2,dropout=0.2,width=8", ""},
		{"tinyresnt", "", "did you mean tinyresnet?"},
		{"tinyresnet:widht=8", "", "did you mean width?"},
		{"cnn3:width=3", "", "want 4 to 256"},
		{"resnet152", "", "known: cnn3, fpn, fpnheat, tinyresnet"},
	}
	for _, tt := range tests {
		spec, err := models.ParseSpec(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		full, err := models.Check(spec)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Check(%s): error %v, want one containing %q", tt.spec, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("Check(%s): %v", tt.spec, err)
		case tt.wantErr == "" && full.String() != tt.want:
			t.Errorf("Check(%s) = %s, want %s", tt.spec, full, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	infos := models.List()
	var names []string
	for _, info := range infos {
		names = append(names, info.Name)
		if info.Summary == "" || len(info.Defaults) == 0 {
			t.Errorf("%s: summary %q, defaults %v", info.Name, info.Summary, info.Defaults)
		}
		if _, ok := info.Defaults["dropout"]; !ok {
			t.Errorf("%s has no dropout option", info.Name)
		}
	}
	if want := []string{"cnn3", "fpn", "fpnheat", "tinyresnet"}; !slices.Equal(names, want) {
		t.Errorf("List names %v, want %v", names, want)
	}
	infos[0].Defaults["width"] = "1000" // a copy: the registry stays
	if models.List()[0].Defaults["width"] == "1000" {
		t.Error("List shares the registry's defaults")
	}
}

func TestPredict(t *testing.T) {
	m := newModel(t, "cnn3")
	const n = 5
	images := make([]uint8, n*96*96)
	for i := range images {
		images[i] = uint8(i * 7 % 251)
	}
	// Move the output layer's bias so that predictions are not all near
	// the centre: 0.5 normalised is 72 pixels.
	bias, _ := m.Store().Get("head.out.bias")
	torch.NoGrad(func() { bias.Fill(0.5) })

	m.Store().Train()
	got := models.Predict(m, images, 2, torch.CPU)
	if !m.Store().Training() {
		t.Error("Predict left the model in evaluation mode")
	}
	if len(got) != n*30 {
		t.Fatalf("%d coordinates, want %d", len(got), n*30)
	}
	var want []float32
	m.Store().Eval()
	torch.NoGrad(func() {
		torch.WithScope(func() {
			x := torch.FromUint8(images, n, 1, 96, 96).ToDType(torch.Float32).DivScalar(255)
			want = m.Forward(x).Float32s()
		})
	})
	for i := range want {
		w := want[i]*48 + 48
		if math.Abs(float64(got[i]-w)) > 1e-3 || math.Abs(float64(got[i])-72) > 4 {
			t.Fatalf("coordinate %d: got %g pixels, want %g (about 72)", i, got[i], w)
		}
	}
	again := models.Predict(m, images, 0, torch.CPU)
	for i := range again {
		if math.Abs(float64(again[i]-got[i])) > 1e-3 {
			t.Fatalf("coordinate %d: %g pixels in one batch, %g in batches of 2", i, again[i], got[i])
		}
	}
	if empty := models.Predict(m, nil, 8, torch.CPU); len(empty) != 0 {
		t.Errorf("no images: %d coordinates", len(empty))
	}
}

// A partial face is a programmer's error: a *torch.Error, which
// torch.Catch turns into an ordinary error.
func TestPredictPanicsOnPartialFace(t *testing.T) {
	m := newModel(t, "cnn3")
	err := torch.Catch(func() { models.Predict(m, make([]uint8, 9216+5), 8, torch.CPU) })
	if err == nil || !strings.Contains(err.Error(), "torch predict: 9221 pixels is not a whole number") {
		t.Errorf("Predict of 9221 pixels: %v", err)
	}
}

// TestCountOtherModel checks the documented -1 for models made elsewhere.
func TestCountOtherModel(t *testing.T) {
	inner := newModel(t, "cnn3")
	params, macs := models.Count(wrapped{inner})
	if params != inner.Store().NumParams() || macs != -1 {
		t.Errorf("Count of a foreign model = %d, %d; want %d, -1", params, macs, inner.Store().NumParams())
	}
}

type wrapped struct{ models.Model }
