// Package report reads the runs of fkd train (a model, its history and
// checkpoint, finished or not), scores them and the baselines on their
// shared hold-out part, and writes the comparison report: PNG charts,
// index.html and README.md, which show the same table, the ensemble's
// weights and the warnings said on stderr, and results.json, every
// figure of the report for scripts (its schema is Results).
//
// It also draws one run's charts for fkd plot, and loads what a --model
// flag names (LoadModel). Scoring one model for fkd evaluate is package
// eval's; fkd baseline and fkd models are cmd/fkd's and package models'.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

// Env is where a report's progress goes, and what it records of the
// command that made it.
type Env struct {
	Stdout, Stderr io.Writer
	Terminal       bool // Stderr is a terminal: show progress bars
	// Command is the command line, program name first, and Version fkd's
	// release; a report's results.json records both.
	Command []string
	Version string

	mu       sync.Mutex
	warnings []string // kept by Warn and Keep for the next report
}

// Release is fkd's release and commit, as fkd version prints it; the
// command line sets it, and NewEnv gives it to each Env.
var Release string

// NewEnv returns an Env writing to stdout and stderr, for the command
// line of this process.
func NewEnv(stdout, stderr io.Writer) *Env {
	e := &Env{Stdout: stdout, Stderr: stderr, Command: slices.Clone(os.Args), Version: Release}
	if f, ok := stderr.(*os.File); ok {
		if info, err := f.Stat(); err == nil {
			e.Terminal = info.Mode()&os.ModeCharDevice != 0
		}
	}
	return e
}

// Sizes of the report's charts, in pixels.
const (
	ChartWidth, ChartHeight         = 1000, 600
	LandmarksWidth, LandmarksHeight = 940, 720
	LandmarkFaces                   = 4 // faces per row: best, median, worst
)

// Report is everything a report shows.
type Report struct {
	Data                  string // base name of the training data
	Holdout               float64
	Seed                  int64
	TrainFaces, HoldFaces int
	Models                []*Score // trained models, in the order given
	// Ensemble mixes the models' hold-out predictions with weights fitted
	// on the hold-out faces (ensemble.Weights) and scores each half of the
	// faces with the weights fitted on the other half (ensemble.CrossRMSE),
	// so that the weights do not flatter it; nil with fewer than two
	// models.
	Ensemble  *Score
	Baselines []*Score // mean, then patch search
	Missing   []string // the runs left out, each with what it lacks
	// Warnings are what the report's Warnings section shows: what was
	// said on stderr as a warning while the runs were trained and
	// scored (Env.Warn, Env.Keep).
	Warnings []string
	// DataID is the fingerprint of the data the runs were trained on, as
	// their model files record it; "" when none does.
	DataID string
	// Command and Version are those of the Env that built the report.
	Command []string
	Version string
	hold    *dataset.Set
	// mislabelled marks the faces of hold that fkd data check finds
	// mislabelled, by index in hold.
	mislabelled map[int]bool
}

// Build evaluates the finished runs on their shared hold-out part of set,
// scores the baselines on the same split, and writes the report to dir.
//
// A run that is unfinished, or one a comparison lists that is missing or
// incomplete (a shard killed or still at work), is left out with a line
// on stderr saying what it lacks, and the report names it; the others are
// reported. Only when none is left is that an error; a comparison's
// report then still names every run and what it lacks.
func (e *Env) Build(set *dataset.Set, dataName string, runs []Run, dir string, dev torch.Device) error {
	rs, missing, err := finishedRuns(runs)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		err := fmt.Errorf("no finished run to report: %s", strings.Join(missing, "; "))
		if slices.ContainsFunc(runs, func(r Run) bool { return r.Listed }) {
			// A comparison's report says so, for whoever looks there.
			if werr := writeNoneFinished(dir, missing); werr != nil {
				return errors.Join(err, werr)
			}
			fmt.Fprintf(e.Stdout, "wrote %s: index.html and README.md naming the %d unfinished run%s\n", dir, len(missing), plural(len(missing)))
		}
		return err
	}
	for _, m := range missing {
		fmt.Fprintf(e.Stderr, "left out of the report: %s\n", m)
	}
	cfg := rs[0].h.Config
	// The runs' shared hold-out part, outliers included whatever the runs
	// did, so that every run and baseline is scored on the same faces.
	if cfg.Holdout == 0 {
		return fmt.Errorf("a hold-out fraction of 0 of %d faces holds out none", set.Len())
	}
	parts, err := eval.Holdout{Fraction: cfg.Holdout, Seed: cfg.HoldoutSeed()}.Split(set)
	if err != nil {
		return err
	}
	trainIdx, holdIdx := parts.Train, parts.Held
	outliers := holdoutOutliers(set, holdIdx)
	r := &Report{
		Data: dataName, Holdout: cfg.Holdout, Seed: cfg.HoldoutSeed(),
		TrainFaces: len(trainIdx), HoldFaces: len(holdIdx),
		hold:        set.Subset(holdIdx),
		mislabelled: positions(outliers, holdIdx),
		Missing:     missing,
	}
	names := labels(rs)
	for i, f := range rs {
		s, err := e.ScoreRun(f.model, f.h, r, dev)
		if err != nil {
			return err
		}
		s.Label = names[i]
		s.Run = f.path
		r.Models = append(r.Models, s)
	}
	r.DataID = e.dataID(r.Models)
	r.Ensemble = ensembleScore(r.Models, r.hold)
	if r.Baselines, err = e.ScoreBaselines(set.Subset(trainIdx), r.hold); err != nil {
		return err
	}
	e.checkScores(r, outliers)
	r.Warnings, r.Command, r.Version = e.Warnings(), e.Command, e.Version
	files, err := r.write(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote %s: index.html, README.md and %d charts\n", dir, len(files))
	if err := r.writeTable(e.Stdout); err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(e.Stdout, "not in the report: %d unfinished run%s (named above and in the report)\n", len(missing), plural(len(missing)))
	}
	return nil
}

// chart is a chart of the report: its file name, a short title and
// a caption.
type chart struct {
	Name, Title, Caption string
}

// references returns the baselines as reference lines.
func (r *Report) references() []plots.Reference {
	var refs []plots.Reference
	for _, b := range r.Baselines {
		refs = append(refs, plots.Reference{Label: b.Label, RMSE: b.HoldoutRMSE})
	}
	return refs
}

// best returns the model with the lowest hold-out RMSE.
func (r *Report) best() *Score {
	return slices.MinFunc(r.Models, func(a, b *Score) int {
		switch {
		case a.HoldoutRMSE < b.HoldoutRMSE:
			return -1
		case a.HoldoutRMSE > b.HoldoutRMSE:
			return 1
		}
		return 0
	})
}

// drawCharts writes the report's PNGs to the files that path names and
// returns them in the order the report shows them.
func (r *Report) drawCharts(path func(name string) string) ([]chart, error) {
	var files []chart
	refs := r.references()
	var runs []plots.Run
	for _, m := range r.Models {
		runs = append(runs, PlotRun(m.Label, m.History))
	}
	files = append(files, chart{"curves.png", "hold-out curves", "Hold-out RMSE per epoch of each model; rings mark the epochs kept; dashed lines are the baselines."})
	if err := plots.CompareCurves(path("curves.png"), runs, refs, ChartWidth, ChartHeight); err != nil {
		return nil, err
	}
	all := slices.Clone(r.Models)
	if r.Ensemble != nil {
		all = append(all, r.Ensemble)
	}
	all = append(all, r.Baselines...)
	var perKeypoint, perFace []plots.Series
	for _, m := range all {
		perKeypoint = append(perKeypoint, plots.Series{Name: m.Label, Values: m.PerKeypoint[:]})
		perFace = append(perFace, plots.Series{Name: m.Label, Values: m.FaceErrors})
	}
	files = append(files, chart{"keypoints.png", "RMSE per keypoint", "Hold-out RMSE of each keypoint, models and baselines."})
	if err := plots.PerKeypointBars(path("keypoints.png"), perKeypoint, ChartWidth, ChartHeight); err != nil {
		return nil, err
	}
	files = append(files, chart{"errors.png", "per-face errors", "Spread of the per-face RMSE over the hold-out faces."})
	if err := plots.ErrorHistogram(path("errors.png"), perFace, ChartWidth, ChartHeight); err != nil {
		return nil, err
	}
	best := r.best()
	name := "landmarks.png"
	files = append(files, chart{name, "landmarks", fmt.Sprintf(
		"The best model, %s, on its best, median and worst hold-out faces: red crosses are its predictions, green rings the true keypoints.", best.Label)})
	if err := plots.Landmarks(path(name), LandmarkRows(best, r.hold, LandmarkFaces, r.mislabelled), LandmarksWidth, LandmarksHeight); err != nil {
		return nil, err
	}
	for i, m := range r.Models {
		name := modelCurves(m.Label)
		files = append(files, chart{name, "learning curves of " + m.Label, fmt.Sprintf("Learning curves of %s: training RMSE (in training mode) and hold-out RMSE per epoch.", m.Label)})
		if err := plots.LearningCurves(path(name), runs[i], refs, ChartWidth, ChartHeight); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Columns are the headings of the report's table.
var Columns = []string{
	"model", "parameters", "multiply-adds per face", "epochs", "best epoch",
	"train time", "time per epoch", "hold-out RMSE (px)", "with flip TTA (px)",
}

// tableRows returns the report's table, formatted: the models in the
// order given, the ensemble, then the baselines. It is made from the
// figures of results.json, so that the two cannot disagree.
func (r *Report) tableRows() [][]string { return r.results().Rows() }

// ensembleScore scores the mix of the models' hold-out predictions (see
// Report.Ensemble), or returns nil for fewer than two models.
func ensembleScore(ms []*Score, hold *dataset.Set) *Score {
	if len(ms) < 2 {
		return nil
	}
	preds := make([][]float32, len(ms))
	for i, m := range ms {
		preds[i] = m.Pred
	}
	w := ensemble.Weights(preds, hold.Coords, hold.Mask)
	equal := make([]float64, len(ms))
	for i := range equal {
		equal[i] = 1 / float64(len(ms))
	}
	s := &Score{Label: fmt.Sprintf("ensemble of %d", len(ms)), Spec: "ensemble", Mix: &Mix{
		Weights:    w,
		EqualRMSE:  ensemble.RMSE(preds, equal, hold.Coords, hold.Mask),
		FittedRMSE: ensemble.RMSE(preds, w, hold.Coords, hold.Mask),
	}}
	// The members the mix runs: those of a weight above 0.
	for i, m := range ms {
		if w[i] == 0 {
			continue
		}
		s.Params += m.Params
		if m.MACs < 0 || s.MACs < 0 {
			s.MACs = -1
		} else {
			s.MACs += m.MACs
		}
	}
	s.Pred = ensemble.Mix(preds, w)
	s.HoldoutRMSE = ensemble.CrossRMSE(preds, hold.Coords, hold.Mask)
	s.TTARMSE = math.NaN()
	s.PerKeypoint = dataset.PerKeypointRMSE(s.Pred, hold.Coords, hold.Mask)
	s.FaceErrors = FaceErrors(s.Pred, hold)
	return s
}

// FormatCount writes n with a k or M suffix: "92.9 k", "2.84 M".
func FormatCount(n float64) string {
	switch {
	case n < 0:
		return "–"
	case n >= 1e6:
		return strconv.FormatFloat(n/1e6, 'f', 2, 64) + " M"
	case n >= 1e4:
		return strconv.FormatFloat(n/1e3, 'f', 1, 64) + " k"
	}
	return strconv.FormatFloat(n, 'f', 0, 64)
}

func formatMACs(macs int64) string { return FormatCount(float64(macs)) }

// FormatSeconds writes a duration briefly: "2.6 s", "1m43s", "1h02m".
func FormatSeconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "–"
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}

// FormatRMSE writes an RMSE in pixels with three decimals ("1.148"), and
// NaN (no score) as "–", as the report's tables show it.
func FormatRMSE(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// Settings describes a run's training configuration in one line, by its
// JSON keys: "model cnn3, epochs 40, batch 64, ...", and the config file
// the run read, if any.
func Settings(c train.Config) string {
	b, err := json.Marshal(c)
	if err != nil {
		return err.Error()
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var parts []string
	if _, err := dec.Token(); err != nil { // {
		return err.Error()
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err.Error()
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return err.Error()
		}
		k := key.(string)
		if train.IsPlacement(k) || v == "" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %v", strings.ReplaceAll(k, "_", " "), v))
	}
	if c.ConfigFile != "" {
		// Where the settings came from: a placement, yet worth saying.
		parts = append(parts, "from the config file "+c.ConfigFile)
	}
	return strings.Join(parts, ", ")
}

// ensembleRows is 1 when the table has an ensemble row, else 0.
func (r *Report) ensembleRows() int {
	if r.Ensemble != nil {
		return 1
	}
	return 0
}

// summary is the paragraph that says what was compared on what.
func (r *Report) summary() string {
	return fmt.Sprintf("Hold-out part: %d faces of %s (fraction %v, seed %d). "+
		"The models were trained, and the baselines fitted, on the other %d faces. "+
		"RMSE is the competition's metric, in pixels, over the keypoints each face has; "+
		"a model's hold-out RMSE is that of its best epoch, whose weights it keeps. "+
		"Flip TTA averages the predictions for each face and its mirror image. "+
		"With two models or more, the ensemble mixes their predictions (without TTA) with weights fitted on the hold-out faces, "+
		"and its RMSE scores each half of them with the weights fitted on the other half. "+
		"Train time is the sum of the epochs' wall times, evaluation included.",
		r.HoldFaces, r.Data, r.Holdout, r.Seed, r.TrainFaces)
}

// ensembleNote says how the ensemble was made and scored; "" without
// one.
func (r *Report) ensembleNote() string {
	if e := r.results().Ensemble; e != nil && len(e.Members) > 0 {
		return e.Note()
	}
	return ""
}

// made says what made the report: fkd's version, the command line and
// the data's fingerprint, where known; code formats the command line.
func (r *Report) made(code func(string) string) string {
	s := "Made by fkd"
	if r.Version != "" {
		s += " " + r.Version
	}
	if len(r.Command) > 0 {
		s += ": " + code(CommandLine(r.Command))
	}
	s += "."
	if r.DataID != "" {
		s += " Fingerprint of the data the models were trained on: " + r.DataID + "."
	}
	return s
}

// CommandLine writes args as one line a shell reads back as args,
// quoting what needs it; the program is named by its base name.
func CommandLine(args []string) string {
	var parts []string
	for i, a := range args {
		if i == 0 {
			a = filepath.Base(a)
		}
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
		}) {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// writeTable prints the table as aligned text.
func (r *Report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(Columns, "\t"))
	for _, row := range r.tableRows() {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

var reportHTML = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fkd model comparison</title>
<style>
body { font-family: sans-serif; max-width: 1040px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; }
th { text-align: left; vertical-align: bottom; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.baseline td { color: #666; }
ul.warnings li { color: #8a4b00; }
figure { margin: 2em 0; }
img { max-width: 100%; }
code { font-size: 0.9em; }
</style>
</head>
<body>
<h1>Model comparison</h1>
<p>{{.Summary}}</p>
<table>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Baseline}} class="baseline"{{end}}>{{range $i, $c := .Cells}}{{if $i}}<td class="n">{{else}}<td>{{end}}{{$c}}</td>{{end}}</tr>
{{end}}</table>
{{if .EnsembleNote}}<p>{{.EnsembleNote}}</p>
{{end}}{{if or .Warnings .Missing}}<h2>Warnings</h2>
{{end}}{{if .Warnings}}<ul class="warnings">
{{range .Warnings}}<li>{{.}}</li>
{{end}}</ul>
{{end}}{{if .Missing}}<p>Not in this report, as their runs have not finished:</p>
<ul>
{{range .Missing}}<li>{{.}}</li>
{{end}}</ul>
{{end}}<h2>Training settings</h2>
<ul>
{{range .Settings}}<li>{{.}}</li>
{{end}}</ul>
<p>{{.Made}}</p>
<p>Every figure of this report is also in <a href="` + ResultsName + `">` + ResultsName + `</a>.</p>
{{range .Charts}}<figure>
<img src="{{.Name}}" alt="{{.Title}}">
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}</body>
</html>
`))

type htmlRow struct {
	Baseline bool
	Cells    []string
}

// writeHTML writes the report as a web page showing the charts in files.
func (r *Report) writeHTML(path string, files []chart) error {
	var rows []htmlRow
	for i, cells := range r.tableRows() {
		rows = append(rows, htmlRow{Baseline: i >= len(r.Models)+r.ensembleRows(), Cells: cells})
	}
	var set []string
	for _, m := range r.Models {
		set = append(set, m.Spec+": "+Settings(m.History.Config))
	}
	data := struct {
		Summary      string
		Columns      []string
		Rows         []htmlRow
		EnsembleNote string
		Warnings     []string
		Missing      []string
		Settings     []string
		Made         string
		Charts       []chart
	}{r.summary(), Columns, rows, r.ensembleNote(), r.Warnings, r.Missing, set, r.made(func(s string) string { return s }), files}
	return atomicfile.Write(path, func(w io.Writer) error { return reportHTML.Execute(w, data) })
}

// writeMarkdown writes the report as Markdown, for reading on a code host.
func (r *Report) writeMarkdown(path string, files []chart) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		fmt.Fprintf(w, "# Model comparison\n\n%s\n\n", r.summary())
		fmt.Fprintf(w, "| %s |\n| --- |%s\n", strings.Join(Columns, " | "), strings.Repeat(" ---: |", len(Columns)-1))
		for _, row := range r.tableRows() {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		if note := r.ensembleNote(); note != "" {
			fmt.Fprintf(w, "\n%s\n", note)
		}
		if len(r.Warnings) > 0 || len(r.Missing) > 0 {
			fmt.Fprintf(w, "\n## Warnings\n")
		}
		if len(r.Warnings) > 0 {
			fmt.Fprintln(w)
			for _, m := range r.Warnings {
				fmt.Fprintf(w, "- %s\n", m)
			}
		}
		if len(r.Missing) > 0 {
			fmt.Fprintf(w, "\nNot in this report, as their runs have not finished:\n\n")
			for _, m := range r.Missing {
				fmt.Fprintf(w, "- %s\n", m)
			}
		}
		fmt.Fprintf(w, "\n## Training settings\n\n")
		for _, m := range r.Models {
			fmt.Fprintf(w, "- `%s`: %s\n", m.Spec, Settings(m.History.Config))
		}
		fmt.Fprintf(w, "\n%s\n\nEvery figure of this report is also in [%s](%s).\n", r.made(func(s string) string { return "`" + s + "`" }), ResultsName, ResultsName)
		for _, f := range files {
			fmt.Fprintf(w, "\n![%s](%s)\n\n*%s*\n", f.Title, f.Name, f.Caption)
		}
		return nil
	})
}

// FileSafe turns a label into a file-name part: letters, digits, dots,
// dashes and underscores.
func FileSafe(label string) string {
	var b strings.Builder
	for _, r := range label {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
