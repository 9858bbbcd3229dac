package main

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
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "report",
		summary: "rebuild the model comparison report (charts, index.html, README.md) from finished runs, without training",
		usage:   "RUN... [--train FILE] [--out DIR] [flags]   (RUN: a run's directory, its model file, or the --out of fkd compare, whose shards it merges)",
		run:     runReport,
	})
}

// reportOptions holds the flags of "fkd report".
type reportOptions struct {
	data       string
	out        string
	device     string
	threads    int
	configPath *string
	runs       []reportRun
	dev        torch.Device
}

// reportDataFlags maps the config file's data keys to flags of "fkd report".
var reportDataFlags = map[string]string{"train": "train"}

func runReport(fs *pflag.FlagSet, args []string) error {
	var o reportOptions
	if err := o.setup(fs, args); err != nil {
		return err
	}
	return o.run(newReportEnv(os.Stdout, os.Stderr))
}

// setup parses the command line and the config file, finds the runs and
// checks the settings.
func (o *reportOptions) setup(fs *pflag.FlagSet, args []string) error {
	fs.StringVar(&o.data, "train", "data/training.csv", "the Kaggle training data the runs were trained on (training.csv or a zip holding it)")
	fs.StringVar(&o.out, "out", "report", "directory of the report")
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N, for evaluating the models")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "train", "out")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("name at least one run: its directory or its model file, or the --out of fkd compare")
	}
	given := commandLineFlags(fs)
	if err := applyConfig(fs, "report", *o.configPath, fs.Changed("config"), reportDataFlags); err != nil {
		return err
	}
	runs, comparisons, err := expandRuns(fs.Args())
	if err != nil {
		return err
	}
	if len(comparisons) == 1 {
		// A comparison's report goes beside its runs, and is made on the
		// data they were trained on, unless the command line says otherwise.
		if !given["out"] {
			o.out = comparisons[0].dir
		}
		if !given["train"] && isFile(comparisons[0].m.Train) {
			o.data = comparisons[0].m.Train
		}
	}
	if o.threads < 0 {
		return usagef("--threads %d is negative", o.threads)
	}
	o.runs = runs
	if o.dev, err = torch.ParseDevice(o.device); err != nil {
		return usagef("--device: %v", err)
	}
	return checkReportDir(o.out)
}

// checkReportDir checks, before any work, that the report's files can be
// written into dir: it is a directory, or can be made, and takes files.
func checkReportDir(dir string) error {
	if err := atomicfile.Check(filepath.Join(dir, "index.html")); err != nil {
		return fmt.Errorf("report folder %s: %w", dir, err)
	}
	return nil
}

// run writes the report.
func (o *reportOptions) run(env *reportEnv) error {
	torch.SetNumThreads(o.threads)
	set, rep, err := dataset.ReadTraining(o.data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	return env.build(set, filepath.Base(o.data), o.runs, o.out, o.dev)
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// reportRun is a run named for a report.
type reportRun struct {
	path string // its directory or model file
	// listed marks a run that a comparison's manifest lists: one that is
	// missing or unfinished is left out of the report with a note, as a
	// shard may not have made it yet. spec and shard then say what it is
	// and which shard trains it ("shard 2/3"; "" without shards).
	listed      bool
	spec, shard string
}

// reportRuns names runs by their directories or model files.
func reportRuns(paths ...string) []reportRun {
	runs := make([]reportRun, len(paths))
	for i, p := range paths {
		runs[i] = reportRun{path: p}
	}
	return runs
}

// comparison is the directory of an fkd compare, with its manifest.
type comparison struct {
	dir string
	m   *compareManifest
}

// expandRuns turns the report's arguments into runs: a comparison's
// directory (holding compare.json) stands for every run of its manifest,
// in order, anything else for itself.
func expandRuns(args []string) ([]reportRun, []comparison, error) {
	var runs []reportRun
	var comps []comparison
	for _, a := range args {
		m, err := readManifest(a)
		switch {
		case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			runs = append(runs, reportRun{path: a})
			continue
		case err != nil:
			return nil, nil, err
		}
		comps = append(comps, comparison{a, m})
		for k, spec := range m.Models {
			runs = append(runs, reportRun{path: filepath.Join(a, filepath.FromSlash(m.Runs[k])), listed: true, spec: spec, shard: m.shardLabel(k)})
		}
	}
	return runs, comps, nil
}

// reportEnv is where a report's progress goes.
type reportEnv struct {
	stdout, stderr io.Writer
	terminal       bool // stderr is a terminal: show progress bars
}

func newReportEnv(stdout, stderr io.Writer) *reportEnv {
	e := &reportEnv{stdout: stdout, stderr: stderr}
	if f, ok := stderr.(*os.File); ok {
		if info, err := f.Stat(); err == nil {
			e.terminal = info.Mode()&os.ModeCharDevice != 0
		}
	}
	return e
}

// Sizes of the report's charts, in pixels.
const (
	chartW, chartH         = 1000, 600
	landmarksW, landmarksH = 940, 720
	landmarkFaces          = 4 // faces per row: best, median, worst
)

// runFiles returns the model file and history file of a run named by its
// directory or its model file.
func runFiles(run string) (model, history string, err error) {
	info, err := os.Stat(run)
	if err != nil {
		return "", "", fmt.Errorf("run %s: %w", run, err)
	}
	model = run
	if info.IsDir() {
		model = filepath.Join(run, "model.pt")
	}
	c := train.Config{Out: model}
	return model, c.HistoryPath(), nil
}

// readHistory reads the history "fkd train" writes beside its model.
func readHistory(path string) (*train.History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	var h train.History
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("read history %s: %w", path, err)
	}
	return &h, nil
}

// incompleteError says what a run lacks to be reported: it was killed,
// or has not finished, or not started.
type incompleteError struct{ msg string }

func (e *incompleteError) Error() string { return e.msg }

// incomplete describes what a run listed by a comparison lacks, or returns
// "" when it looks finished and finishedHistory should judge it.
func incomplete(r reportRun) string {
	model, histPath, err := runFiles(r.path)
	if err != nil {
		return "not started: no run directory"
	}
	var missing []string
	h, herr := readHistory(histPath)
	switch {
	case herr != nil:
		missing = append(missing, "no history ("+filepath.Base(histPath)+")")
	case h.Stopped == "":
		missing = append(missing, fmt.Sprintf("unfinished history (%d of %d epochs)", len(h.Epochs), h.Config.Epochs))
	}
	if !isFile(model) {
		missing = append(missing, "no model ("+filepath.Base(model)+")")
	}
	if len(missing) == 0 {
		return ""
	}
	ckPath := (&train.Config{Out: model}).CheckpointPath()
	ck, err := train.ReadCheckpoint(ckPath)
	switch {
	case err != nil:
		missing = append(missing, "no checkpoint")
	case ck.Progress.Step == 0:
		missing = append(missing, fmt.Sprintf("a checkpoint after epoch %d (%s)", ck.Progress.Epoch, filepath.Base(ckPath)))
	default:
		missing = append(missing, fmt.Sprintf("a checkpoint in epoch %d after step %d (%s)", ck.Progress.Epoch+1, ck.Progress.Step, filepath.Base(ckPath)))
	}
	return strings.Join(missing, ", ") + "; the same fkd compare continues it"
}

// finishedHistory reads the history of a run and checks that training
// ended and that the run held faces out. A run that has not finished
// gives an *incompleteError.
func finishedHistory(run string) (model string, h *train.History, err error) {
	model, histPath, err := runFiles(run)
	if err != nil {
		return "", nil, err
	}
	h, err = readHistory(histPath)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("run %s has no history %s: is it a run directory of fkd train?", run, histPath)
	}
	if err != nil {
		return "", nil, err
	}
	switch {
	case h.Stopped == "":
		return "", nil, &incompleteError{fmt.Sprintf("run %s is unfinished (%d of %d epochs): resume it with fkd train --resume, or run its fkd compare again",
			run, len(h.Epochs), h.Config.Epochs)}
	case h.Config.Holdout == 0:
		return "", nil, fmt.Errorf("run %s held no faces out, so it cannot be compared on a hold-out part", run)
	case len(h.Epochs) == 0:
		return "", nil, fmt.Errorf("run %s has no epochs in its history", run)
	}
	return model, h, nil
}

// modelScore is one row of the report: a trained model or a baseline,
// scored on the hold-out faces.
type modelScore struct {
	Label   string         // unique name in the report: "cnn3", "mean baseline"
	Spec    string         // a model's spec with every option: "cnn3:dropout=0.1,width=24"
	History *train.History // nil for a baseline
	Params  int            // -1 for a baseline
	MACs    int64          // multiply-adds per face; -1 when unknown
	// HoldoutRMSE is the history's best hold-out RMSE for a model, and
	// the measured one for a baseline; TTARMSE is with flip test-time
	// augmentation (NaN for a baseline).
	HoldoutRMSE, TTARMSE float64
	PerKeypoint          [dataset.NumKeypoints]float64
	Pred                 []float32 // hold-out predictions, pixels
	FaceErrors           []float64 // per-face RMSE on the hold-out faces
}

// TrainSeconds returns the wall time of training, the sum over epochs.
func (s *modelScore) TrainSeconds() float64 {
	var t float64
	for _, e := range s.History.Epochs {
		t += e.Seconds
	}
	return t
}

// report is everything a report shows.
type report struct {
	Data                  string // base name of the training data
	Holdout               float64
	Seed                  int64
	TrainFaces, HoldFaces int
	Models                []*modelScore // trained models, in the order given
	Baselines             []*modelScore // mean, then patch search
	Missing               []string      // the runs left out, each with what it lacks
	hold                  *dataset.Set
}

// build evaluates the finished runs on their shared hold-out part of set,
// scores the baselines on the same split, and writes the report to dir.
//
// A run that is unfinished, or one a comparison lists that is missing or
// incomplete (a shard killed or still at work), is left out with a line
// on stderr saying what it lacks, and the report names it; the others are
// reported. Only when none is left is that an error.
func (e *reportEnv) build(set *dataset.Set, dataName string, runs []reportRun, dir string, dev torch.Device) error {
	type found struct {
		path  string
		model string
		h     *train.History
	}
	var rs []found
	var missing []string
	for _, run := range runs {
		if run.listed {
			if what := incomplete(run); what != "" {
				name := run.spec
				if run.shard != "" {
					name += " (" + run.shard + ")"
				}
				missing = append(missing, fmt.Sprintf("%s in %s: %s", name, run.path, what))
				continue
			}
		}
		model, h, err := finishedHistory(run.path)
		var ie *incompleteError
		if errors.As(err, &ie) {
			missing = append(missing, ie.msg)
			continue
		}
		if err != nil {
			return err
		}
		if len(rs) > 0 && (h.Config.Holdout != rs[0].h.Config.Holdout || h.Config.Seed != rs[0].h.Config.Seed) {
			return fmt.Errorf("runs %s and %s held out different faces (fraction %v seed %d, fraction %v seed %d): compare runs made with the same --holdout and --seed",
				rs[0].path, run.path, rs[0].h.Config.Holdout, rs[0].h.Config.Seed, h.Config.Holdout, h.Config.Seed)
		}
		rs = append(rs, found{run.path, model, h})
	}
	if len(rs) == 0 {
		return fmt.Errorf("no finished run to report: %s", strings.Join(missing, "; "))
	}
	for _, m := range missing {
		fmt.Fprintf(e.stderr, "left out of the report: %s\n", m)
	}
	cfg := rs[0].h.Config
	trainIdx, holdIdx := dataset.Split(set, cfg.Holdout, cfg.Seed)
	if len(holdIdx) == 0 {
		return fmt.Errorf("a hold-out fraction of %v of %d faces holds out none", cfg.Holdout, set.Len())
	}
	r := &report{
		Data: dataName, Holdout: cfg.Holdout, Seed: cfg.Seed,
		TrainFaces: len(trainIdx), HoldFaces: len(holdIdx),
		hold:    set.Subset(holdIdx),
		Missing: missing,
	}
	paths := make([]string, len(rs))
	for i, f := range rs {
		paths[i] = f.path
	}
	labels := runLabels(paths, func(i int) string { return rs[i].h.Config.Model })
	for i, f := range rs {
		s, err := e.scoreRun(f.model, f.h, r, dev)
		if err != nil {
			return err
		}
		s.Label = labels[i]
		r.Models = append(r.Models, s)
	}
	var err error
	if r.Baselines, err = e.scoreBaselines(set.Subset(trainIdx), r.hold); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	files, err := r.drawCharts(dir)
	if err != nil {
		return err
	}
	if err := r.writeHTML(filepath.Join(dir, "index.html"), files); err != nil {
		return err
	}
	if err := r.writeMarkdown(filepath.Join(dir, "README.md"), files); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: index.html, README.md and %d charts\n", dir, len(files))
	if err := r.writeTable(e.stdout); err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(e.stdout, "not in the report: %d unfinished run%s (named above and in the report)\n", len(missing), plural(len(missing)))
	}
	return nil
}

// runLabels names each run by its model spec, adding the run's directory
// where two runs share a spec.
func runLabels(runs []string, spec func(i int) string) []string {
	count := map[string]int{}
	for i := range runs {
		count[spec(i)]++
	}
	labels := make([]string, len(runs))
	for i, run := range runs {
		labels[i] = spec(i)
		if count[spec(i)] > 1 {
			dir := run
			if !isDir(run) {
				dir = filepath.Dir(run)
			}
			labels[i] = fmt.Sprintf("%s (%s)", spec(i), filepath.Base(dir))
		}
	}
	return labels
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// scoreRun loads a run's model, checks it was trained on r's split, and
// scores it on r's hold-out faces, with and without flip test-time
// augmentation.
func (e *reportEnv) scoreRun(modelPath string, h *train.History, r *report, dev torch.Device) (*modelScore, error) {
	m, meta, err := loadModel(modelPath, dev)
	if err != nil {
		return nil, err
	}
	defer m.Store().Free()
	for _, c := range []struct {
		key  string
		want int
	}{{train.ExtraTrainFaces, r.TrainFaces}, {train.ExtraHoldFaces, r.HoldFaces}} {
		if v, ok := meta.Extra[c.key]; ok && v != strconv.Itoa(c.want) {
			return nil, fmt.Errorf("model %s records %s=%s, but the split of %s gives %d: was it trained on other data?",
				modelPath, c.key, v, r.Data, c.want)
		}
	}
	start := time.Now()
	ev, err := train.Evaluate(m, r.hold)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", modelPath, err)
	}
	tta, err := train.Evaluate(train.WithTTA(m, train.FlipTTA), r.hold)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s with flip TTA: %w", modelPath, err)
	}
	params, macs := models.Count(m)
	s := &modelScore{
		Spec:        meta.Spec.String(),
		History:     h,
		Params:      params,
		MACs:        macs,
		HoldoutRMSE: orNaN(h.BestHoldoutRMSEPx),
		TTARMSE:     tta.RMSE,
		PerKeypoint: ev.PerKeypoint,
		Pred:        ev.Pred,
		FaceErrors:  faceErrors(ev.Pred, r.hold),
	}
	fmt.Fprintf(e.stderr, "%s: hold-out RMSE %.4f px, %.4f px with flip TTA (%s)\n",
		meta.Spec, ev.RMSE, s.TTARMSE, time.Since(start).Round(time.Millisecond))
	if math.Abs(ev.RMSE-s.HoldoutRMSE) > 0.01 {
		fmt.Fprintf(e.stderr, "warning: %s scores %.4f px on the hold-out faces but its history says %.4f px: was it trained on other data?\n",
			modelPath, ev.RMSE, s.HoldoutRMSE)
	}
	return s, nil
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// faceErrors returns the RMSE of each face of s over its present
// coordinates; NaN for a face without any.
func faceErrors(pred []float32, s *dataset.Set) []float64 {
	errs := make([]float64, s.Len())
	for i := range errs {
		coords, mask := s.Keypoints(i)
		errs[i] = dataset.RMSE(pred[i*dataset.NumCoords:(i+1)*dataset.NumCoords], coords, mask)
	}
	return errs
}

// scoreBaselines fits the mean and patch-search baselines on the training
// faces and scores them on the hold-out faces.
func (e *reportEnv) scoreBaselines(trainSet, hold *dataset.Set) ([]*modelScore, error) {
	patch := baseline.NewPatch()
	var out []*modelScore
	for _, b := range []struct {
		label string
		model baseline.Model
	}{{"mean baseline", &baseline.Mean{}}, {"patch search", patch}} {
		start := time.Now()
		if err := b.model.Fit(trainSet); err != nil {
			return nil, fmt.Errorf("fit the %s: %w", b.label, err)
		}
		if b.model == patch {
			bar := progressbar.NewOptions(hold.Len(),
				progressbar.OptionSetWriter(e.stderr),
				progressbar.OptionSetVisibility(e.terminal),
				progressbar.OptionSetDescription("patch search on the hold-out faces"),
				progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
			patch.Progress = func(n int) { _ = bar.Add(n) }
			defer bar.Close()
		}
		pred, err := b.model.Predict(hold.Images)
		if err != nil {
			return nil, fmt.Errorf("the %s: %w", b.label, err)
		}
		s := &modelScore{
			Label: b.label, Params: -1, MACs: -1,
			HoldoutRMSE: dataset.RMSE(pred, hold.Coords, hold.Mask),
			TTARMSE:     math.NaN(),
			PerKeypoint: dataset.PerKeypointRMSE(pred, hold.Coords, hold.Mask),
			Pred:        pred,
			FaceErrors:  faceErrors(pred, hold),
		}
		fmt.Fprintf(e.stderr, "%s: hold-out RMSE %.4f px (%s)\n", b.label, s.HoldoutRMSE, time.Since(start).Round(time.Millisecond))
		out = append(out, s)
	}
	return out, nil
}

// chartFile is a chart of the report: its file name, a short title and
// a caption.
type chartFile struct {
	Name, Title, Caption string
}

// fileSafe turns a label into a file-name part: letters, digits, dots,
// dashes and underscores.
func fileSafe(label string) string {
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

// plotRun converts a run's history to the charts' form.
func plotRun(label string, h *train.History) plots.Run {
	r := plots.Run{Name: label, BestEpoch: h.BestEpoch}
	for _, e := range h.Epochs {
		r.Epochs = append(r.Epochs, plots.Epoch{Epoch: e.Epoch, TrainRMSE: e.TrainRMSEPx, HoldoutRMSE: e.HoldoutRMSEPx})
	}
	return r
}

// references returns the baselines as reference lines.
func (r *report) references() []plots.Reference {
	var refs []plots.Reference
	for _, b := range r.Baselines {
		refs = append(refs, plots.Reference{Label: b.Label, RMSE: b.HoldoutRMSE})
	}
	return refs
}

// best returns the model with the lowest hold-out RMSE.
func (r *report) best() *modelScore {
	return slices.MinFunc(r.Models, func(a, b *modelScore) int {
		switch {
		case a.HoldoutRMSE < b.HoldoutRMSE:
			return -1
		case a.HoldoutRMSE > b.HoldoutRMSE:
			return 1
		}
		return 0
	})
}

// drawCharts writes the report's PNGs to dir and returns them in the
// order the report shows them.
func (r *report) drawCharts(dir string) ([]chartFile, error) {
	var files []chartFile
	refs := r.references()
	var runs []plots.Run
	for _, m := range r.Models {
		runs = append(runs, plotRun(m.Label, m.History))
	}
	files = append(files, chartFile{"curves.png", "hold-out curves", "Hold-out RMSE per epoch of each model; rings mark the epochs kept; dashed lines are the baselines."})
	if err := plots.CompareCurves(filepath.Join(dir, "curves.png"), runs, refs, chartW, chartH); err != nil {
		return nil, err
	}
	all := append(slices.Clone(r.Models), r.Baselines...)
	var perKeypoint, perFace []plots.Series
	for _, m := range all {
		perKeypoint = append(perKeypoint, plots.Series{Name: m.Label, Values: m.PerKeypoint[:]})
		perFace = append(perFace, plots.Series{Name: m.Label, Values: m.FaceErrors})
	}
	files = append(files, chartFile{"keypoints.png", "RMSE per keypoint", "Hold-out RMSE of each keypoint, models and baselines."})
	if err := plots.PerKeypointBars(filepath.Join(dir, "keypoints.png"), perKeypoint, chartW, chartH); err != nil {
		return nil, err
	}
	files = append(files, chartFile{"errors.png", "per-face errors", "Spread of the per-face RMSE over the hold-out faces."})
	if err := plots.ErrorHistogram(filepath.Join(dir, "errors.png"), perFace, chartW, chartH); err != nil {
		return nil, err
	}
	best := r.best()
	name := "landmarks.png"
	files = append(files, chartFile{name, "landmarks", fmt.Sprintf(
		"The best model, %s, on its best, median and worst hold-out faces: red crosses are its predictions, green rings the true keypoints.", best.Label)})
	if err := plots.Landmarks(filepath.Join(dir, name), landmarkRows(best, r.hold, landmarkFaces), landmarksW, landmarksH); err != nil {
		return nil, err
	}
	for i, m := range r.Models {
		name := "curves-" + fileSafe(m.Label) + ".png"
		files = append(files, chartFile{name, "learning curves of " + m.Label, fmt.Sprintf("Learning curves of %s: training RMSE (in training mode) and hold-out RMSE per epoch.", m.Label)})
		if err := plots.LearningCurves(filepath.Join(dir, name), runs[i], refs, chartW, chartH); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// landmarkRows returns rows of the best, median and worst faces of hold
// by m's per-face error, n faces each, labelled with their ID and error.
func landmarkRows(m *modelScore, hold *dataset.Set, n int) []plots.FaceRow {
	best, median, worst := plots.PickByError(m.FaceErrors, n)
	var rows []plots.FaceRow
	for _, g := range []struct {
		title string
		idx   []int
	}{{"best", best}, {"median", median}, {"worst", worst}} {
		row := plots.FaceRow{Title: g.title}
		for _, i := range g.idx {
			coords, mask := hold.Keypoints(i)
			label := fmt.Sprintf("%.2f px", m.FaceErrors[i])
			if hold.IDs != nil {
				label = fmt.Sprintf("face %d: %.2f px", hold.IDs[i], m.FaceErrors[i])
			}
			row.Faces = append(row.Faces, plots.Face{
				Image: hold.Image(i),
				Pred:  m.Pred[i*dataset.NumCoords : (i+1)*dataset.NumCoords],
				Truth: coords, Mask: mask, Label: label,
			})
		}
		rows = append(rows, row)
	}
	return rows
}

// reportColumns are the headings of the report's table.
var reportColumns = []string{
	"model", "parameters", "multiply-adds per face", "epochs", "best epoch",
	"train time", "time per epoch", "hold-out RMSE (px)", "with flip TTA (px)",
}

// tableRows returns the report's table, formatted: the models in the
// order given, then the baselines.
func (r *report) tableRows() [][]string {
	const none = "–"
	var rows [][]string
	for _, m := range r.Models {
		secs := m.TrainSeconds()
		rows = append(rows, []string{
			m.Label,
			formatCount(float64(m.Params)),
			formatMACs(m.MACs),
			strconv.Itoa(len(m.History.Epochs)),
			strconv.Itoa(m.History.BestEpoch),
			formatSeconds(secs),
			formatSeconds(secs / float64(len(m.History.Epochs))),
			formatRMSE(m.HoldoutRMSE),
			formatRMSE(m.TTARMSE),
		})
	}
	for _, b := range r.Baselines {
		rows = append(rows, []string{b.Label, none, none, none, none, none, none, formatRMSE(b.HoldoutRMSE), none})
	}
	return rows
}

// formatCount writes n with a k or M suffix: "92.9 k", "2.84 M".
func formatCount(n float64) string {
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

func formatMACs(macs int64) string { return formatCount(float64(macs)) }

// formatSeconds writes a duration briefly: "2.6 s", "1m43s", "1h02m".
func formatSeconds(s float64) string {
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

func formatRMSE(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// settings describes a run's training configuration in one line, by its
// JSON keys: "model cnn3, epochs 40, batch 64, ...".
func settings(c train.Config) string {
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
	return strings.Join(parts, ", ")
}

// summary is the paragraph that says what was compared on what.
func (r *report) summary() string {
	return fmt.Sprintf("Hold-out part: %d faces of %s (fraction %v, seed %d). "+
		"The models were trained, and the baselines fitted, on the other %d faces. "+
		"RMSE is the competition's metric, in pixels, over the keypoints each face has; "+
		"a model's hold-out RMSE is that of its best epoch, whose weights it keeps. "+
		"Flip TTA averages the predictions for each face and its mirror image. "+
		"Train time is the sum of the epochs' wall times, evaluation included.",
		r.HoldFaces, r.Data, r.Holdout, r.Seed, r.TrainFaces)
}

// writeTable prints the table as aligned text.
func (r *report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(reportColumns, "\t"))
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
{{if .Missing}}<p>Not in this report, as their runs have not finished:</p>
<ul>
{{range .Missing}}<li>{{.}}</li>
{{end}}</ul>
{{end}}<h2>Training settings</h2>
<ul>
{{range .Settings}}<li>{{.}}</li>
{{end}}</ul>
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
func (r *report) writeHTML(path string, files []chartFile) error {
	var rows []htmlRow
	for i, cells := range r.tableRows() {
		rows = append(rows, htmlRow{Baseline: i >= len(r.Models), Cells: cells})
	}
	var set []string
	for _, m := range r.Models {
		set = append(set, m.Spec+": "+settings(m.History.Config))
	}
	data := struct {
		Summary  string
		Columns  []string
		Rows     []htmlRow
		Missing  []string
		Settings []string
		Charts   []chartFile
	}{r.summary(), reportColumns, rows, r.Missing, set, files}
	return atomicfile.Write(path, func(w io.Writer) error { return reportHTML.Execute(w, data) })
}

// writeMarkdown writes the report as Markdown, for reading on a code host.
func (r *report) writeMarkdown(path string, files []chartFile) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		fmt.Fprintf(w, "# Model comparison\n\n%s\n\n", r.summary())
		fmt.Fprintf(w, "| %s |\n| --- |%s\n", strings.Join(reportColumns, " | "), strings.Repeat(" ---: |", len(reportColumns)-1))
		for _, row := range r.tableRows() {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		if len(r.Missing) > 0 {
			fmt.Fprintf(w, "\nNot in this report, as their runs have not finished:\n\n")
			for _, m := range r.Missing {
				fmt.Fprintf(w, "- %s\n", m)
			}
		}
		fmt.Fprintf(w, "\n## Training settings\n\n")
		for _, m := range r.Models {
			fmt.Fprintf(w, "- `%s`: %s\n", m.Spec, settings(m.History.Config))
		}
		for _, f := range files {
			fmt.Fprintf(w, "\n![%s](%s)\n\n*%s*\n", f.Title, f.Name, f.Caption)
		}
		return nil
	})
}
