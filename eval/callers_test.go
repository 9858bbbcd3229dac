package eval_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/train"
)

// mislabel makes the face at row of set a labelling mistake that
// dataset.Outliers finds.
func mislabel(set *dataset.Set, row int) {
	c, _ := set.Keypoints(row)
	c[22], c[23] = c[2]-5, c[3]-6 // mouth_left_corner above the right eye centre
}

// TestHoldoutCallers checks that the three callers that take a model's
// own hold-out faces, training (train.Run), fkd evaluate (Faces.Pick on
// the model file's metadata, formerly in report) and ensembles
// (ensemble.HoldoutFaces), take the very faces Holdout.Faces gives for
// the same settings, and refuse an empty hold-out part with the same
// message. The model file each run saves is what the other two read, so
// the test also holds Provenance's writer to its reader. As an external
// test it may import the packages above eval.
func TestHoldoutCallers(t *testing.T) {
	set := synth.Generate(40, 3, synth.Options{})
	_, ho := dataset.Split(set, 0.25, 5)
	mislabel(set, ho[0])
	// A set whose one hold-out face is an outlier.
	small := synth.Generate(20, 4, synth.Options{})
	_, one := dataset.Split(small, 0.05, 3)
	if len(one) != 1 {
		t.Fatalf("the split holds out %d faces, want 1", len(one))
	}
	mislabel(small, one[0])

	tests := []struct {
		name    string
		set     *dataset.Set
		h       eval.Holdout
		wantErr string // "" when the part is not empty
	}{
		{"a split", set, eval.Holdout{Fraction: 0.25, Seed: 5}, ""},
		{"another split", set, eval.Holdout{Fraction: 0.3, Seed: 9}, ""},
		{"outliers left out", set, eval.Holdout{Fraction: 0.25, Seed: 5, DropOutliers: true}, ""},
		{"none held out", set.Subset([]int{1}), eval.Holdout{Fraction: 0.01, Seed: 1}, "a hold-out fraction of 0.01 of 1 faces holds out none"},
		{"every hold-out face an outlier", small, eval.Holdout{Fraction: 0.05, Seed: 3, DropOutliers: true},
			"every hold-out face is an outlier (--drop-outliers); hold out a larger fraction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, _, err := tt.h.Faces(tt.set)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Holdout.Faces: %v; want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			want := tt.set.Subset(rows)

			cfg := train.DefaultConfig()
			cfg.Model, cfg.Epochs, cfg.Batch, cfg.Device, cfg.Threads = "cnn3:width=4", 1, 8, "cpu", 1
			cfg.Holdout, cfg.SplitSeed, cfg.DropOutliers = tt.h.Fraction, tt.h.Seed, tt.h.DropOutliers
			cfg.Out = filepath.Join(t.TempDir(), "model.pt")
			res, trainErr := train.Run(context.Background(), cfg, tt.set, train.Options{})
			// The model file's metadata; without a run, what a run with
			// these settings records.
			meta := models.Meta{Extra: eval.Provenance{Holdout: &tt.h, Config: `{"drop_outliers":true}`}.Extra()}
			if !tt.h.DropOutliers {
				meta.Extra["train.config"] = "{}"
			}
			if res != nil {
				res.Model.Store().Free()
				meta = res.Meta
			}
			picked, _, pickErr := eval.Faces{Own: true}.Pick(tt.set, meta)
			fitted, _, fitErr := ensemble.HoldoutFaces(tt.set, meta, false)

			for _, c := range []struct {
				caller string
				faces  *dataset.Set
				err    error
			}{{"training", resHoldout(res), trainErr}, {"report", picked, pickErr}, {"ensemble", fitted, fitErr}} {
				if tt.wantErr != "" {
					if c.err == nil || c.err.Error() != tt.wantErr {
						t.Errorf("%s: error %v; want %q", c.caller, c.err, tt.wantErr)
					}
					continue
				}
				if c.err != nil {
					t.Errorf("%s: %v", c.caller, c.err)
					continue
				}
				if !slices.Equal(c.faces.Coords, want.Coords) || !slices.Equal(c.faces.Mask, want.Mask) {
					t.Errorf("%s takes %d faces, other than the %d of Holdout.Faces", c.caller, c.faces.Len(), want.Len())
				}
			}
		})
	}
}

// resHoldout is the hold-out part of a run; nil without a result.
func resHoldout(res *train.Result) *dataset.Set {
	if res == nil {
		return nil
	}
	return res.Holdout
}
