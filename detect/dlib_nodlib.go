//go:build nodlib

package detect

import "image"

// HaveDlib reports whether this fkd was built with dlib.
const HaveDlib = false

// Dlib is a Detector on dlib's HOG frontal face detector; in this build,
// without dlib, NewDlib returns ErrNoDlib.
type Dlib struct{ opts DlibOptions }

// NewDlib returns ErrNoDlib: this fkd was built without dlib.
func NewDlib(o DlibOptions) (*Dlib, error) { return nil, ErrNoDlib }

// Detect returns ErrNoDlib.
func (d *Dlib) Detect(img image.Image) ([]Face, error) { return nil, ErrNoDlib }

// Close does nothing.
func (d *Dlib) Close() error { return nil }
