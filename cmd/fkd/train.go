package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/submission"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{name: "train", run: runTrain,
		summary: "train a keypoint network; save the best model, its history and a submission",
		usage:   "[--arch cnn3] [--epochs N] [--resume] [flags]"})
}

// trainOptions holds the flags of "fkd train" besides the training
// settings themselves.
type trainOptions struct {
	cfg                     train.Config
	loss                    string
	trainPath, test, lookup string
	outfile                 string
	dataPaths               train.DataPaths // the data files as the checkpoint keeps them
	configPath              *string
	stdout, stderr          io.Writer
	stderrTerminal          bool
	commandLine             map[string]bool // flags given on the command line
}

// trainFlags registers the flags of "fkd train" on fs, with the built-in
// defaults.
func trainFlags(fs *pflag.FlagSet, o *trainOptions) {
	c := &o.cfg
	*c = train.DefaultConfig()
	fs.StringVar(&o.trainPath, "train", "data/training.csv", "Kaggle training data: training.csv or a zip holding it")
	fs.StringVar(&o.test, "test", "data/test.csv", "Kaggle test data; with --lookup, a submission is written after training when both exist")
	fs.StringVar(&o.lookup, "lookup", "data/IdLookupTable.csv", "IdLookupTable.csv, for the submission")
	fs.StringVar(&c.Out, "out", c.Out, "the trained model (safetensors); its history and checkpoint go beside it")
	fs.StringVar(&o.outfile, "submission", "", "the submission written after training (default: submission.csv beside --out)")
	fs.StringVar(&c.Model, "arch", c.Model, `architecture and options, e.g. "cnn3", "tinyresnet", "fpn:width=48" (see fkd models)`)
	trainingFlags(fs, c, &o.loss)
	fs.StringVar(&c.Checkpoint, "checkpoint", c.Checkpoint, "checkpoint file (default: --out with the extension .ckpt)")
	fs.BoolVar(&c.Resume, "resume", false, "continue the run saved in the checkpoint, with its settings and data files")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "train", "test", "lookup", "out", "submission", "checkpoint")
	alias(fs, "model", "arch")
	alias(fs, "outfile", "submission")
}

// trainingFlags registers the flags that shape a training run, shared by
// "fkd train" and "fkd compare", with c's values as defaults.
func trainingFlags(fs *pflag.FlagSet, c *train.Config, loss *string) {
	fs.IntVar(&c.Epochs, "epochs", c.Epochs, "passes over the training faces")
	fs.IntVar(&c.Batch, "batch", c.Batch, "faces per optimiser step")
	fs.Float64Var(&c.LR, "lr", c.LR, "learning rate (the peak for onecycle)")
	fs.StringVar(&c.Optimizer, "optimizer", c.Optimizer, "adamw, adam or sgd (Nesterov momentum 0.9)")
	fs.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate schedule: cosine, step, onecycle or none")
	fs.IntVar(&c.Warmup, "warmup", c.Warmup, "epochs of linear warm-up before cosine, step or none")
	fs.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "weight decay (decoupled for adamw)")
	fs.StringVar(loss, "loss", string(c.Loss), "mse, huber or wing")
	fs.StringVar(&c.Device, "device", c.Device, "auto, cpu, cuda or cuda:N")
	fs.IntVar(&c.Threads, "threads", c.Threads, "LibTorch CPU threads (0: one per core)")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the split, the initial weights, the batch order and dropout")
	fs.Int64Var(&c.SplitSeed, "split-seed", c.SplitSeed, "seed of the split instead of --seed, so that runs of other seeds share one hold-out part (0: --seed)")
	fs.Float64Var(&c.Holdout, "holdout", c.Holdout, "fraction of the faces held out to pick the best epoch (0: none)")
	fs.IntVar(&c.Patience, "patience", c.Patience, "stop after this many epochs without a better hold-out RMSE (0: never)")
	fs.Float64Var(&c.ClipNorm, "clip", c.ClipNorm, "clip the gradients' joint L2 norm to this (0: no clipping)")
	fs.StringVar(&c.AMP, "amp", c.AMP, "mixed precision on CUDA: bf16 or fp16")
	fs.StringVar(&c.MemoryFormat, "memory-format", c.MemoryFormat, "layout of the convolutions' tensors: channels-last, contiguous, or auto (channels last on the CPU, where it is faster)")
	fs.Float64Var(&c.EMA, "ema", c.EMA, "keep an exponential moving average of the weights with this decay (e.g. 0.999) and save it when it scores better (0: none)")
	fs.StringSliceVar(&c.PseudoLabels, "pseudo-labels", c.PseudoLabels, "teacher models (comma-separated; none trained on this run's hold-out faces) whose flip-TTA predictions fill the training faces' missing keypoints")
	fs.Float64Var(&c.HeatmapLoss, "heatmap-loss", c.HeatmapLoss, "weight of a loss on the heatmaps beside the coordinate loss, for a heatmap head (fpnheat); 0: none")
	fs.Float64Var(&c.PseudoWeight, "pseudo-weight", c.PseudoWeight, "weight in the loss of a pseudo-labelled coordinate, below a true label's 1 (0: the default, 0.5)")
	fs.StringVar(&c.Augment, "augment", "none", "augmentation recipe: none, light, default or heavy, optionally with changes (\"default,rotate=5\")")
	fs.IntVar(&c.StepSize, "step-size", c.StepSize, "step schedule: epochs between decays (0: a third of --epochs)")
	fs.Float64Var(&c.StepGamma, "step-gamma", c.StepGamma, "step schedule: factor at each decay")
	augmentFlags(fs, "augment: mirror half the faces, swapping left and right keypoints", "augment: rotate by up to ± this many degrees",
		"augment: shift by up to ± this many pixels", "augment: zoom by a factor within 1 ± this",
		"augment: scale grey levels by a factor within 1 ± this", "augment: scale contrast by a factor within 1 ± this")
	fs.BoolVar(&c.DropOutliers, "drop-outliers", c.DropOutliers, "leave faces whose keypoints look mislabelled (see fkd data check) out of training and of the hold-out score")
}

// finishTrainingFlags completes c from the flags trainingFlags
// registered, once the command line and the config file are read: the
// loss by name, the augmentation recipe with the single settings on top,
// and the config file the settings came from. fkd train and fkd compare
// share it, so that both train a model alike.
func finishTrainingFlags(fs *pflag.FlagSet, c *train.Config, loss string) error {
	l, err := train.ParseLoss(loss)
	if err != nil {
		return usagef("--loss: %v", err)
	}
	c.Loss = l
	recipe, err := augment.ParseRecipe(strings.Join(append([]string{c.Augment}, augmentItems(fs)...), ","))
	if err != nil {
		return usagef("augmentation: %v", err)
	}
	c.Augment = recipe.String()
	c.ConfigFile = configUsed
	return nil
}

// augmentFlagNames are the single-setting augmentation flags, in the
// order they apply on top of --augment.
var augmentFlagNames = []string{"flip", "rotate", "jitter", "scale", "brightness", "contrast"}

// augmentFlags registers the single-setting augmentation flags, with the
// help texts in the order of augmentFlagNames; augmentItems reads them.
func augmentFlags(fs *pflag.FlagSet, help ...string) {
	fs.Bool("flip", false, help[0])
	for i, name := range augmentFlagNames[1:] {
		fs.Float64(name, 0, help[i+1])
	}
}

// augmentItems returns the recipe items (augment.ParseRecipe) of the
// single-setting flags given on the command line or in the config file.
func augmentItems(fs *pflag.FlagSet) []string {
	var items []string
	for _, name := range augmentFlagNames {
		switch f := fs.Lookup(name); {
		case !f.Changed:
		case name == "flip":
			items = append(items, map[string]string{"true": "flip", "false": "noflip"}[f.Value.String()])
		default:
			items = append(items, name+"="+f.Value.String())
		}
	}
	return items
}

func runTrain(fs *pflag.FlagSet, args []string) error {
	o := &trainOptions{stdout: os.Stdout, stderr: os.Stderr}
	if info, err := os.Stderr.Stat(); err == nil {
		o.stderrTerminal = info.Mode()&os.ModeCharDevice != 0
	}
	if err := o.setup(fs, args); err != nil {
		return err
	}
	ctx, stop := train.Interruptible(o.stderr)
	defer stop()
	return o.run(ctx)
}

// setup parses the command line, then fills what it left alone from the
// checkpoint when resuming, then from the config file, and checks the
// result.
func (o *trainOptions) setup(fs *pflag.FlagSet, args []string) error {
	trainFlags(fs, o)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	o.commandLine = commandLineFlags(fs)
	dataFlags := map[string]string{"train": "train", "test": "test", "lookup": "lookup"}
	if err := applyConfig(fs, "train", *o.configPath, o.commandLine["config"], dataFlags); err != nil {
		return err
	}
	if o.cfg.Resume { // the run's settings and data files outrank the config file
		ck, err := train.ReadCheckpoint(o.cfg.CheckpointPath())
		if err != nil {
			return err
		}
		if err := ck.SetFlags(fs.Set, o.commandLine); err != nil {
			return err
		}
		if !o.commandLine["checkpoint"] {
			o.cfg.Checkpoint = ck.Path // --out may have moved the default checkpoint path
		}
	}
	if err := finishTrainingFlags(fs, &o.cfg, o.loss); err != nil {
		return err
	}
	if err := o.cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if o.outfile == "" {
		o.outfile = filepath.Join(filepath.Dir(o.cfg.Out), "submission.csv")
	}
	o.dataPaths = train.DataPaths{Train: train.KeptPath(o.trainPath), Test: train.KeptPath(o.test), Lookup: train.KeptPath(o.lookup)}
	return nil
}

// run checks every output, trains, then writes the submission when the
// test files exist.
func (o *trainOptions) run(ctx context.Context) error {
	start := time.Now()
	outfile := "" // the submission's, when one follows training
	if submission.Inputs(o.test, o.lookup) == nil {
		outfile = o.outfile
	}
	if err := o.cfg.CheckOutputFlags(outfile); err != nil {
		return err
	}
	if err := o.files(outfile).check(); err != nil {
		return err
	}
	if err := checkInput("--train", o.trainPath); err != nil {
		return err
	}
	if atomicfile.IsStdout(o.outfile) {
		o.stdout = o.stderr // the submission goes to standard output: nothing else may
	}
	set, rep, err := dataset.ReadTraining(o.trainPath, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	opts := train.Options{Log: o.stderr, Data: o.dataPaths}
	if o.stderrTerminal {
		opts.Progress = o.stderr
	}
	flushConfigNoteTo(o.stderr, true) // where the settings came from, with the run's log
	res, err := train.Run(ctx, o.cfg, set, opts)
	if ie := (*train.InterruptedError)(nil); errors.As(err, &ie) {
		return fmt.Errorf("%v; continue with: %s", err, o.dataPaths.ResumeCommand(ie.Checkpoint, o.trainPath))
	}
	if err != nil {
		return err
	}
	defer res.Model.Store().Free()
	fmt.Fprintf(o.stdout, "saved %s (%s): %s", o.cfg.Out, res.Meta.Spec, res.Stopped)
	if !math.IsNaN(res.BestHoldoutRMSEPx) {
		fmt.Fprintf(o.stdout, "; hold-out RMSE %.4f px at epoch %d", res.BestHoldoutRMSEPx, res.BestEpoch)
	}
	fmt.Fprintf(o.stdout, "\nhistory: %s\n", o.cfg.HistoryPath())
	if err := submission.Inputs(o.test, o.lookup); err != nil {
		fmt.Fprintf(o.stderr, "no submission written: %v\n", err)
		return nil
	}
	atomicfile.Tidy(o.stderr, o.outfile, start)
	// As fkd submit will predict with the saved file: the same rows.
	models.FoldBatchNorm(res.Model)
	return submission.Write(o.stdout, o.stderr, res.Model, res.Meta, o.test, o.lookup, o.outfile)
}

// files lists what the run reads and writes: outfile is the submission's,
// "" when none follows training. The checkpoint that --resume reads is
// one of the outputs.
func (o *trainOptions) files(outfile string) *files {
	var f files
	f.input("the training data", o.trainPath)
	f.input("the test data", o.test)
	f.input("the lookup table", o.lookup)
	for _, p := range o.cfg.PseudoLabels {
		f.model("the teacher", p)
	}
	if o.configPath != nil {
		f.config(*o.configPath)
	}
	f.output("--out", o.cfg.Out)
	f.output("--checkpoint", o.cfg.CheckpointPath())
	f.output("the history", o.cfg.HistoryPath())
	f.output("--submission", outfile)
	return &f
}

// trainingFlagNames returns the names of the flags that set how a model
// trains, shared by fkd train and fkd compare (trainingFlags and the
// single augmentation settings): the keys of the config file's train
// section that apply to fkd compare too.
func trainingFlagNames() []string {
	fs := pflag.NewFlagSet("", pflag.ContinueOnError)
	c := train.DefaultConfig()
	var loss string
	trainingFlags(fs, &c, &loss)
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	return names
}
