// Package check describes a Kaggle training or test file for fkd data
// check: rows read and how fast, faces kept and skipped, grey levels, the
// count and range of each keypoint column, the label outliers and the bad
// rows, each with its line.
package check

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/fkd-project/fkd/dataset"
)

// MaxListedOutliers is how many label outliers File lists.
const MaxListedOutliers = 50

// Options says how File reads.
type Options struct {
	SkipBad bool // skip rows that fail validation and list them, instead of stopping at the first
	Test    bool // read the file as test data; otherwise its header decides
	Cache   bool // use the binary cache of parsed files
}

// File reads the training or test file at path and describes it on w.
// A row that fails validation is an error, unless o.SkipBad.
func File(w io.Writer, path string, o Options) error {
	opt := dataset.ReadOptions{SkipBad: o.SkipBad, Cache: o.Cache}
	start := time.Now()
	var s *dataset.Set
	var rep *dataset.Report
	var err error
	if o.Test {
		s, rep, err = dataset.ReadTest(path, opt)
	} else {
		s, rep, err = dataset.ReadAny(path, opt)
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	kind := "training"
	if !s.HasKeypoints() {
		kind = "test"
	}
	fmt.Fprintf(w, "%s: %s data\n", rep.Source, kind)
	fmt.Fprintf(w, "read %d rows in %.3fs", rep.Rows, elapsed.Seconds())
	if elapsed > 0 {
		fmt.Fprintf(w, " (%.1f MB of CSV, %.0f MB/s)", float64(rep.Bytes)/1e6, float64(rep.Bytes)/1e6/elapsed.Seconds())
	}
	if rep.Cache != "" {
		fmt.Fprintf(w, ", cache: %s", rep.Cache)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "faces: %d kept, %d skipped\n", rep.Read, rep.Skipped)
	fmt.Fprintf(w, "pixels: grey levels %d..%d\n", rep.PixelMin, rep.PixelMax)
	if s.HasKeypoints() {
		if err := writeColumns(w, rep); err != nil {
			return err
		}
		writeOutliers(w, dataset.Outliers(s))
	} else if len(s.IDs) > 0 {
		lo, hi := s.IDs[0], s.IDs[0]
		for _, id := range s.IDs {
			lo, hi = min(lo, id), max(hi, id)
		}
		fmt.Fprintf(w, "ImageIds: %d..%d\n", lo, hi)
	}
	if rep.Skipped > 0 {
		fmt.Fprintf(w, "\nbad rows: %d", rep.Skipped)
		if rep.Skipped > len(rep.SkipReasons) {
			fmt.Fprintf(w, " (the first %d below)", len(rep.SkipReasons))
		}
		fmt.Fprintln(w)
		for _, r := range rep.SkipReasons {
			fmt.Fprintln(w, "  "+r)
		}
	}
	return nil
}

// writeColumns writes the complete rows and a table of each keypoint
// column: present, missing, smallest and largest value.
func writeColumns(w io.Writer, rep *dataset.Report) error {
	fmt.Fprintf(w, "complete rows (all %d keypoints): %d\n\n", dataset.NumKeypoints, rep.Complete)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "column\tpresent\tmissing\tmin\tmax")
	for i, name := range dataset.CoordNames() {
		lo, hi := "-", "-"
		if rep.Present[i] > 0 {
			lo, hi = fmt.Sprintf("%.2f", rep.Min[i]), fmt.Sprintf("%.2f", rep.Max[i])
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", name, rep.Present[i], rep.Read-rep.Present[i], lo, hi)
	}
	return tw.Flush()
}

// writeOutliers writes the number of label outliers and the first
// MaxListedOutliers of them.
func writeOutliers(w io.Writer, outliers []dataset.Outlier) {
	fmt.Fprintf(w, "\nlabel outliers: %d", len(outliers))
	if len(outliers) > MaxListedOutliers {
		fmt.Fprintf(w, " (the first %d below)", MaxListedOutliers)
	}
	fmt.Fprintln(w)
	for _, o := range outliers[:min(len(outliers), MaxListedOutliers)] {
		fmt.Fprintf(w, "  line %d: %s\n", o.Line, o.Reason)
	}
}
