package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "submit",
		summary: "write a Kaggle submission with a trained model",
		usage:   "--model FILE [--test FILE --lookup FILE] [--outfile FILE] [--tta flip]",
		run:     runSubmit,
	})
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
	fs.StringVar(&o.outfile, "outfile", "output/submission.csv", `the submission to write ("-": standard output)`)
	addTTAFlag(fs, &o.tta)
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "model", "test", "lookup", "outfile")
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
	if err := atomicfile.Check(o.outfile); err != nil {
		return fmt.Errorf("--outfile: %w", err)
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
	removeStale(os.Stderr, o.outfile, start)
	return writeSubmission(os.Stdout, os.Stderr, train.WithTTA(m, tta), meta, o.test, o.lookup, o.outfile)
}

// addTTAFlag adds --tta, the test-time augmentation, to fs.
func addTTAFlag(fs *pflag.FlagSet, tta *string) {
	fs.StringVar(tta, "tta", "none", "test-time augmentation: none, or flip (average with the prediction for the mirror image; twice the work)")
}

// parseTTAFlag reads the value of --tta; a bad one is a usage error.
func parseTTAFlag(s string) (train.TTA, error) {
	tta, err := train.ParseTTA(s)
	if err != nil {
		return tta, usagef("--tta: %v", err)
	}
	return tta, nil
}

// writeSubmission predicts the keypoints of the test faces with m and
// writes the submission the lookup table asks for to outPath ("-":
// standard output, and then the messages for stdout go to stderr). Rows
// the model cannot answer get the training means the model file carries;
// a warning on stderr counts them.
func writeSubmission(stdout, stderr io.Writer, m models.Model, meta models.Meta, testPath, lookupPath, outPath string) error {
	if atomicfile.IsStdout(outPath) {
		stdout = stderr
	}
	test, rep, err := dataset.ReadTest(testPath, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "read %s: %d faces\n", rep.Source, rep.Read)
	rows, err := dataset.ReadLookup(lookupPath)
	if err != nil {
		return fmt.Errorf("read lookup table: %w", err)
	}
	var pred []float32
	if err := torch.Catch(func() {
		pred = models.Predict(m, test.Images, models.DefaultBatch, m.Store().Device())
	}); err != nil {
		return fmt.Errorf("predict %s: %w", testPath, err)
	}
	if dir := filepath.Dir(outPath); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write submission: %w", err)
		}
	}
	srep, err := dataset.WriteSubmission(outPath, rows, dataset.NewPredictions(test.IDs, pred, nil), meta.Means)
	if err != nil {
		return fmt.Errorf("write submission: %w", err)
	}
	name := outPath
	if atomicfile.IsStdout(outPath) {
		name = "the submission to standard output"
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows for %d test faces\n", name, srep.Rows, test.Len())
	if srep.Filled > 0 {
		fmt.Fprintf(stderr, "warning: %d rows of %d images filled with the training means (no usable prediction)\n",
			srep.Filled, srep.FilledImages)
	}
	if srep.Clipped > 0 {
		fmt.Fprintf(stderr, "warning: %d predictions clipped into the image\n", srep.Clipped)
	}
	if w := srep.MissingWarning(); w != "" {
		fmt.Fprintln(stderr, w)
	}
	return nil
}
