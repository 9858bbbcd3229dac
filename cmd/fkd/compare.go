package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/compare"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{name: "compare", run: runCompare,
		summary: "train several models on the same split and write a comparison report with charts",
		usage:   "--models cnn3,tinyresnet,fpn [--epochs N] [--out report] [--devices cuda:0,cuda:1] [--shard I/N] [--force] [training flags]"})
}

// compareOptions holds the flags of "fkd compare".
type compareOptions struct {
	cmp                               compare.Comparison
	models, loss, devices, shard, job string
	configPath                        *string
}

func runCompare(fs *pflag.FlagSet, args []string) error {
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
	ctx, stop := train.Interruptible(os.Stderr)
	defer stop()
	return o.cmp.Run(ctx, report.NewEnv(os.Stdout, os.Stderr))
}

// setup registers the flags, parses the command line and the config
// file, and checks the settings.
func (o *compareOptions) setup(fs *pflag.FlagSet, args []string) error {
	c := &o.cmp
	c.Config = train.DefaultConfig()
	fs.StringVar(&o.models, "models", "cnn3,tinyresnet,fpn", `model specs separated by commas, options included: "cnn3,fpn:width=48,dropout=0.2,tinyresnet"`)
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
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q (name the models with --models)", fs.Args())
	}
	if o.job != "" {
		return nil
	}
	if err := applyConfig(fs, "compare", *o.configPath, fs.Changed("config"), map[string]string{"train": "train"}); err != nil {
		return err
	}
	loss, err := train.ParseLoss(o.loss)
	if err != nil {
		return usagef("--loss: %v", err)
	}
	c.Config.Loss = loss
	if c.Specs, err = compare.SplitSpecs(o.models); err != nil {
		return usagef("--models: %v", err)
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
	return c.CheckOutputs()
}
