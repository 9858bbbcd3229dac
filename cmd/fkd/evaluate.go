package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
)

func init() {
	register(&command{name: "evaluate", run: runEvaluate,
		summary: "score a trained model on training data: RMSE overall and per keypoint",
		usage:   "--model FILE [--train FILE] [--holdout FRAC --seed N] [--drop-outliers] [--tta flip]"})
}

// evaluateOptions holds the flags of "fkd evaluate".
type evaluateOptions struct {
	eval.Faces
	model, data, tta, device string
	threads                  int
	configPath               *string
}

// evaluateDataFlags maps the config file's data keys to flags of "fkd evaluate".
var evaluateDataFlags = map[string]string{"train": "train"}

func evaluateFlags(fs *pflag.FlagSet, o *evaluateOptions) {
	fs.StringVar(&o.model, "model", "output/model.pt", "the model, as fkd train saved it")
	fs.StringVar(&o.data, "train", "data/training.csv", "faces with keypoints: training.csv or a zip holding it")
	fs.Float64Var(&o.Holdout, "holdout", 0, "score the hold-out part of this fraction of the faces; 0: all of them (default: the model's own hold-out part)")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the hold-out split (default: the model's own)")
	fs.BoolVar(&o.DropOutliers, "drop-outliers", false, "leave out the faces whose keypoints look mislabelled (see fkd data check), also when the model's run kept them")
	addTTAFlag(fs, &o.tta)
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "model", "train")
	alias(fs, "data", "train")
}

func runEvaluate(fs *pflag.FlagSet, args []string) error {
	var o evaluateOptions
	evaluateFlags(fs, &o)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if err := applyConfig(fs, "evaluate", *o.configPath, fs.Changed("config"), evaluateDataFlags); err != nil {
		return err
	}
	if !(o.Holdout >= 0 && o.Holdout < 1) {
		return usagef("--holdout %v is outside [0, 1)", o.Holdout)
	}
	if o.threads < 0 {
		return usagef("--threads %d is negative", o.threads)
	}
	tta, err := parseTTAFlag(o.tta)
	if err != nil {
		return err
	}
	dev, err := torch.ParseDevice(o.device)
	if err != nil {
		return err
	}
	if err := checkInput("--train", o.data); err != nil {
		return err
	}
	torch.SetNumThreads(o.threads)
	// By default, the faces the model was not trained on: its own hold-out
	// part, which its file records.
	o.Own = !fs.Changed("holdout") && !fs.Changed("seed")
	return evaluateModel(os.Stdout, os.Stderr, o.model, o.data, dev, tta, o.Faces)
}

// evaluateModel scores the model at modelPath (or an ensemble: see
// report.LoadModel), on dev and with test-time augmentation tta, on the
// faces of the labelled file at dataPath that f picks, and writes on
// stdout what it scored and the RMSE table (eval.Evaluation.WriteTable).
func evaluateModel(stdout, stderr io.Writer, modelPath, dataPath string, dev torch.Device, tta eval.TTA, f eval.Faces) error {
	m, meta, err := report.LoadModel(modelPath, dev)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	set, rep, err := dataset.ReadTraining(dataPath, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	set, what, err := f.Pick(set, meta)
	if err != nil {
		return err
	}
	ev, err := eval.Evaluate(eval.WithTTA(m, tta), set)
	if err != nil {
		return err
	}
	if tta != eval.NoTTA {
		what += ", test-time augmentation " + tta.String()
	}
	fmt.Fprintf(stdout, "%s on %d faces of %s, %s\n\n", meta.Spec, ev.Faces, dataPath, what)
	return ev.WriteTable(stdout)
}
