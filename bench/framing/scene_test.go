package main

import (
	"math"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// TestSceneMapping checks the mapping between the picture and keypoint
// coordinates, which count pixels from 1: the face's top-left corner is
// keypoint (0.5, 0.5), and toFace undoes toPhoto.
func TestSceneMapping(t *testing.T) {
	s := scene{ox: 10, oy: 20, scale: 2}
	tests := []struct {
		name         string
		kx, ky       float64 // keypoint coordinates
		wantX, wantY float64 // in the picture
	}{
		{"top-left corner", dataset.PixelOrigin, dataset.PixelOrigin, 10, 20},
		{"centre", dataset.ImageCentre, dataset.ImageCentre, 10 + 96, 20 + 96},
		{"centre of pixel 0", 1, 1, 11, 21},
	}
	for _, tt := range tests {
		x, y := s.toPhoto(tt.kx, tt.ky)
		if math.Abs(x-tt.wantX) > 1e-9 || math.Abs(y-tt.wantY) > 1e-9 {
			t.Errorf("%s: toPhoto(%g, %g) = (%g, %g), want (%g, %g)", tt.name, tt.kx, tt.ky, x, y, tt.wantX, tt.wantY)
		}
		if bx, by := s.toFace(x, y); math.Abs(bx-tt.kx) > 1e-9 || math.Abs(by-tt.ky) > 1e-9 {
			t.Errorf("%s: toFace(toPhoto) = (%g, %g), want (%g, %g)", tt.name, bx, by, tt.kx, tt.ky)
		}
	}
}
