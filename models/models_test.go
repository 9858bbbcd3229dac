package models_test

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// newModel builds spec on the CPU from seed 1, freeing it when the test
// ends.
func newModel(t *testing.T, spec string) models.Model {
	t.Helper()
	s, err := models.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(1)
	m, err := models.New(s, torch.CPU)
	if err != nil {
		t.Fatalf("New(%s): %v", spec, err)
	}
	t.Cleanup(m.Store().Free)
	return m
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
	"fpnheat",
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

func TestCount(t *testing.T) {
	tests := []struct {
		spec           string
		minParams      int
		maxParams      int
		minMACs, maxMA int64
	}{
		{"cnn3", 80_000, 100_000, 5e6, 30e6},
		{"tinyresnet", 700_000, 1_300_000, 10e6, 100e6},
		{"fpn", 200_000, 1_500_000, 10e6, 100e6},
		{"fpn:head=heatmap", 200_000, 1_500_000, 10e6, 100e6},
		{"tinyresnet:width=8", 150_000, 250_000, 3e6, 30e6}, // a quarter of the weights
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			m := newModel(t, tt.spec)
			m.Store().Train()
			params, macs := models.Count(m)
			if params != m.Store().NumParams() {
				t.Errorf("Count gives %d parameters, the store holds %d", params, m.Store().NumParams())
			}
			if params < tt.minParams || params > tt.maxParams {
				t.Errorf("%d parameters, want %d to %d", params, tt.minParams, tt.maxParams)
			}
			if macs < tt.minMACs || macs > tt.maxMA {
				t.Errorf("%d multiply-adds, want %d to %d", macs, tt.minMACs, tt.maxMA)
			}
			if !m.Store().Training() {
				t.Error("Count left the model in evaluation mode")
			}
			if _, again := models.Count(m); again != macs {
				t.Errorf("second Count gives %d multiply-adds, first %d", again, macs)
			}
		})
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

func TestPredictPanicsOnPartialFace(t *testing.T) {
	m := newModel(t, "cnn3")
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "not a whole number") {
			t.Errorf("recovered %v", r)
		}
	}()
	models.Predict(m, make([]uint8, 9216+5), 8, torch.CPU)
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
