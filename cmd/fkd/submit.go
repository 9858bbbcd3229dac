package main

import (
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/submission"
	"github.com/fkd-project/fkd/torch"
)

func init() {
	register(&command{name: "submit", run: runSubmit,
		summary: "write a Kaggle submission with a trained model",
		usage:   "--model FILE [--test FILE --lookup FILE] [--out FILE] [--tta flip]"})
}

// submitOptions holds the flags of "fkd submit".
type submitOptions struct {
	model, test, lookup, outfile string
	tta                          string
	device                       string
	threads                      int
	configPath                   *string
}

// submitDataFlags maps the config file's data keys to flags of "fkd submit".
var submitDataFlags = map[string]string{"test": "test", "lookup": "lookup"}

func submitFlags(fs *pflag.FlagSet, o *submitOptions) {
	fs.StringVar(&o.model, "model", "output/model.pt", "the model, as fkd train saved it")
	fs.StringVar(&o.test, "test", "data/test.csv", "Kaggle test data: test.csv or a zip holding it")
	fs.StringVar(&o.lookup, "lookup", "data/IdLookupTable.csv", "IdLookupTable.csv: the coordinates to submit")
	fs.StringVar(&o.outfile, "out", "output/submission.csv", `the submission to write ("-": standard output)`)
	addTTAFlag(fs, &o.tta)
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "model", "test", "lookup", "out")
	alias(fs, "outfile", "out")
}

func runSubmit(fs *pflag.FlagSet, args []string) error {
	start := time.Now()
	var o submitOptions
	submitFlags(fs, &o)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if err := applyConfig(fs, "submit", *o.configPath, fs.Changed("config"), submitDataFlags); err != nil {
		return err
	}
	if o.threads < 0 {
		return usagef("--threads %d is negative", o.threads)
	}
	tta, err := parseTTAFlag(o.tta)
	if err != nil {
		return err
	}
	var f files
	f.model("the model", o.model)
	f.input("the test data", o.test)
	f.input("the lookup table", o.lookup)
	f.config(*o.configPath)
	f.output("--out", o.outfile)
	if err := f.check(); err != nil {
		return err
	}
	dev, err := torch.ParseDevice(o.device)
	if err != nil {
		return err
	}
	torch.SetNumThreads(o.threads)
	m, meta, err := report.LoadModel(o.model, dev)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	for _, in := range [][2]string{{"--test", o.test}, {"--lookup", o.lookup}} {
		if err := checkInput(in[0], in[1]); err != nil {
			return err
		}
	}
	f.tidy(os.Stderr, start)
	return submission.Write(os.Stdout, os.Stderr, eval.WithTTA(m, tta), meta, o.test, o.lookup, o.outfile)
}

// addTTAFlag adds --tta, the test-time augmentation, to fs.
func addTTAFlag(fs *pflag.FlagSet, tta *string) {
	fs.StringVar(tta, "tta", "none", "test-time augmentation: none; flip (average with the prediction for the mirror image; twice the work); or flip+shift (flip, also over copies moved 2 pixels left, right, up and down; ten times the work)")
}

// parseTTAFlag reads the value of --tta; a bad one is a usage error.
func parseTTAFlag(s string) (eval.TTA, error) {
	tta, err := eval.ParseTTA(s)
	if err != nil {
		return tta, usagef("--tta: %v", err)
	}
	return tta, nil
}
