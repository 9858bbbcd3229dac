package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/compare"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{name: "compare", run: runCompare,
		summary: "train several models on the same split and write a comparison report with charts",
		usage:   "--archs cnn3,tinyresnet,fpn [--epochs N] [--out report] [--devices cuda:0,cuda:1] [--shard I/N] [--force] [training flags]"})
}

// compareOptions holds the flags of "fkd compare".
type compareOptions struct {
	cmp                               compare.Comparison
	models, loss, devices, shard, job string
	configPath                        *string
}

func runCompare(fs *pflag.FlagSet, args []string) error {
	start := time.Now()
	var o compareOptions
	if err := o.setup(fs, args); err != nil {
		return err
	}
	if o.job != "" { // a worker of a parallel compare: its job holds every setting
		job, events, err := compare.Worker(o.job)
		if err != nil {
			return usagef("%v", err)
		}
		return compare.Serve(job, o.cmp.Data, events)
	}
	o.files().tidy(os.Stderr, start)
	ctx, stop := train.Interruptible(os.Stderr)
	defer stop()
	flushConfigNote(true) // where the settings came from, as training starts
	return o.cmp.Run(ctx, report.NewEnv(os.Stdout, os.Stderr))
}

// setup registers the flags, parses the command line and the config
// file, and checks the settings.
func (o *compareOptions) setup(fs *pflag.FlagSet, args []string) error {
	c := &o.cmp
	c.Config = train.DefaultConfig()
	fs.StringVar(&o.models, "archs", "cnn3,tinyresnet,fpn", `the architectures to compare, separated by commas, options included: "cnn3,fpn:width=48,dropout=0.2,tinyresnet" (see fkd models)`)
	fs.StringVar(&c.Out, "out", "report", "directory of the report; the runs go to its runs/ subdirectory")
	fs.BoolVar(&c.Force, "force", false, "train every model afresh, even when a finished run with the same settings exists")
	fs.StringVar(&c.Data, "train", "data/training.csv", "Kaggle training data: training.csv or a zip holding it")
	fs.StringVar(&o.devices, "devices", "", `train models side by side, one per device: "cuda:0,cuda:1"; "cpu,cpu" shares the CPU threads out (replaces --device)`)
	fs.StringVar(&o.shard, "shard", "", `train only shard I of N (I/N, I from 1): every N-th model, so N machines share one comparison in --out; then "fkd report OUT" merges them`)
	trainingFlags(fs, &c.Config, &o.loss)
	o.configPath = addConfigFlag(fs)
	fs.StringVar(&o.job, "worker-job", "", "a job of a parallel compare, for fkd compare's own use")
	if err := fs.MarkHidden("worker-job"); err != nil {
		panic("fkd: " + err.Error())
	}
	markPaths(fs, "train", "out")
	alias(fs, "models", "archs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q (name the architectures with --archs)", fs.Args())
	}
	if o.job != "" {
		return nil
	}
	if err := applyConfig(fs, "compare", *o.configPath, fs.Changed("config"), map[string]string{"train": "train"}); err != nil {
		return err
	}
	if err := finishTrainingFlags(fs, &c.Config, o.loss); err != nil {
		return err
	}
	var err error
	if c.Specs, err = compare.SplitSpecs(o.models); err != nil {
		return usagef("--archs: %v", err)
	}
	if c.Config.Holdout == 0 {
		return usagef("--holdout 0: a comparison needs hold-out faces to score the models on")
	}
	if o.devices != "" {
		if c.Devices, err = compare.ParseDevices(o.devices); err != nil {
			return usagef("--devices: %v", err)
		}
	}
	if o.shard != "" {
		if c.Shard, c.Shards, err = compare.ParseShard(o.shard); err != nil {
			return usagef("--shard %v", err)
		}
	}
	if err := c.Validate(); err != nil {
		return usagef("%v", err)
	}
	if err := c.CheckOutputs(); err != nil {
		return err
	}
	if err := o.files().check(); err != nil {
		return err
	}
	return checkInput("--train", c.Data)
}

// files lists what the comparison reads and writes: the runs it trains,
// its manifest and, without --shard, its report. A run it reuses is one
// of its outputs, as it may train it again.
func (o *compareOptions) files() *files {
	c := &o.cmp
	var f files
	f.input("the training data", c.Data)
	for _, p := range c.Config.PseudoLabels {
		f.model("the teacher", p)
	}
	f.config(*o.configPath)
	f.output("the manifest", filepath.Join(c.Out, report.ManifestName))
	for _, s := range c.Mine() {
		cfg := c.RunConfig(s)
		f.output("a file of the run of "+s, cfg.OutputPaths()...)
	}
	if c.Shards == 0 {
		f.output("the report", report.OutputsFor(c.Out, c.Specs)...)
	}
	return &f
}
