package synth

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(20, 7, Options{PartialFrac: 0.5})
	b := Generate(20, 7, Options{PartialFrac: 0.5})
	c := Generate(20, 8, Options{PartialFrac: 0.5})
	if !bytes.Equal(a.Images, b.Images) || !slices.Equal(a.Coords, b.Coords) {
		t.Error("same seed gave different faces")
	}
	if bytes.Equal(a.Images, c.Images) {
		t.Error("different seeds gave the same faces")
	}
	// Face i depends only on the seed and i, not on n.
	d := Generate(5, 7, Options{PartialFrac: 0.5})
	if !bytes.Equal(d.Images, a.Images[:len(d.Images)]) {
		t.Error("the first 5 of 20 faces differ from 5 faces drawn alone")
	}
}

func TestGenerateKeypoints(t *testing.T) {
	tests := []struct {
		name        string
		opt         Options
		wantPartial [2]float64 // bounds on the fraction of partial rows
	}{
		{"posed", Options{}, [2]float64{0, 0}},
		{"clean", Options{Clean: true}, [2]float64{0, 0}},
		{"symmetric", Options{Symmetric: true}, [2]float64{0, 0}},
		{"partial", Options{PartialFrac: 0.7}, [2]float64{0.6, 0.8}},
		{"all partial", Options{PartialFrac: 1}, [2]float64{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 300
			s := Generate(n, 1, tt.opt)
			if s.Len() != n || len(s.IDs) != n || s.IDs[n-1] != n {
				t.Fatalf("got %d faces, ids ending %d", s.Len(), s.IDs[len(s.IDs)-1])
			}
			partial := 0
			for i := range n {
				c, m := s.Keypoints(i)
				for _, k := range dataset.CommonKeypoints {
					if !m[2*k] || !m[2*k+1] {
						t.Fatalf("face %d lacks common keypoint %s", i, dataset.Keypoints[k])
					}
				}
				if !s.Complete(i) {
					partial++
					for k := range dataset.NumKeypoints {
						if m[2*k] != m[2*k+1] {
							t.Fatalf("face %d: %s has x without y", i, dataset.Keypoints[k])
						}
					}
				}
				for j, v := range c {
					if m[j] && !(v >= 1 && v <= dataset.ImageSize-1) {
						t.Fatalf("face %d %s = %v, outside the image", i, dataset.CoordNames()[j], v)
					}
					if !m[j] && v != 0 {
						t.Fatalf("face %d: missing %s is %v, want 0", i, dataset.CoordNames()[j], v)
					}
				}
				// The subject's left eye is on the image's right.
				if c[0] <= c[2] {
					t.Fatalf("face %d: left eye x %v not right of right eye x %v", i, c[0], c[2])
				}
			}
			frac := float64(partial) / n
			if frac < tt.wantPartial[0] || frac > tt.wantPartial[1] {
				t.Errorf("%.2f of faces partial, want %v", frac, tt.wantPartial)
			}
		})
	}
}

// TestDrawingMatchesKeypoints checks that the keypoints sit on what was
// drawn: the pupil at each eye centre is darker than the sclera at the eye
// corners' midpoints with the centre, and the lips at the mouth centre
// are darker than the skin above the top lip.
func TestDrawingMatchesKeypoints(t *testing.T) {
	s := Generate(200, 3, Options{Clean: true})
	// The pixel holding keypoint position (x, y): pixel c spans
	// [c, c+1) + dataset.PixelOrigin.
	at := func(i int, x, y float32) float64 {
		c, r := int(x-dataset.PixelOrigin), int(y-dataset.PixelOrigin)
		return float64(s.Image(i)[r*dataset.ImageSize+c])
	}
	for i := range s.Len() {
		c, _ := s.Keypoints(i)
		for _, eye := range [][3]int{{0, 2, 3}, {1, 4, 5}} { // centre, inner, outer
			cx, cy := c[2*eye[0]], c[2*eye[0]+1]
			pupil := at(i, cx, cy)
			for _, corner := range eye[1:] {
				// A quarter of the way from the corner to the centre is sclera.
				sx := c[2*corner] + (cx-c[2*corner])/4
				sy := c[2*corner+1] + (cy-c[2*corner+1])/4
				if sclera := at(i, sx, sy); pupil >= sclera {
					t.Fatalf("face %d: pupil %v not darker than sclera %v", i, pupil, sclera)
				}
			}
		}
		// Mouth: halfway between the lip centres is lip; 4 px above the
		// top lip centre (along the face's vertical) is skin.
		mx, my := (c[26]+c[28])/2, (c[27]+c[29])/2
		ux, uy := c[26]-c[28], c[27]-c[29] // bottom to top lip
		l := float32(math.Hypot(float64(ux), float64(uy)))
		above := at(i, c[26]+4*ux/l, c[27]+4*uy/l)
		if lip := at(i, mx, my); lip >= above {
			t.Fatalf("face %d: lips %v not darker than skin %v", i, lip, above)
		}
	}
}

func TestSymmetric(t *testing.T) {
	s := Generate(50, 5, Options{Symmetric: true})
	flipped := make([]uint8, dataset.PixelCount)
	for i := range s.Len() {
		dataset.FlipImage(flipped, s.Image(i))
		if !bytes.Equal(flipped, s.Image(i)) {
			t.Fatalf("face %d is not mirror-symmetric", i)
		}
		c, m := s.Keypoints(i)
		fc := append([]float32(nil), c...)
		fm := append([]bool(nil), m...)
		dataset.FlipCoords(fc, fm)
		for j := range fc {
			if fm[j] != m[j] || math.Abs(float64(fc[j]-c[j])) > 1e-4 {
				t.Fatalf("face %d: flipped %s = %v, want %v", i, dataset.CoordNames()[j], fc[j], c[j])
			}
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate(1000, 1, Options{PartialFrac: 0.7})
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "faces/s")
}
