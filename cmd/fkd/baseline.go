package main

import (
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/report"
)

func init() {
	register(&command{name: "baseline", run: runBaseline,
		summary: "fit the mean or patch-search baseline; score a hold-out part or write a submission",
		usage:   "mean|patch --train FILE [--holdout FRAC] [--test FILE --lookup FILE --out FILE] [flags]"})
}

// baselineOptions holds the flags of "fkd baseline".
type baselineOptions struct {
	baselineJob
	patchFlagsSet []string // patch-only flags given on the command line
	env           *report.Env
}

func runBaseline(fs *pflag.FlagSet, args []string) error {
	o := baselineOptions{env: report.NewEnv(os.Stdout, os.Stderr)}
	fs.StringVar(&o.Train, "train", "", "Kaggle training data: training.csv or a zip holding it")
	fs.StringVar(&o.Test, "test", "", "Kaggle test data (test.csv or a zip), for --out")
	fs.StringVar(&o.Lookup, "lookup", "", "IdLookupTable.csv, for --out")
	fs.StringVar(&o.Out, "out", "", "write a submission for --test to this file, fitting on all of --train")
	alias(fs, "outfile", "out")
	fs.Float64Var(&o.Holdout, "holdout", 0, "score on this fraction of --train held out (e.g. 0.1), fitting on the rest")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the hold-out split")
	fs.IntVar(&o.PatchRadius, "patch-radius", baseline.DefaultPatchRadius, "patch: half the side of the square patches")
	fs.IntVar(&o.SearchRadius, "search-radius", baseline.DefaultSearchRadius, "patch: pixels searched either side of the mean position")
	fs.IntVar(&o.Workers, "workers", 0, "patch: goroutines searching faces (0: one per CPU)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "mean" && fs.Arg(0) != "patch") {
		return usagef("want one model, mean or patch, got %q", fs.Args())
	}
	o.Kind = fs.Arg(0)
	for _, name := range []string{"patch-radius", "search-radius", "workers"} {
		if fs.Changed(name) {
			o.patchFlagsSet = append(o.patchFlagsSet, name)
		}
	}
	if err := o.check(); err != nil {
		return err
	}
	return o.run()
}

// check validates the flag combination.
func (o *baselineOptions) check() error {
	switch {
	case o.Train == "":
		return usagef("--train is required")
	case o.Holdout < 0 || o.Holdout >= 1:
		return usagef("--holdout %v is outside [0, 1)", o.Holdout)
	case o.Out == "" && o.Holdout == 0:
		return usagef("nothing to do: give --holdout, or --out with --test and --lookup")
	case o.Out == "" && (o.Test != "" || o.Lookup != ""):
		return usagef("--test and --lookup need --out")
	case o.Out != "" && (o.Test == "" || o.Lookup == ""):
		return usagef("--out needs --test and --lookup")
	case o.Kind == "mean" && len(o.patchFlagsSet) > 0:
		return usagef("--%s applies to the patch baseline only", o.patchFlagsSet[0])
	case o.PatchRadius < 1:
		return usagef("--patch-radius %d is below 1", o.PatchRadius)
	case o.SearchRadius < 0:
		return usagef("--search-radius %d is negative", o.SearchRadius)
	}
	return nil
}

func (o *baselineOptions) run() error {
	start := time.Now()
	var f files
	if o.Out != "" {
		f.input("the training data", o.Train)
		f.input("the test data", o.Test)
		f.input("the lookup table", o.Lookup)
		f.output("--out", o.Out)
		if err := f.check(); err != nil {
			return err
		}
		f.tidy(o.env.Stderr, start)
	}
	return runBaselineJob(o.env, o.baselineJob)
}
