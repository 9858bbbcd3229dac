package dataset

// Set holds faces in flat, row-major slices so they map straight onto
// tensors without copying row by row.
//
// Face i owns Images[i*PixelCount:(i+1)*PixelCount] (grey levels 0..255,
// row-major, top row first), Coords[i*NumCoords:(i+1)*NumCoords] (pixels,
// x then y for each keypoint in Keypoints order) and the same range of
// Mask (true where the coordinate is present). A missing coordinate is
// never 0 by accident: its Mask entry is false and its Coords entry is 0.
type Set struct {
	Images []uint8
	Coords []float32 // nil for test data, which has no keypoints
	Mask   []bool    // nil for test data
	IDs    []int     // ImageId of each face for test data; row number (1-based) for training data
	// Lines holds the line of each face in the file it was read from (the
	// header is line 1); nil when unknown, as for generated sets.
	Lines []int
}

// Line returns the file line of face i, or 0 when it is not known.
func (s *Set) Line(i int) int {
	if i < len(s.Lines) {
		return s.Lines[i]
	}
	return 0
}

// Len returns the number of faces.
func (s *Set) Len() int { return len(s.Images) / PixelCount }

// Image returns face i's pixels.
func (s *Set) Image(i int) []uint8 { return s.Images[i*PixelCount : (i+1)*PixelCount] }

// HasKeypoints reports whether the set carries keypoints (training data).
func (s *Set) HasKeypoints() bool { return s.Coords != nil }

// Keypoints returns face i's coordinates and mask.
func (s *Set) Keypoints(i int) (coords []float32, mask []bool) {
	return s.Coords[i*NumCoords : (i+1)*NumCoords], s.Mask[i*NumCoords : (i+1)*NumCoords]
}

// Complete reports whether face i has all 30 coordinates.
func (s *Set) Complete(i int) bool {
	_, m := s.Keypoints(i)
	for _, ok := range m {
		if !ok {
			return false
		}
	}
	return true
}

// Subset returns a new Set holding the faces at the given indices, in order.
// The slices are copied, so the result does not alias s.
func (s *Set) Subset(idx []int) *Set {
	out := &Set{Images: make([]uint8, 0, len(idx)*PixelCount)}
	if s.HasKeypoints() {
		out.Coords = make([]float32, 0, len(idx)*NumCoords)
		out.Mask = make([]bool, 0, len(idx)*NumCoords)
	}
	if s.IDs != nil {
		out.IDs = make([]int, 0, len(idx))
	}
	if s.Lines != nil {
		out.Lines = make([]int, 0, len(idx))
	}
	for _, i := range idx {
		out.Images = append(out.Images, s.Image(i)...)
		if s.HasKeypoints() {
			c, m := s.Keypoints(i)
			out.Coords = append(out.Coords, c...)
			out.Mask = append(out.Mask, m...)
		}
		if s.IDs != nil {
			out.IDs = append(out.IDs, s.IDs[i])
		}
		if s.Lines != nil {
			out.Lines = append(out.Lines, s.Lines[i])
		}
	}
	return out
}
