package report

import (
	"bytes"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/train"
)

// shifted returns the coordinates of set, each moved by d pixels times
// a pattern of signs that differs with sign.
func shifted(set *dataset.Set, d float32, sign int) []float32 {
	p := slices.Clone(set.Coords)
	for i := range p {
		if sign < 0 && i%3 == 0 {
			p[i] -= d
		} else {
			p[i] += d
		}
	}
	return p
}

// modelScore returns a model's row for a report on hold, its
// predictions pred, as ScoreRun would make it.
func modelScore(label string, params int, macs int64, pred []float32, hold *dataset.Set) *Score {
	cfg := train.DefaultConfig()
	cfg.Model, cfg.Epochs, cfg.Out = label, 3, filepath.Join("runs", label, "model.pt")
	rmse := dataset.RMSE(pred, hold.Coords, hold.Mask)
	h := &train.History{Config: cfg, BestEpoch: 2, Stopped: "3 epochs done", BestHoldoutRMSEPx: &rmse}
	for e := 1; e <= 3; e++ {
		h.Epochs = append(h.Epochs, train.EpochStats{Epoch: e, TrainRMSEPx: rmse + float64(4-e), HoldoutRMSEPx: rmse + float64(3-e)/2,
			TrainLoss: 0.01, HoldoutLoss: 0.01, EMAHoldoutLoss: math.NaN(), EMAHoldoutRMSEPx: math.NaN(), LR: 0.001, Seconds: 1.5 * float64(e)})
	}
	return &Score{
		Label: label, Spec: label + ":width=8", History: h, Params: params, MACs: macs,
		HoldoutRMSE: rmse, TTARMSE: rmse * 0.98,
		PerKeypoint: dataset.PerKeypointRMSE(pred, hold.Coords, hold.Mask),
		Pred:        pred, FaceErrors: FaceErrors(pred, hold),
		Run: filepath.Join("runs", label), DataID: "abc123",
	}
}

// fixtureReport returns a report of two models on synthetic faces, the
// second no better than the mean baseline, so that the ensemble leaves
// it out.
func fixtureReport(t *testing.T) (*Report, *Env, *bytes.Buffer) {
	t.Helper()
	hold := synth.Generate(16, 3, synth.Options{PartialFrac: 0.5})
	a := modelScore("cnn3", 1000, 20000, shifted(hold, 1, 1), hold)
	b := modelScore("fpnheat", 3000, -1, shifted(hold, 6, 1), hold)
	r := &Report{
		Data: "training.csv", Holdout: 0.1, Seed: 1, TrainFaces: 144, HoldFaces: hold.Len(),
		Models: []*Score{a, b}, hold: hold,
		Missing: []string{"tinyresnet in runs/tinyresnet: no history (history.json); the same fkd compare continues it"},
	}
	r.Ensemble = ensembleScore(r.Models, hold)
	for _, bl := range []struct {
		label string
		d     float32
	}{{meanBaseline, 4}, {"patch search", 3}} {
		pred := shifted(hold, bl.d, -1)
		r.Baselines = append(r.Baselines, &Score{Label: bl.label, Params: -1, MACs: -1,
			HoldoutRMSE: dataset.RMSE(pred, hold.Coords, hold.Mask), TTARMSE: math.NaN(),
			PerKeypoint: dataset.PerKeypointRMSE(pred, hold.Coords, hold.Mask), Pred: pred, FaceErrors: FaceErrors(pred, hold)})
	}
	var stderr bytes.Buffer
	env := &Env{Stdout: &stderr, Stderr: &stderr, Command: []string{"/usr/bin/fkd", "compare", "--models", "cnn3,fpnheat", "--out", "my report"}, Version: "0.4.0-test"}
	env.Keep("cnn3", "warning: the best model so far could not be saved: disk full")
	r.DataID = env.dataID(r.Models)
	env.checkScores(r, nil)
	r.Warnings, r.Command, r.Version = env.Warnings(), env.Command, env.Version
	return r, env, &stderr
}

// htmlCells returns the cells of the table rows (those of <td>) in an
// HTML page, unescaped.
func htmlCells(page string) [][]string {
	rowRE := regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`)
	cellRE := regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	var rows [][]string
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		var cells []string
		for _, c := range cellRE.FindAllStringSubmatch(m[1], -1) {
			cells = append(cells, html.UnescapeString(c[1]))
		}
		if len(cells) > 0 {
			rows = append(rows, cells)
		}
	}
	return rows
}

// TestResultsJSON writes a report and checks that results.json reads
// back to the same bytes, holds every figure of the report, and that
// index.html and README.md show those figures.
func TestResultsJSON(t *testing.T) {
	r, _, _ := fixtureReport(t)
	dir := t.TempDir()
	if _, err := r.write(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ResultsName))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ReadResults(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := res.Write(&again); err != nil {
		t.Fatal(err)
	}
	if again.String() != string(raw) {
		t.Errorf("results.json does not round-trip:\n%s\nwritten back:\n%s", raw, again.String())
	}

	// Its figures are the report's.
	if res.Format != ResultsFormat || res.Version != "0.4.0-test" || !slices.Equal(res.Command, r.Command) ||
		res.Data.Fingerprint != "abc123" || res.Data.HoldoutFaces != 16 || res.Data.TrainFaces != 144 || len(res.Data.HoldoutFaceIDs) != 16 {
		t.Errorf("results: format %q, version %q, command %q, data %+v", res.Format, res.Version, res.Command, res.Data)
	}
	if len(res.Models) != 2 || len(res.Baselines) != 2 || res.Ensemble == nil || len(res.Keypoints) != dataset.NumKeypoints {
		t.Fatalf("results: %d models, %d baselines, ensemble %v, %d keypoints", len(res.Models), len(res.Baselines), res.Ensemble, len(res.Keypoints))
	}
	for i, m := range res.Models {
		s := r.Models[i]
		if m.Label != s.Label || m.Spec != s.Spec || m.Run != s.Run || float64(m.HoldoutRMSE) != s.HoldoutRMSE ||
			float64(m.PerKeypoint[3]) != s.PerKeypoint[3] || len(m.PerFace) != 16 || len(m.Curve) != 3 ||
			m.Settings.Model != s.History.Config.Model || m.Settings.Epochs != 3 || m.BestEpoch != 2 || m.TrainSeconds != 9 {
			t.Errorf("model %d: %+v", i, m)
		}
		if !math.IsNaN(m.Curve[0].EMAHoldoutRMSEPx) {
			t.Errorf("model %d: a NaN of the curve read back as %v", i, m.Curve[0].EMAHoldoutRMSEPx)
		}
	}
	if res.Models[0].MACsPerFace == nil || *res.Models[0].MACsPerFace != 20000 || res.Models[1].MACsPerFace != nil {
		t.Errorf("MACs per face: %v, %v; want 20000 and null", res.Models[0].MACsPerFace, res.Models[1].MACsPerFace)
	}
	e := res.Ensemble
	if len(e.Members) != 2 || e.Members[0] != (MemberResults{"cnn3", 1}) || e.Members[1] != (MemberResults{"fpnheat", 0}) {
		t.Errorf("ensemble members %+v, want cnn3 1 and fpnheat 0", e.Members)
	}
	if e.Params != 1000 || *e.MACsPerFace != 20000 || float64(e.CrossRMSE) != r.Ensemble.HoldoutRMSE ||
		float64(e.FittedRMSE) != r.Models[0].HoldoutRMSE || !(e.EqualRMSE > e.FittedRMSE) {
		t.Errorf("ensemble %+v", e)
	}
	if !slices.Equal(res.Missing, r.Missing) || !slices.Equal(res.Warnings, r.Warnings) {
		t.Errorf("missing %q, warnings %q", res.Missing, res.Warnings)
	}

	// index.html and README.md show the same figures.
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Rows()
	if got := htmlCells(string(page)); !slices.EqualFunc(got, rows, slices.Equal) {
		t.Errorf("index.html's table:\n%q\nresults.json's figures:\n%q", got, rows)
	}
	for _, row := range rows {
		if line := "| " + strings.Join(row, " | ") + " |\n"; !strings.Contains(string(md), line) {
			t.Errorf("README.md lacks the row %q", line)
		}
	}
	if want := "ensemble of 2: cnn3 1, fpnheat 0"; rows[2][0] != want {
		t.Errorf("ensemble row %q, want %q", rows[2][0], want)
	}
	var shown []string
	shown = append(shown, res.Warnings...)
	shown = append(shown, res.Missing...)
	shown = append(shown, e.Note(), "0.4.0-test", "compare --models cnn3,fpnheat --out 'my report'", "abc123", ResultsName)
	for _, m := range res.Models {
		shown = append(shown, Settings(m.Settings))
	}
	for _, s := range shown {
		if !strings.Contains(html.UnescapeString(string(page)), s) {
			t.Errorf("index.html lacks %q", s)
		}
		if !strings.Contains(string(md), s) {
			t.Errorf("README.md lacks %q", s)
		}
	}
}

func TestEnsembleNote(t *testing.T) {
	tests := []struct {
		weights  []float64
		want     []string
		unwanted []string
	}{
		{[]float64{1, 0}, []string{"a 1, b 0", "b gets weight 0, which is allowed", "non-negative and sum to 1"}, nil},
		{[]float64{0.6, 0.4}, []string{"a 0.600, b 0.400", "equal weights the mix scores 2.000 px", "fitted on the other half, 1.500 px"}, []string{"weight 0"}},
		{[]float64{1, 0, 0}, []string{"b and c get weight 0"}, nil},
	}
	for _, tt := range tests {
		e := &EnsembleResults{Label: "ensemble", EqualRMSE: 2, FittedRMSE: 1.4, CrossRMSE: 1.5}
		for i, w := range tt.weights {
			e.Members = append(e.Members, MemberResults{Label: string(rune('a' + i)), Weight: w})
		}
		note := e.Note()
		for _, w := range tt.want {
			if !strings.Contains(note, w) {
				t.Errorf("weights %v: note %q lacks %q", tt.weights, note, w)
			}
		}
		for _, w := range tt.unwanted {
			if strings.Contains(note, w) {
				t.Errorf("weights %v: note %q says %q", tt.weights, note, w)
			}
		}
	}
}

func TestFormatWeight(t *testing.T) {
	for _, tt := range []struct {
		w    float64
		want string
	}{{0, "0"}, {1, "1"}, {0.2744, "0.274"}, {0.0001, "<0.001"}, {0.9999, "1.000"}} {
		if got := FormatWeight(tt.w); got != tt.want {
			t.Errorf("FormatWeight(%v) = %q, want %q", tt.w, got, tt.want)
		}
	}
}

func TestFloatJSON(t *testing.T) {
	for _, tt := range []struct {
		f    Float
		want string
	}{{1.25, "1.25"}, {Float(math.NaN()), "null"}, {Float(math.Inf(1)), "null"}, {0, "0"}} {
		b, err := tt.f.MarshalJSON()
		if err != nil || string(b) != tt.want {
			t.Errorf("%v: %s, %v; want %s", tt.f, b, err, tt.want)
		}
		var back Float
		if err := back.UnmarshalJSON(b); err != nil {
			t.Errorf("read back %s: %v", b, err)
		}
	}
	var f Float
	if err := f.UnmarshalJSON([]byte(`"x"`)); err == nil {
		t.Errorf("a string read as %v", f)
	}
}

func TestCommandLine(t *testing.T) {
	got := CommandLine([]string{"/work/bin/fkd", "compare", "--models", "cnn3,fpn:width=48", "--out", "my report", "it's", ""})
	want := `fkd compare --models cnn3,fpn:width=48 --out 'my report' 'it'\''s' ''`
	if got != want {
		t.Errorf("CommandLine = %s, want %s", got, want)
	}
}
