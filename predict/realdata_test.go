//go:build !noopencv

package predict

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/models"
)

// ytfTraining is fkd-ytf's training file, shared beside the repository.
var ytfTraining = filepath.Join("..", "..", "shared", "data", "fkd-ytf", "training.zip")

// TestHaarTwoRealFaces pastes two real fkd-ytf faces, enlarged 2 and 3
// times, into a bigger picture, finds them with OpenCV's Haar cascade
// and runs the two-pass pipeline with a model that answers the training
// means: two records, keypoints inside their faces, each face's anchor
// placed from the Haar box alone (the model cannot correct it) within a
// third of its length: Haar boxes vary that much from face to face.
func TestHaarTwoRealFaces(t *testing.T) {
	if _, err := os.Stat(ytfTraining); err != nil {
		t.Skipf("no fkd-ytf data (%v): the real-face test needs ../shared/data/fkd-ytf", err)
	}
	set, _, err := dataset.ReadTraining(ytfTraining, dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	det, err := detect.NewCascade(detect.CascadeOptions{})
	var ce *detect.CascadeError
	if errors.As(err, &ce) {
		t.Skipf("no Haar cascade: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	var means [dataset.NumCoords]float32
	var counts [dataset.NumCoords]int
	for i := range set.Len() {
		c, m := set.Keypoints(i)
		for j, ok := range m {
			if ok {
				means[j] += c[j]
				counts[j]++
			}
		}
	}
	for j := range means {
		means[j] /= float32(counts[j])
	}
	p := New(newMeanModel(means), models.Meta{Means: means}, 0, HaarFrontalFace)
	two := set.Subset([]int{10, 200})
	img, faces := pasteFaces(two, 700, 420, []image.Point{{30, 80}, {330, 60}}, []int{2, 3})
	found, err := det.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("Haar found %d faces, want 2: %v", len(found), found)
	}
	if found[0].Box.Min.X > found[1].Box.Min.X {
		found[0], found[1] = found[1], found[0]
	}
	res, err := p.Run(Targets(img, found, det))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		f := faces[i]
		for k := range dataset.NumKeypoints {
			if pt := image.Pt(int(r.Keypoints[2*k]), int(r.Keypoints[2*k+1])); !pt.In(f.region) {
				t.Errorf("face %d: %s at %v, outside the face at %v", i, dataset.Keypoints[k], pt, f.region)
			}
		}
		got, want := AnchorOf(r.Keypoints[:]), f.anchor()
		if dx, dy, dl := got.X-want.X, got.Y-want.Y, got.Length-want.Length; dx*dx+dy*dy > want.Length*want.Length/9 || dl*dl > want.Length*want.Length/9 {
			t.Errorf("face %d (Haar box %v, score %v): anchor %+v, want %+v", i, found[i].Box, found[i].Score, got, want)
		}
	}
}
