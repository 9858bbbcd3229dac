package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
)

func init() {
	register(&command{name: "plot", run: runPlot,
		summary: "draw one run's learning curves, or its best, median and worst hold-out faces, as a PNG",
		usage:   "curves|landmarks RUN [--out FILE.png] [--train FILE] [flags]   (RUN: a run's directory or its model file)"})
}

func runPlot(fs *pflag.FlagSet, args []string) error {
	start := time.Now()
	var out, data, device string
	var width, height, faces, threads int
	fs.StringVar(&out, "out", "", "the PNG to write (default: curves.png or landmarks.png in the run's directory)")
	fs.StringVar(&data, "train", "data/training.csv", "landmarks: the training data the run was trained on")
	fs.IntVar(&width, "width", 0, "width in pixels (default: 1000 for curves, 940 for landmarks)")
	fs.IntVar(&height, "height", 0, "height in pixels (default: 600 for curves, 720 for landmarks)")
	fs.IntVar(&faces, "faces", report.LandmarkFaces, "landmarks: faces in each row (best, median, worst)")
	fs.StringVar(&device, "device", "auto", "landmarks: auto, cpu, cuda or cuda:N")
	fs.IntVar(&threads, "threads", 0, "landmarks: LibTorch CPU threads (0: one per core)")
	configPath := addConfigFlag(fs)
	markPaths(fs, "out", "train")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "curves" && fs.Arg(0) != "landmarks") {
		return usagef("want curves or landmarks and one run, got %q", fs.Args())
	}
	chart, run := fs.Arg(0), fs.Arg(1)
	if err := applyConfig(fs, "plot", *configPath, fs.Changed("config"), map[string]string{"train": "train"}); err != nil {
		return err
	}
	switch {
	case width < 0 || height < 0:
		return usagef("--width %d --height %d: want positive sizes", width, height)
	case faces < 1:
		return usagef("--faces %d: want at least 1", faces)
	case threads < 0:
		return usagef("--threads %d is negative", threads)
	}
	w, h := report.ChartSize(chart, width, height)
	model, histPath, err := report.Files(run)
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(filepath.Dir(model), chart+".png")
	}
	var f files
	f.input("the run's model", model)
	f.input("the run's history", histPath)
	if chart == "landmarks" {
		f.input("the training data", data)
	}
	f.config(*configPath)
	f.output("--out", out)
	if err := f.check(); err != nil {
		return err
	}
	if chart == "landmarks" {
		if err := checkInput("--train", data); err != nil {
			return err
		}
	}
	f.tidy(os.Stderr, start)
	if chart == "curves" {
		hist, err := report.Curves(histPath, out, w, h)
		if err != nil {
			return err
		}
		fmt.Fprintf(messages(out), "wrote %s: %d epochs of %s\n", out, len(hist.Epochs), hist.Config.Model)
		return nil
	}
	_, hist, err := report.Finished(run)
	if err != nil {
		return err
	}
	dev, err := torch.ParseDevice(device)
	if err != nil {
		return usagef("--device: %v", err)
	}
	torch.SetNumThreads(threads)
	set, rep, err := dataset.ReadTraining(data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	ev, err := report.Landmarks(out, model, hist, set, dev, faces, w, h)
	if err != nil {
		return err
	}
	fmt.Fprintf(messages(out), "wrote %s: %s on %d hold-out faces, RMSE %.4f px\n", out, hist.Config.Model, ev.Faces, ev.RMSE)
	return nil
}
