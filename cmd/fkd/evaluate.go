package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "evaluate",
		summary: "score a trained model on training data: RMSE overall and per keypoint",
		usage:   "--model FILE [--data FILE] [--holdout FRAC --seed N] [--tta flip]",
		run:     runEvaluate,
	})
}

// evaluateOptions holds the flags of "fkd evaluate".
type evaluateOptions struct {
	model, data string
	ttaName     string    // --tta
	tta         train.TTA // parsed from ttaName
	holdout     float64
	seed        int64
	device      string
	threads     int
	configPath  *string
}

// evaluateDataFlags maps the config file's data keys to flags of "fkd evaluate".
var evaluateDataFlags = map[string]string{"train": "data"}

func evaluateFlags(fs *pflag.FlagSet, o *evaluateOptions) {
	fs.StringVar(&o.model, "model", "output/model.pt", "the model, as fkd train saved it")
	fs.StringVar(&o.data, "data", "data/training.csv", "faces with keypoints: training.csv or a zip holding it")
	fs.Float64Var(&o.holdout, "holdout", 0, "score the hold-out part of this fraction of the faces; 0: all of them (default: the model's own hold-out part)")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the hold-out split (default: the model's own)")
	addTTAFlag(fs, &o.ttaName)
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "model", "data")
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
	if !(o.holdout >= 0 && o.holdout < 1) {
		return usagef("--holdout %v is outside [0, 1)", o.holdout)
	}
	if o.threads < 0 {
		return usagef("--threads %d is negative", o.threads)
	}
	var err error
	if o.tta, err = parseTTAFlag(o.ttaName); err != nil {
		return err
	}
	dev, err := torch.ParseDevice(o.device)
	if err != nil {
		return err
	}
	torch.SetNumThreads(o.threads)
	return o.run(os.Stdout, os.Stderr, dev, fs.Changed("holdout"), fs.Changed("seed"))
}

func (o *evaluateOptions) run(stdout, stderr io.Writer, dev torch.Device, holdoutSet, seedSet bool) error {
	m, meta, err := report.LoadModel(o.model, dev)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	set, rep, err := dataset.ReadTraining(o.data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)

	// By default score the faces the model was not trained on: its own
	// hold-out part, which the model file records.
	what := "all faces (including any the model was trained on)"
	own := false // scoring the model's own hold-out part
	if !holdoutSet && !seedSet {
		h, herr := strconv.ParseFloat(meta.Extra[train.ExtraHoldout], 64)
		s, serr := strconv.ParseInt(meta.Extra[train.ExtraSeed], 10, 64)
		if herr == nil && serr == nil && h > 0 {
			o.holdout, o.seed, own = h, s, true
		}
	}
	if o.holdout > 0 {
		_, idx := dataset.Split(set, o.holdout, o.seed)
		if len(idx) == 0 {
			return fmt.Errorf("a hold-out fraction of %v of %d faces holds out none", o.holdout, set.Len())
		}
		what = fmt.Sprintf("the hold-out part (fraction %v, seed %d)", o.holdout, o.seed)
		// A model trained with --drop-outliers was scored without them.
		var cfg train.Config
		if own && json.Unmarshal([]byte(meta.Extra[train.ExtraConfig]), &cfg) == nil && cfg.DropOutliers {
			drop := map[int]bool{}
			for _, out := range dataset.Outliers(set) {
				drop[out.Row] = true
			}
			n := len(idx)
			idx = slices.DeleteFunc(idx, func(i int) bool { return drop[i] })
			what += fmt.Sprintf(" less its %d outliers, as the model was trained (--drop-outliers)", n-len(idx))
			if len(idx) == 0 {
				return fmt.Errorf("every hold-out face is an outlier")
			}
		}
		set = set.Subset(idx)
	}
	ev, err := train.Evaluate(train.WithTTA(m, o.tta), set)
	if err != nil {
		return err
	}
	if o.tta != train.NoTTA {
		what += ", test-time augmentation " + o.tta.String()
	}
	fmt.Fprintf(stdout, "%s on %d faces of %s, %s\n\n", meta.Spec, ev.Faces, o.data, what)
	return writeEvaluation(stdout, ev)
}

// writeEvaluation prints the RMSE per keypoint and overall, with how many
// faces have each keypoint.
func writeEvaluation(w io.Writer, ev train.Evaluation) error {
	width := len("all keypoints")
	for _, name := range dataset.Keypoints {
		width = max(width, len(name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tfaces\tRMSE\t\n", width, "keypoint")
	for k, name := range dataset.Keypoints {
		fmt.Fprintf(tw, "%-*s\t%d\t%.3f\t\n", width, name, ev.Present[k], ev.PerKeypoint[k])
	}
	fmt.Fprintf(tw, "%-*s\t%d\t%.3f\t\n", width, "all keypoints", ev.Faces, ev.RMSE)
	return tw.Flush()
}
