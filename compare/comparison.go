package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

// Comparison is one fkd compare: models trained with the same settings
// on one split of one data file, each in a run directory under Out/runs,
// and the report on them in Out.
type Comparison struct {
	Config  train.Config   // the settings every model trains with; Model and Out are set per model
	Specs   []string       // canonical model specs (SplitSpecs), in the order given
	Data    string         // the training data file
	Out     string         // the report's directory
	Force   bool           // train every model afresh, even one with a finished run
	Devices []torch.Device // train side by side, one model per device; nil: Config.Device alone
	Shard   int            // with Shards, train only shard Shard (from 1) of Shards; 0 without
	Shards  int
}

// RunDir returns the directory of the run of spec: runs/ under the
// report's directory, named after the spec.
func (c *Comparison) RunDir(spec string) string {
	return filepath.Join(c.Out, "runs", report.FileSafe(strings.NewReplacer(":", "_", ",", "_", "=", "-").Replace(spec)))
}

// RunConfig returns the training settings of the run of spec.
func (c *Comparison) RunConfig(spec string) train.Config {
	cfg := c.Config
	cfg.Model = spec
	cfg.Out = filepath.Join(c.RunDir(spec), "model.pt")
	cfg.Checkpoint = ""
	if len(c.Devices) == 1 {
		cfg.Device = c.Devices[0].String()
	}
	return cfg
}

// Mine returns the specs this comparison trains: all of them, or with
// sharding every Shards-th from the Shard-th.
func (c *Comparison) Mine() []string {
	if c.Shards == 0 {
		return c.Specs
	}
	var mine []string
	for k, s := range c.Specs {
		if report.ShardOf(k, c.Shards) == c.Shard {
			mine = append(mine, s)
		}
	}
	return mine
}

// Validate checks the settings of every run.
func (c *Comparison) Validate() error {
	for _, s := range c.Specs {
		cfg := c.RunConfig(s)
		if err := cfg.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// CheckOutputs checks, before any work, that the report and the files of
// every run this comparison trains can be written.
func (c *Comparison) CheckOutputs() error {
	if err := report.CheckDir(c.Out); err != nil {
		return err
	}
	for _, s := range c.Mine() {
		cfg := c.RunConfig(s)
		if err := cfg.CheckOutputs(); err != nil {
			return fmt.Errorf("run %s: %w", s, err)
		}
	}
	return nil
}

// job is a model of the comparison and what to do with it.
type job struct {
	cfg  train.Config
	plan Plan
	done int // epochs already trained, for a resumed run
}

// Run reads the data, trains what needs training (reusing finished runs
// with the same settings, resuming interrupted ones), then writes the
// report; a shard writes none. Progress goes to env.
func (c *Comparison) Run(ctx context.Context, env *report.Env) error {
	set, rep, err := dataset.ReadTraining(c.Data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	trainIdx, holdIdx := dataset.Split(set, c.Config.Holdout, c.Config.HoldoutSeed())
	if len(holdIdx) == 0 {
		return fmt.Errorf("a hold-out fraction of %v of %d faces holds out none", c.Config.Holdout, set.Len())
	}
	if err := c.writeManifest(); err != nil {
		return err
	}
	mine := c.Mine()
	if len(mine) == 0 {
		fmt.Fprintf(env.Stderr, "shard %d/%d: no model falls to it (%d models over %d shards); nothing to train\n",
			c.Shard, c.Shards, len(c.Specs), c.Shards)
		return nil
	}
	var jobs []job
	var runs []string
	totalEpochs := 0
	for _, spec := range mine {
		cfg := c.RunConfig(spec)
		p, why := PlanRun(cfg, c.Force, len(trainIdx), len(holdIdx))
		j := job{cfg: cfg, plan: p}
		switch p {
		case Reuse:
			fmt.Fprintf(env.Stderr, "%s: reusing %s: %s\n", spec, filepath.Dir(cfg.Out), why)
		case Resume:
			j.cfg.Resume = true
			if h, err := train.ReadHistory(cfg.HistoryPath()); err == nil {
				j.done = len(h.Epochs)
			}
			fmt.Fprintf(env.Stderr, "%s: resuming %s: %s\n", spec, filepath.Dir(cfg.Out), why)
		default:
			fmt.Fprintf(env.Stderr, "%s: training in %s: %s\n", spec, filepath.Dir(cfg.Out), why)
		}
		if p != Reuse {
			totalEpochs += cfg.Epochs - j.done
		}
		jobs = append(jobs, j)
		runs = append(runs, filepath.Dir(cfg.Out))
	}

	if totalEpochs > 0 {
		trainJobs := c.trainAll
		if len(c.Devices) > 1 {
			trainJobs = c.trainParallel
		}
		if err := trainJobs(ctx, env, set, jobs, totalEpochs); err != nil {
			return err
		}
	}
	if c.Shards > 0 {
		are := "are"
		if len(mine) == 1 {
			are = "is"
		}
		fmt.Fprintf(env.Stdout, "shard %d/%d done: %d of the %d model%s %s in %s; when every shard is done, merge them with: fkd report %s\n",
			c.Shard, c.Shards, len(mine), len(c.Specs), plural(len(c.Specs)), are, filepath.Join(c.Out, "runs"), c.Out)
		return nil
	}
	dev := c.Config.Device
	if len(c.Devices) > 0 {
		dev = c.Devices[0].String()
	}
	evalDev, err := torch.ParseDevice(dev)
	if err != nil {
		return err
	}
	torch.SetNumThreads(c.Config.Threads)
	return env.Build(set, filepath.Base(c.Data), report.Runs(runs...), c.Out, evalDev)
}

// trainAll trains the jobs that need it, one after the other, showing the
// models done of those to train and the time left.
func (c *Comparison) trainAll(ctx context.Context, env *report.Env, set *dataset.Set, jobs []job, totalEpochs int) error {
	toTrain := 0
	for _, j := range jobs {
		if j.plan != Reuse {
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
		if j.plan == Reuse {
			continue
		}
		spec, cfg := j.cfg.Model, j.cfg
		if err := os.MkdirAll(filepath.Dir(cfg.Out), 0o755); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		var log io.Writer
		if !env.Terminal {
			log = env.Stderr
		}
		warnings := trainLog(env, log, spec)
		opts := train.Options{Log: warnings}
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
		warnings.Flush()
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
// WriteManifest).
func (c *Comparison) writeManifest() error {
	abs, err := filepath.Abs(c.Data)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	m := &report.Manifest{Models: c.Specs, Shards: max(1, c.Shards), Train: abs}
	for _, s := range c.Specs {
		rel, err := filepath.Rel(c.Out, c.RunDir(s))
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		m.Runs = append(m.Runs, filepath.ToSlash(rel))
	}
	return WriteManifest(c.Out, m, c.Shards > 0 && !c.Force)
}
