package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "plot",
		summary: "draw one run's learning curves, or its best, median and worst hold-out faces, as a PNG",
		usage:   "curves|landmarks RUN [--out FILE.png] [--train FILE] [flags]   (RUN: a run's directory or its model file)",
		run:     runPlot,
	})
}

// plotOptions holds the flags of "fkd plot".
type plotOptions struct {
	chart, run    string
	out           string
	data          string
	width, height int
	faces         int
	device        string
	threads       int
	configPath    *string
}

var plotDataFlags = map[string]string{"train": "train"}

func runPlot(fs *pflag.FlagSet, args []string) error {
	var o plotOptions
	fs.StringVar(&o.out, "out", "", "the PNG to write (default: curves.png or landmarks.png in the run's directory)")
	fs.StringVar(&o.data, "train", "data/training.csv", "landmarks: the training data the run was trained on")
	fs.IntVar(&o.width, "width", 0, "width in pixels (default: 1000 for curves, 940 for landmarks)")
	fs.IntVar(&o.height, "height", 0, "height in pixels (default: 600 for curves, 720 for landmarks)")
	fs.IntVar(&o.faces, "faces", report.LandmarkFaces, "landmarks: faces in each row (best, median, worst)")
	fs.StringVar(&o.device, "device", "auto", "landmarks: auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "landmarks: LibTorch CPU threads (0: one per core)")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "out", "train")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "curves" && fs.Arg(0) != "landmarks") {
		return usagef("want curves or landmarks and one run, got %q", fs.Args())
	}
	o.chart, o.run = fs.Arg(0), fs.Arg(1)
	if err := applyConfig(fs, "plot", *o.configPath, fs.Changed("config"), plotDataFlags); err != nil {
		return err
	}
	switch {
	case o.width < 0 || o.height < 0:
		return usagef("--width %d --height %d: want positive sizes", o.width, o.height)
	case o.faces < 1:
		return usagef("--faces %d: want at least 1", o.faces)
	case o.threads < 0:
		return usagef("--threads %d is negative", o.threads)
	}
	w, h := report.ChartWidth, report.ChartHeight
	if o.chart == "landmarks" {
		w, h = report.LandmarksWidth, report.LandmarksHeight
	}
	if o.width > 0 {
		w = o.width
	}
	if o.height > 0 {
		h = o.height
	}
	model, hist, err := report.Files(o.run)
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(filepath.Dir(model), o.chart+".png")
	}
	if err := atomicfile.Check(o.out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if o.chart == "curves" {
		return plotCurves(hist, o.out, w, h)
	}
	return o.plotLandmarks(model, w, h)
}

// plotCurves draws the learning curves of the run whose history is at
// histPath; the run may be unfinished.
func plotCurves(histPath, out string, w, h int) error {
	hist, err := train.ReadHistory(histPath)
	if err != nil {
		return err
	}
	if err := plots.LearningCurves(out, report.PlotRun(hist.Config.Model, hist), nil, w, h); err != nil {
		return err
	}
	fmt.Fprintf(messages(out), "wrote %s: %d epochs of %s\n", out, len(hist.Epochs), hist.Config.Model)
	return nil
}

// plotLandmarks draws a finished run's best, median and worst faces of
// its hold-out part.
func (o *plotOptions) plotLandmarks(modelPath string, w, h int) error {
	_, hist, err := report.Finished(o.run)
	if err != nil {
		return err
	}
	dev, err := torch.ParseDevice(o.device)
	if err != nil {
		return usagef("--device: %v", err)
	}
	torch.SetNumThreads(o.threads)
	set, rep, err := dataset.ReadTraining(o.data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	m, _, err := report.LoadModel(modelPath, dev)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	_, holdIdx := dataset.Split(set, hist.Config.Holdout, hist.Config.Seed)
	hold := set.Subset(holdIdx)
	ev, err := train.Evaluate(m, hold)
	if err != nil {
		return err
	}
	s := &report.Score{Label: hist.Config.Model, Pred: ev.Pred, FaceErrors: report.FaceErrors(ev.Pred, hold)}
	if err := plots.Landmarks(o.out, report.LandmarkRows(s, hold, o.faces), w, h); err != nil {
		return err
	}
	fmt.Fprintf(messages(o.out), "wrote %s: %s on %d hold-out faces, RMSE %.4f px\n", o.out, hist.Config.Model, ev.Faces, ev.RMSE)
	return nil
}

// messages is where a command reports what it wrote: standard output,
// unless the file itself goes there.
func messages(out string) io.Writer {
	if atomicfile.IsStdout(out) {
		return os.Stderr
	}
	return os.Stdout
}
