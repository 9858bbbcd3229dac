package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/compare"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "compare",
		summary: "train several models on the same split and write a comparison report with charts",
		usage:   "--models cnn3,tinyresnet,fpn [--epochs N] [--out report] [--devices cuda:0,cuda:1] [--shard I/N] [--force] [training flags]",
		run:     runCompare,
	})
}

// compareOptions holds the flags of "fkd compare".
type compareOptions struct {
	cfg        train.Config // the settings every model trains with; Model and Out are set per model
	models     string
	specs      []string // canonical model specs, in the order given
	loss       string
	data       string
	out        string
	force      bool
	configPath *string

	devicesList string         // --devices as given
	devices     []torch.Device // the devices to train on at once; nil: --device alone
	shardSpec   string         // --shard as given
	shard       int            // this shard, from 1; 0 without --shard
	shards      int            // the number of shards; 0 without --shard
	workerJob   string         // hidden: run as a worker of a parallel compare (see compare_worker.go)
}

// compareDataFlags maps the config file's data keys to flags of "fkd compare".
var compareDataFlags = map[string]string{"train": "train"}

func compareFlags(fs *pflag.FlagSet, o *compareOptions) {
	c := &o.cfg
	*c = train.DefaultConfig()
	fs.StringVar(&o.models, "models", "cnn3,tinyresnet,fpn", `model specs separated by commas, options included: "cnn3,fpn:width=48,dropout=0.2,tinyresnet"`)
	fs.StringVar(&o.out, "out", "report", "directory of the report; the runs go to its runs/ subdirectory")
	fs.BoolVar(&o.force, "force", false, "train every model afresh, even when a finished run with the same settings exists")
	fs.StringVar(&o.data, "train", "data/training.csv", "Kaggle training data: training.csv or a zip holding it")
	fs.StringVar(&o.devicesList, "devices", "", `train models side by side, one per device: "cuda:0,cuda:1"; "cpu,cpu" shares the CPU threads out (replaces --device)`)
	fs.StringVar(&o.shardSpec, "shard", "", `train only shard I of N (I/N, I from 1): every N-th model, so N machines share one comparison in --out; then "fkd report OUT" merges them`)
	trainingFlags(fs, c, &o.loss)
	o.configPath = addConfigFlag(fs)
	fs.StringVar(&o.workerJob, "worker-job", "", "a job of a parallel compare, for fkd compare's own use")
	if err := fs.MarkHidden("worker-job"); err != nil {
		panic("fkd: " + err.Error())
	}
	markPaths(fs, "train", "out")
}

func runCompare(fs *pflag.FlagSet, args []string) error {
	var o compareOptions
	if err := o.setup(fs, args); err != nil {
		return err
	}
	if o.workerJob != "" {
		return runCompareWorker(&o)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := report.NewEnv(os.Stdout, os.Stderr)
	go func() {
		<-ctx.Done()
		if cause := context.Cause(ctx); cause != context.Canceled {
			stop() // a second signal ends the process at once
			fmt.Fprintf(env.Stderr, "\n%v: finishing the step and saving a checkpoint (signal again to quit at once)\n", cause)
		}
	}()
	return o.run(ctx, env)
}

// setup parses the command line and the config file and checks the
// settings.
func (o *compareOptions) setup(fs *pflag.FlagSet, args []string) error {
	compareFlags(fs, o)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q (name the models with --models)", fs.Args())
	}
	if o.workerJob != "" {
		return nil // a worker of a parallel compare: its job holds every setting
	}
	if err := applyConfig(fs, "compare", *o.configPath, fs.Changed("config"), compareDataFlags); err != nil {
		return err
	}
	loss, err := train.ParseLoss(o.loss)
	if err != nil {
		return usagef("--loss: %v", err)
	}
	o.cfg.Loss = loss
	if o.specs, err = compare.SplitSpecs(o.models); err != nil {
		return usagef("--models: %v", err)
	}
	if o.cfg.Holdout == 0 {
		return usagef("--holdout 0: a comparison needs hold-out faces to score the models on")
	}
	if o.devicesList != "" {
		if o.devices, err = compare.ParseDevices(o.devicesList); err != nil {
			return usagef("--devices: %v", err)
		}
	}
	if o.shardSpec != "" {
		if o.shard, o.shards, err = compare.ParseShard(o.shardSpec); err != nil {
			return usagef("--shard %v", err)
		}
	}
	for _, s := range o.specs {
		c := o.runConfig(s)
		if err := c.Validate(); err != nil {
			return usagef("%v", err)
		}
	}
	return o.checkOutputs()
}

// checkOutputs checks, before any work, that the report and the files of
// every run of this compare (this shard's) can be written.
func (o *compareOptions) checkOutputs() error {
	if err := checkReportDir(o.out); err != nil {
		return err
	}
	for _, s := range o.shardSpecs() {
		c := o.runConfig(s)
		if err := c.CheckOutputs(); err != nil {
			return fmt.Errorf("run %s: %w", s, err)
		}
	}
	return nil
}

// runDir returns the directory of the run of spec: runs/ under the report
// directory, named after the spec.
func (o *compareOptions) runDir(spec string) string {
	return filepath.Join(o.out, "runs", report.FileSafe(strings.NewReplacer(":", "_", ",", "_", "=", "-").Replace(spec)))
}

// runConfig returns the training settings of the run of spec.
func (o *compareOptions) runConfig(spec string) train.Config {
	c := o.cfg
	c.Model = spec
	c.Out = filepath.Join(o.runDir(spec), "model.pt")
	c.Checkpoint = ""
	if len(o.devices) == 1 {
		c.Device = o.devices[0].String()
	}
	return c
}

// compareJob is a model of the comparison and what to do with it.
type compareJob struct {
	cfg  train.Config
	plan compare.Plan
	done int // epochs already trained, for a resumed run
}

// shardSpecs returns the model specs this compare trains: all of them, or
// with --shard every N-th from the I-th.
func (o *compareOptions) shardSpecs() []string {
	if o.shards == 0 {
		return o.specs
	}
	var mine []string
	for k, s := range o.specs {
		if report.ShardOf(k, o.shards) == o.shard {
			mine = append(mine, s)
		}
	}
	return mine
}

// run trains what needs training, then writes the report.
func (o *compareOptions) run(ctx context.Context, env *report.Env) error {
	set, rep, err := dataset.ReadTraining(o.data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	trainIdx, holdIdx := dataset.Split(set, o.cfg.Holdout, o.cfg.Seed)
	if len(holdIdx) == 0 {
		return fmt.Errorf("a hold-out fraction of %v of %d faces holds out none", o.cfg.Holdout, set.Len())
	}

	if err := o.writeManifest(); err != nil {
		return err
	}
	mine := o.shardSpecs()
	if len(mine) == 0 {
		fmt.Fprintf(env.Stderr, "shard %d/%d: no model falls to it (%d models over %d shards); nothing to train\n",
			o.shard, o.shards, len(o.specs), o.shards)
		return nil
	}
	var jobs []compareJob
	var runs []string
	totalEpochs := 0
	for _, spec := range mine {
		cfg := o.runConfig(spec)
		p, why := compare.PlanRun(cfg, o.force, len(trainIdx), len(holdIdx))
		j := compareJob{cfg: cfg, plan: p}
		switch p {
		case compare.Reuse:
			fmt.Fprintf(env.Stderr, "%s: reusing %s: %s\n", spec, filepath.Dir(cfg.Out), why)
		case compare.Resume:
			j.cfg.Resume = true
			if h, err := train.ReadHistory(cfg.HistoryPath()); err == nil {
				j.done = len(h.Epochs)
			}
			fmt.Fprintf(env.Stderr, "%s: resuming %s: %s\n", spec, filepath.Dir(cfg.Out), why)
		default:
			fmt.Fprintf(env.Stderr, "%s: training in %s: %s\n", spec, filepath.Dir(cfg.Out), why)
		}
		if p != compare.Reuse {
			totalEpochs += cfg.Epochs - j.done
		}
		jobs = append(jobs, j)
		runs = append(runs, filepath.Dir(cfg.Out))
	}

	if totalEpochs > 0 {
		trainJobs := o.trainAll
		if len(o.devices) > 1 {
			trainJobs = o.trainParallel
		}
		if err := trainJobs(ctx, env, set, jobs, totalEpochs); err != nil {
			return err
		}
	}
	if o.shards > 0 {
		fmt.Fprintf(env.Stdout, "shard %d/%d done: %d of the %d models are in %s; when every shard is done, merge them with: fkd report %s\n",
			o.shard, o.shards, len(mine), len(o.specs), filepath.Join(o.out, "runs"), o.out)
		return nil
	}
	dev := o.cfg.Device
	if len(o.devices) > 0 {
		dev = o.devices[0].String()
	}
	evalDev, err := torch.ParseDevice(dev)
	if err != nil {
		return err
	}
	torch.SetNumThreads(o.cfg.Threads)
	return env.Build(set, filepath.Base(o.data), report.Runs(runs...), o.out, evalDev)
}

// trainAll trains the jobs that need it, one after the other, showing the
// models done of those to train and the time left.
func (o *compareOptions) trainAll(ctx context.Context, env *report.Env, set *dataset.Set, jobs []compareJob, totalEpochs int) error {
	toTrain := 0
	for _, j := range jobs {
		if j.plan != compare.Reuse {
			toTrain++
		}
	}
	// The bar counts thousandths of an epoch, so that it moves with every
	// step and its time left follows the epochs still to run.
	const unit = 1000
	bar := progressbar.NewOptions64(int64(totalEpochs)*unit,
		progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetVisibility(env.Terminal),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	)
	defer bar.Close()
	start := time.Now()
	epochsBefore, trained := 0, 0
	for _, j := range jobs {
		if j.plan == compare.Reuse {
			continue
		}
		spec, cfg := j.cfg.Model, j.cfg
		if err := os.MkdirAll(filepath.Dir(cfg.Out), 0o755); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		opts := train.Options{}
		if !env.Terminal {
			opts.Log = env.Stderr
		}
		base := epochsBefore
		opts.AfterStep = func(s train.StepInfo) {
			if s.Step == 1 {
				bar.Describe(fmt.Sprintf("models %d/%d done; %s epoch %d/%d", trained, toTrain, spec, s.Epoch, cfg.Epochs))
			}
			doneEpochs := float64(base) + float64(s.Epoch-1-j.done) + float64(s.Step)/float64(s.Steps)
			_ = bar.Set64(int64(doneEpochs * unit))
		}
		modelStart := time.Now()
		res, err := train.Run(ctx, cfg, set, opts)
		var ie *train.InterruptedError
		if errors.As(err, &ie) {
			return fmt.Errorf("%v; run the same fkd compare again to continue", err)
		}
		if err != nil {
			return fmt.Errorf("train %s: %w", spec, err)
		}
		res.Model.Store().Free()
		trained++
		epochsBefore += cfg.Epochs - j.done
		_ = bar.Set64(int64(epochsBefore) * unit)
		_ = bar.Clear()
		left := "done"
		if epochsBefore < totalEpochs {
			perEpoch := time.Since(start).Seconds() / float64(epochsBefore)
			left = "about " + report.FormatSeconds(perEpoch*float64(totalEpochs-epochsBefore)) + " left"
		}
		fmt.Fprintf(env.Stderr, "models %d/%d done: %s, hold-out RMSE %s px at epoch %d (%s); %s\n",
			trained, toTrain, spec, report.FormatRMSE(res.BestHoldoutRMSEPx), res.BestEpoch,
			report.FormatSeconds(time.Since(modelStart).Seconds()), left)
	}
	return nil
}

// writeManifest records the comparison in its directory (see
// compare.WriteManifest).
func (o *compareOptions) writeManifest() error {
	abs, err := filepath.Abs(o.data)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	m := &report.Manifest{Models: o.specs, Shards: max(1, o.shards), Train: abs}
	for _, s := range o.specs {
		rel, err := filepath.Rel(o.out, o.runDir(s))
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		m.Runs = append(m.Runs, filepath.ToSlash(rel))
	}
	return compare.WriteManifest(o.out, m, o.shards > 0 && !o.force)
}
