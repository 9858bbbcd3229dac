package dataset

import (
	"io"
	"testing"
)

func TestWriteTestNeedsIDs(t *testing.T) {
	s := makeSet(2, 1)
	s.IDs = []int{1, 0}
	if err := WriteTest(io.Discard, s); err == nil {
		t.Error("an id of 0 was written")
	}
	s.IDs = nil
	if err := WriteTest(io.Discard, s); err == nil {
		t.Error("a set without ids was written")
	}
	if err := WriteTraining(io.Discard, &Set{Images: make([]uint8, PixelCount)}); err == nil {
		t.Error("a set without keypoints was written as training data")
	}
}
