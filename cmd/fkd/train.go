package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "train",
		summary: "train a keypoint network; save the best model, its history and a submission",
		usage:   "[--model cnn3] [--epochs N] [--resume] [flags]",
		run:     runTrain,
	})
}

// trainOptions holds the flags of "fkd train" besides the training
// settings themselves.
type trainOptions struct {
	cfg                     train.Config
	loss                    string
	aug                     augmentFlags
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
	fs.StringVar(&o.outfile, "outfile", "", "the submission (default: submission.csv beside --out)")
	fs.StringVar(&c.Model, "model", c.Model, `architecture and options, e.g. "cnn3", "tinyresnet", "fpn:width=48" (see fkd models)`)
	trainingFlags(fs, c, &o.loss)
	fs.IntVar(&c.StepSize, "step-size", c.StepSize, "step schedule: epochs between decays (0: a third of --epochs)")
	fs.Float64Var(&c.StepGamma, "step-gamma", c.StepGamma, "step schedule: factor at each decay")
	fs.BoolVar(&o.aug.flip, "flip", false, "augment: mirror half the faces, swapping left and right keypoints")
	fs.Float64Var(&o.aug.rotate, "rotate", 0, "augment: rotate by up to ± this many degrees")
	fs.Float64Var(&o.aug.jitter, "jitter", 0, "augment: shift by up to ± this many pixels")
	fs.Float64Var(&o.aug.scale, "scale", 0, "augment: zoom by a factor within 1 ± this")
	fs.Float64Var(&o.aug.brightness, "brightness", 0, "augment: scale grey levels by a factor within 1 ± this")
	fs.Float64Var(&o.aug.contrast, "contrast", 0, "augment: scale contrast by a factor within 1 ± this")
	fs.StringVar(&c.Checkpoint, "checkpoint", c.Checkpoint, "checkpoint file (default: --out with the extension .ckpt)")
	fs.BoolVar(&c.Resume, "resume", false, "continue the run saved in the checkpoint, with its settings and data files")
	fs.BoolVar(&c.DropOutliers, "drop-outliers", false, "leave faces whose keypoints look mislabelled (see fkd data check) out of training and of the hold-out score")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "train", "test", "lookup", "out", "outfile", "checkpoint")
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
	fs.Float64Var(&c.Holdout, "holdout", c.Holdout, "fraction of the faces held out to pick the best epoch (0: none)")
	fs.IntVar(&c.Patience, "patience", c.Patience, "stop after this many epochs without a better hold-out RMSE (0: never)")
	fs.Float64Var(&c.ClipNorm, "clip", c.ClipNorm, "clip the gradients' joint L2 norm to this (0: no clipping)")
	fs.StringVar(&c.AMP, "amp", c.AMP, "mixed precision on CUDA: bf16 or fp16")
	fs.StringVar(&c.Augment, "augment", "none", "augmentation recipe: none, light, default or heavy, optionally with changes (\"default,rotate=5\")")
}

// trainDataFlags maps the config file's data keys to flags of "fkd train".
var trainDataFlags = map[string]string{"train": "train", "test": "test", "lookup": "lookup"}

func runTrain(fs *pflag.FlagSet, args []string) error {
	o := &trainOptions{stdout: os.Stdout, stderr: os.Stderr}
	if info, err := os.Stderr.Stat(); err == nil {
		o.stderrTerminal = info.Mode()&os.ModeCharDevice != 0
	}
	if err := o.setup(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// A signal cancels with its own cause; stop, with Canceled itself.
		if cause := context.Cause(ctx); cause != context.Canceled {
			stop() // a second signal ends the process at once
			fmt.Fprintf(o.stderr, "\n%v: finishing the step and saving a checkpoint (signal again to quit at once)\n", cause)
		}
	}()
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
	if err := applyConfig(fs, "train", *o.configPath, o.commandLine["config"], trainDataFlags); err != nil {
		return err
	}
	if o.cfg.Resume {
		if err := o.takeCheckpointSettings(fs); err != nil {
			return err
		}
	}
	loss, err := train.ParseLoss(o.loss)
	if err != nil {
		return usagef("--loss: %v", err)
	}
	o.cfg.Loss = loss
	if o.cfg.Augment, err = o.aug.recipe(fs, o.cfg.Augment); err != nil {
		return usagef("%v", err)
	}
	if err := o.cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if o.outfile == "" {
		o.outfile = filepath.Join(filepath.Dir(o.cfg.Out), "submission.csv")
	}
	o.dataPaths = train.DataPaths{Train: keptPath(o.trainPath), Test: keptPath(o.test), Lookup: keptPath(o.lookup)}
	return nil
}

// keptPath returns path made absolute, for a checkpoint to keep; "" when
// it names no file that can be read again (standard input, a pipe).
func keptPath(path string) string {
	if path == "" || path == "-" {
		return ""
	}
	if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	return abs
}

// submits reports whether a submission is written after training: when
// the test file and the lookup table exist.
func (o *trainOptions) submits() error {
	for _, f := range []struct{ flag, path string }{{"--test", o.test}, {"--lookup", o.lookup}} {
		if f.path == "" {
			return fmt.Errorf("no %s file given", f.flag)
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
	}
	return nil
}

// checkOutputs checks that every file the run writes can be written
// before any work, naming the flag of a path that cannot.
func (o *trainOptions) checkOutputs() error {
	paths := []struct{ what, path string }{
		{"--out", o.cfg.Out}, {"--checkpoint", o.cfg.CheckpointPath()}, {"history", o.cfg.HistoryPath()},
	}
	if o.submits() == nil {
		paths = append(paths, struct{ what, path string }{"--outfile", o.outfile})
	}
	for _, p := range paths {
		if err := atomicfile.Check(p.path); err != nil {
			return fmt.Errorf("%s: %w", p.what, err)
		}
	}
	return nil
}

// checkpointDataFlags are the data flags a resumed run takes from its
// checkpoint's DataPaths unless the command line gives them; they
// outrank the config file.
var checkpointDataFlags = []string{"train", "test", "lookup"}

// augmentFlags are the single-setting augmentation flags of "fkd train".
type augmentFlags struct {
	flip                                        bool
	rotate, jitter, scale, brightness, contrast float64
}

// recipe returns the augmentation recipe: the --augment recipe with the
// single-setting flags given on the command line (or in the config file)
// applied on top, in augment.ParseRecipe's canonical form.
func (a augmentFlags) recipe(fs *pflag.FlagSet, base string) (string, error) {
	items := []string{base}
	if fs.Changed("flip") {
		items = append(items, map[bool]string{true: "flip", false: "noflip"}[a.flip])
	}
	for _, kv := range []struct {
		name  string
		value float64
	}{
		{"rotate", a.rotate}, {"jitter", a.jitter}, {"scale", a.scale},
		{"brightness", a.brightness}, {"contrast", a.contrast},
	} {
		if fs.Changed(kv.name) {
			items = append(items, kv.name+"="+strconv.FormatFloat(kv.value, 'g', -1, 64))
		}
	}
	o, err := augment.ParseRecipe(strings.Join(items, ","))
	if err != nil {
		return "", fmt.Errorf("augmentation: %v", err)
	}
	return o.String(), nil
}

// takeCheckpointSettings sets the flags the command line left alone to
// the settings of the run being resumed, which outrank the config file.
func (o *trainOptions) takeCheckpointSettings(fs *pflag.FlagSet) error {
	ck, err := train.ReadCheckpoint(o.cfg.CheckpointPath())
	if err != nil {
		return err
	}
	c := ck.Config
	for _, st := range train.Settings {
		if !st.Kept || o.commandLine[st.Flag] {
			continue
		}
		if err := fs.Set(st.Flag, st.FlagValue(&c)); err != nil {
			return fmt.Errorf("checkpoint %s: setting %s=%q: %v", ck.Path, st.Flag, st.FlagValue(&c), err)
		}
	}
	if !o.commandLine["checkpoint"] {
		// --out may have moved the default checkpoint path; keep the one read.
		o.cfg.Checkpoint = ck.Path
	}
	kept := map[string]string{"train": ck.DataPaths.Train, "test": ck.DataPaths.Test, "lookup": ck.DataPaths.Lookup}
	for _, name := range checkpointDataFlags {
		if o.commandLine[name] || kept[name] == "" {
			continue
		}
		if err := fs.Set(name, kept[name]); err != nil {
			return fmt.Errorf("checkpoint %s: setting %s=%q: %v", ck.Path, name, kept[name], err)
		}
	}
	return nil
}

// run trains, then writes the submission when the test files exist.
func (o *trainOptions) run(ctx context.Context) error {
	start := time.Now()
	if err := o.checkOutputs(); err != nil {
		return err
	}
	if atomicfile.IsStdout(o.outfile) {
		// The submission goes to standard output: nothing else may.
		o.stdout = o.stderr
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
	res, err := train.Run(ctx, o.cfg, set, opts)
	var ie *train.InterruptedError
	if errors.As(err, &ie) {
		return fmt.Errorf("%v; continue with: %s", err, o.resumeCommand(ie.Checkpoint))
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

	if err := o.submits(); err != nil {
		fmt.Fprintf(o.stderr, "no submission written: %v\n", err)
		return nil
	}
	removeStale(o.stderr, o.outfile, start)
	return writeSubmission(o.stdout, o.stderr, res.Model, res.Meta, o.test, o.lookup, o.outfile)
}

// resumeCommand returns the command that continues the run whose
// checkpoint is at path, as the user can type it: the checkpoint keeps
// the data files, except one it could not (standard input), which the
// command names.
func (o *trainOptions) resumeCommand(path string) string {
	cmd := "fkd train --resume --checkpoint " + shellQuote(path)
	if o.dataPaths.Train == "" {
		cmd += fmt.Sprintf(" --train FILE (the training data came from %s, which cannot be read again: give the same data)", o.trainPath)
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,:=+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// removeStale removes the temporary files an interrupted fkd left beside
// path, older than start, and says so on w.
func removeStale(w io.Writer, path string, start time.Time) {
	removed, err := atomicfile.RemoveStale(path, start)
	for _, name := range removed {
		fmt.Fprintf(w, "removed %s, a temporary file an interrupted run left\n", name)
	}
	if err != nil {
		fmt.Fprintf(w, "warning: %v\n", err)
	}
}
