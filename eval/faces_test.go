package eval

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/models"
)

func TestEvaluationOf(t *testing.T) {
	set := synth.Generate(10, 1, synth.Options{PartialFrac: 0.5})
	pred := make([]float32, len(set.Coords))
	copy(pred, set.Coords)
	for i := range pred {
		pred[i] += 2 // every coordinate 2 px off: RMSE 2
	}
	ev := EvaluationOf(pred, set)
	if ev.Faces != 10 || math.Abs(ev.RMSE-2) > 1e-6 {
		t.Errorf("faces %d, RMSE %v; want 10 and 2", ev.Faces, ev.RMSE)
	}
	for k, name := range dataset.Keypoints {
		want := 0
		for i := range set.Len() {
			if _, m := set.Keypoints(i); m[2*k] && m[2*k+1] {
				want++
			}
		}
		if ev.Present[k] != want {
			t.Errorf("%s: present in %d faces, want %d", name, ev.Present[k], want)
		}
		if want > 0 && math.Abs(ev.PerKeypoint[k]-2) > 1e-6 || want == 0 && !math.IsNaN(ev.PerKeypoint[k]) {
			t.Errorf("%s: RMSE %v", name, ev.PerKeypoint[k])
		}
	}
	if ev.Present[0] != 10 || ev.Present[2] == 10 {
		t.Errorf("present %v: want the eye centres in all faces and the inner eye corners in some", ev.Present)
	}
}

func TestWriteTable(t *testing.T) {
	var ev Evaluation
	ev.Faces, ev.RMSE = 12, 1.5
	for k := range ev.PerKeypoint {
		ev.PerKeypoint[k], ev.Present[k] = float64(k), 12-k/2
	}
	var out bytes.Buffer
	if err := ev.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 2+dataset.NumKeypoints {
		t.Fatalf("%d lines, want a header, 15 keypoints and the total:\n%s", len(lines), out.String())
	}
	for i, want := range []string{"keypoint faces RMSE", "left_eye_center 12 0.000", "right_eye_center 12 1.000"} {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != want {
			t.Errorf("line %d: %q, want %q", i, got, want)
		}
	}
	if got := strings.Join(strings.Fields(lines[len(lines)-1]), " "); got != "all keypoints 12 1.500" {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
	// The names align left, the numbers right.
	for _, l := range lines {
		if len(l) != len(lines[0]) || !strings.HasPrefix(l, "  "+strings.Fields(l)[0]) {
			t.Errorf("line %q does not align with %q", l, lines[0])
		}
	}
}

func TestFacesPick(t *testing.T) {
	set := synth.Generate(40, 3, synth.Options{})
	c, _ := set.Keypoints(0)
	c[22], c[23] = c[2]-5, c[3]-6 // face 0: mouth_left_corner above the right eye centre
	// The hold-out part of fraction 0.5, seed 2, with face 0 in it.
	var seed int64
	for seed = 1; ; seed++ {
		if _, idx := dataset.Split(set, 0.5, seed); len(idx) > 0 && idx[0] == 0 {
			break
		}
	}
	_, hold := dataset.Split(set, 0.5, seed)
	cfgJSON := `{"epochs":3,"drop_outliers":true}`
	own := models.Meta{Extra: map[string]string{"train.holdout": "0.5", "train.seed": itoa(seed), "train.config": cfgJSON}}
	keptJSON := `{"epochs":3}`
	kept := models.Meta{Extra: map[string]string{"train.holdout": "0.5", "train.seed": itoa(seed), "train.config": keptJSON}}
	tests := []struct {
		name      string
		f         Faces
		meta      models.Meta
		wantFaces int
		wantWhat  string
	}{
		{"all", Faces{}, models.Meta{}, 40, "all faces (including any the model was trained on)"},
		{"a split", Faces{Holdout: 0.5, Seed: seed}, own, len(hold), "the hold-out part (fraction 0.5, seed " + itoa(seed) + ")"},
		{"own, outliers left out", Faces{Own: true}, own, len(hold) - 1, "less its 1 outliers, as the model was trained (--drop-outliers)"},
		{"own, none recorded", Faces{Holdout: 0.25, Seed: 1, Own: true}, models.Meta{}, 10, "the hold-out part (fraction 0.25, seed 1)"},
		{"a split, outliers left out on request", Faces{Holdout: 0.5, Seed: seed, DropOutliers: true}, models.Meta{}, len(hold) - 1, "seed " + itoa(seed) + ") less its 1 outliers (--drop-outliers)"},
		{"own, kept by the run, left out on request", Faces{Own: true, DropOutliers: true}, kept, len(hold) - 1, "less its 1 outliers (--drop-outliers)"},
		{"own, kept by the run", Faces{Own: true}, kept, len(hold), "the hold-out part (fraction 0.5, seed " + itoa(seed) + ")"},
		{"all, outliers left out on request", Faces{DropOutliers: true}, models.Meta{}, 39, "all faces (including any the model was trained on) less its 1 outliers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, what, err := tt.f.Pick(set, tt.meta)
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != tt.wantFaces || !strings.Contains(what, tt.wantWhat) {
				t.Errorf("%d faces, %q; want %d and %q", got.Len(), what, tt.wantFaces, tt.wantWhat)
			}
		})
	}
	if _, _, err := (Faces{Holdout: 0.01, Seed: 1}).Pick(set.Subset([]int{1}), models.Meta{}); err == nil || !strings.Contains(err.Error(), "holds out none") {
		t.Errorf("a split holding out nothing: %v", err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
