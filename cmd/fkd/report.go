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
	register(&command{name: "report", run: runReport,
		summary: "rebuild the model comparison report (charts, index.html, README.md) from finished runs, without training",
		usage:   "RUN... [--train FILE] [--out DIR] [flags]   (RUN: a run's directory, its model file, or the --out of fkd compare, whose shards it merges)"})
}

// reportOptions holds the flags of "fkd report".
type reportOptions struct {
	data       string
	out        string
	device     string
	threads    int
	configPath *string
	runs       []report.Run
	dev        torch.Device
	files      files
	start      time.Time
}

func runReport(fs *pflag.FlagSet, args []string) error {
	o := reportOptions{start: time.Now()}
	if err := o.setup(fs, args); err != nil {
		return err
	}
	return o.run(report.NewEnv(os.Stdout, os.Stderr))
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
	if err := applyConfig(fs, "report", *o.configPath, fs.Changed("config"), map[string]string{"train": "train"}); err != nil {
		return err
	}
	runs, comparisons, err := report.Expand(fs.Args())
	if err != nil {
		return err
	}
	if len(comparisons) == 1 {
		// A comparison's report goes beside its runs, and is made on the
		// data they were trained on, unless the command line says otherwise.
		if !given["out"] {
			o.out = comparisons[0].Dir
		}
		if info, err := os.Stat(comparisons[0].Manifest.Train); !given["train"] && err == nil && info.Mode().IsRegular() {
			o.data = comparisons[0].Manifest.Train
		}
	}
	if o.threads < 0 {
		return usagef("--threads %d is negative", o.threads)
	}
	o.runs = runs
	if o.dev, err = torch.ParseDevice(o.device); err != nil {
		return usagef("--device: %v", err)
	}
	if err := report.CheckDir(o.out); err != nil {
		return err
	}
	if err := report.CheckRuns(runs); err != nil {
		return err
	}
	if err := checkInput("--train", o.data); err != nil {
		return err
	}
	o.files.input("a run's file", report.Inputs(runs)...)
	for _, c := range comparisons {
		o.files.input("the comparison's manifest", filepath.Join(c.Dir, report.ManifestName))
	}
	o.files.input("the training data", o.data)
	o.files.config(*o.configPath)
	o.files.output("the report", report.Outputs(runs, o.out)...)
	return o.files.check()
}

// run writes the report.
func (o *reportOptions) run(env *report.Env) error {
	torch.SetNumThreads(o.threads)
	set, rep, err := dataset.ReadTraining(o.data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	o.files.tidy(env.Stderr, o.start)
	return env.Build(set, filepath.Base(o.data), o.runs, o.out, o.dev)
}
