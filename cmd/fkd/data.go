package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
)

func init() {
	register(&command{
		name:    "data",
		summary: "check a Kaggle training or test file: rows, keypoint counts, value ranges, bad rows",
		usage:   "check FILE [--skip-bad] [--test] [--cache]",
		run:     runData,
	})
}

func runData(fs *pflag.FlagSet, args []string) error {
	var o dataCheckOptions
	fs.BoolVar(&o.skipBad, "skip-bad", false, "skip rows that fail validation and list them, instead of stopping at the first")
	fs.BoolVar(&o.test, "test", false, "read FILE as test data (ImageId,Image); by default the header decides: ImageId and no keypoint column is test data")
	fs.BoolVar(&o.cache, "cache", false, "use the binary cache of parsed files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "check" {
		return usagef("want: check FILE, got %q", fs.Args())
	}
	o.path = fs.Arg(1)
	return o.run(os.Stdout)
}

// maxListedOutliers is how many label outliers "fkd data check" lists.
const maxListedOutliers = 50

// dataCheckOptions holds the flags of "fkd data check".
type dataCheckOptions struct {
	path                 string
	skipBad, test, cache bool
}

func (o *dataCheckOptions) run(w io.Writer) error {
	opt := dataset.ReadOptions{SkipBad: o.skipBad, Cache: o.cache}
	start := time.Now()
	var s *dataset.Set
	var rep *dataset.Report
	var err error
	if o.test {
		s, rep, err = dataset.ReadTest(o.path, opt)
	} else {
		s, rep, err = dataset.ReadAny(o.path, opt)
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
		if err := tw.Flush(); err != nil {
			return err
		}
	} else if len(s.IDs) > 0 {
		lo, hi := s.IDs[0], s.IDs[0]
		for _, id := range s.IDs {
			lo, hi = min(lo, id), max(hi, id)
		}
		fmt.Fprintf(w, "ImageIds: %d..%d\n", lo, hi)
	}
	if s.HasKeypoints() {
		outliers := dataset.Outliers(s)
		fmt.Fprintf(w, "\nlabel outliers: %d", len(outliers))
		if len(outliers) > maxListedOutliers {
			fmt.Fprintf(w, " (the first %d below)", maxListedOutliers)
		}
		fmt.Fprintln(w)
		for _, o := range outliers[:min(len(outliers), maxListedOutliers)] {
			fmt.Fprintf(w, "  line %d: %s\n", o.Line, o.Reason)
		}
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
