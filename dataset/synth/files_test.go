package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// TestSynthFiles writes a synthetic data set and reads every file back
// with the dataset package.
func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "synth")
	write := func(dir string) Summary {
		s, err := WriteFiles(dir, 40, 12, 3, 0.5, Options{PartialFrac: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := write(dir)
	train, rep, err := dataset.ReadTraining(filepath.Join(dir, "training.csv"), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 40 || rep.Complete == 0 || rep.Complete == 40 {
		t.Errorf("training: %d faces, %d complete", train.Len(), rep.Complete)
	}
	if s.Train != 40 || s.Complete != rep.Complete || s.Test != 12 {
		t.Errorf("summary %+v: want 40 training faces, %d complete, 12 test faces", s, rep.Complete)
	}
	test, _, err := dataset.ReadTest(filepath.Join(dir, "test.csv"), dataset.ReadOptions{})
	if err != nil || test.Len() != 12 {
		t.Fatalf("test: %v, %d faces", err, test.Len())
	}
	rows, err := dataset.ReadLookup(filepath.Join(dir, "IdLookupTable.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lookup != len(rows) {
		t.Errorf("summary counts %d lookup rows, the file holds %d", s.Lookup, len(rows))
	}
	for _, r := range rows {
		if r.ImageID < 1 || r.ImageID > 12 {
			t.Fatalf("lookup asks for image %d", r.ImageID)
		}
	}
	// The sample submission scores badly against the solution; the
	// solution scores 0 against itself.
	sample, _ := os.ReadFile(filepath.Join(dir, "SampleSubmission.csv"))
	solution, _ := os.ReadFile(filepath.Join(dir, "solution.csv"))
	if n := strings.Count(string(sample), "\n"); n != len(rows)+1 {
		t.Errorf("sample submission has %d lines for %d lookup rows", n, len(rows))
	}
	if s, err := dataset.ScoreSubmission(bytes.NewReader(sample), bytes.NewReader(solution)); err != nil || s.RMSE < 20 {
		t.Errorf("sample scores %v, %v; want a large RMSE", s.RMSE, err)
	}
	if s, err := dataset.ScoreSubmission(bytes.NewReader(solution), bytes.NewReader(solution)); err != nil || s.RMSE != 0 || s.Scored != len(rows) {
		t.Errorf("solution scores %v over %d rows, %v", s.RMSE, s.Scored, err)
	}

	// The same seed writes the same files.
	again := filepath.Join(t.TempDir(), "again")
	write(again)
	for _, name := range FileNames {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
	}
}
