package dataset

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// greyText holds the decimal text of every grey level.
var greyText = func() (t [256][]byte) {
	for v := range t {
		t[v] = strconv.AppendInt(nil, int64(v), 10)
	}
	return t
}()

// appendCoord appends the shortest text that reads back as the same
// float32.
func appendCoord(b []byte, v float32) []byte {
	return strconv.AppendFloat(b, float64(v), 'f', -1, 32)
}

// appendImage appends a face's pixels as space-separated grey levels.
func appendImage(b []byte, img []uint8) []byte {
	for i, v := range img {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, greyText[v]...)
	}
	return b
}

// WriteTraining writes s in Kaggle's training.csv format: the 30
// coordinate columns (empty where the mask is false) and Image, with LF
// line ends. Reading the output back gives s again (IDs become row
// numbers).
func WriteTraining(w io.Writer, s *Set) error {
	if !s.HasKeypoints() {
		return errors.New("write training data: set has no keypoints")
	}
	names := CoordNames()
	var b []byte
	for _, n := range names {
		b = append(b, n...)
		b = append(b, ',')
	}
	b = append(b, imageColumn+"\n"...)
	if _, err := w.Write(b); err != nil {
		return err
	}
	for i := range s.Len() {
		b = b[:0]
		c, m := s.Keypoints(i)
		for j := range NumCoords {
			if m[j] {
				b = appendCoord(b, c[j])
			}
			b = append(b, ',')
		}
		b = appendImage(b, s.Image(i))
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// WriteTest writes s in Kaggle's test.csv format (ImageId,Image) with LF
// line ends. s.IDs must hold positive image ids.
func WriteTest(w io.Writer, s *Set) error {
	if len(s.IDs) != s.Len() {
		return fmt.Errorf("write test data: %d ids for %d images", len(s.IDs), s.Len())
	}
	b := []byte(imageIDColumn + "," + imageColumn + "\n")
	if _, err := w.Write(b); err != nil {
		return err
	}
	for i := range s.Len() {
		if s.IDs[i] < 1 {
			return fmt.Errorf("write test data: image %d has id %d, want a positive id", i, s.IDs[i])
		}
		b = strconv.AppendInt(b[:0], int64(s.IDs[i]), 10)
		b = append(b, ',')
		b = appendImage(b, s.Image(i))
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
