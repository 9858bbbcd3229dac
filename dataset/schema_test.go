package dataset

import (
	"strings"
	"testing"
)

func TestCoordNames(t *testing.T) {
	names := CoordNames()
	tests := []struct {
		i    int
		name string
	}{
		{0, "left_eye_center_x"},
		{1, "left_eye_center_y"},
		{2, "right_eye_center_x"},
		{20, "nose_tip_x"},
		{29, "mouth_center_bottom_lip_y"},
	}
	for _, tt := range tests {
		if names[tt.i] != tt.name {
			t.Errorf("CoordNames()[%d] = %q, want %q", tt.i, names[tt.i], tt.name)
		}
		if i, ok := CoordIndex(tt.name); !ok || i != tt.i {
			t.Errorf("CoordIndex(%q) = %d, %v; want %d, true", tt.name, i, ok, tt.i)
		}
	}
	for _, bad := range []string{"", "nose_tip", "Nose_tip_x", "nose_tip_z", "Image"} {
		if _, ok := CoordIndex(bad); ok {
			t.Errorf("CoordIndex(%q) found a column", bad)
		}
	}
	if k, ok := KeypointIndex("mouth_left_corner"); !ok || k != 11 {
		t.Errorf("KeypointIndex(mouth_left_corner) = %d, %v; want 11, true", k, ok)
	}
}

// TestFlipPairs checks the table against the names: each pair must be
// the same landmark with "left" and "right" exchanged, and every
// keypoint with a side must be in a pair.
func TestFlipPairs(t *testing.T) {
	paired := map[int]bool{}
	for _, p := range FlipPairs {
		a, b := Keypoints[p[0]], Keypoints[p[1]]
		if strings.Replace(a, "left", "right", 1) != b {
			t.Errorf("pair %q, %q is not a left/right pair", a, b)
		}
		paired[p[0]], paired[p[1]] = true, true
	}
	for k, name := range Keypoints {
		sided := strings.Contains(name, "left") || strings.Contains(name, "right")
		if sided != paired[k] {
			t.Errorf("%s: sided %v, in FlipPairs %v", name, sided, paired[k])
		}
	}
	perm := FlipCoordPerm()
	names := CoordNames()
	for i, j := range perm {
		if perm[j] != i {
			t.Errorf("FlipCoordPerm is not an involution at %d", i)
		}
		if i%2 != j%2 {
			t.Errorf("FlipCoordPerm maps %s to %s, mixing x and y", names[i], names[j])
		}
	}
	if names[perm[0]] != "right_eye_center_x" || names[perm[20]] != "nose_tip_x" || names[perm[23]] != "mouth_right_corner_y" {
		t.Errorf("FlipCoordPerm: 0->%s 20->%s 23->%s", names[perm[0]], names[perm[20]], names[perm[23]])
	}
}

func TestFlipCoords(t *testing.T) {
	var c [NumCoords]float32
	var m [NumCoords]bool
	c[0], c[1], m[0], m[1] = 66, 37, true, true // left eye centre
	c[20], c[21], m[20], m[21] = 50, 60, true, true
	FlipCoords(c[:], m[:])
	if m[0] || c[0] != 0 {
		t.Errorf("left eye after flip: %v %v, want missing", c[0], m[0])
	}
	if !m[2] || c[2] != 31 || c[3] != 37 {
		t.Errorf("right eye after flip: (%v, %v) %v, want (31, 37) true", c[2], c[3], m[2])
	}
	if c[20] != 47 || c[21] != 60 {
		t.Errorf("nose after flip: (%v, %v), want (47, 60)", c[20], c[21])
	}
}

func TestFlipImage(t *testing.T) {
	src := make([]uint8, PixelCount)
	for i := range src {
		src[i] = uint8(i % 97)
	}
	dst := make([]uint8, PixelCount)
	FlipImage(dst, src)
	for r := range ImageSize {
		for c := range ImageSize {
			if dst[r*ImageSize+c] != src[r*ImageSize+ImageSize-1-c] {
				t.Fatalf("pixel (%d,%d) not mirrored", r, c)
			}
		}
	}
	FlipImage(dst, dst) // in place, back again
	for i := range src {
		if dst[i] != src[i] {
			t.Fatal("flipping twice in place did not restore the image")
		}
	}
}
