package augment

import (
	"slices"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func TestCopies(t *testing.T) {
	face := synth.Generate(1, 4, synth.Options{PartialFrac: 1}) // the four common keypoints only
	def, _ := Recipe("default")
	tests := []struct {
		name      string
		n         int
		o         Options
		wantMoved bool // the copies differ from the original
	}{
		{"original only", 1, def, false},
		{"no augmentation", 3, Options{}, false},
		{"default", 4, def, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images, coords, mask := Copies(face, tt.n, tt.o, 1)
			if len(images) != tt.n*dataset.PixelCount || len(coords) != tt.n*dataset.NumCoords || len(mask) != tt.n*dataset.NumCoords {
				t.Fatalf("lengths %d, %d, %d for %d copies", len(images), len(coords), len(mask), tt.n)
			}
			c, m := face.Keypoints(0)
			for i := range dataset.NumCoords {
				want, wantMask := float32(0), float32(0)
				if m[i] {
					want, wantMask = (c[i]-48)/48, 1
				}
				if coords[i] != want || mask[i] != wantMask {
					t.Fatalf("original coordinate %d: %v (mask %v), want %v (%v)", i, coords[i], mask[i], want, wantMask)
				}
			}
			if images[0] != float32(face.Image(0)[0])/255 {
				t.Errorf("first pixel %v, want %v", images[0], float32(face.Image(0)[0])/255)
			}
			moved := false
			for k := 1; k < tt.n; k++ {
				copyImage := images[k*dataset.PixelCount : (k+1)*dataset.PixelCount]
				copyCoords := coords[k*dataset.NumCoords : (k+1)*dataset.NumCoords]
				moved = moved || !slices.Equal(copyImage, images[:dataset.PixelCount]) || !slices.Equal(copyCoords, coords[:dataset.NumCoords])
			}
			if moved != tt.wantMoved {
				t.Errorf("copies moved %v, want %v", moved, tt.wantMoved)
			}
			again, _, _ := Copies(face, tt.n, tt.o, 1)
			if !slices.Equal(images, again) {
				t.Error("the same seed gave other copies")
			}
		})
	}
}
