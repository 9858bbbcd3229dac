//go:build noopencv

package detect

import (
	"errors"
	"image"
	"testing"
)

func TestNoOpenCV(t *testing.T) {
	c, err := NewCascade(CascadeOptions{})
	if !errors.Is(err, ErrNoOpenCV) || err.Error() != "fkd was built without OpenCV (-tags noopencv): install libopencv-dev and opencv-data and rebuild" {
		t.Errorf("NewCascade: %v, %v", c, err)
	}
	if _, err := (&Cascade{}).Detect(image.NewGray(image.Rect(0, 0, 9, 9))); !errors.Is(err, ErrNoOpenCV) {
		t.Errorf("Detect: %v", err)
	}
}
