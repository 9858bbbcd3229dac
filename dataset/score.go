package dataset

import (
	"fmt"
	"io"
	"math"
	"strconv"
)

// Score is the result of comparing a submission with a solution.
type Score struct {
	RMSE   float64 // the competition's metric over the scored rows
	Scored int     // solution rows with a Location
	// PerKeypoint is each keypoint's RMSE when the solution has a
	// FeatureName column; NaN for keypoints not scored.
	PerKeypoint [NumKeypoints]float64
}

// ScoreSubmission scores a submission ("RowId,Location") against a
// solution file of the same shape whose Location holds the true
// coordinate, or is empty for a row that is not scored. Columns are found
// by header name, so the long format with ImageId and FeatureName works
// for either file; a FeatureName column in the solution enables the
// per-keypoint figures. The two files must hold the same RowIds, each
// once, in any order, and the submission must give a number for every
// scored row.
func ScoreSubmission(submission, solution io.Reader) (Score, error) {
	score := Score{RMSE: math.NaN()}
	for k := range score.PerKeypoint {
		score.PerKeypoint[k] = math.NaN()
	}
	type truth struct {
		line  int
		value float64
		coord int  // -1 when unknown
		has   bool // scored
	}
	sol, err := newTable(solution, "solution", "RowId", "Location", "FeatureName?")
	if err != nil {
		return score, err
	}
	want := map[int]*truth{}
	for {
		rec, line, err := sol.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return score, err
		}
		id, err := sol.positive(rec, 0, line)
		if err != nil {
			return score, err
		}
		if prev, dup := want[id]; dup {
			return score, sol.errorf(line, 0, "RowId %d repeats line %d", id, prev.line)
		}
		t := &truth{line: line, coord: -1}
		if s := sol.field(rec, 1); s != "" {
			if t.value, err = strconv.ParseFloat(s, 64); err != nil || math.IsNaN(t.value) || math.IsInf(t.value, 0) {
				return score, sol.errorf(line, 1, "%q is not a number", s)
			}
			t.has = true
		}
		if sol.has(2) {
			f := sol.field(rec, 2)
			c, ok := CoordIndex(f)
			if !ok {
				return score, sol.errorf(line, 2, "unknown feature %q", f)
			}
			t.coord = c
		}
		want[id] = t
	}

	sub, err := newTable(submission, "submission", "RowId", "Location")
	if err != nil {
		return score, err
	}
	seen := map[int]int{}
	var sum float64
	var kpSum [NumKeypoints]float64
	var kpN [NumKeypoints]int
	for {
		rec, line, err := sub.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return score, err
		}
		id, err := sub.positive(rec, 0, line)
		if err != nil {
			return score, err
		}
		if prev, dup := seen[id]; dup {
			return score, sub.errorf(line, 0, "RowId %d repeats line %d", id, prev)
		}
		seen[id] = line
		t, ok := want[id]
		if !ok {
			return score, sub.errorf(line, 0, "RowId %d is not in the solution", id)
		}
		if !t.has {
			continue
		}
		s := sub.field(rec, 1)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return score, sub.errorf(line, 1, "%q is not a number", s)
		}
		d := (v - t.value) * (v - t.value)
		sum += d
		score.Scored++
		if t.coord >= 0 {
			kpSum[t.coord/2] += d
			kpN[t.coord/2]++
		}
	}
	if len(seen) != len(want) {
		missing, line := 0, math.MaxInt
		for id, t := range want {
			if _, ok := seen[id]; !ok && t.line < line {
				missing, line = id, t.line
			}
		}
		return score, fmt.Errorf("submission lacks %d of the solution's RowIds, the first RowId %d (solution line %d)",
			len(want)-len(seen), missing, line)
	}
	if score.Scored > 0 {
		score.RMSE = math.Sqrt(sum / float64(score.Scored))
	}
	for k := range kpN {
		if kpN[k] > 0 {
			score.PerKeypoint[k] = math.Sqrt(kpSum[k] / float64(kpN[k]))
		}
	}
	return score, nil
}
