package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score a submission against a solution file with the competition's RMSE",
		usage:   "--submission FILE --solution FILE",
		run:     runScore,
	})
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
	return scoreFiles(os.Stdout, sub, sol)
}

func scoreFiles(w io.Writer, subPath, solPath string) error {
	sub, err := os.Open(subPath)
	if err != nil {
		return err
	}
	defer sub.Close()
	sol, err := os.Open(solPath)
	if err != nil {
		return err
	}
	defer sol.Close()
	score, err := dataset.ScoreSubmission(sub, sol)
	if err != nil {
		return fmt.Errorf("score %s against %s: %w", subPath, solPath, err)
	}
	fmt.Fprintf(w, "RMSE %.4f over %d scored rows\n", score.RMSE, score.Scored)
	perKeypoint := false
	for _, v := range score.PerKeypoint {
		perKeypoint = perKeypoint || !math.IsNaN(v)
	}
	if !perKeypoint {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "keypoint\tRMSE")
	for k, name := range dataset.Keypoints {
		v := "-"
		if !math.IsNaN(score.PerKeypoint[k]) {
			v = fmt.Sprintf("%.4f", score.PerKeypoint[k])
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, v)
	}
	return tw.Flush()
}
