// Package synth draws synthetic face-like images whose 15 Kaggle keypoints
// are known exactly. The faces are cartoons (an oval with eyes, pupils,
// eyebrows, nostrils and lips on a noisy background), posed at random; they
// make tests and smoke runs independent of the real data, and a model that
// cannot learn them has a bug.
package synth

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/fkd-project/fkd/dataset"
)

// Options controls what Generate draws. The zero value gives posed, noisy
// faces with all 15 keypoints.
type Options struct {
	// PartialFrac is the fraction of faces that keep only the four common
	// keypoints (eye centres, nose tip, bottom lip centre), as most Kaggle
	// training rows do; the other 11 are marked missing.
	PartialFrac float64
	// Symmetric draws every face upright at the image centre, exactly
	// mirror-symmetric about the vertical line through it (x =
	// dataset.ImageCentre in keypoint coordinates), on a plain
	// background without noise: flipping the image horizontally gives the
	// same pixels, and dataset.FlipCoords maps the keypoints to
	// themselves. Faces still vary in size, proportions and grey levels.
	Symmetric bool
	// Clean turns off pixel noise and the background gradient.
	Clean bool
}

// Generate draws n faces. The same n, seed and options give the same Set
// on every machine; face i depends only on seed and i. IDs are 1..n.
func Generate(n int, seed int64, opt Options) *dataset.Set {
	s := &dataset.Set{
		Images: make([]uint8, n*dataset.PixelCount),
		Coords: make([]float32, n*dataset.NumCoords),
		Mask:   make([]bool, n*dataset.NumCoords),
		IDs:    make([]int, n),
	}
	workers := min(runtime.GOMAXPROCS(0), max(n/64, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)*0x9e3779b97f4a7c15+1))
				f := newFace(rng, opt)
				f.draw(s.Image(i), rng, opt)
				c, m := s.Keypoints(i)
				partial := opt.PartialFrac > 0 && rng.Float64() < opt.PartialFrac
				f.keypoints(c, m, partial)
				s.IDs[i] = i + 1
			}
		})
	}
	wg.Wait()
	return s
}

// vec is a point in pixels.
type vec struct{ x, y float64 }

// face is one drawn face: its proportions in the face's own frame (origin
// at the face centre, y down, before pose) and its pose in the image.
type face struct {
	// Proportions, in face-frame pixels. Features on the subject's left
	// (image right) are at +x.
	headA, headB    float64 // oval semi-axes
	eyeX, eyeY      float64 // left eye centre; the right eye mirrors it
	eyeA, eyeB      float64 // eye semi-axes; the corners are eyeA from the centre
	pupilR          float64
	browIn, browOut vec     // left eyebrow ends; the right mirrors them
	browW           float64 // eyebrow half-thickness
	noseY           float64 // nose tip height
	nostrilX        float64 // nostril offset from the midline
	mouthX, mouthY  float64 // left mouth corner
	lipTop, lipBot  float64 // heights of the lip centres
	yaw             float64 // sideways shift of the inner features (turning head)

	// Pose: image point = centre + scale * R(angle) * face point.
	centre vec
	scale  float64
	cos    float64
	sin    float64

	// Grey levels.
	background, gradX, gradY float64
	skin, sclera, pupil      float64
	brow, lips, nostril      float64
	contrast, brightness     float64
}

// uniform returns a value drawn uniformly from [lo, hi).
func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

func newFace(rng *rand.Rand, opt Options) *face {
	f := &face{
		headA:    uniform(rng, 31, 37),
		headB:    uniform(rng, 40, 46),
		eyeX:     uniform(rng, 15.5, 20),
		eyeY:     uniform(rng, -15, -11),
		eyeA:     uniform(rng, 6, 7.5),
		eyeB:     uniform(rng, 2.8, 3.8),
		pupilR:   uniform(rng, 2, 2.8),
		browW:    uniform(rng, 1.2, 2),
		noseY:    uniform(rng, 9, 14),
		nostrilX: uniform(rng, 3, 4.5),
		mouthX:   uniform(rng, 12, 17),
		scale:    uniform(rng, 0.88, 1.08),
		cos:      1,
		centre:   vec{dataset.ImageSize / 2, 50},
	}
	f.browIn = vec{uniform(rng, 6, 9), f.eyeY - uniform(rng, 7, 10)}
	f.browOut = vec{f.eyeX + f.eyeA + uniform(rng, 4, 8), f.browIn.y + uniform(rng, -1, 2)}
	// Keep the outer eyebrow end on the face, clear of the oval's edge
	// even when the features shift sideways with the yaw.
	if dy := (f.browOut.y - headCentreY) / f.headB; dy*dy < 1 {
		f.browOut.x = min(f.browOut.x, f.headA*math.Sqrt(1-dy*dy)-maxYaw-2)
	}
	f.mouthY = f.noseY + uniform(rng, 12, 16)
	f.lipTop = f.mouthY - uniform(rng, 2, 4)
	f.lipBot = f.mouthY + uniform(rng, 2.5, 5)

	f.skin = uniform(rng, 90, 210)
	f.background = f.skin + uniform(rng, 35, 90)*sign(rng)
	if f.background < 10 || f.background > 245 {
		f.background = f.skin - (f.background - f.skin)
	}
	f.sclera = min(f.skin+uniform(rng, 30, 60), 250)
	f.pupil = uniform(rng, 10, 45)
	f.brow = f.skin * uniform(rng, 0.3, 0.55)
	f.lips = f.skin * uniform(rng, 0.45, 0.7)
	f.nostril = f.skin * uniform(rng, 0.35, 0.6)
	f.contrast = uniform(rng, 0.7, 1.2)
	f.brightness = uniform(rng, -25, 25)

	if !opt.Symmetric {
		angle := uniform(rng, -15, 15) * math.Pi / 180
		f.cos, f.sin = math.Cos(angle), math.Sin(angle)
		f.centre.x += rng.NormFloat64() * 2.5
		f.centre.y += rng.NormFloat64() * 2.5
		f.yaw = uniform(rng, -maxYaw, maxYaw)
		if !opt.Clean {
			f.gradX = uniform(rng, -0.5, 0.5)
			f.gradY = uniform(rng, -0.5, 0.5)
		}
	}
	for !f.fits() {
		f.scale *= 0.97 // rare: a tilted, large, off-centre face
	}
	return f
}

// fits reports whether every keypoint lies at least a pixel inside the
// image.
func (f *face) fits() bool {
	var c [dataset.NumCoords]float32
	var m [dataset.NumCoords]bool
	f.keypoints(c[:], m[:], false)
	for _, v := range c {
		if v < 1 || v > dataset.ImageSize-1 {
			return false
		}
	}
	return true
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// toImage maps a face-frame point to image pixels.
func (f *face) toImage(p vec) vec {
	return vec{
		f.centre.x + f.scale*(f.cos*p.x-f.sin*p.y),
		f.centre.y + f.scale*(f.sin*p.x+f.cos*p.y),
	}
}

// toFace maps an image point to the face frame.
func (f *face) toFace(p vec) vec {
	dx, dy := (p.x-f.centre.x)/f.scale, (p.y-f.centre.y)/f.scale
	return vec{f.cos*dx + f.sin*dy, -f.sin*dx + f.cos*dy}
}

// keypoints writes the 15 landmarks in Kaggle's order. Partial faces keep
// only the four common ones.
func (f *face) keypoints(coords []float32, mask []bool, partial bool) {
	y := f.yaw
	pts := [dataset.NumKeypoints]vec{
		{f.eyeX + y, f.eyeY},            // left_eye_center
		{-f.eyeX + y, f.eyeY},           // right_eye_center
		{f.eyeX - f.eyeA + y, f.eyeY},   // left_eye_inner_corner
		{f.eyeX + f.eyeA + y, f.eyeY},   // left_eye_outer_corner
		{-f.eyeX + f.eyeA + y, f.eyeY},  // right_eye_inner_corner
		{-f.eyeX - f.eyeA + y, f.eyeY},  // right_eye_outer_corner
		{f.browIn.x + y, f.browIn.y},    // left_eyebrow_inner_end
		{f.browOut.x + y, f.browOut.y},  // left_eyebrow_outer_end
		{-f.browIn.x + y, f.browIn.y},   // right_eyebrow_inner_end
		{-f.browOut.x + y, f.browOut.y}, // right_eyebrow_outer_end
		{noseShift * y, f.noseY},        // nose_tip
		{f.mouthX + y, f.mouthY},        // mouth_left_corner
		{-f.mouthX + y, f.mouthY},       // mouth_right_corner
		{y, f.lipTop},                   // mouth_center_top_lip
		{y, f.lipBot},                   // mouth_center_bottom_lip
	}
	common := map[int]bool{}
	for _, k := range dataset.CommonKeypoints {
		common[k] = true
	}
	for k, p := range pts {
		// The drawing is in continuous pixel positions (the image spans
		// [0, 96]); keypoint files count pixels from 1 (dataset.PixelOrigin).
		q := f.toImage(p)
		coords[2*k], coords[2*k+1] = float32(q.x+dataset.PixelOrigin), float32(q.y+dataset.PixelOrigin)
		mask[2*k], mask[2*k+1] = true, true
		if partial && !common[k] {
			coords[2*k], coords[2*k+1] = 0, 0
			mask[2*k], mask[2*k+1] = false, false
		}
	}
}

// The head oval's centre sits headCentreY below the face centre, and the
// inner features shift sideways by at most maxYaw.
const (
	headCentreY = 2
	maxYaw      = 4
)

// noseShift is how much more the nose tip moves with yaw than the eyes
// and mouth: it sticks out of the face.
const noseShift = 1.5

// coverage turns a signed distance (negative inside a shape, in image
// pixels) into how much of a pixel the shape covers, with a one-pixel
// soft edge so that sub-pixel positions show in the grey levels.
func coverage(d float64) float64 {
	switch {
	case d <= -0.5:
		return 1
	case d >= 0.5:
		return 0
	}
	return 0.5 - d
}

// ellipseDist approximates the signed distance from p to an axis-aligned
// ellipse with semi-axes a, b centred at the origin, in face pixels.
func ellipseDist(p vec, a, b float64) float64 {
	r := math.Hypot(p.x/a, p.y/b)
	return (r - 1) * min(a, b)
}

// segmentDist is the distance from p to the segment a-b minus radius w:
// the signed distance to a capsule.
func segmentDist(p, a, b vec, w float64) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	t := ((p.x-a.x)*dx + (p.y-a.y)*dy) / (dx*dx + dy*dy)
	t = min(max(t, 0), 1)
	return math.Hypot(p.x-a.x-t*dx, p.y-a.y-t*dy) - w
}

// blend mixes grey level top over base with weight a.
func blend(base, top, a float64) float64 { return base + a*(top-base) }

// draw renders the face into img (96x96, row-major).
func (f *face) draw(img []uint8, rng *rand.Rand, opt Options) {
	noisy := !opt.Clean && !opt.Symmetric
	s := f.scale // face-frame distances times s are image pixels
	for r := range dataset.ImageSize {
		for c := range dataset.ImageSize {
			px := vec{float64(c) + 0.5, float64(r) + 0.5}
			v := f.background + f.gradX*(px.x-48) + f.gradY*(px.y-48)
			p := f.toFace(px)
			if a := coverage(s * ellipseDist(vec{p.x, p.y - headCentreY}, f.headA, f.headB)); a > 0 {
				v = blend(v, f.skin, a)
				v = f.features(v, vec{p.x - f.yaw, p.y}, s)
			}
			v = (v-128)*f.contrast + 128 + f.brightness
			if noisy {
				v += rng.NormFloat64() * 4
			}
			img[r*dataset.ImageSize+c] = uint8(min(max(math.Round(v), 0), 255))
		}
	}
}

// features paints the inner features over grey level v at face point p
// (already shifted by the yaw), s being the face's scale.
func (f *face) features(v float64, p vec, s float64) float64 {
	ax := math.Abs(p.x) // features mirror about the midline
	q := vec{ax, p.y}
	// Eyebrows.
	if a := coverage(s * segmentDist(q, f.browIn, f.browOut, f.browW)); a > 0 {
		v = blend(v, f.brow, a)
	}
	// Eyes: sclera, then the pupil at the eye centre.
	e := vec{ax - f.eyeX, p.y - f.eyeY}
	if a := coverage(s * ellipseDist(e, f.eyeA, f.eyeB)); a > 0 {
		v = blend(v, f.sclera, a)
		if a := coverage(s * (math.Hypot(e.x, e.y) - f.pupilR)); a > 0 {
			v = blend(v, f.pupil, a)
		}
	}
	// Nostrils either side of the nose tip, and a faint bridge.
	n := vec{p.x - (noseShift-1)*f.yaw, p.y}
	if a := coverage(s * segmentDist(n, vec{0, f.eyeY + 2}, vec{0, f.noseY - 2}, 0.8)); a > 0 {
		v = blend(v, f.nostril, 0.35*a)
	}
	if a := coverage(s * ellipseDist(vec{math.Abs(n.x) - f.nostrilX, n.y - f.noseY}, 2, 1.3)); a > 0 {
		v = blend(v, f.nostril, a)
	}
	// Lips: between two parabolas through the mouth corners and the lip
	// centres.
	if ax < f.mouthX+1 {
		t := 1 - (ax/f.mouthX)*(ax/f.mouthX)
		top := f.mouthY + (f.lipTop-f.mouthY)*t
		bot := f.mouthY + (f.lipBot-f.mouthY)*t
		d := max(top-p.y, p.y-bot, ax-f.mouthX)
		if a := coverage(s * d); a > 0 {
			v = blend(v, f.lips, a)
		}
	}
	return v
}
