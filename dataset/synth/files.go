package synth

import (
	"io"
	"os"
	"path/filepath"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
)

// FileNames are the files WriteFiles writes, in the order written.
var FileNames = []string{"training.csv", "test.csv", "IdLookupTable.csv", "SampleSubmission.csv", "solution.csv"}

// Summary counts what WriteFiles wrote.
type Summary struct {
	Train, Complete int // training faces, and those with all keypoints
	Test            int // test faces
	Lookup          int // lookup rows
}

// WriteFiles writes a synthetic data set in Kaggle's formats into dir,
// made if missing (FileNames): n training faces drawn with o, test faces
// (every keypoint known to the solution), a lookup table asking for all
// 30 coordinates of the fraction full of the test faces and for the 8
// common ones of the rest (LookupTable), a sample submission of zeros,
// and the solution: the true Location of every lookup row. The same
// arguments write the same files.
func WriteFiles(dir string, n, test int, seed int64, full float64, o Options) (Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, err
	}
	train := Generate(n, seed, o)
	o.PartialFrac = 0 // the solution knows every test keypoint
	testSet := Generate(test, seed+1<<32, o)
	rows := LookupTable(testSet.IDs, full, seed)
	truth := dataset.NewPredictions(testSet.IDs, testSet.Coords, testSet.Mask)
	var zero [dataset.NumCoords]float32

	writers := map[string]func(io.Writer) error{
		"training.csv":      func(f io.Writer) error { return dataset.WriteTraining(f, train) },
		"test.csv":          func(f io.Writer) error { return dataset.WriteTest(f, testSet) },
		"IdLookupTable.csv": func(f io.Writer) error { return dataset.WriteLookup(f, rows) },
		"SampleSubmission.csv": func(f io.Writer) error {
			_, err := dataset.EncodeSubmission(f, rows, nil, zero)
			return err
		},
		"solution.csv": func(f io.Writer) error {
			_, err := dataset.EncodeSubmissionLong(f, rows, truth, zero)
			return err
		},
	}
	for _, name := range FileNames {
		if err := atomicfile.Write(filepath.Join(dir, name), writers[name]); err != nil {
			return Summary{}, err
		}
	}
	s := Summary{Train: train.Len(), Test: testSet.Len(), Lookup: len(rows)}
	for i := range train.Len() {
		if train.Complete(i) {
			s.Complete++
		}
	}
	return s, nil
}
