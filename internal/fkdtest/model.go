package fkdtest

// Model files with random weights and test faces, for the tests of the
// programs that read fkd's models elsewhere: the ONNX export (package onnx)
// and the PyTorch loader (python/fkd_torch.py).

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// NewModel returns a new model of spec (such as "cnn3:width=4") on the
// CPU, its weights drawn after torch.ManualSeed(seed); it is freed when
// the test ends, or before by m.Store().Free().
func NewModel(t testing.TB, spec string, seed uint64) models.Model {
	t.Helper()
	s, err := models.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(seed)
	m, err := models.New(s, torch.CPU)
	if err != nil {
		t.Fatalf("New(%s): %v", spec, err)
	}
	t.Cleanup(m.Store().Free)
	return m
}

// SaveRandom saves a model of spec (such as "fpnheat:maps=48") with random
// weights to path: the convolutions as models.New draws them, and the
// batch normalisations' statistics and scales, the heatmaps' sharpness
// and the output layers drawn so that each plays its part. (A new model's
// output layer predicts about the face centre for every face, which would
// hide a reader that gets the layout wrong.)
func SaveRandom(t testing.TB, spec string, seed uint64, path string) {
	t.Helper()
	m := NewModel(t, spec, seed)
	defer m.Store().Free()
	rng := rand.New(rand.NewPCG(seed, 1))
	torch.NoGrad(func() {
		for _, nt := range m.Store().NamedTensors() {
			var draw func(float32) float32
			switch name := nt.Name; {
			case strings.HasSuffix(name, "running_var"), strings.HasSuffix(name, "bn.weight"):
				draw = func(float32) float32 { return 0.5 + rng.Float32() }
			case strings.HasSuffix(name, "running_mean"), strings.HasSuffix(name, "bn.bias"):
				draw = func(float32) float32 { return 0.2 * float32(rng.NormFloat64()) }
			case strings.HasSuffix(name, "log_beta"):
				draw = func(float32) float32 { return rng.Float32() }
			case strings.HasSuffix(name, "out.weight"), strings.HasSuffix(name, "fc.weight"):
				draw = func(v float32) float32 { return 40 * v }
			case strings.HasSuffix(name, "logits.weight"):
				draw = func(v float32) float32 { return 20 * v }
			default:
				continue
			}
			vals := nt.Tensor.Float32s()
			for i := range vals {
				vals[i] = draw(vals[i])
			}
			torch.WithScope(func() {
				nt.Tensor.CopyFrom(torch.FromFloat32(vals, nt.Tensor.Shape()...))
			})
		}
	})
	if err := models.Save(path, m, models.Meta{}); err != nil {
		t.Fatal(err)
	}
}

// Faces returns n synthetic faces (dataset.Set.Images: grey levels,
// 96×96 each) and the same as float32 grey levels divided by 255, the
// input of a model.
func Faces(n int) ([]uint8, []float32) {
	set := synth.Generate(n, 7, synth.Options{})
	x := make([]float32, len(set.Images))
	for i, p := range set.Images {
		x[i] = float32(p) / 255
	}
	return set.Images, x
}

// SpreadPx returns the smallest range, over the 30 coordinates, of the
// values keypoints [n·30] take across the faces: a check that a model's
// keypoints vary enough from face to face to tell a wrong reader.
func SpreadPx(keypoints []float32) float64 {
	spread := math.Inf(1)
	for c := range dataset.NumCoords {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := c; i < len(keypoints); i += dataset.NumCoords {
			lo, hi = min(lo, float64(keypoints[i])), max(hi, float64(keypoints[i]))
		}
		spread = min(spread, hi-lo)
	}
	return spread
}
