package predict

import (
	"image"
	"math"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
)

// TestPipelineTwoFaces runs the two-pass pipeline with meanModel on two
// synthetic faces boxed as a Haar cascade would box them: the keypoints
// land inside each face's frame, their anchor on the face's true anchor.
func TestPipelineTwoFaces(t *testing.T) {
	img, faces, det := twoFaces()
	p := meanPipeline(t)
	found, _ := det.Detect(img)
	for _, onePass := range []bool{true, false} {
		p.OnePass = onePass
		res, err := p.Run(Targets(img, found, det))
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 {
			t.Fatalf("%d results, want 2", len(res))
		}
		for i, r := range res {
			checkInside(t, r.Keypoints, faces[i])
			if r.Crop.Dx() != r.Crop.Dy() {
				t.Errorf("face %d: crop %v is not square", i, r.Crop)
			}
		}
	}
}

// checkInside checks that the keypoints lie in the face's frame and that
// their anchor is within a pixel and a half of the face's, in face pixels.
func checkInside(t *testing.T, xy [dataset.NumCoords]float64, f pasted) {
	t.Helper()
	for k := range dataset.NumKeypoints {
		if p := image.Pt(int(xy[2*k]), int(xy[2*k+1])); !p.In(f.region) {
			t.Errorf("%s at %v, outside the face at %v", dataset.Keypoints[k], p, f.region)
		}
	}
	got, want := AnchorOf(xy[:]), f.anchor()
	scale := float64(f.region.Dx()) / dataset.ImageSize
	if d := math.Hypot(got.X-want.X, got.Y-want.Y) / scale; d > 1.5 || math.Abs(got.Length-want.Length)/scale > 1.5 {
		t.Errorf("anchor %+v, want %+v (%.2f face pixels away)", got, want, d)
	}
}

// TestPipelineExact checks that an exact target is cut as it is and
// predicted once: the mean keypoints spread over its box.
func TestPipelineExact(t *testing.T) {
	img, _, _ := twoFaces()
	p := meanPipeline(t)
	box := image.Rect(100, 40, 292, 232) // twice 96
	res, err := p.Run([]Target{{Image: img, Box: box, Exact: true}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Crop != box {
		t.Errorf("crop %v, want the box %v", res[0].Crop, box)
	}
	for i, v := range res[0].Keypoints {
		corner := float64(box.Min.X)
		if i%2 == 1 {
			corner = float64(box.Min.Y)
		}
		if want := corner + 2*(float64(ytfMeans[i])-dataset.PixelOrigin); math.Abs(v-want) > 1e-3 {
			t.Errorf("%s = %.3f, want %.3f", dataset.CoordNames()[i], v, want)
		}
	}
	if got := Targets(img, []detect.Face{{Box: box}}, detect.Whole{}); !got[0].Exact {
		t.Error("detect.Whole's face is not exact")
	}
}

// TestPipelineEdge frames a face whose crop reaches past the picture's
// edge: it is padded, not refused.
func TestPipelineEdge(t *testing.T) {
	img, faces, _ := twoFaces()
	sub := img.SubImage(image.Rect(30, 70, 300, 400)) // cuts the first face's left and top
	p := meanPipeline(t)
	res, err := p.Run([]Target{{Image: sub, Box: faces[0].haarBox()}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Crop.In(sub.Bounds()) {
		t.Fatalf("crop %v lies inside %v: the test needs one reaching past it", res[0].Crop, sub.Bounds())
	}
	checkInside(t, res[0].Keypoints, faces[0])
}
