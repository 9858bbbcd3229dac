package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset/synth"
)

func init() {
	register(&command{name: "synth", run: runSynth,
		summary: "write a synthetic data set of cartoon faces in Kaggle's file formats",
		usage:   "--out DIR [--train-faces 2000] [--test-faces 500] [--seed 1] [flags]"})
}

func runSynth(fs *pflag.FlagSet, args []string) error {
	start := time.Now()
	var out string
	var n, test int
	var seed int64
	var full float64
	var opt synth.Options
	fs.StringVar(&out, "out", "", "directory to write the files into (made if missing)")
	fs.IntVar(&n, "train-faces", 2000, "training faces")
	fs.IntVar(&test, "test-faces", 500, "test faces")
	alias(fs, "n", "train-faces")
	alias(fs, "test", "test-faces")
	fs.Int64Var(&seed, "seed", 1, "random seed; the same seed writes the same files")
	fs.Float64Var(&opt.PartialFrac, "partial", 0.7, "fraction of training faces with only the 4 common keypoints, as in Kaggle")
	fs.Float64Var(&full, "full", 1.0/3, "fraction of test faces whose lookup rows ask for all 30 coordinates (the rest ask for 8)")
	fs.BoolVar(&opt.Symmetric, "symmetric", false, "draw upright, mirror-symmetric faces at the image centre without noise")
	fs.BoolVar(&opt.Clean, "clean", false, "draw without pixel noise or background gradient")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usagef("unexpected arguments %q", fs.Args())
	case out == "":
		return usagef("--out is required")
	case n < 0 || test < 0:
		return usagef("--n and --test must not be negative")
	case !(opt.PartialFrac >= 0 && opt.PartialFrac <= 1):
		return usagef("--partial %v is outside [0, 1]", opt.PartialFrac)
	case !(full >= 0 && full <= 1):
		return usagef("--full %v is outside [0, 1]", full)
	}
	// Every file is checked before any is written, so that one that
	// cannot be written fails before the others are replaced.
	var f files
	for _, name := range synth.FileNames {
		f.output("a file of the data set", filepath.Join(out, name))
	}
	if err := f.check(); err != nil {
		return err
	}
	f.tidy(os.Stderr, start)
	s, err := synth.WriteFiles(out, n, test, seed, full, opt)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d training faces (%d with all keypoints), %d test faces and %d lookup rows to %s\n",
		s.Train, s.Complete, s.Test, s.Lookup, out)
	fmt.Printf("solution.csv holds the true Location of every lookup row: fkd score --submission FILE --solution %s\n",
		filepath.Join(out, "solution.csv"))
	return nil
}
