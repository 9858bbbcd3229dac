package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
)

func init() {
	register(&command{
		name:    "baseline",
		summary: "fit the mean or patch-search baseline; score a hold-out part or write a submission",
		usage:   "mean|patch --train FILE [--holdout FRAC] [--test FILE --lookup FILE --outfile FILE] [flags]",
		run:     runBaseline,
	})
}

// baselineOptions holds the flags of "fkd baseline".
type baselineOptions struct {
	kind                      string // "mean" or "patch"
	train, test, lookup, out  string
	patchRadius, searchRadius int
	workers                   int
	holdout                   float64
	seed                      int64
	patchFlagsSet             []string // patch-only flags given on the command line
	stdout, stderr            io.Writer
	stderrTerminal            bool
}

func runBaseline(fs *pflag.FlagSet, args []string) error {
	o := baselineOptions{stdout: os.Stdout, stderr: os.Stderr}
	if info, err := os.Stderr.Stat(); err == nil {
		o.stderrTerminal = info.Mode()&os.ModeCharDevice != 0
	}
	fs.StringVar(&o.train, "train", "", "Kaggle training data: training.csv or a zip holding it")
	fs.StringVar(&o.test, "test", "", "Kaggle test data (test.csv or a zip), for --outfile")
	fs.StringVar(&o.lookup, "lookup", "", "IdLookupTable.csv, for --outfile")
	fs.StringVar(&o.out, "outfile", "", "write a submission for --test to this file, fitting on all of --train")
	fs.Float64Var(&o.holdout, "holdout", 0, "score on this fraction of --train held out (e.g. 0.1), fitting on the rest")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the hold-out split")
	fs.IntVar(&o.patchRadius, "patch-radius", baseline.DefaultPatchRadius, "patch: half the side of the square patches")
	fs.IntVar(&o.searchRadius, "search-radius", baseline.DefaultSearchRadius, "patch: pixels searched either side of the mean position")
	fs.IntVar(&o.workers, "workers", 0, "patch: goroutines searching faces (0: one per CPU)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "mean" && fs.Arg(0) != "patch") {
		return usagef("want one model, mean or patch, got %q", fs.Args())
	}
	o.kind = fs.Arg(0)
	for _, name := range []string{"patch-radius", "search-radius", "workers"} {
		if fs.Changed(name) {
			o.patchFlagsSet = append(o.patchFlagsSet, name)
		}
	}
	if err := o.check(); err != nil {
		return err
	}
	return o.run()
}

// check validates the flag combination.
func (o *baselineOptions) check() error {
	switch {
	case o.train == "":
		return usagef("--train is required")
	case o.holdout < 0 || o.holdout >= 1:
		return usagef("--holdout %v is outside [0, 1)", o.holdout)
	case o.out == "" && o.holdout == 0:
		return usagef("nothing to do: give --holdout, or --outfile with --test and --lookup")
	case o.out == "" && (o.test != "" || o.lookup != ""):
		return usagef("--test and --lookup need --outfile")
	case o.out != "" && (o.test == "" || o.lookup == ""):
		return usagef("--outfile needs --test and --lookup")
	case o.kind == "mean" && len(o.patchFlagsSet) > 0:
		return usagef("--%s applies to the patch baseline only", o.patchFlagsSet[0])
	case o.patchRadius < 1:
		return usagef("--patch-radius %d is below 1", o.patchRadius)
	case o.searchRadius < 0:
		return usagef("--search-radius %d is negative", o.searchRadius)
	}
	return nil
}

func (o *baselineOptions) run() error {
	if o.out != "" {
		if err := atomicfile.Check(o.out); err != nil {
			return fmt.Errorf("--outfile: %w", err)
		}
	}
	set, rep, err := dataset.ReadTraining(o.train, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	if err := checkColumns(rep, o.kind); err != nil {
		return err
	}
	if o.holdout > 0 {
		if err := o.scoreHoldout(set); err != nil {
			return err
		}
	}
	if o.out != "" {
		return o.writeSubmission(set)
	}
	return nil
}

// checkColumns refuses training data with a keypoint column that is
// empty in every face: neither baseline can place that keypoint.
func checkColumns(rep *dataset.Report, kind string) error {
	for j, name := range dataset.CoordNames() {
		if rep.Present[j] == 0 {
			return fmt.Errorf("%s: column %s is empty in all %d faces: the %s baseline needs at least one value in every keypoint column", rep.Source, name, rep.Read, kind)
		}
	}
	return nil
}

// newModel returns an unfitted model of the chosen kind.
func (o *baselineOptions) newModel() baseline.Model {
	if o.kind == "mean" {
		return &baseline.Mean{}
	}
	return &baseline.Patch{PatchRadius: o.patchRadius, SearchRadius: o.searchRadius, Workers: o.workers}
}

// describe names the model and its settings for reports.
func (o *baselineOptions) describe() string {
	if o.kind == "mean" {
		return "mean baseline"
	}
	return fmt.Sprintf("patch search (patch radius %d, search radius %d)", o.patchRadius, o.searchRadius)
}

// predict runs m on images, showing a progress bar for the patch search,
// and reports the time taken on stderr.
func (o *baselineOptions) predict(m baseline.Model, images []uint8, what string) ([]float32, error) {
	faces := len(images) / dataset.PixelCount
	if p, ok := m.(*baseline.Patch); ok {
		bar := progressbar.NewOptions(faces,
			progressbar.OptionSetWriter(o.stderr),
			progressbar.OptionSetVisibility(o.stderrTerminal),
			progressbar.OptionSetDescription("patch search, "+what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("faces"),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		defer bar.Close()
		p.Progress = func(n int) { _ = bar.Add(n) }
		defer func() { p.Progress = nil }()
	}
	start := time.Now()
	pred, err := m.Predict(images)
	if err != nil {
		return nil, fmt.Errorf("predict %s: %w", what, err)
	}
	if p, ok := m.(*baseline.Patch); ok {
		workers := p.Workers
		if workers <= 0 {
			workers = runtime.NumCPU()
		}
		fmt.Fprintf(o.stderr, "patch search, %s: %d faces in %.3fs (workers: %d)\n",
			what, faces, time.Since(start).Seconds(), workers)
	}
	return pred, nil
}

// scoreHoldout fits on a split of set and prints the hold-out RMSE.
func (o *baselineOptions) scoreHoldout(set *dataset.Set) error {
	trainIdx, holdIdx := dataset.Split(set, o.holdout, o.seed)
	if len(trainIdx) == 0 || len(holdIdx) == 0 {
		return fmt.Errorf("hold-out split of %d faces at %v leaves a part empty", set.Len(), o.holdout)
	}
	train, hold := set.Subset(trainIdx), set.Subset(holdIdx)
	m := o.newModel()
	if err := m.Fit(train); err != nil {
		return err
	}
	pred, err := o.predict(m, hold.Images, "hold-out")
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "%s: fitted on %d faces, scored on %d hold-out faces (fraction %v, seed %d)\n\n",
		o.describe(), train.Len(), hold.Len(), o.holdout, o.seed)
	return o.writeRMSETable(pred, hold)
}

// writeRMSETable prints the RMSE of pred against hold per keypoint and
// overall, with how many faces have each keypoint.
func (o *baselineOptions) writeRMSETable(pred []float32, hold *dataset.Set) error {
	perKeypoint := dataset.PerKeypointRMSE(pred, hold.Coords, hold.Mask)
	var present [dataset.NumKeypoints]int
	for i := range hold.Len() {
		_, m := hold.Keypoints(i)
		for k := range present {
			if m[2*k] && m[2*k+1] {
				present[k]++
			}
		}
	}
	// Names are padded by hand so that they stay left-aligned while the
	// numbers align right.
	width := len("all keypoints")
	for _, name := range dataset.Keypoints {
		width = max(width, len(name))
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tfaces\tRMSE\t\n", width, "keypoint")
	for k, name := range dataset.Keypoints {
		fmt.Fprintf(tw, "%-*s\t%d\t%.3f\t\n", width, name, present[k], perKeypoint[k])
	}
	fmt.Fprintf(tw, "%-*s\t%d\t%.3f\t\n", width, "all keypoints", hold.Len(), dataset.RMSE(pred, hold.Coords, hold.Mask))
	return tw.Flush()
}

// writeSubmission fits on all of set and writes the test set's submission.
func (o *baselineOptions) writeSubmission(set *dataset.Set) error {
	test, rep, err := dataset.ReadTest(o.test, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "read %s: %d faces\n", rep.Source, rep.Read)
	rows, err := dataset.ReadLookup(o.lookup)
	if err != nil {
		return fmt.Errorf("read lookup table: %w", err)
	}
	m := o.newModel()
	if err := m.Fit(set); err != nil {
		return err
	}
	pred, err := o.predict(m, test.Images, "test")
	if err != nil {
		return err
	}
	fill := dataset.Means(set)
	srep, err := dataset.WriteSubmission(o.out, rows, dataset.NewPredictions(test.IDs, pred, nil), fill)
	if err != nil {
		return fmt.Errorf("write submission: %w", err)
	}
	fmt.Fprintf(o.stderr, "wrote %s: %d rows, %d filled with training means\n", o.out, srep.Rows, srep.Filled)
	if w := srep.MissingWarning(); w != "" {
		fmt.Fprintln(o.stderr, w)
	}
	if srep.Filled > 0 {
		fmt.Fprintf(o.stderr, "warning: %d rows of %d images had no prediction and hold the training means\n",
			srep.Filled, srep.FilledImages)
	}
	if srep.Clipped > 0 {
		fmt.Fprintf(o.stderr, "warning: %d predictions clipped into the image\n", srep.Clipped)
	}
	return nil
}
