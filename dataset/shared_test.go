package dataset

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the path of the team's shared data folder
// (shared/data, beside the repository), found by walking up from the
// test's directory, and skips the test when it is absent.
func sharedData(tb testing.TB, sub string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "data", sub)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			tb.Skipf("shared/data/%s not found above the test directory", sub)
		}
		dir = up
	}
}

// unzipMember returns the bytes of one member of a zip file.
func unzipMember(tb testing.TB, path, member string) []byte {
	tb.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open(member)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func TestReadSharedTraining(t *testing.T) {
	dir := sharedData(t, "fkd-ytf")
	s, rep, err := ReadTraining(filepath.Join(dir, "training.zip"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Figures from shared/data/README.md.
	if s.Len() != 3403 || rep.Rows != 3403 || rep.Complete != 1024 || rep.Skipped != 0 {
		t.Errorf("got %d faces, report %+v; want 3403 rows, 1024 complete", s.Len(), rep)
	}
	for _, k := range CommonKeypoints {
		if rep.Present[2*k] != 3403 {
			t.Errorf("%s present in %d rows, want all 3403", Keypoints[k], rep.Present[2*k])
		}
	}
	test, _, err := ReadTest(filepath.Join(dir, "test.zip"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if test.Len() != 829 || test.IDs[0] != 1 || test.IDs[828] != 829 {
		t.Errorf("test set: %d faces, ids %d..%d; want 829, 1..829", test.Len(), test.IDs[0], test.IDs[len(test.IDs)-1])
	}
}

// BenchmarkParseTraining parses the 110 MB training.csv of the shared
// fkd-ytf data from memory.
func BenchmarkParseTraining(b *testing.B) {
	data := unzipMember(b, filepath.Join(sharedData(b, "fkd-ytf"), "training.zip"), "training.csv")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := ParseTraining(bytes.NewReader(data), "training.csv", ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
