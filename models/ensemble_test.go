package models_test

import (
	"maps"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// savedModel saves a freshly initialised model of spec, its batch-norm
// statistics moved by a few training-mode passes, and returns its path
// and its predictions for x.
func savedModel(t *testing.T, spec string, seed uint64, x *torch.Tensor) (string, []float32) {
	t.Helper()
	m := fkdtest.NewModel(t, spec, seed)
	defer m.Store().Free()
	torch.NoGrad(func() {
		for range 2 {
			torch.WithScope(func() { m.Forward(faces(4)) })
		}
	})
	m.Store().Eval()
	m.Store().ToChannelsLast() // as loading lays it out on the CPU: the same arithmetic
	models.FoldBatchNorm(m)    // as loading does
	var pred []float32
	torch.NoGrad(func() { torch.WithScope(func() { pred = m.Forward(x).Float32s() }) })
	path := filepath.Join(t.TempDir(), strings.ReplaceAll(spec, ":", "_")+".safetensors")
	if err := models.Save(path, m, testMeta()); err != nil {
		t.Fatal(err)
	}
	return path, pred
}

func ensemblePredict(t *testing.T, paths []string, weights []float64, x *torch.Tensor) (models.Model, []float32) {
	t.Helper()
	e, metas, err := models.LoadEnsemble(paths, weights, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Store().Free)
	if len(metas) != len(paths) {
		t.Fatalf("%d metas for %d members", len(metas), len(paths))
	}
	var got []float32
	torch.NoGrad(func() { torch.WithScope(func() { got = e.Forward(x).Float32s() }) })
	return e, got
}

func TestEnsembleAverages(t *testing.T) {
	x := faces(3)
	defer x.Free()
	a, predA := savedModel(t, "cnn3:width=4", 1, x)
	b, predB := savedModel(t, "fpnheat:width=8,channels=16", 2, x)

	tests := []struct {
		name    string
		paths   []string
		weights []float64
		want    func(i int) float64
		exact   bool
	}{
		{"one model", []string{a}, nil, func(i int) float64 { return float64(predA[i]) }, true},
		{"a model and its copy", []string{a, a}, nil, func(i int) float64 { return float64(predA[i]) }, true},
		{"weighted", []string{a, b}, []float64{3, 1}, func(i int) float64 { return 0.75*float64(predA[i]) + 0.25*float64(predB[i]) }, false},
		{"zero weight", []string{a, b}, []float64{0, 2}, func(i int) float64 { return float64(predB[i]) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ensemblePredict(t, tt.paths, tt.weights, x)
			if len(got) != len(predA) {
				t.Fatalf("%d outputs, want %d", len(got), len(predA))
			}
			for i := range got {
				want := tt.want(i)
				if tt.exact && float64(got[i]) != want || math.Abs(float64(got[i])-want) > 1e-6 {
					t.Fatalf("output %d = %v, want %v", i, got[i], want)
				}
			}
		})
	}
}

func TestEnsembleStoreAndCount(t *testing.T) {
	x := faces(1)
	defer x.Free()
	a, _ := savedModel(t, "cnn3:width=4", 1, x)
	b, _ := savedModel(t, "fpnheat:width=8,channels=16", 2, x)
	single, _ := ensemblePredict(t, []string{a}, nil, x)
	other, _ := ensemblePredict(t, []string{b}, nil, x)
	both, _ := ensemblePredict(t, []string{a, b}, []float64{1, 1}, x)

	p1, m1 := models.Count(single)
	p2, m2 := models.Count(other)
	p, m := models.Count(both)
	if p != p1+p2 || m != m1+m2 || m1 <= 0 || m2 <= 0 {
		t.Errorf("Count(ensemble) = %d params, %d MACs; members %d+%d, %d+%d", p, m, p1, p2, m1, m2)
	}
	if both.Store().Training() {
		t.Error("LoadEnsemble left training mode on")
	}
	spec := both.Spec()
	if spec.Arch != models.EnsembleArch || !strings.HasPrefix(spec.Options["m1"], "cnn3:") ||
		!strings.HasPrefix(spec.Options["m2"], "fpnheat:") || spec.Options["w1"] != "0.5" {
		t.Errorf("Spec() = %v", spec)
	}
	meta := models.EnsembleMeta(both, []models.Meta{testMeta(), testMeta()}, []float64{0.5, 0.5})
	if meta.Means != testMeta().Means || meta.Extra["loss"] != "huber" {
		t.Errorf("EnsembleMeta of equal members: %+v", meta)
	}
	differ := testMeta()
	differ.Extra["loss"] = "mse"
	differ.Means[0] += 2
	meta = models.EnsembleMeta(both, []models.Meta{testMeta(), differ}, []float64{0.75, 0.25})
	if _, ok := meta.Extra["loss"]; ok || meta.Means[0] != testMeta().Means[0]+0.5 {
		t.Errorf("EnsembleMeta kept a disputed entry or did not weigh the means: %+v", meta)
	}
}

func TestEnsembleErrors(t *testing.T) {
	x := faces(1)
	defer x.Free()
	good, _ := savedModel(t, "cnn3:width=4", 1, x)
	tensors, metadata, err := nn.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, t := range tensors {
			t.Free()
		}
	}()
	dir := t.TempDir()
	edited := func(name string, change func(md map[string]string)) string {
		md := maps.Clone(metadata)
		change(md)
		path := filepath.Join(dir, name)
		if err := nn.Save(path, tensors, md); err != nil {
			t.Fatal(err)
		}
		return path
	}
	otherOutput := edited("output.safetensors", func(md map[string]string) { md["fkd.output"] = "c/96" })
	otherArch := edited("arch.safetensors", func(md map[string]string) { md["fkd.options"] = `{"width":"8"}` })
	nan := math.NaN()

	tests := []struct {
		name    string
		paths   []string
		weights []float64
		want    string
	}{
		{"no members", nil, nil, "at least one model"},
		{"missing file", []string{good, filepath.Join(dir, "gone.pt")}, nil, "gone.pt"},
		{"other normalisation", []string{good, otherOutput}, nil, "ensemble member " + otherOutput + ": output convention"},
		{"weights of another model", []string{good, otherArch}, nil, "ensemble member " + otherArch},
		{"negative weight", []string{good, good}, []float64{1, -0.5}, "member 2: weight -0.5"},
		{"NaN weight", []string{good}, []float64{nan}, "weight NaN"},
		{"weights sum to 0", []string{good, good}, []float64{0, 0}, "sum to 0"},
		{"weights miscounted", []string{good, good}, []float64{1}, "1 weights for 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, err := models.LoadEnsemble(tt.paths, tt.weights, torch.CPU)
			if err == nil {
				e.Store().Free()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}
