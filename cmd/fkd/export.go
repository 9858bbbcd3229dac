package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/onnx"
	"github.com/fkd-project/fkd/torch"
)

func init() {
	register(&command{name: "export", run: runExport,
		summary: "export a model or an ensemble to ONNX, for ONNX Runtime, OpenCV's DNN and other runtimes",
		usage:   "--model FILE --out FILE.onnx [--format onnx] [--tta none|flip|flip+shift]"})
}

// exportOptions holds the flags of "fkd export".
type exportOptions struct {
	model, format, out, tta string
}

func runExport(fs *pflag.FlagSet, args []string) error {
	start := time.Now()
	var o exportOptions
	fs.StringVar(&o.model, "model", "output/model.pt", "the model file, an ensemble file or a comma-separated list of model files (equal weights)")
	fs.StringVar(&o.format, "format", "onnx", "the format to write: onnx")
	fs.StringVar(&o.out, "out", "output/model.onnx", `the file to write ("-": standard output)`)
	fs.StringVar(&o.tta, "tta", "", "test-time augmentation in the exported graph: none, flip or flip+shift (default: an ensemble file's, else none)")
	markPaths(fs, "model", "out")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if o.format != "onnx" {
		return usagef("--format %q: fkd exports onnx only", o.format)
	}
	var tta eval.TTA
	if o.tta != "" {
		var err error
		if tta, err = parseTTAFlag(o.tta); err != nil {
			return err
		}
	}
	var f files
	f.model("the model", o.model)
	f.output("--out", o.out)
	if err := f.check(); err != nil {
		return err
	}
	paths, weights, fileTTA, err := exportMembers(o.model)
	if err != nil {
		return err
	}
	if o.tta == "" && fileTTA != "" {
		if tta, err = eval.ParseTTA(fileTTA); err != nil {
			return err
		}
	}
	members := make([]onnx.Member, len(paths))
	for i, p := range paths {
		m, _, err := models.Load(p, torch.CPU)
		if err != nil {
			return err
		}
		defer m.Store().Free()
		members[i] = onnx.Member{Model: m, Weight: weights[i]}
	}
	// Encode first: a model that cannot be exported writes nothing.
	var buf bytes.Buffer
	if err := onnx.Write(&buf, members, onnx.Options{TTA: tta, Producer: version}); err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	f.tidy(os.Stderr, start)
	if err := atomicfile.Write(o.out, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	}); err != nil {
		return err
	}
	if o.out != "-" {
		specs := make([]string, len(members))
		for i, m := range members {
			specs[i] = m.Model.Spec().String()
		}
		fmt.Printf("wrote %s: ONNX opset %d, %s, test-time augmentation %s, %d bytes\n",
			o.out, onnx.Opset, strings.Join(specs, " + "), tta, buf.Len())
	}
	return nil
}

// exportMembers reads what --model names: one model file, a comma-separated
// list of them (equal weights) or an ensemble file (its members, weights
// and test-time augmentation).
func exportMembers(spec string) (paths []string, weights []float64, tta string, err error) {
	switch {
	case strings.Contains(spec, ","):
		for p := range strings.SplitSeq(spec, ",") {
			if p = strings.TrimSpace(p); p == "" {
				return nil, nil, "", usagef("--model %q has an empty entry", spec)
			}
			paths = append(paths, p)
		}
	case ensemble.IsFile(spec):
		ef, err := ensemble.Read(spec)
		if err != nil {
			return nil, nil, "", err
		}
		paths, weights, tta = ef.Paths(filepath.Dir(spec)), ef.Weights(), ef.TTA
	default:
		paths = []string{spec}
	}
	if weights, err = models.NormaliseWeights(weights, len(paths)); err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", spec, err)
	}
	return paths, weights, tta, nil
}
