package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset/check"
)

func init() {
	register(&command{name: "data", run: runData,
		summary: "check a Kaggle training or test file: rows, keypoint counts, value ranges, bad rows",
		usage:   "check FILE [--skip-bad] [--as-test] [--cache]"})
}

func runData(fs *pflag.FlagSet, args []string) error {
	var o check.Options
	fs.BoolVar(&o.SkipBad, "skip-bad", false, "skip rows that fail validation and list them, instead of stopping at the first")
	fs.BoolVar(&o.Test, "as-test", false, "read FILE as test data (ImageId,Image); by default the header decides: ImageId and no keypoint column is test data")
	fs.BoolVar(&o.Cache, "cache", false, "use the binary cache of parsed files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "check" {
		return usagef("want: check FILE, got %q", fs.Args())
	}
	return check.File(os.Stdout, fs.Arg(1), o)
}
