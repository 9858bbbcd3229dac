package detect

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// ytfTraining reads fkd-ytf's training file, shared beside the
// repository, for the tests that find real faces; it skips the test
// where the file is not there.
func ytfTraining(t *testing.T) *dataset.Set {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "data", "fkd-ytf", "training.zip")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no fkd-ytf data (%v): this test needs ../shared/data/fkd-ytf", err)
	}
	set, _, err := dataset.ReadTraining(path, dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestGroup(t *testing.T) {
	r := func(x, y, s int) image.Rectangle { return image.Rect(x, y, x+s, y+s) }
	raw := []image.Rectangle{
		// A face: five detections close together.
		r(100, 100, 50), r(102, 99, 52), r(98, 101, 48), r(101, 103, 50), r(99, 100, 50),
		// Another, of three.
		r(300, 40, 80), r(304, 42, 80), r(302, 38, 84),
		// Noise: two lone detections.
		r(10, 10, 24), r(200, 300, 30),
		// A small one inside the first face, with fewer detections.
		r(112, 112, 20), r(113, 112, 20), r(112, 113, 20), r(112, 112, 21),
	}
	got := group(raw, 2)
	want := []Face{{Box: r(100, 101, 50), Score: 5}, {Box: r(302, 40, 81), Score: 3}}
	if len(got) != len(want) {
		t.Fatalf("faces %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Score != want[i].Score || got[i].Box != want[i].Box {
			t.Errorf("face %d: %v, want %v", i, got[i], want[i])
		}
	}
	if got := group(raw, -1); len(got) != len(raw) || got[3].Box != raw[3] || got[3].Score != 1 {
		t.Errorf("minNeighbors -1: %v", got)
	}
	if got := group(nil, 3); len(got) != 0 {
		t.Errorf("no detections: %v", got)
	}
}

func TestWholeAndFixed(t *testing.T) {
	img := image.NewGray(image.Rect(5, 5, 105, 85))
	if got, _ := (Whole{}).Detect(img); len(got) != 1 || got[0].Box != img.Bounds() {
		t.Errorf("Whole: %v", got)
	}
	f := Fixed{{Box: image.Rect(10, 10, 40, 40), Score: 2}, {Box: image.Rect(200, 10, 240, 40)}}
	if got, _ := f.Detect(img); len(got) != 1 || got[0] != f[0] {
		t.Errorf("Fixed: %v", got)
	}
}

func TestFindCascade(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "mine.xml")
	os.WriteFile(own, []byte("<opencv_storage/>"), 0o644)
	if got, err := FindCascade(own); err != nil || got != own {
		t.Errorf("FindCascade(%s) = %s, %v", own, got, err)
	}
	_, err := FindCascade(filepath.Join(dir, "missing.xml"))
	var ce *CascadeError
	if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "\n") {
		t.Errorf("a missing path: %v", err)
	}
	_, err = FindCascade("haarcascade_no_such_thing.xml")
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "apt-get install opencv-data") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a missing cascade name: %v", err)
	}
}
