package ensemble_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

func TestWeights(t *testing.T) {
	truth := make([]float32, 600)
	mask := make([]bool, len(truth))
	good := make([]float32, len(truth))
	other := make([]float32, len(truth))
	bad := make([]float32, len(truth))
	for c := range truth {
		truth[c] = float32(20 + (c*37)%57)
		mask[c] = c%7 != 0
		// good and other err in opposite directions, so that a mix of
		// them beats both; bad is far off and should get no weight.
		e := float32((c*13)%11) - 5
		good[c] = truth[c] + 0.5*e
		other[c] = truth[c] - e
		bad[c] = truth[c] + 30 + e
	}
	for c := range truth {
		if !mask[c] {
			good[c], other[c], bad[c] = 1e6, -1e6, 0 // unscored coordinates must not count
		}
	}
	tests := []struct {
		name  string
		preds [][]float32
		want  []float64
	}{
		{"one member", [][]float32{good}, []float64{1}},
		{"a member and its copy", [][]float32{good, good}, nil}, // any split: both are the same
		{"opposite errors", [][]float32{good, other}, []float64{2.0 / 3, 1.0 / 3}},
		{"a useless member", [][]float32{good, other, bad}, []float64{2.0 / 3, 1.0 / 3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ensemble.Weights(tt.preds, truth, mask)
			sum := 0.0
			for _, x := range w {
				if x < 0 || math.IsNaN(x) {
					t.Fatalf("weights %v: want non-negative numbers", w)
				}
				sum += x
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("weights %v sum to %v, want 1", w, sum)
			}
			for i := range tt.want {
				if math.Abs(w[i]-tt.want[i]) > 1e-4 {
					t.Errorf("weights %v, want %v", w, tt.want)
					break
				}
			}
			fitted := ensemble.RMSE(tt.preds, w, truth, mask)
			for i := range tt.preds {
				if alone := ensemble.RMSE(tt.preds[i:i+1], []float64{1}, truth, mask); fitted > alone+1e-9 {
					t.Errorf("fitted mix RMSE %v is worse than member %d alone (%v)", fitted, i, alone)
				}
			}
		})
	}
}

// TestWeightsOptimal checks that Weights reaches the optimum for many
// members that predict alike at the scale of pixels and differ by a pixel
// or so, as real nets do: at the optimum of wᵀGw on the simplex (G the
// Gram matrix of the errors), every member with weight has the same
// gradient (Gw)_i, and no member without weight has a smaller one.
func TestWeightsOptimal(t *testing.T) {
	const k, n = 12, 3000
	rng := rand.New(rand.NewPCG(1, 2))
	truth := make([]float32, n)
	mask := make([]bool, n)
	shared := make([]float64, n) // the error all members make
	for c := range truth {
		truth[c] = float32(20 + 60*rng.Float64())
		mask[c] = true
		shared[c] = rng.NormFloat64()
	}
	preds := make([][]float32, k)
	errs := make([][]float64, k)
	for i := range preds {
		preds[i], errs[i] = make([]float32, n), make([]float64, n)
		own := 0.3 + 0.1*float64(i) // members' own errors, of growing size
		for c := range truth {
			p := float32(float64(truth[c]) + shared[c] + own*rng.NormFloat64())
			preds[i][c] = p
			errs[i][c] = float64(p) - float64(truth[c]) // as Weights sees it, in float32
		}
	}
	w := ensemble.Weights(preds, truth, mask)
	grad := make([]float64, k)
	low := math.Inf(1)
	for i := range k {
		for j := range k {
			dot := 0.0
			for c := range n {
				dot += errs[i][c] * errs[j][c]
			}
			grad[i] += dot * w[j]
		}
		low = math.Min(low, grad[i])
	}
	sum := 0.0
	for i := range k {
		sum += w[i]
		if w[i] < 0 {
			t.Fatalf("weights %v: want non-negative numbers", w)
		}
		if tol := 1e-6 * low; w[i] > 1e-9 && grad[i] > low+tol {
			t.Errorf("member %d has weight %.6f but gradient %.6f above the least %.6f: not optimal (weights %.4f)", i, w[i], grad[i], low, w)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("weights %v sum to %v, want 1", w, sum)
	}
	// The members with small own errors should carry most of the weight.
	if w[0] < w[k-1] {
		t.Errorf("the best member's weight %.4f is below the worst's %.4f", w[0], w[k-1])
	}
}

func TestRMSE(t *testing.T) {
	truth := []float32{10, 20, 30, 40}
	preds := [][]float32{{11, 20, 99, 43}, {9, 20, -99, 37}}
	mask := []bool{true, true, false, true}
	if got := ensemble.RMSE(preds[:1], []float64{1}, truth, mask); math.Abs(got-math.Sqrt(10.0/3)) > 1e-12 {
		t.Errorf("RMSE of one member = %v, want sqrt(10/3)", got)
	}
	if got := ensemble.RMSE(preds, []float64{0.5, 0.5}, truth, mask); got != 0 {
		t.Errorf("RMSE of the mean = %v, want 0", got)
	}
	if got := ensemble.RMSE(preds, []float64{0.5, 0.5}, truth, make([]bool, 4)); !math.IsNaN(got) {
		t.Errorf("RMSE of nothing = %v, want NaN", got)
	}
}

func TestFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out", "ensemble.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	members := []ensemble.Member{{Model: filepath.Join(dir, "runs", "a.pt"), Weight: 0.75}, {Model: "/elsewhere/b.pt", Weight: 0.25}}
	if err := ensemble.Write(path, ensemble.File{TTA: "flip", Members: members, HoldoutRMSE: 1.5}); err != nil {
		t.Fatal(err)
	}
	if !ensemble.IsFile(path) {
		t.Error("IsFile(ensemble file) = false")
	}
	f, err := ensemble.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Members[0].Model != "../runs/a.pt" {
		t.Errorf("member path written as %q, want it relative to the file", f.Members[0].Model)
	}
	wantPaths := []string{filepath.Join(dir, "runs", "a.pt"), filepath.Join(dir, "out", "../../elsewhere/b.pt")}
	if got := f.Paths(filepath.Dir(path)); filepath.Clean(got[0]) != wantPaths[0] || filepath.Clean(got[1]) != filepath.Clean("/elsewhere/b.pt") && filepath.Clean(got[1]) != filepath.Clean(wantPaths[1]) {
		t.Errorf("Paths = %q", got)
	}
	if f.TTA != "flip" || !slices.Equal(f.Weights(), []float64{0.75, 0.25}) || f.HoldoutRMSE != 1.5 {
		t.Errorf("read back %+v", f)
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"negative weight", `{"format":"fkd-ensemble/1","members":[{"model":"a.pt","weight":1},{"model":"b.pt","weight":-1}]}`, "member 2: weight -1"},
		{"NaN weight", `{"format":"fkd-ensemble/1","members":[{"model":"a.pt","weight":NaN}]}`, "invalid character"},
		{"no members", `{"format":"fkd-ensemble/1","members":[]}`, "no members"},
		{"other format", `{"format":"fkd-ensemble/9","members":[{"model":"a.pt","weight":1}]}`, "format"},
		{"unknown field", `{"format":"fkd-ensemble/1","members":[{"model":"a.pt","weigth":1}]}`, "weigth"},
		{"bad tta", `{"format":"fkd-ensemble/1","tta":"rotate","members":[{"model":"a.pt","weight":1}]}`, "rotate"},
		{"all zero", `{"format":"fkd-ensemble/1","members":[{"model":"a.pt","weight":0}]}`, "sum to 0"},
		{"unnamed model", `{"format":"fkd-ensemble/1","members":[{"weight":1}]}`, "names no model"},
		{"infinite weight", `{"format":"fkd-ensemble/1","members":[{"model":"a.pt","weight":1e309}]}`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "e.json")
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ensemble.Read(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want an error naming %s and containing %q", err, path, tt.want)
			}
		})
	}
}

// saveModel saves a fresh model of spec, recording the hold-out split
// (fraction, seed) of data fingerprint data, and returns its path.
func saveModel(t *testing.T, dir, name, spec string, seed uint64, holdout float64, splitSeed int64, data string) string {
	t.Helper()
	m := fkdtest.NewModel(t, spec, seed)
	defer m.Store().Free()
	m.Store().Eval()
	meta := models.Meta{Extra: map[string]string{
		"train.holdout": strconvFloat(holdout), "train.seed": strconvInt(splitSeed), "train.data": data,
	}}
	path := filepath.Join(dir, name)
	if err := models.Save(path, m, meta); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFitAndLoad(t *testing.T) {
	dir := t.TempDir()
	set := synth.Generate(60, 3, synth.Options{})
	a := saveModel(t, dir, "a.pt", "cnn3:width=4", 1, 0.25, 7, "fp1")
	b := saveModel(t, dir, "b.pt", "cnn3:width=4", 2, 0.25, 7, "fp1")
	otherSeed := saveModel(t, dir, "c.pt", "cnn3:width=4", 3, 0.25, 8, "fp1")
	otherData := saveModel(t, dir, "d.pt", "cnn3:width=4", 3, 0.25, 7, "fp2")
	noHoldout := saveModel(t, dir, "e.pt", "cnn3:width=4", 3, 0, 7, "fp1")

	fitted, err := ensemble.Fit([]string{a, b}, set, ensemble.FitOptions{TTA: eval.FlipTTA, Device: torch.CPU})
	if err != nil {
		t.Fatal(err)
	}
	_, hold := dataset.Split(set, 0.25, 7)
	if fitted.Faces != len(hold) || len(fitted.MemberRMSE) != 2 || fitted.File.TTA != "flip" {
		t.Fatalf("Fit: %+v; want %d faces", fitted, len(hold))
	}
	if best := min(fitted.MemberRMSE[0], fitted.MemberRMSE[1]); fitted.FittedRMSE > best+1e-6 || fitted.FittedRMSE > fitted.EqualRMSE+1e-6 {
		t.Errorf("fitted RMSE %v is worse than the best member (%v) or equal weights (%v)", fitted.FittedRMSE, fitted.MemberRMSE, fitted.EqualRMSE)
	}
	if math.IsNaN(fitted.CrossRMSE) || fitted.CrossRMSE < fitted.FittedRMSE-1e-6 {
		t.Errorf("cross-fitted RMSE %v below the in-sample %v", fitted.CrossRMSE, fitted.FittedRMSE)
	}

	// The file Fit made loads as an ensemble that scores what Fit said.
	path := filepath.Join(dir, "ensemble.json")
	if err := ensemble.Write(path, fitted.File); err != nil {
		t.Fatal(err)
	}
	m, meta, tta, err := ensemble.Load(path, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Store().Free()
	if tta != "flip" || m.Spec().Arch != models.EnsembleArch {
		t.Errorf("Load: tta %q, spec %v", tta, m.Spec())
	}
	if h, ok := eval.OwnHoldout(meta); !ok || h.Fraction != 0.25 || h.Seed != 7 {
		t.Errorf("the ensemble's meta lost the shared split: %v", meta.Extra)
	}
	ev, err := eval.Evaluate(eval.WithTTA(m, eval.FlipTTA), set.Subset(hold))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.RMSE-fitted.FittedRMSE) > 1e-4 {
		t.Errorf("the ensemble file scores %v, Fit said %v", ev.RMSE, fitted.FittedRMSE)
	}

	for _, tt := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"another split seed", []string{a, otherSeed}, "ensemble member " + otherSeed + " was split with"},
		{"other data", []string{a, otherData}, "ensemble member " + otherData + " was split with"},
		{"no hold-out", []string{noHoldout, a}, "ensemble member " + noHoldout + ": its file records no hold-out part"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ensemble.Fit(tt.paths, set, ensemble.FitOptions{Device: torch.CPU}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestFitDropOutliers checks that FitOptions.DropOutliers leaves a
// mislabelled hold-out face out of the fit and the scores of members
// whose runs kept it, and that without it the face counts.
func TestFitDropOutliers(t *testing.T) {
	dir := t.TempDir()
	set := synth.Generate(60, 3, synth.Options{})
	_, hold := dataset.Split(set, 0.25, 7)
	c, _ := set.Keypoints(hold[0])
	c[22], c[23] = c[2]-5, c[3]-6 // mouth_left_corner above the right eye centre
	lessOutliers, _, err := eval.Holdout{Fraction: 0.25, Seed: 7, DropOutliers: true}.Faces(set)
	if n := len(lessOutliers); err != nil || n != len(hold)-1 {
		t.Fatalf("dataset.Outliers leaves %d of %d hold-out faces; want all but the planted one", n, len(hold))
	}
	a := saveModel(t, dir, "a.pt", "cnn3:width=4", 1, 0.25, 7, "fp1")
	b := saveModel(t, dir, "b.pt", "cnn3:width=4", 2, 0.25, 7, "fp1")
	for _, drop := range []bool{false, true} {
		fitted, err := ensemble.Fit([]string{a, b}, set, ensemble.FitOptions{Device: torch.CPU, DropOutliers: drop})
		if err != nil {
			t.Fatal(err)
		}
		scored := hold
		if drop {
			scored = lessOutliers
		}
		if left := len(hold) - len(scored); fitted.Faces != len(scored) || fitted.File.HoldoutOutliersLeftOut != left {
			t.Errorf("drop %v: %d faces scored, %d left out; want %d and %d", drop, fitted.Faces, fitted.File.HoldoutOutliersLeftOut, len(scored), left)
		}
		m, _, err := models.LoadEnsemble([]string{a, b}, []float64{fitted.File.Members[0].Weight, fitted.File.Members[1].Weight}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := eval.Evaluate(m, set.Subset(scored))
		m.Store().Free()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(ev.RMSE-fitted.FittedRMSE) > 1e-4 {
			t.Errorf("drop %v: the fitted ensemble scores %v on the faces it was fitted on; Fit said %v", drop, ev.RMSE, fitted.FittedRMSE)
		}
	}
}

func TestLoadForms(t *testing.T) {
	dir := t.TempDir()
	a := saveModel(t, dir, "a.pt", "cnn3:width=4", 1, 0.25, 7, "fp1")
	b := saveModel(t, dir, "b.pt", "cnn3:width=4", 2, 0.25, 7, "fp1")
	tests := []struct {
		name, spec, arch, want string
	}{
		{"one model", a, "cnn3", ""},
		{"a list", a + "," + b, models.EnsembleArch, ""},
		{"a list with a gap", a + ",," + b, "", "empty entry"},
		{"a missing member", a + "," + filepath.Join(dir, "gone.pt"), "", "gone.pt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _, err := ensemble.Load(tt.spec, torch.CPU)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("got %v, want an error containing %q", err, tt.want)
				}
				if err == nil {
					m.Store().Free()
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Store().Free()
			if m.Spec().Arch != tt.arch {
				t.Errorf("loaded %v, want arch %s", m.Spec(), tt.arch)
			}
		})
	}
	if ensemble.IsFile(a) {
		t.Error("IsFile(model file) = true")
	}
}

func strconvFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
func strconvInt(i int64) string     { return strconv.FormatInt(i, 10) }

// TestCheckSplit: members share a split when fraction, seed and outlier
// setting agree and so does the data: by fingerprint where both files
// record one, else by the faces in each part (files of an older fkd).
func TestCheckSplit(t *testing.T) {
	meta := func(data, faces string) models.Meta {
		e := map[string]string{"train.holdout": "0.1", "train.seed": "1",
			"train.faces": faces, "train.holdout_faces": "340"}
		if data != "" {
			e["train.data"] = data
		}
		return models.Meta{Extra: e}
	}
	tests := []struct {
		name string
		b    models.Meta
		want string // "" when shared
	}{
		{"same fingerprint", meta("fp1", "3063"), ""},
		{"other fingerprint", meta("fp2", "3063"), "was split with"},
		{"older file, same faces", meta("", "3063"), ""},
		{"older file, other faces", meta("", "3062"), "data 3062+340 faces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ensemble.CheckSplit([]string{"a.pt", "b.pt"}, []models.Meta{meta("fp1", "3063"), tt.b})
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "b.pt")) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
