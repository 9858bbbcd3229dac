package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/torch"
)

func init() {
	register(&command{name: "ensemble", run: runEnsemble,
		summary: "fit the weights of several trained models on their shared hold-out faces; write an ensemble file",
		usage:   "--models A.pt,B.pt,... [--train FILE] [--tta flip] [--drop-outliers] [--out FILE]"})
}

func runEnsemble(fs *pflag.FlagSet, args []string) error {
	start := time.Now()
	var members, data, tta, out, device string
	var threads int
	var dropOutliers bool
	fs.StringVar(&members, "models", "", "the member models, comma-separated; they must share one hold-out split (same --holdout and data, and --split-seed or --seed)")
	fs.StringVar(&data, "train", "data/training.csv", "the training data the members were trained on: training.csv or a zip holding it")
	fs.BoolVar(&dropOutliers, "drop-outliers", false, "fit and score without the hold-out faces whose keypoints look mislabelled (see fkd data check), also when the members' runs kept them")
	addTTAFlag(fs, &tta)
	fs.StringVar(&out, "out", "output/ensemble.json", "the ensemble file to write; give it to --model of submit, evaluate, predict and serve")
	fs.StringVar(&device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	configPath := addConfigFlag(fs)
	markPaths(fs, "train", "out")
	alias(fs, "data", "train")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if err := applyConfig(fs, "ensemble", *configPath, fs.Changed("config"), map[string]string{"train": "train"}); err != nil {
		return err
	}
	if members == "" {
		return usagef("--models: name the member models, comma-separated")
	}
	paths, err := ensemble.SplitList(members)
	if err != nil {
		return usagef("--models: %v", err)
	}
	if threads < 0 {
		return usagef("--threads %d is negative", threads)
	}
	t, err := parseTTAFlag(tta)
	if err != nil {
		return err
	}
	var f files
	for _, p := range paths {
		f.input("the member", p)
	}
	f.input("the data", data)
	f.config(*configPath)
	f.output("--out", out)
	if err := f.check(); err != nil {
		return err
	}
	if err := checkInput("--train", data); err != nil {
		return err
	}
	dev, err := torch.ParseDevice(device)
	if err != nil {
		return err
	}
	torch.SetNumThreads(threads)
	set, rep, err := dataset.ReadTraining(data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	fitted, err := ensemble.Fit(paths, set, ensemble.FitOptions{TTA: t, Device: dev, DropOutliers: dropOutliers, Log: os.Stderr})
	if err != nil {
		return err
	}
	less := ""
	if n := fitted.File.HoldoutOutliersLeftOut; n > 0 {
		less = fmt.Sprintf(" (less %d found mislabelled)", n)
	}
	fmt.Printf("%d hold-out faces%s, test-time augmentation %s\n\n", fitted.Faces, less, t)
	if err := fitted.WriteTable(os.Stdout); err != nil {
		return err
	}
	f.tidy(os.Stderr, start)
	if err := ensemble.Write(out, fitted.File); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", out)
	return nil
}
