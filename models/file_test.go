package models_test

import (
	"errors"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// testMeta returns metadata as the trainer would write it.
func testMeta() models.Meta {
	var means [dataset.NumCoords]float32
	for i := range means {
		means[i] = 20 + float32(i)*1.75
	}
	return models.Meta{
		Means: means,
		Extra: map[string]string{"epochs": "30", "holdout.rmse": "2.1375", "loss": "huber"},
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, spec := range archSpecs {
		t.Run(spec, func(t *testing.T) {
			m := newModel(t, spec)
			x := faces(3)
			defer x.Free()
			// Some training batches move the batch-norm statistics away
			// from their initial values, so that loading them matters.
			m.Store().Train()
			torch.NoGrad(func() {
				for range 3 {
					torch.WithScope(func() { m.Forward(faces(4)) })
				}
			})
			m.Store().Eval()
			// Load lays a model out channels last on the CPU; the same
			// layout computes the same outputs to the bit.
			m.Store().ToChannelsLast()
			models.FoldBatchNorm(m) // as Load does: the same arithmetic
			var want []float32
			torch.NoGrad(func() { torch.WithScope(func() { want = m.Forward(x).Float32s() }) })

			path := filepath.Join(t.TempDir(), "model.safetensors")
			meta := testMeta()
			if err := models.Save(path, m, meta); err != nil {
				t.Fatal(err)
			}
			loaded, got, err := models.Load(path, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer loaded.Store().Free()
			if loaded.Store().Training() {
				t.Error("Load left the model in training mode")
			}
			for _, nt := range loaded.Store().NamedParams() {
				if len(nt.Tensor.Shape()) == 4 && !nt.Tensor.IsChannelsLast() {
					t.Errorf("%s is not channels last after Load on the CPU", nt.Name)
				}
			}
			if got.Spec.String() != m.Spec().String() || loaded.Spec().String() != m.Spec().String() {
				t.Errorf("spec %v (model %v), want %v", got.Spec, loaded.Spec(), m.Spec())
			}
			names := dataset.CoordNames()
			if !slices.Equal(got.Keypoints, names[:]) || got.Means != meta.Means ||
				!maps.Equal(got.Extra, meta.Extra) || got.Input != models.Input || got.Output != models.Output {
				t.Errorf("metadata %+v, want %+v", got, meta)
			}
			var out []float32
			torch.NoGrad(func() { torch.WithScope(func() { out = loaded.Forward(x).Float32s() }) })
			if !slices.Equal(out, want) {
				t.Errorf("loaded model gives %v..., saved one %v...", out[:4], want[:4])
			}
		})
	}
}

func TestSaveRejectsOtherConventions(t *testing.T) {
	m := newModel(t, "cnn3:width=4")
	path := filepath.Join(t.TempDir(), "m.safetensors")
	tests := []struct {
		change  func(*models.Meta)
		wantErr string
	}{
		{func(m *models.Meta) { m.Input = "pixel" }, `input convention "pixel"`},
		{func(m *models.Meta) { m.Output = "c" }, `output convention "c"`},
		{func(m *models.Meta) { m.Keypoints = []string{"nose_tip_x"} }, "not the Kaggle coordinates"},
		{func(m *models.Meta) { m.Extra = map[string]string{"": "x"} }, "empty key"},
	}
	for _, tt := range tests {
		meta := testMeta()
		tt.change(&meta)
		err := models.Save(path, m, meta)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
			t.Errorf("Save: error %v, want one naming the file and containing %q", err, tt.wantErr)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused Save left a file: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	m := newModel(t, "cnn3:width=8")
	good := filepath.Join(dir, "good.safetensors")
	if err := models.Save(good, m, testMeta()); err != nil {
		t.Fatal(err)
	}
	tensors, metadata, err := nn.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, t := range tensors {
			t.Free()
		}
	}()
	// edited writes the good model's tensors with changed metadata.
	edited := func(name string, change func(md map[string]string)) string {
		md := maps.Clone(metadata)
		change(md)
		path := filepath.Join(dir, name)
		if err := nn.Save(path, tensors, md); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*131 + i/7)
	}
	foreign := filepath.Join(dir, "foreign.safetensors")
	torch.WithScope(func() {
		w := map[string]*torch.Tensor{"fc.weight": torch.Ones([]int64{30, 4}, torch.Float32, torch.CPU)}
		if err := nn.Save(foreign, w, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	})

	tests := []struct {
		name    string
		path    string
		wantErr string
		wraps   error // a sentinel the error wraps, if any
	}{
		{"missing", filepath.Join(dir, "none.safetensors"), "no such file", fs.ErrNotExist},
		{"foreign safetensors", foreign, `not an fkd model file: no "fkd.format" metadata (a PyTorch .pt?`, models.ErrNotModel},
		{"zip (PyTorch .pt)", write("model.pt", append([]byte("PK\x03\x04"), random...)), "PyTorch .pt checkpoint", models.ErrNotModel},
		{"random bytes", write("random.bin", random), "invalid safetensors data", models.ErrNotModel},
		{"truncated header", write("head.safetensors", goodBytes[:100]), "invalid safetensors data", models.ErrNotModel},
		{"truncated data", write("data.safetensors", goodBytes[:len(goodBytes)-10]), "invalid safetensors data", models.ErrNotModel},
		{"other format", edited("v2.safetensors", func(md map[string]string) { md["fkd.format"] = "fkd-model/2" }),
			`not an fkd model file: format "fkd-model/2", want "fkd-model/1"`, models.ErrNotModel},
		{"unknown arch", edited("arch.safetensors", func(md map[string]string) { md["fkd.arch"] = "resnet152" }),
			`unknown model architecture "resnet152"`, nil},
		{"no arch", edited("noarch.safetensors", func(md map[string]string) { delete(md, "fkd.arch") }),
			`no "fkd.arch" metadata`, nil},
		{"options of other weights", edited("width.safetensors", func(md map[string]string) { md["fkd.options"] = `{"width":"16"}` }),
			"tensors do not match the model", nn.ErrMismatch},
		{"bad option", edited("badopt.safetensors", func(md map[string]string) { md["fkd.options"] = `{"width":"-3"}` }),
			"cnn3 option width=-3", nil},
		{"unknown option", edited("unkopt.safetensors", func(md map[string]string) { md["fkd.options"] = `{"depth":"3"}` }),
			`cnn3 has no option "depth"`, nil},
		{"options not JSON", edited("json.safetensors", func(md map[string]string) { md["fkd.options"] = `width=8` }),
			`metadata "fkd.options"`, nil},
		{"short means", edited("means.safetensors", func(md map[string]string) { md["fkd.means"] = `[1, 2]` }),
			`"fkd.means" has 2 numbers, want 30`, nil},
		{"other keypoints", edited("kp.safetensors", func(md map[string]string) { md["fkd.keypoints"] = `["nose_tip_x"]` }),
			"not the Kaggle coordinates", nil},
		{"other input", edited("input.safetensors", func(md map[string]string) { md["fkd.input"] = "pixel" }),
			`input convention "pixel"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m models.Model
			var err error
			if perr := torch.Catch(func() { m, _, err = models.Load(tt.path, torch.CPU) }); perr != nil {
				t.Fatalf("Load panicked: %v", perr)
			}
			if err == nil {
				m.Store().Free()
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.path) || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %q, want one naming the file and containing %q", msg, tt.wantErr)
			}
			if tt.wraps != nil && !errors.Is(err, tt.wraps) {
				t.Errorf("error does not wrap %q", tt.wraps)
			}
			if errors.Is(err, models.ErrNotModel) != (tt.wraps == models.ErrNotModel) {
				t.Errorf("errors.Is(err, ErrNotModel) = %v", !(tt.wraps == models.ErrNotModel))
			}
		})
	}
}

// TestFoldBatchNorm: a model whose normalisation is folded into its
// convolutions predicts as before to within rounding, and a forward pass
// in training mode undoes the fold, so that later weights count.
func TestFoldBatchNorm(t *testing.T) {
	for _, spec := range []string{"cnn3:width=8", "tinyresnet:width=8,blocks=1", "fpnheat:width=8,channels=16"} {
		t.Run(spec, func(t *testing.T) {
			m := newModel(t, spec)
			x := faces(3)
			defer x.Free()
			torch.NoGrad(func() {
				for range 3 {
					torch.WithScope(func() { m.Forward(faces(4)) }) // move the running statistics
				}
			})
			m.Store().Eval()
			predict := func() []float32 {
				var out []float32
				torch.NoGrad(func() { torch.WithScope(func() { out = m.Forward(x).Float32s() }) })
				return out
			}
			plain := predict()
			models.FoldBatchNorm(m)
			folded := predict()
			for i := range plain {
				if d := math.Abs(float64(folded[i] - plain[i])); d > 1e-5 {
					t.Fatalf("output %d: folded %g, plain %g", i, folded[i], plain[i])
				}
			}
			if again := predict(); !slices.Equal(again, folded) {
				t.Error("a second folded pass differs from the first")
			}
			// Training changes the statistics; the fold must not outlive it.
			m.Store().Train()
			torch.NoGrad(func() { torch.WithScope(func() { m.Forward(faces(4)) }) })
			m.Store().Eval()
			if after := predict(); slices.Equal(after, folded) {
				t.Error("after a training pass the model still predicts with the old fold")
			}
		})
	}
}
