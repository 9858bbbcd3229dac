package report

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/train"
)

func TestReportFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{FormatCount(91712), "91.7 k"},
		{FormatCount(2837840), "2.84 M"},
		{FormatCount(512), "512"},
		{formatMACs(-1), "–"},
		{FormatSeconds(2.58), "2.6 s"},
		{FormatSeconds(103.02), "1m43s"},
		{FormatSeconds(3725), "1h02m"},
		{FormatRMSE(1.97054), "1.971"},
		{FormatRMSE(math.NaN()), "–"},
		{FileSafe("fpn:width=48,dropout=0.2"), "fpn-width-48-dropout-0.2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSettingsLine(t *testing.T) {
	c := train.DefaultConfig()
	c.Out, c.Device, c.Threads = "/somewhere/model.pt", "cuda", 4
	got := Settings(c)
	for _, want := range []string{"model cnn3", "epochs 30", "lr 0.001", "loss mse", "holdout 0.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("settings %q lack %q", got, want)
		}
	}
	for _, unwanted := range []string{"somewhere", "cuda", "threads", "amp", "config file"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("settings %q show %q", got, unwanted)
		}
	}
	c.ConfigFile = "/home/u/fkd/config.yml"
	if got := Settings(c); !strings.HasSuffix(got, ", from the config file /home/u/fkd/config.yml") {
		t.Errorf("settings %q do not end with the config file", got)
	}
}

func TestEnsembleScore(t *testing.T) {
	set := synth.Generate(12, 2, synth.Options{PartialFrac: 0.5})
	noisy := func(shift float32) []float32 {
		p := slices.Clone(set.Coords)
		for i := range p {
			p[i] += shift * float32(1-2*(i%3%2))
		}
		return p
	}
	a := &Score{Label: "a", Params: 10, MACs: 100, Pred: noisy(1)}
	b := &Score{Label: "b", Params: 20, MACs: -1, Pred: noisy(-1)}
	if e := ensembleScore([]*Score{a}, set); e != nil {
		t.Errorf("an ensemble of one model: %+v, want none", e)
	}
	// A model and its copy: the mix is the model.
	e := ensembleScore([]*Score{a, {Label: "a2", Params: 10, MACs: 100, Pred: a.Pred}}, set)
	want := dataset.RMSE(a.Pred, set.Coords, set.Mask)
	if math.Abs(e.HoldoutRMSE-want) > 1e-6 || !slices.Equal(e.Pred, a.Pred) || e.Params != 20 || e.MACs != 200 {
		t.Errorf("ensemble of a model and its copy: RMSE %v (want %v), %d parameters, %d MACs", e.HoldoutRMSE, want, e.Params, e.MACs)
	}
	// Errors that cancel: the fitted mix is exact, on each half too.
	e = ensembleScore([]*Score{a, b}, set)
	if e.HoldoutRMSE > 1e-5 || e.MACs != -1 || e.Label != "ensemble of 2" || !math.IsNaN(e.TTARMSE) {
		t.Errorf("ensemble of opposite errors: %+v", e)
	}
	h := &train.History{Epochs: []train.EpochStats{{Epoch: 1, Seconds: 2}}}
	a.History, b.History = h, h
	r := &Report{Models: []*Score{a, b}, Ensemble: e}
	if rows := r.tableRows(); len(rows) != 3 || rows[2][0] != "ensemble of 2: a 0.500, b 0.500" || rows[2][1] != FormatCount(30) {
		t.Errorf("table rows %v", rows)
	}
	// A model and a worse one whose errors run the same way: the mix
	// leaves the worse out, and counts only the other's parameters.
	c := &Score{Label: "c", Params: 40, MACs: 400, Pred: slices.Clone(set.Coords), History: h}
	for i := range c.Pred {
		c.Pred[i] += 3
	}
	a.Pred = slices.Clone(set.Coords)
	for i := range a.Pred {
		a.Pred[i]++
	}
	e = ensembleScore([]*Score{a, c}, set)
	if e.Mix == nil || !slices.Equal(e.Mix.Weights, []float64{1, 0}) || e.Params != 10 || e.MACs != 100 ||
		math.Abs(e.Mix.FittedRMSE-1) > 1e-6 || math.Abs(e.Mix.EqualRMSE-2) > 1e-6 {
		t.Errorf("ensemble of a model and a worse one: %+v, mix %+v", e, e.Mix)
	}
}

// TestLandmarksMarkMislabelled: a hold-out face whose labels fkd data
// check flags is marked on the landmarks chart, so that it is not taken
// for the model's worst mistake.
func TestLandmarksMarkMislabelled(t *testing.T) {
	set := synth.Generate(300, 7, synth.Options{PartialFrac: 0.3})
	holdIdx := []int{3, 10, 42, 77}
	// Swap the eyes of face 42: left and right swapped.
	c, _ := set.Keypoints(42)
	c[0], c[1], c[2], c[3] = c[2], c[3], c[0], c[1]
	flagged := MislabelledHeld(set, holdIdx)
	if len(flagged) != 1 || !flagged[2] {
		t.Fatalf("MislabelledHeld = %v, want position 2 (face 42) alone", flagged)
	}
	hold := set.Subset(holdIdx)
	s := &Score{FaceErrors: []float64{1, 2, 9, 3}, Pred: make([]float32, len(holdIdx)*dataset.NumCoords)}
	rows := LandmarkRows(s, hold, 1, flagged)
	worst := rows[len(rows)-1].Faces[0].Label
	if !strings.HasSuffix(worst, "9.00 px, mislabelled") {
		t.Errorf("the worst face's label %q does not say it is mislabelled", worst)
	}
	if best := rows[0].Faces[0].Label; strings.Contains(best, "mislabelled") {
		t.Errorf("the best face's label %q says mislabelled", best)
	}
}
