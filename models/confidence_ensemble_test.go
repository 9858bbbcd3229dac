package models_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// TestEnsembleConfidence: an ensemble of heatmap models has confidences,
// the weighted mean of its members'; one with a regression member has
// none.
func TestEnsembleConfidence(t *testing.T) {
	x := faces(2)
	defer x.Free()
	heatA, _ := savedModel(t, "fpnheat:width=8,channels=16", 1, x)
	heatB, _ := savedModel(t, "fpnheat:width=8,channels=16", 2, x)
	regression, _ := savedModel(t, "cnn3:width=4", 3, x)
	images := make([]uint8, 2*dataset.PixelCount)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range images {
		images[i] = uint8(rng.IntN(256))
	}
	single := func(path string) []float32 {
		m, _, err := models.Load(path, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Store().Free()
		_, conf, ok := models.PredictConfident(m, images, 0, torch.CPU)
		if !ok {
			t.Fatalf("%s: no confidences", path)
		}
		return conf
	}
	a, b := single(heatA), single(heatB)

	e, _, err := models.LoadEnsemble([]string{heatA, heatB}, []float64{3, 1}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Store().Free()
	if !models.HasConfidence(e) {
		t.Fatal("HasConfidence(ensemble of heatmap models) = false")
	}
	coords, conf, ok := models.PredictConfident(e, images, 0, torch.CPU)
	if !ok {
		t.Fatal("no confidences for an ensemble of heatmap models")
	}
	want := models.Predict(e, images, 0, torch.CPU)
	for i := range want {
		if coords[i] != want[i] {
			t.Fatalf("coordinate %d: %g, Predict gives %g", i, coords[i], want[i])
		}
	}
	for i := range conf {
		if w := 0.75*a[i] + 0.25*b[i]; math.Abs(float64(conf[i]-w)) > 1e-6 {
			t.Fatalf("confidence %d: %g, want the weighted mean %g of the members' %g and %g", i, conf[i], w, a[i], b[i])
		}
	}

	mixed, _, err := models.LoadEnsemble([]string{heatA, regression}, nil, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer mixed.Store().Free()
	if models.HasConfidence(mixed) {
		t.Error("HasConfidence = true for an ensemble with a regression member")
	}
	if _, _, ok := models.PredictConfident(mixed, images, 0, torch.CPU); ok {
		t.Error("confidences for an ensemble with a regression member")
	}
}
