//go:build nodlib

package detect

import (
	"errors"
	"image"
	"testing"
)

func TestNoDlib(t *testing.T) {
	d, err := NewDlib(DlibOptions{})
	if !errors.Is(err, ErrNoDlib) || err.Error() != "fkd was built without dlib (-tags nodlib): install libdlib-dev (apt-get install libdlib-dev) and rebuild" {
		t.Errorf("NewDlib: %v, %v", d, err)
	}
	if _, err := (&Dlib{}).Detect(image.NewGray(image.Rect(0, 0, 9, 9))); !errors.Is(err, ErrNoDlib) {
		t.Errorf("Detect: %v", err)
	}
}
