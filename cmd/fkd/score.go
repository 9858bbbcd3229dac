package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
)

func init() {
	register(&command{name: "score", run: runScore,
		summary: "score a submission against a solution file with the competition's RMSE",
		usage:   "--submission FILE --solution FILE"})
}

func runScore(fs *pflag.FlagSet, args []string) error {
	var sub, sol string
	fs.StringVar(&sub, "submission", "", "submission: RowId,Location")
	fs.StringVar(&sol, "solution", "", "solution: RowId,Location with the true coordinates (empty: not scored); a FeatureName column adds per-keypoint figures")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usagef("unexpected arguments %q", fs.Args())
	case sub == "" || sol == "":
		return usagef("--submission and --solution are required")
	}
	score, err := dataset.ScoreFiles(sub, sol)
	if err != nil {
		return err
	}
	return score.Write(os.Stdout)
}
