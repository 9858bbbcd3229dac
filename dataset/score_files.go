package dataset

import (
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"
)

// ScoreFiles scores the submission file at subPath against the solution
// file at solPath (see ScoreSubmission).
func ScoreFiles(subPath, solPath string) (Score, error) {
	sub, err := os.Open(subPath)
	if err != nil {
		return Score{}, err
	}
	defer sub.Close()
	sol, err := os.Open(solPath)
	if err != nil {
		return Score{}, err
	}
	defer sol.Close()
	score, err := ScoreSubmission(sub, sol)
	if err != nil {
		return Score{}, fmt.Errorf("score %s against %s: %w", subPath, solPath, err)
	}
	return score, nil
}

// Write writes the score: a line with the RMSE and the rows scored, then,
// when the solution named the keypoints, a table of each keypoint's RMSE
// ("-" for one not scored).
func (s Score) Write(w io.Writer) error {
	fmt.Fprintf(w, "RMSE %.4f over %d scored rows\n", s.RMSE, s.Scored)
	perKeypoint := false
	for _, v := range s.PerKeypoint {
		perKeypoint = perKeypoint || !math.IsNaN(v)
	}
	if !perKeypoint {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "keypoint\tRMSE")
	for k, name := range Keypoints {
		v := "-"
		if !math.IsNaN(s.PerKeypoint[k]) {
			v = fmt.Sprintf("%.4f", s.PerKeypoint[k])
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, v)
	}
	return tw.Flush()
}
