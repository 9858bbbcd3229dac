package detect

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Names of the detectors New makes.
const (
	NameDlib    = "dlib"    // Dlib: dlib's HOG frontal face detector
	NameCascade = "cascade" // Cascade: an OpenCV cascade (Options.Cascade.File)
	NameWhole   = "whole"   // Whole: each image is one face
	NameDefault = "default" // DefaultName
)

// Names lists the names New takes, for a flag's help.
var Names = []string{NameDefault, NameDlib, NameCascade, NameWhole}

// DefaultName is the detector New makes for "default" (or ""): dlib's
// HOG detector, which finds more faces and far fewer false ones than
// the Haar cascade on real photos (bench/photos).
const DefaultName = NameDlib

// Options are the settings of the detectors New makes.
type Options struct {
	// MinFace, when not 0, is the side in pixels of the smallest face
	// looked for, for any detector: it overrides Cascade.MinSize and
	// Dlib.MinFace.
	MinFace int
	Cascade CascadeOptions
	Dlib    DlibOptions
	// Warnings receives the one-line warning of a fallback (dlib
	// missing, the cascade used instead); nil for os.Stderr.
	Warnings io.Writer
}

// New makes the detector called name (one of Names; "" is "default").
// Where dlib is asked for but this fkd was built without it, New warns
// in one line which package to install and makes the cascade instead.
// The caller closes what it returns when it has a Close method
// (Dlib, Cascade).
func New(name string, o Options) (Detector, error) {
	if o.MinFace != 0 {
		o.Cascade.MinSize = o.MinFace
		o.Dlib.MinFace = o.MinFace
	}
	switch name {
	case "", NameDefault:
		name = DefaultName
	}
	switch name {
	case NameWhole:
		return Whole{}, nil
	case NameCascade:
		return NewCascade(o.Cascade)
	case NameDlib:
		d, err := NewDlib(o.Dlib)
		if errors.Is(err, ErrNoDlib) {
			c, cerr := NewCascade(o.Cascade)
			if cerr != nil {
				return nil, fmt.Errorf("%w; and the cascade instead: %w", err, cerr)
			}
			w := o.Warnings
			if w == nil {
				w = os.Stderr
			}
			fmt.Fprintf(w, "fkd: warning: %v; using OpenCV's cascade %s instead, which finds fewer faces and more false ones\n", err, filepath.Base(c.Path()))
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("face detector %q: want one of default, dlib, cascade or whole", name)
}

// Name says which detector det is, in a few words: "dlib HOG",
// "cascade haarcascade_frontalface_default.xml", "whole".
func Name(det Detector) string {
	switch d := det.(type) {
	case *Dlib:
		return "dlib HOG"
	case *Cascade:
		return "cascade " + filepath.Base(d.Path())
	case Whole:
		return NameWhole
	case Fixed:
		return "fixed"
	}
	return fmt.Sprintf("%T", det)
}

// Close frees what det holds, when it holds anything (Dlib, Cascade:
// what New may return); det must not be used after.
func Close(det Detector) error {
	if c, ok := det.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
