package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// trainTeacher trains spec for one epoch on set with smallConfig's split
// and returns its model file.
func trainTeacher(t *testing.T, set *dataset.Set, spec string) string {
	t.Helper()
	c := smallConfig(t.TempDir())
	c.Model, c.Epochs, c.Warmup = spec, 1, 0
	res, err := Run(context.Background(), c, set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	return c.Out
}

// teacherFile saves an untrained model whose metadata records extra, as
// a teacher trained on some split would, and returns its path.
func teacherFile(t *testing.T, extra map[string]string) string {
	t.Helper()
	m := newTestModel(t, "cnn3:width=4")
	path := filepath.Join(t.TempDir(), "teacher.pt")
	if err := models.Save(path, m, models.Meta{Means: [dataset.NumCoords]float32{}, Extra: extra}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPseudoLabelsFillOnlyTrainingGaps trains with two teachers and reads
// the faces on the device: a training face keeps every true label (weight
// 1) and gets the teachers' average flip-TTA prediction, weighing the
// pseudo-label weight, where it had none; every hold-out face is exactly
// its true labels.
func TestPseudoLabelsFillOnlyTrainingGaps(t *testing.T) {
	set := synth.Generate(40, 3, synth.Options{PartialFrac: 0.6})
	teachers := []string{trainTeacher(t, set, "cnn3:width=4"), trainTeacher(t, set, "cnn3:width=6")}
	c := smallConfig(t.TempDir())
	c.Epochs, c.Warmup = 1, 0
	c.PseudoLabels, c.PseudoWeight = teachers, 0.3
	var trainCoords, trainMask, holdCoords, holdMask []float32
	res, err := Run(context.Background(), c, set, Options{afterStep: func(r *runner) {
		if trainCoords == nil {
			trainCoords, trainMask = r.train.coords.Float32s(), r.train.mask.Float32s()
			holdCoords, holdMask = r.hold.coords.Float32s(), r.hold.mask.Float32s()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()

	// The parts are the split's, their labels untouched.
	tr, ho := dataset.Split(set, c.Holdout, c.Seed)
	for _, p := range []struct {
		name      string
		got, want *dataset.Set
	}{{"training", res.Train, set.Subset(tr)}, {"hold-out", res.Holdout, set.Subset(ho)}} {
		if !slices.Equal(p.got.Coords, p.want.Coords) || !slices.Equal(p.got.Mask, p.want.Mask) {
			t.Errorf("the %s part's labels differ from the split's", p.name)
		}
	}

	// What the teachers predict for the training faces, averaged.
	want := make([]float64, len(res.Train.Coords))
	for _, path := range teachers {
		m, _, err := models.Load(path, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range models.Predict(eval.WithTTA(m, eval.FlipTTA), res.Train.Images, 0, torch.CPU) {
			want[i] += float64(v) / float64(len(teachers))
		}
		m.Store().Free()
	}
	filled := 0
	for i, present := range res.Train.Mask {
		norm := func(px float64) float64 { return (px - CoordCentre) / CoordScale }
		switch {
		case present && (trainMask[i] != 1 || trainCoords[i] != float32(norm(float64(res.Train.Coords[i])))):
			t.Fatalf("training coordinate %d: a true label became %g weighing %g", i, trainCoords[i], trainMask[i])
		case !present && (trainMask[i] != float32(0.3) || math.Abs(float64(trainCoords[i])-norm(want[i])) > 1e-6):
			t.Fatalf("training coordinate %d: pseudo-label %g weighing %g, want %g weighing 0.3", i, trainCoords[i], trainMask[i], norm(want[i]))
		case !present:
			filled++
		}
	}
	if filled == 0 {
		t.Fatal("test set-up: no training face lacks a keypoint")
	}
	holdMissing := 0
	for i, present := range res.Holdout.Mask {
		switch {
		case present && (holdMask[i] != 1 || holdCoords[i] != float32((float64(res.Holdout.Coords[i])-CoordCentre)/CoordScale)):
			t.Fatalf("hold-out coordinate %d: %g weighing %g, want its true label", i, holdCoords[i], holdMask[i])
		case !present && (holdMask[i] != 0 || holdCoords[i] != 0):
			t.Fatalf("hold-out coordinate %d: missing, but %g weighing %g", i, holdCoords[i], holdMask[i])
		case !present:
			holdMissing++
		}
	}
	if holdMissing == 0 {
		t.Fatal("test set-up: no hold-out face lacks a keypoint")
	}

	h, err := ReadHistory(c.HistoryPath())
	if err != nil {
		t.Fatal(err)
	}
	if p := h.PseudoLabels; p == nil || p.Coords != filled || p.Weight != 0.3 || len(p.Teachers) != 2 {
		t.Errorf("history's pseudo-labels %+v, want %d coordinates at weight 0.3 from 2 teachers", p, filled)
	}
	m, meta, err := models.Load(c.Out, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	m.Store().Free()
	if p := eval.ReadProvenance(meta); p.PseudoCoords != filled || p.Data != fingerprint(set) {
		t.Errorf("model metadata: %s = %q, %s = %q; want %d and the data's fingerprint",
			"train.pseudo_coords", meta.Extra["train.pseudo_coords"], "train.data", meta.Extra["train.data"], filled)
	}
}

// TestPseudoLabelTeacherChecks: a teacher is accepted only when its own
// split held out every face of this run's hold-out part.
func TestPseudoLabelTeacherChecks(t *testing.T) {
	set := synth.Generate(40, 3, synth.Options{PartialFrac: 0.5})
	other := synth.Generate(40, 4, synth.Options{PartialFrac: 0.5})
	fp := fingerprint(set)
	extra := func(data, holdout, seed string) map[string]string {
		return map[string]string{"train.data": data, "train.holdout": holdout, "train.seed": seed}
	}
	junk := filepath.Join(t.TempDir(), "junk.pt")
	if err := os.WriteFile(junk, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		teacher func() string
		holdout float64 // this run's
		want    string  // "" when accepted
	}{
		{"same split", func() string { return teacherFile(t, extra(fp, "0.2", "1")) }, 0.2, ""},
		{"trained", func() string { return trainTeacher(t, set, "cnn3:width=4") }, 0.2, ""},
		{"larger hold-out, same seed", func() string { return teacherFile(t, extra(fp, "0.5", "1")) }, 0.2, ""},
		{"smaller hold-out", func() string { return teacherFile(t, extra(fp, "0.1", "1")) }, 0.2, "hold-out faces (its hold-out fraction 0.1, seed 1)"},
		{"other seed", func() string { return teacherFile(t, extra(fp, "0.2", "2")) }, 0.2, "of this run's 8 hold-out faces"},
		{"no hold-out", func() string { return teacherFile(t, extra(fp, "0", "1")) }, 0.2, "trained on 8 of this run's 8 hold-out faces"},
		{"other data", func() string { return teacherFile(t, extra(fingerprint(other), "0.2", "1")) }, 0.2, "trained on other data"},
		{"trained on other data", func() string { return trainTeacher(t, other, "cnn3:width=4") }, 0.2, "trained on other data"},
		{"no fingerprint", func() string { return teacherFile(t, map[string]string{"train.holdout": "0.2", "train.seed": "1"}) }, 0.2, "no fingerprint"},
		{"older file, the same faces", func() string {
			return teacherFile(t, map[string]string{"train.holdout": "0.2", "train.seed": "1", "train.faces": "32", "train.holdout_faces": "8"})
		}, 0.2, ""},
		{"older file, other faces", func() string {
			return teacherFile(t, map[string]string{"train.holdout": "0.2", "train.seed": "1", "train.faces": "33", "train.holdout_faces": "8"})
		}, 0.2, "nor as many faces"},
		{"older file, other seed", func() string {
			return teacherFile(t, map[string]string{"train.holdout": "0.2", "train.seed": "2", "train.faces": "32", "train.holdout_faces": "8"})
		}, 0.2, "of this run's 8 hold-out faces"},
		{"no seed", func() string { return teacherFile(t, map[string]string{"train.data": fp, "train.holdout": "0.2"}) }, 0.2, "no valid hold-out fraction and seed"},
		{"not a model", func() string { return junk }, 0.2, "not an fkd model file"},
		{"this run holds nothing out", func() string { return teacherFile(t, extra(fp, "0", "1")) }, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := smallConfig(t.TempDir())
			c.Epochs, c.Warmup, c.Holdout = 1, 0, tt.holdout
			teacher := tt.teacher()
			c.PseudoLabels = []string{teacher}
			steps := 0
			res, err := Run(context.Background(), c, set, Options{AfterStep: func(StepInfo) { steps++ }})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("teacher refused: %v", err)
				}
				res.Model.Store().Free()
				return
			}
			var te *TeacherError
			if !errors.As(err, &te) || te.Path != teacher {
				t.Fatalf("got %v, want a *TeacherError for %s", err, teacher)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, teacher) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the teacher and containing %q", msg, tt.want)
			}
			if steps != 0 {
				t.Errorf("the run took %d steps before refusing the teacher", steps)
			}
		})
	}
}

// TestPseudoLabelsResumeWithoutTeacher: a resumed run takes its
// pseudo-labels from the checkpoint; the teacher's file is not needed.
func TestPseudoLabelsResumeWithoutTeacher(t *testing.T) {
	set := synth.Generate(40, 3, synth.Options{PartialFrac: 0.5})
	teacher := trainTeacher(t, set, "cnn3:width=4")
	c := smallConfig(t.TempDir())
	c.Epochs, c.Warmup = 2, 0
	c.PseudoLabels = []string{teacher}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, c, set, Options{AfterStep: func(s StepInfo) {
		if s.GlobalStep == 2 {
			cancel()
		}
	}})
	if !errors.As(err, new(*InterruptedError)) {
		t.Fatalf("got %v, want an interruption", err)
	}
	if err := os.Remove(teacher); err != nil {
		t.Fatal(err)
	}
	c.Resume = true
	res, err := Run(context.Background(), c, set, Options{})
	if err != nil {
		t.Fatalf("resuming without the teacher's file: %v", err)
	}
	res.Model.Store().Free()
}
