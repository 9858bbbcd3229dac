//go:build noopencv

package detect

import "image"

// Cascade is a Detector on an OpenCV cascade classifier; in this build,
// without OpenCV, NewCascade returns ErrNoOpenCV.
type Cascade struct{ opts CascadeOptions }

// NewCascade returns ErrNoOpenCV: this fkd was built without OpenCV.
func NewCascade(o CascadeOptions) (*Cascade, error) { return nil, ErrNoOpenCV }

// Path returns "".
func (c *Cascade) Path() string { return "" }

// Detect returns ErrNoOpenCV.
func (c *Cascade) Detect(img image.Image) ([]Face, error) { return nil, ErrNoOpenCV }

// Close does nothing.
func (c *Cascade) Close() error { return nil }
