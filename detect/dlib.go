//go:build !nodlib

package detect

/*
#cgo CXXFLAGS: -std=c++17 -O2
#cgo LDFLAGS: -ldlib -lstdc++
#include <stdlib.h>
#include "dlib.h"
*/
import "C"

import (
	"fmt"
	"image"
	"math"
	"runtime"
	"unsafe"

	"github.com/fkd-project/fkd/photo"
)

// HaveDlib reports whether this fkd was built with dlib.
const HaveDlib = true

// Dlib is a Detector on dlib's HOG frontal face detector (Debian's
// libdlib-dev). It holds up to one detector per CPU, so that images are
// scanned in parallel; Close frees them.
type Dlib struct {
	opts  DlibOptions
	slots chan struct{}    // a token per detector that may be in use
	idle  chan *C.fkd_dlib // made detectors not in use
}

// NewDlib returns a Detector on dlib's HOG frontal face detector.
func NewDlib(o DlibOptions) (*Dlib, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	n := runtime.GOMAXPROCS(0)
	d := &Dlib{opts: o, slots: make(chan struct{}, n), idle: make(chan *C.fkd_dlib, n)}
	first, err := newDlibHandle()
	if err != nil {
		return nil, err
	}
	d.idle <- first
	return d, nil
}

func newDlibHandle() (*C.fkd_dlib, error) {
	var msg [256]C.char
	h := C.fkd_dlib_new(&msg[0], C.int(len(msg)))
	if h == nil {
		return nil, fmt.Errorf("face detector: dlib: %s", C.GoString(&msg[0]))
	}
	return h, nil
}

// Detect scans img in grey levels, resampled so that a face of
// MinFace pixels fills dlib's window (or to MaxPixels), and returns the
// faces found, surest first, in img's pixels.
func (d *Dlib) Detect(img image.Image) ([]Face, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 {
		return nil, nil
	}
	scale := d.opts.scale(w, h)
	if float64(min(w, h))*scale < dlibWindow {
		return nil, nil
	}
	// A copy to shrink is shrunk here by area (photo.Shrink, which holds
	// a row of the photo at a time, not the photo in grey); one to
	// enlarge is enlarged in C++ from the photo in grey.
	var grey *image.Gray
	cscale := 1.0
	sw, sh := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	if scale < 1 {
		grey = photo.Shrink(img, int64(sw)*int64(sh))
		sw, sh = grey.Rect.Dx(), grey.Rect.Dy()
	} else {
		grey = photo.Grey(img)
		cscale = scale
	}

	d.slots <- struct{}{}
	defer func() { <-d.slots }()
	var hd *C.fkd_dlib
	select {
	case hd = <-d.idle:
	default:
		var err error
		if hd, err = newDlibHandle(); err != nil {
			return nil, err
		}
	}
	defer func() { d.idle <- hd }()

	const most = 256
	var rects [4 * most]C.int
	var margins [most]C.double
	var msg [256]C.char
	n := C.fkd_dlib_detect(hd, (*C.uint8_t)(unsafe.Pointer(&grey.Pix[0])), C.int(grey.Rect.Dx()), C.int(grey.Rect.Dy()), C.int(grey.Stride),
		C.double(cscale), C.double(d.opts.margin()), &rects[0], &margins[0], most, &msg[0], C.int(len(msg)))
	runtime.KeepAlive(grey)
	if n < 0 {
		return nil, fmt.Errorf("face detector: dlib: %s", C.GoString(&msg[0]))
	}
	raw := make([]rawDetection, min(int(n), most))
	for i := range raw {
		raw[i] = rawDetection{
			l: float64(rects[4*i]), t: float64(rects[4*i+1]), r: float64(rects[4*i+2]) + 1, b: float64(rects[4*i+3]) + 1,
			margin: float64(margins[i]),
		}
	}
	return dlibFaces(raw, float64(sw)/float64(w), float64(sh)/float64(h), b), nil
}

// Close frees the detectors. The Dlib must not be used after.
func (d *Dlib) Close() error {
	for {
		select {
		case h := <-d.idle:
			C.fkd_dlib_free(h)
		default:
			return nil
		}
	}
}
