//go:build !noopencv

package detect

import (
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"

	"gocv.io/x/gocv"

	"github.com/fkd-project/fkd/photo"
)

// Cascade is a Detector on an OpenCV cascade classifier. It holds up to
// one loaded classifier per CPU, so that images are scanned in parallel;
// Close frees them.
type Cascade struct {
	opts  CascadeOptions
	path  string
	slots chan struct{}                // a token per classifier that may be in use
	idle  chan *gocv.CascadeClassifier // loaded classifiers not in use
}

// NewCascade loads the cascade o.File (DefaultCascadeFile when "") and
// returns a Detector scanning with it. A file that is missing or that
// OpenCV cannot load is a *CascadeError.
func NewCascade(o CascadeOptions) (*Cascade, error) {
	o = o.withDefaults()
	if o.ScaleFactor <= 1 {
		return nil, fmt.Errorf("face detector: scale factor %v: want more than 1", o.ScaleFactor)
	}
	path, err := FindCascade(o.File)
	if err != nil {
		return nil, err
	}
	if err := checkCascadeFile(path); err != nil {
		return nil, err
	}
	n := runtime.GOMAXPROCS(0)
	c := &Cascade{opts: o, path: path, slots: make(chan struct{}, n), idle: make(chan *gocv.CascadeClassifier, n)}
	first, err := c.load()
	if err != nil {
		return nil, err
	}
	c.idle <- first
	return c, nil
}

// Path returns the cascade file's path.
func (c *Cascade) Path() string { return c.path }

func (c *Cascade) load() (*gocv.CascadeClassifier, error) {
	cc := gocv.NewCascadeClassifier()
	if !cc.Load(c.path) {
		cc.Close()
		return nil, &CascadeError{Path: c.path, Err: errors.New("not a cascade classifier OpenCV can load")}
	}
	return &cc, nil
}

// Detect scans img, in grey levels (shrunk to MaxPixels when bigger), at
// every scale from the cascade's MinSize up, and returns the faces found,
// surest first, in img's pixels.
func (c *Cascade) Detect(img image.Image) ([]Face, error) {
	b := img.Bounds()
	if b.Dx() < c.opts.MinSize || b.Dy() < c.opts.MinSize {
		return nil, nil
	}
	c.slots <- struct{}{}
	defer func() { <-c.slots }()
	var cc *gocv.CascadeClassifier
	select {
	case cc = <-c.idle:
	default:
		var err error
		if cc, err = c.load(); err != nil {
			return nil, err
		}
	}
	defer func() { c.idle <- cc }()

	// A photo of more than MaxPixels is scanned shrunk, its boxes mapped
	// back.
	var grey *image.Gray
	sx, sy, minSize := 1.0, 1.0, c.opts.MinSize
	if int64(b.Dx())*int64(b.Dy()) > int64(c.opts.MaxPixels) {
		grey = photo.Shrink(img, int64(c.opts.MaxPixels))
		sx, sy = float64(grey.Rect.Dx())/float64(b.Dx()), float64(grey.Rect.Dy())/float64(b.Dy())
		minSize = max(1, int(math.Round(float64(minSize)*sx)))
	} else {
		grey = photo.Grey(img)
	}
	gb := grey.Rect
	mat := gocv.NewMatWithSize(gb.Dy(), gb.Dx(), gocv.MatTypeCV8U)
	defer mat.Close()
	pix, err := mat.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("face detector: %w", err)
	}
	copy(pix, grey.Pix)
	if !c.opts.NoEqualize {
		eq := gocv.NewMat()
		defer eq.Close()
		gocv.EqualizeHist(mat, &eq)
		mat, eq = eq, mat
	}
	size := image.Pt(minSize, minSize)
	raw := cc.DetectMultiScaleWithParams(mat, c.opts.ScaleFactor, 0, 0, size, image.Point{})
	faces := group(raw, c.opts.MinNeighbors)
	for i := range faces {
		r := faces[i].Box
		if sx != 1 || sy != 1 {
			r = image.Rect(int(math.Round(float64(r.Min.X)/sx)), int(math.Round(float64(r.Min.Y)/sy)),
				int(math.Round(float64(r.Max.X)/sx)), int(math.Round(float64(r.Max.Y)/sy)))
		}
		faces[i].Box = r.Add(b.Min)
		faces[i].Score = NeighbourScore(faces[i].Score)
	}
	return faces, nil
}

// Close frees the loaded classifiers. The Cascade must not be used after.
func (c *Cascade) Close() error {
	for {
		select {
		case cc := <-c.idle:
			cc.Close()
		default:
			return nil
		}
	}
}
