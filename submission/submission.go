// Package submission makes Kaggle submissions: it predicts the keypoints
// of the test faces and writes the rows the lookup table asks for,
// answering those the predictions cannot with the training means.
package submission

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// Predict returns the keypoints of faces given as grey levels
// (dataset.PixelCount bytes each): pixels, 30 coordinates per face.
type Predict func(images []uint8) ([]float32, error)

// Model returns the Predict of a trained model on its own device. An
// error inside LibTorch comes back as an error naming what, the faces'
// file.
func Model(m models.Model, what string) Predict {
	return func(images []uint8) ([]float32, error) {
		var pred []float32
		if err := torch.Catch(func() {
			pred = models.Predict(m, images, models.DefaultBatch, m.Store().Device())
		}); err != nil {
			return nil, fmt.Errorf("predict %s: %w", what, err)
		}
		return pred, nil
	}
}

// Result says what Make wrote.
type Result struct {
	dataset.SubmissionReport
	Faces int // the test faces read
}

// Make reads the test faces at testPath and the lookup table at
// lookupPath, saying on log what it read, predicts the keypoints of the
// faces with predict and writes the rows the lookup table asks for to
// outPath ("-": standard output), making its directory if need be. Rows
// without a usable prediction get fill; the Result counts them.
func Make(log io.Writer, testPath, lookupPath, outPath string, predict Predict, fill [dataset.NumCoords]float32) (Result, error) {
	test, rep, err := dataset.ReadTest(testPath, dataset.ReadOptions{})
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(log, "read %s: %d faces\n", rep.Source, rep.Read)
	rows, err := dataset.ReadLookup(lookupPath)
	if err != nil {
		return Result{}, fmt.Errorf("read lookup table: %w", err)
	}
	pred, err := predict(test.Images)
	if err != nil {
		return Result{}, err
	}
	if dir := filepath.Dir(outPath); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Result{}, fmt.Errorf("write submission: %w", err)
		}
	}
	srep, err := dataset.WriteSubmission(outPath, rows, dataset.NewPredictions(test.IDs, pred, nil), fill)
	if err != nil {
		return Result{}, fmt.Errorf("write submission: %w", err)
	}
	return Result{SubmissionReport: srep, Faces: test.Len()}, nil
}

// Write makes the submission of a trained model, as fkd train and fkd
// submit do: Make with the training means the model file carries as the
// fill, then a line on stdout saying what it wrote and warnings on stderr
// of the rows filled, the values clipped and the test images missing.
// With outPath "-" the submission alone goes to standard output, and the
// line for stdout to stderr.
func Write(stdout, stderr io.Writer, m models.Model, meta models.Meta, testPath, lookupPath, outPath string) error {
	name := outPath
	if atomicfile.IsStdout(outPath) {
		stdout, name = stderr, "the submission to standard output"
	}
	res, err := Make(stderr, testPath, lookupPath, outPath, Model(m, testPath), meta.Means)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows for %d test faces\n", name, res.Rows, res.Faces)
	if res.Filled > 0 {
		fmt.Fprintf(stderr, "warning: %d rows of %d images filled with the training means (no usable prediction)\n",
			res.Filled, res.FilledImages)
	}
	if res.Clipped > 0 {
		fmt.Fprintf(stderr, "warning: %d predictions clipped into the image\n", res.Clipped)
	}
	if w := res.MissingWarning(); w != "" {
		fmt.Fprintln(stderr, w)
	}
	return nil
}
