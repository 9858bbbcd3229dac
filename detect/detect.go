// Package detect finds faces in images. A Detector takes an image and
// returns the boxes of the faces in it, each with a score; Dlib is one
// on dlib's HOG frontal face detector (through cgo, Debian's
// libdlib-dev), the default of New; Cascade one on OpenCV's cascade
// classifiers (Haar or LBP, through gocv), the fallback; Whole and Fixed
// stand in for one where the faces' places are known. Each detector's
// box covers its own part of the face: predict.BoxAnchorOf says which.
//
// OpenCV is needed only by Cascade, dlib only by Dlib. fkd built with
// the tag noopencv has no OpenCV: NewCascade then returns ErrNoOpenCV;
// built with the tag nodlib it has no dlib: NewDlib returns ErrNoDlib,
// and New("dlib") warns and makes the cascade. The rest of the package
// works in every build.
package detect

import (
	"bufio"
	"encoding/xml"
	"errors"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Face is a face a Detector found.
type Face struct {
	// Box is the face's box in the image's pixel coordinates. What part
	// of the face it covers is the detector's own: a Haar cascade's box
	// runs from the eyebrows to the lip, about.
	Box image.Rectangle
	// Score is how sure the detector is that Box holds a face, from 0
	// to 1, higher for surer, 0.5 at the detector's own line between
	// face and no face: for Dlib MarginScore of the HOG filter's margin
	// over dlib's threshold (Dlib keeps faces from DlibOptions.MinScore
	// up), for Cascade NeighbourScore of the number of raw detections
	// merged into Box. It is not a probability: the two detectors' scores
	// of one face differ. It is 0 when no detector looked (Whole, and
	// Fixed unless it says).
	Score float64
}

// A Detector finds faces in images. Detect must be safe to call from
// several goroutines at once.
type Detector interface {
	Detect(img image.Image) ([]Face, error)
}

// Whole is the Detector that takes the whole image as one face.
type Whole struct{}

// Detect returns the image's bounds as its one face.
func (Whole) Detect(img image.Image) ([]Face, error) {
	return []Face{{Box: img.Bounds()}}, nil
}

// Fixed is a Detector that returns its own faces for every image: for
// tests, and for images whose faces are known.
type Fixed []Face

// Detect returns f's faces that overlap img.
func (f Fixed) Detect(img image.Image) ([]Face, error) {
	var out []Face
	for _, face := range f {
		if face.Box.Overlaps(img.Bounds()) {
			out = append(out, face)
		}
	}
	return out, nil
}

// ErrNoOpenCV is the error of NewCascade in an fkd built without OpenCV.
var ErrNoOpenCV = errors.New("fkd was built without OpenCV (-tags noopencv): install libopencv-dev and opencv-data and rebuild")

// DefaultCascadeFile is the cascade NewCascade loads when given none:
// OpenCV's Haar cascade for upright frontal faces.
const DefaultCascadeFile = "haarcascade_frontalface_default.xml"

// CascadeDirs are the folders searched for a cascade named without a
// folder: where Debian's opencv-data and a build of OpenCV from source
// put them.
var CascadeDirs = []string{
	"/usr/share/opencv4/haarcascades",
	"/usr/share/opencv4/lbpcascades",
	"/usr/local/share/opencv4/haarcascades",
	"/usr/local/share/opencv4/lbpcascades",
	"/usr/share/opencv/haarcascades",
	"/usr/share/opencv/lbpcascades",
}

// FindCascade returns the path of the cascade file name: name itself when
// it holds a folder or exists, else the first of CascadeDirs holding it.
// A cascade it cannot find is an error saying which package ships it.
func FindCascade(name string) (string, error) {
	if name == "" {
		name = DefaultCascadeFile
	}
	if strings.ContainsRune(name, filepath.Separator) {
		if _, err := os.Stat(name); err != nil {
			return "", &CascadeError{Path: name, Err: err}
		}
		return name, nil
	}
	if _, err := os.Stat(name); err == nil {
		return name, nil
	}
	for _, dir := range CascadeDirs {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", &CascadeError{Path: name, Err: errNotInstalled}
}

var errNotInstalled = errors.New("not found in " + strings.Join(CascadeDirs[:2], " or ") +
	": install Debian's opencv-data (apt-get install opencv-data), or give the file's path")

// CascadeError is the error of a cascade file that is missing or that
// OpenCV cannot load.
type CascadeError struct {
	Path string
	Err  error
}

func (e *CascadeError) Error() string {
	return "face detector: cascade " + e.Path + ": " + e.Err.Error()
}

func (e *CascadeError) Unwrap() error { return e.Err }

// CascadeOptions are the settings of a Cascade. The zero value is OpenCV's
// Haar frontal face cascade with OpenCV's usual settings.
type CascadeOptions struct {
	// File is the cascade's XML file, or a name looked for in
	// CascadeDirs; "" for DefaultCascadeFile.
	File string
	// ScaleFactor is the ratio between the sizes of successive scans, more
	// than 1; 0 for 1.1.
	ScaleFactor float64
	// MinNeighbors is how many raw detections, less one, a face needs:
	// fewer are taken for noise. 0 for 3; -1 keeps every raw detection.
	MinNeighbors int
	// MinSize is the side of the smallest face looked for, in pixels; 0
	// for 24, the window the cascades were trained on.
	MinSize int
	// NoEqualize turns off the histogram equalisation of the image
	// before the scan.
	NoEqualize bool
	// MaxPixels is the most pixels scanned: a bigger image is shrunk to
	// this many first (photo.Shrink), and MinSize with it, so that its
	// smallest face found is bigger; 0 for 4,000,000, -1 for no limit.
	MaxPixels int
}

func (o CascadeOptions) withDefaults() CascadeOptions {
	if o.ScaleFactor == 0 {
		o.ScaleFactor = 1.1
	}
	if o.MinNeighbors == 0 {
		o.MinNeighbors = 3
	}
	if o.MinSize == 0 {
		o.MinSize = 24
	}
	switch {
	case o.MaxPixels == 0:
		o.MaxPixels = 4_000_000
	case o.MaxPixels < 0:
		o.MaxPixels = math.MaxInt
	}
	return o
}

// checkCascadeFile checks that the file at path is an OpenCV cascade as
// OpenCV's XML persistence writes it: well-formed XML whose root is
// <opencv_storage> holding a <cascade> (the format of OpenCV 2.4 on) or
// an element of type_id "opencv-haar-classifier" (the old one). OpenCV
// aborts the process on a file it cannot parse, rather than failing.
func checkCascadeFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return &CascadeError{Path: path, Err: err}
	}
	defer f.Close()
	notCascade := &CascadeError{Path: path, Err: errors.New("not a cascade classifier OpenCV can load (an OpenCV XML file with a <cascade>)")}
	dec := xml.NewDecoder(bufio.NewReader(f))
	depth, found := 0, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return notCascade
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 && t.Name.Local != "opencv_storage" {
				return notCascade
			}
			if depth == 2 && t.Name.Local == "cascade" {
				found = true
			}
			for _, a := range t.Attr {
				if depth == 2 && a.Name.Local == "type_id" && a.Value == "opencv-haar-classifier" {
					found = true
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if !found {
		return notCascade
	}
	return nil
}
