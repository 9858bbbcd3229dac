package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

func TestMassNear(t *testing.T) {
	const side = 24 // 4-pixel cells
	oneFace := func(fill func(k int, m []float32)) []float32 {
		probs := make([]float32, dataset.NumKeypoints*side*side)
		for k := range dataset.NumKeypoints {
			fill(k, probs[k*side*side:][:side*side])
		}
		return probs
	}
	at := func(px []float32, x, y float32) []float32 {
		for k := range dataset.NumKeypoints {
			px[2*k], px[2*k+1] = x, y
		}
		return px
	}
	tests := []struct {
		name string
		fill func(k int, m []float32)
		x, y float32 // every keypoint's position in pixels
		want float64
	}{
		{"one peak under the keypoint", func(_ int, m []float32) { m[10*side+10] = 1 }, 42, 42, 1},
		{"one peak 8 px away", func(_ int, m []float32) { m[10*side+12] = 1 }, 42, 42, 0},
		{"uniform", func(_ int, m []float32) {
			for i := range m {
				m[i] = 1.0 / (side * side)
			}
		}, 48, 48, 4.0 / (side * side)}, // cell centres 2 px off in x and y; the next ring 6.3 px
		{"split between two places", func(_ int, m []float32) { m[5*side+5], m[18*side+18] = 0.5, 0.5 }, 22, 22, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px := at(make([]float32, dataset.NumCoords), tt.x, tt.y)
			got := massNear(oneFace(tt.fill), px, 1, side, side)
			if len(got) != dataset.NumKeypoints {
				t.Fatalf("%d confidences, want %d", len(got), dataset.NumKeypoints)
			}
			for k, v := range got {
				if math.Abs(float64(v)-tt.want) > 1e-6 {
					t.Fatalf("keypoint %d: confidence %g, want %g", k, v, tt.want)
				}
			}
		})
	}
}

func TestPredictConfident(t *testing.T) {
	images := make([]uint8, 3*dataset.PixelCount)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range images {
		images[i] = uint8(rng.IntN(256))
	}
	for _, spec := range []string{"fpnheat:width=8,channels=16", "cnn3:width=4"} {
		t.Run(spec, func(t *testing.T) {
			m := newModel(t, spec, 1)
			coords, conf, ok := PredictConfident(m, images, 2, torch.CPU)
			if ok != HasHeatmaps(m) {
				t.Fatalf("ok = %v for a model with heatmaps %v", ok, HasHeatmaps(m))
			}
			if !ok {
				if coords != nil || conf != nil {
					t.Error("results for a model without heatmaps")
				}
				return
			}
			want := Predict(m, images, 2, torch.CPU)
			if len(coords) != len(want) || len(conf) != 3*dataset.NumKeypoints {
				t.Fatalf("%d coordinates and %d confidences", len(coords), len(conf))
			}
			for i := range want {
				if coords[i] != want[i] {
					t.Fatalf("coordinate %d: %g, Predict gives %g", i, coords[i], want[i])
				}
			}
			for i, c := range conf {
				if !(c >= 0 && c <= 1) {
					t.Fatalf("confidence %d is %g, want it in [0, 1]", i, c)
				}
			}
		})
	}
}
