// Package dataset reads and writes the Kaggle "Facial Keypoints Detection"
// files (training.csv, test.csv, IdLookupTable.csv, submissions), holds the
// keypoint schema, splits data into training and hold-out parts, and scores
// predictions with the competition's metric.
package dataset

// Image geometry of every face in the competition.
const (
	ImageSize    = 96                    // pixels per side
	PixelCount   = ImageSize * ImageSize // 9216 grey pixels per face
	NumKeypoints = 15                    // named facial landmarks
	NumCoords    = 2 * NumKeypoints      // 30 columns: x then y for each keypoint
)

// Keypoints lists the 15 landmarks in Kaggle's column order. Keypoint k owns
// columns 2k (x) and 2k+1 (y) of a coordinate row. "Left" is the subject's
// left, which appears on the image's right.
var Keypoints = [NumKeypoints]string{
	"left_eye_center",
	"right_eye_center",
	"left_eye_inner_corner",
	"left_eye_outer_corner",
	"right_eye_inner_corner",
	"right_eye_outer_corner",
	"left_eyebrow_inner_end",
	"left_eyebrow_outer_end",
	"right_eyebrow_inner_end",
	"right_eyebrow_outer_end",
	"nose_tip",
	"mouth_left_corner",
	"mouth_right_corner",
	"mouth_center_top_lip",
	"mouth_center_bottom_lip",
}

// coordNames holds the 30 coordinate column names, built once from
// Keypoints.
var coordNames = func() (names [NumCoords]string) {
	for k, kp := range Keypoints {
		names[2*k] = kp + "_x"
		names[2*k+1] = kp + "_y"
	}
	return names
}()

var coordIndex = func() map[string]int {
	m := make(map[string]int, NumCoords)
	for i, n := range coordNames {
		m[n] = i
	}
	return m
}()

// CoordNames returns the 30 coordinate column names in Kaggle's order:
// "left_eye_center_x", "left_eye_center_y", "right_eye_center_x", ...
// Column i of a coordinate row is named CoordNames()[i].
func CoordNames() [NumCoords]string { return coordNames }

// CoordIndex returns the column index of a coordinate name such as
// "nose_tip_y", and whether the name is one of the 30.
func CoordIndex(name string) (int, bool) {
	i, ok := coordIndex[name]
	return i, ok
}

// KeypointIndex returns the index in Keypoints of a landmark name such as
// "nose_tip", and whether the name is one of the 15.
func KeypointIndex(name string) (int, bool) {
	for k, kp := range Keypoints {
		if kp == name {
			return k, true
		}
	}
	return 0, false
}

// CommonKeypoints are the four landmarks present in nearly every Kaggle
// training row; the other eleven are present in only about 30% of rows.
var CommonKeypoints = [4]int{0, 1, 10, 14} // eye centres, nose tip, bottom lip

// FlipPairs lists the keypoints that trade places under a horizontal flip
// of the image: the subject's left eye centre becomes the right eye centre
// and so on. Keypoints on the face's midline (nose tip, top and bottom lip
// centre) are not listed; they map to themselves.
var FlipPairs = [][2]int{
	{0, 1},   // left_eye_center, right_eye_center
	{2, 4},   // left_eye_inner_corner, right_eye_inner_corner
	{3, 5},   // left_eye_outer_corner, right_eye_outer_corner
	{6, 8},   // left_eyebrow_inner_end, right_eyebrow_inner_end
	{7, 9},   // left_eyebrow_outer_end, right_eyebrow_outer_end
	{11, 12}, // mouth_left_corner, mouth_right_corner
}

// FlipCoordPerm returns the column permutation of a horizontal flip: after
// flipping, column i holds what was in column FlipCoordPerm()[i] (with x
// mirrored, see FlipCoords). The permutation is its own inverse.
func FlipCoordPerm() [NumCoords]int {
	var perm [NumCoords]int
	for i := range perm {
		perm[i] = i
	}
	for _, p := range FlipPairs {
		a, b := p[0], p[1]
		perm[2*a], perm[2*b] = 2*b, 2*a
		perm[2*a+1], perm[2*b+1] = 2*b+1, 2*a+1
	}
	return perm
}

// Keypoint coordinates count pixels from 1: the files put the centre of
// pixel column c (from 0) at x = c + 1 and of row r at y = r + 1, so the
// image spans [PixelOrigin, PixelOrigin+ImageSize] = [0.5, 96.5] on both
// axes and its centre is at ImageCentre = 48.5. Reversing the pixel
// columns of an image therefore maps a point's x to 2·ImageCentre - x =
// 97 - x, and leaves y alone.
//
// The files do not say so; the faces do: nets trained with mirror images
// labelled 96 - x predicted x too small, and flip TTA scored best about
// 48.5 (bench/mirror measures both; the figures are in
// docs/results/README.md, "The mirror axis").
const (
	PixelOrigin = 0.5                       // keypoint coordinate of the image's top-left corner
	ImageCentre = PixelOrigin + ImageSize/2 // 48.5: the image's centre in keypoint coordinates
)

// FlipCoords rewrites one face's 30 coordinates and mask (as returned by
// Set.Keypoints) for the horizontally flipped image: left and right
// keypoints trade places and every present x becomes 2·ImageCentre - x.
// Missing coordinates stay missing, with Coords 0.
func FlipCoords(coords []float32, mask []bool) {
	if len(coords) != NumCoords || len(mask) != NumCoords {
		panic("dataset: FlipCoords needs 30 coordinates and 30 mask entries")
	}
	perm := FlipCoordPerm()
	var c [NumCoords]float32
	var m [NumCoords]bool
	for i, j := range perm {
		c[i], m[i] = coords[j], mask[j]
		if i%2 == 0 && m[i] {
			c[i] = 2*ImageCentre - c[i]
		}
	}
	copy(coords, c[:])
	copy(mask, m[:])
}

// FlipImage writes the horizontal mirror image of src (PixelCount grey
// levels, row-major) into dst. dst and src may be the same slice.
func FlipImage(dst, src []uint8) {
	if len(dst) != PixelCount || len(src) != PixelCount {
		panic("dataset: FlipImage needs two 96x96 images")
	}
	for r := 0; r < ImageSize; r++ {
		s := src[r*ImageSize : (r+1)*ImageSize]
		d := dst[r*ImageSize : (r+1)*ImageSize]
		for c := 0; c < ImageSize/2; c++ {
			d[c], d[ImageSize-1-c] = s[ImageSize-1-c], s[c]
		}
	}
}
