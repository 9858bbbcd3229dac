package dataset_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

// Keypoint indices used below.
const (
	leftEye, rightEye     = 0, 1
	leftBrowOut           = 7
	nose                  = 10
	mouthLeft, mouthRight = 11, 12
	bottomLip             = 14
)

func setPoint(s *dataset.Set, i, k int, x, y float32) {
	c, _ := s.Keypoints(i)
	c[2*k], c[2*k+1] = x, y
}

func getPoint(s *dataset.Set, i, k int) (x, y float32) {
	c, _ := s.Keypoints(i)
	return c[2*k], c[2*k+1]
}

func swapPoints(s *dataset.Set, i, a, b int) {
	ax, ay := getPoint(s, i, a)
	bx, by := getPoint(s, i, b)
	setPoint(s, i, a, bx, by)
	setPoint(s, i, b, ax, ay)
}

func TestOutliersSynthetic(t *testing.T) {
	s := synth.Generate(300, 7, synth.Options{PartialFrac: 0.3})
	s.Lines = make([]int, s.Len())
	for i := range s.Lines {
		s.Lines[i] = i + 2
	}
	// complete and partial return faces with all 15 keypoints and with
	// only the four common ones, skipping those used already.
	used := map[int]bool{}
	pick := func(complete bool) int {
		for i := range s.Len() {
			if !used[i] && s.Complete(i) == complete {
				used[i] = true
				return i
			}
		}
		t.Fatal("no face left")
		return 0
	}
	plants := []struct {
		name  string
		row   int
		plant func(i int)
		want  string // in the reason
	}{
		{"eyes swapped", pick(true), func(i int) { swapPoints(s, i, leftEye, rightEye) },
			"left and right swapped"},
		{"eyes swapped, partial face", pick(false), func(i int) { swapPoints(s, i, leftEye, rightEye) },
			"left and right swapped"},
		{"mouth corners swapped", pick(true), func(i int) { swapPoints(s, i, mouthLeft, mouthRight) },
			"mouth_left_corner ("},
		{"mouth above the eyes", pick(true), func(i int) {
			x, y := getPoint(s, i, leftEye)
			setPoint(s, i, mouthLeft, x-4, y-5)
		}, "mouth_left_corner"},
		{"nose above the eyes", pick(false), func(i int) {
			x, _ := getPoint(s, i, nose)
			_, y := getPoint(s, i, rightEye)
			setPoint(s, i, nose, x, y-6)
		}, "nose_tip"},
		{"shifted nose", pick(true), func(i int) {
			x, y := getPoint(s, i, nose)
			setPoint(s, i, nose, x+9, y-4)
		}, "nose_tip ("},
		{"shifted eyebrow end", pick(true), func(i int) {
			x, y := getPoint(s, i, leftBrowOut)
			setPoint(s, i, leftBrowOut, x-3, y+14)
		}, "left_eyebrow_outer_end ("},
		{"shifted lip, partial face", pick(false), func(i int) {
			x, y := getPoint(s, i, bottomLip)
			setPoint(s, i, bottomLip, x+10, y+5)
		}, "mouth_center_bottom_lip ("},
	}
	for _, p := range plants {
		p.plant(p.row)
	}
	got := map[int]dataset.Outlier{}
	for _, o := range dataset.Outliers(s) {
		got[o.Row] = o
	}
	for _, p := range plants {
		o, ok := got[p.row]
		if !ok {
			t.Errorf("%s (row %d): not found", p.name, p.row)
			continue
		}
		if !strings.Contains(o.Reason, p.want) || o.Line != p.row+2 {
			t.Errorf("%s: got line %d %q, want line %d and a reason containing %q", p.name, o.Line, o.Reason, p.row+2, p.want)
		}
		delete(got, p.row)
	}
	for _, o := range got {
		t.Errorf("clean face flagged: row %d: %s", o.Row, o.Reason)
	}
}

func TestOutliersDistance(t *testing.T) {
	// Only the distance check can find a keypoint moved along the face.
	s := synth.Generate(200, 3, synth.Options{})
	x, y := getPoint(s, 5, mouthRight)
	setPoint(s, 5, mouthRight, x+5, y+12)
	out := dataset.Outliers(s)
	if len(out) != 1 || out[0].Row != 5 || out[0].Line != 0 ||
		!strings.HasPrefix(out[0].Reason, "mouth_right_corner (") || !strings.Contains(out[0].Reason, " px from where the other keypoints place it (limit ") {
		t.Fatalf("got %+v", out)
	}
}

func TestOutliersNone(t *testing.T) {
	test := synth.Generate(3, 1, synth.Options{})
	test.Coords, test.Mask = nil, nil
	for _, s := range []*dataset.Set{nil, {}, test, synth.Generate(2, 1, synth.Options{}), synth.Generate(500, 11, synth.Options{PartialFrac: 0.5})} {
		if out := dataset.Outliers(s); len(out) != 0 {
			t.Errorf("got %+v", out)
		}
	}
}

// TestOutliersRealData checks the one known labelling mistake of the
// shared fkd-ytf training data, and that little else is flagged.
func TestOutliersRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the real training data")
	}
	path := filepath.Join(sharedDir(t), "fkd-ytf", "training.zip")
	s, _, err := dataset.ReadTraining(path, dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := dataset.Outliers(s)
	found := false
	for _, o := range out {
		t.Logf("line %d: %s", o.Line, o.Reason)
		x, y := getPoint(s, o.Row, mouthLeft)
		if x > 17.7 && x < 17.9 && y > 33.5 && y < 33.7 && strings.Contains(o.Reason, "mouth_left_corner") {
			found = true
		}
	}
	if !found {
		t.Error("the mouth_left_corner at (17.8, 33.6) is not reported")
	}
	if most := s.Len() / 100; len(out) > most {
		t.Errorf("%d of %d faces flagged, want at most %d", len(out), s.Len(), most)
	}
}

// sharedDir returns the team's shared data folder (shared/data, beside
// the repository), found by walking up from the test's directory, and
// skips the test when it is absent.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "data")
		if _, err := os.Stat(filepath.Join(p, "fkd-ytf", "training.zip")); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("shared/data/fkd-ytf/training.zip not found above the test directory")
		}
		dir = up
	}
}
