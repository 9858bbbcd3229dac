package detect

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
)

// ErrNoDlib is the error of NewDlib in an fkd built without dlib.
var ErrNoDlib = errors.New("fkd was built without dlib (-tags nodlib): install libdlib-dev (apt-get install libdlib-dev) and rebuild")

// dlibWindow is the side, in pixels of the scanned image, of the
// smallest face dlib's frontal face detector finds: its HOG filters'
// window.
const dlibWindow = 80

// DlibOptions are the settings of a Dlib detector. The zero value scans
// an image at the scale where a face of 40 pixels fills the detector's
// 80-pixel window (as dlib's own examples do by upsampling once), shrunk
// to at most 4 megapixels, and keeps the faces that score at least
// DefaultDlibMinScore.
type DlibOptions struct {
	// MinFace is the side, in the image's pixels, of the smallest face
	// looked for; 0 for 40. The image is resampled by 80/MinFace
	// before the scan, unless MaxPixels forbids.
	MinFace int
	// MaxPixels is the most pixels the resampled image may have; an
	// image that would have more is resampled to this many instead, and
	// its smallest face found is bigger than MinFace. 0 for 4,000,000.
	MaxPixels int
	// MinScore is the least Face.Score (MarginScore) a face needs; 0 for
	// DefaultDlibMinScore. 0.5 keeps what dlib keeps.
	MinScore float64
}

// DefaultDlibMinScore is the least score of the faces a Dlib keeps by
// default: 0.35, a margin of -0.31, a little below dlib's own threshold.
// On 400 fkd-ytf faces pasted into synthetic pictures (bench/framing's
// scenes) it finds 369 faces where dlib's threshold finds 353, with 20
// false alarms where that has 17; on the real photos of bench/photos no
// window that is not a face scores above 0.2.
const DefaultDlibMinScore = 0.35

func (o DlibOptions) withDefaults() (DlibOptions, error) {
	if o.MinFace == 0 {
		o.MinFace = 40
	}
	if o.MaxPixels == 0 {
		o.MaxPixels = 4_000_000
	}
	if o.MinScore == 0 {
		o.MinScore = DefaultDlibMinScore
	}
	if !(o.MinScore > 0 && o.MinScore < 1) {
		return o, fmt.Errorf("face detector: dlib: min score %v: want more than 0 and less than 1", o.MinScore)
	}
	if o.MinFace < 1 || o.MaxPixels < dlibWindow*dlibWindow {
		return o, fmt.Errorf("face detector: dlib: min face %d, max pixels %d: want a positive face size and at least %d pixels", o.MinFace, o.MaxPixels, dlibWindow*dlibWindow)
	}
	return o, nil
}

// margin returns the least margin a detection needs: MinScore's.
func (o DlibOptions) margin() float64 { return math.Log(o.MinScore/(1-o.MinScore)) / 2 }

// scale returns the factor by which a w×h image is resampled before the
// scan.
func (o DlibOptions) scale(w, h int) float64 {
	s := float64(dlibWindow) / float64(o.MinFace)
	if n := float64(w) * float64(h) * s * s; n > float64(o.MaxPixels) {
		s *= math.Sqrt(float64(o.MaxPixels) / n)
	}
	return s
}

// rawDetection is one of dlib's detections in the scanned image's
// continuous coordinates: edges (right and bottom exclusive) and margin.
type rawDetection struct {
	l, t, r, b, margin float64
}

// dlibFaces maps detections in an image resampled by sx across and sy
// down back into the pixels of an image with bounds b, surest first,
// less those whose box lies half or more inside a surer one's.
func dlibFaces(raw []rawDetection, sx, sy float64, b image.Rectangle) []Face {
	out := make([]Face, 0, len(raw))
	for _, d := range raw {
		box := image.Rect(int(math.Round(d.l/sx)), int(math.Round(d.t/sy)), int(math.Round(d.r/sx)), int(math.Round(d.b/sy)))
		out = append(out, Face{Box: box.Add(b.Min), Score: MarginScore(d.margin)})
	}
	slices.SortStableFunc(out, func(a, b Face) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	// dlib keeps a box inside a surer one when they overlap little by
	// their union (a part of a face within the face): drop it.
	kept := out[:0]
	for _, f := range out {
		inside := false
		for _, k := range kept {
			in := f.Box.Intersect(k.Box)
			if 2*in.Dx()*in.Dy() >= f.Box.Dx()*f.Box.Dy() {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, f)
		}
	}
	return kept
}

// MarginScore is Dlib's Face.Score of a detection whose HOG filter
// scored margin above dlib's threshold: the logistic function of twice
// the margin, 0.5 at the threshold. On the real photos of bench/photos
// the faces' margins are 0.6 to 2.6 (scores 0.76 to 0.99), and the best
// of the other windows is -0.7 (0.2).
func MarginScore(margin float64) float64 {
	return 1 / (1 + math.Exp(-2*margin))
}

// NeighbourScore is Cascade's Face.Score of a face that n raw detections
// were merged into: n/(n+10), 0.5 at 10. On the real photos of
// bench/photos the Haar cascade's faces have 12 to 141 (0.55 to 0.93),
// its false faces 4 to 9 (0.29 to 0.47).
func NeighbourScore(n float64) float64 {
	return n / (n + 10)
}
