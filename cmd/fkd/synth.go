package main

import (
	"github.com/fkd-project/fkd/internal/atomicfile"

	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func init() {
	register(&command{
		name:    "synth",
		summary: "write a synthetic data set of cartoon faces in Kaggle's file formats",
		usage:   "--out DIR [--n 2000] [--test 500] [--seed 1] [flags]",
		run:     runSynth,
	})
}

// synthOptions holds the flags of "fkd synth".
type synthOptions struct {
	out       string
	n, test   int
	seed      int64
	partial   float64
	full      float64
	symmetric bool
	clean     bool
}

func runSynth(fs *pflag.FlagSet, args []string) error {
	var o synthOptions
	fs.StringVar(&o.out, "out", "", "directory to write the files into (made if missing)")
	fs.IntVar(&o.n, "n", 2000, "training faces")
	fs.IntVar(&o.test, "test", 500, "test faces")
	fs.Int64Var(&o.seed, "seed", 1, "random seed; the same seed writes the same files")
	fs.Float64Var(&o.partial, "partial", 0.7, "fraction of training faces with only the 4 common keypoints, as in Kaggle")
	fs.Float64Var(&o.full, "full", 1.0/3, "fraction of test faces whose lookup rows ask for all 30 coordinates (the rest ask for 8)")
	fs.BoolVar(&o.symmetric, "symmetric", false, "draw upright, mirror-symmetric faces at the image centre without noise")
	fs.BoolVar(&o.clean, "clean", false, "draw without pixel noise or background gradient")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usagef("unexpected arguments %q", fs.Args())
	case o.out == "":
		return usagef("--out is required")
	case o.n < 0 || o.test < 0:
		return usagef("--n and --test must not be negative")
	case !(o.partial >= 0 && o.partial <= 1):
		return usagef("--partial %v is outside [0, 1]", o.partial)
	case !(o.full >= 0 && o.full <= 1):
		return usagef("--full %v is outside [0, 1]", o.full)
	}
	return o.run(os.Stdout)
}

// synthFiles are the files "fkd synth" writes, in the order written.
var synthFiles = []string{"training.csv", "test.csv", "IdLookupTable.csv", "SampleSubmission.csv", "solution.csv"}

func (o *synthOptions) run(w io.Writer) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	opt := synth.Options{PartialFrac: o.partial, Symmetric: o.symmetric, Clean: o.clean}
	train := synth.Generate(o.n, o.seed, opt)
	opt.PartialFrac = 0 // the solution knows every test keypoint
	test := synth.Generate(o.test, o.seed+1<<32, opt)
	rows := synth.LookupTable(test.IDs, o.full, o.seed)
	truth := dataset.NewPredictions(test.IDs, test.Coords, test.Mask)
	var zero [dataset.NumCoords]float32

	writers := map[string]func(io.Writer) error{
		"training.csv":      func(f io.Writer) error { return dataset.WriteTraining(f, train) },
		"test.csv":          func(f io.Writer) error { return dataset.WriteTest(f, test) },
		"IdLookupTable.csv": func(f io.Writer) error { return dataset.WriteLookup(f, rows) },
		"SampleSubmission.csv": func(f io.Writer) error {
			_, err := dataset.EncodeSubmission(f, rows, nil, zero)
			return err
		},
		"solution.csv": func(f io.Writer) error {
			_, err := dataset.EncodeSubmissionLong(f, rows, truth, zero)
			return err
		},
	}
	for _, name := range synthFiles {
		if err := atomicfile.Write(filepath.Join(o.out, name), writers[name]); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "wrote %d training faces (%d with all keypoints), %d test faces and %d lookup rows to %s\n",
		train.Len(), countComplete(train), test.Len(), len(rows), o.out)
	fmt.Fprintf(w, "solution.csv holds the true Location of every lookup row: fkd score --submission FILE --solution %s\n",
		filepath.Join(o.out, "solution.csv"))
	return nil
}

func countComplete(s *dataset.Set) int {
	n := 0
	for i := range s.Len() {
		if s.Complete(i) {
			n++
		}
	}
	return n
}
