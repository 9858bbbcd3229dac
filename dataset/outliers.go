package dataset

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Outlier is a training face whose keypoints look mislabelled.
type Outlier struct {
	Row    int    // index of the face in the Set
	Line   int    // line of the face in the file it was read from; 0 when unknown
	Reason string // what is implausible, naming the keypoints
}

// Thresholds of Outliers.
const (
	// outlierMADs is how many (normal-scaled) median absolute deviations
	// above the median a keypoint's shape residual may lie.
	outlierMADs = 8
	// outlierMinResidual is the smallest residual, in pixels, ever called
	// an outlier, so that a keypoint labelled very consistently does not
	// get a limit tighter than labelling noise.
	outlierMinResidual = 4
	// outlierMinGroup is the fewest faces whose residuals make a limit of
	// their own; smaller groups use the limit of all faces.
	outlierMinGroup = 30
	// outlierMinPoints is the fewest keypoints a face needs for its shape
	// to be checked: each keypoint is compared with where the others
	// (at least three) place it.
	outlierMinPoints = 4
	// outlierMaxFar is the number of keypoints far from the mean shape at
	// which a face is taken for an unusual pose (a head turned to profile
	// moves a whole eye with its corners and eyebrow) rather than for a
	// labelling mistake, which moves one or two keypoints.
	outlierMaxFar = 3
)

// Outliers returns the faces of s whose keypoints are implausible, one
// entry per face in row order, with every reason found:
//
//   - left and right swapped: a left keypoint (the subject's left, on the
//     image's right) lies left of its right partner in the image;
//   - the order of eyes, nose and mouth broken: the nose tip or a mouth
//     keypoint above the eyes, or a lip centre above the nose tip, along
//     the face's own vertical (perpendicular to the line of the eyes);
//   - far from the mean shape: each face's present keypoints are aligned
//     to the mean shape by a similarity transform (least squares, fitted
//     on the other keypoints of the face), and a keypoint whose distance
//     from its mean position exceeds median + 8 MADs of that keypoint's
//     distances over faces with the same keypoints present is named, with
//     the distance. Once the worst keypoint of a face is named, the rest
//     are measured again without it, so one bad point does not make its
//     neighbours look bad. A face with three or more such keypoints is
//     taken for an unusual pose, such as a head turned to profile, whose
//     labels move together, and is not reported for its shape.
//
// Test data, without keypoints, has no outliers.
func Outliers(s *Set) []Outlier {
	if s == nil || !s.HasKeypoints() || s.Len() == 0 {
		return nil
	}
	faces := make([]face, s.Len())
	for i := range faces {
		faces[i] = newFace(s, i)
	}
	reasons := make([][]string, len(faces))
	for i := range faces {
		reasons[i] = faces[i].orderReasons()
	}
	for i, r := range shapeReasons(faces) {
		reasons[i] = append(reasons[i], r...)
	}
	var out []Outlier
	for i, r := range reasons {
		if len(r) > 0 {
			out = append(out, Outlier{Row: i, Line: s.Line(i), Reason: strings.Join(r, "; ")})
		}
	}
	return out
}

// point is a keypoint position in pixels.
type point struct{ x, y float64 }

func (p point) sub(q point) point     { return point{p.x - q.x, p.y - q.y} }
func (p point) dot(q point) float64   { return p.x*q.x + p.y*q.y }
func (p point) dist(q point) float64  { return math.Hypot(p.x-q.x, p.y-q.y) }
func (p point) String() string        { return fmt.Sprintf("(%.1f, %.1f)", p.x, p.y) }
func (p point) scale(f float64) point { return point{p.x * f, p.y * f} }
func (p point) add(q point) point     { return point{p.x + q.x, p.y + q.y} }
func (p point) cross(q point) float64 { return p.x*q.y - p.y*q.x }
func (p point) perp() point           { return point{-p.y, p.x} }
func (p point) norm() float64         { return math.Hypot(p.x, p.y) }
func (p point) unit() point           { return p.scale(1 / p.norm()) }

// face holds one face's keypoints.
type face struct {
	pts     [NumKeypoints]point
	present [NumKeypoints]bool
	pattern uint32 // bit k set when keypoint k is present
	count   int
}

func newFace(s *Set, i int) face {
	var f face
	c, m := s.Keypoints(i)
	for k := range NumKeypoints {
		if m[2*k] && m[2*k+1] {
			f.pts[k] = point{float64(c[2*k]), float64(c[2*k+1])}
			f.present[k] = true
			f.pattern |= 1 << k
			f.count++
		}
	}
	return f
}

// Keypoint indices used by the order checks.
const (
	kpLeftEye    = 0
	kpRightEye   = 1
	kpNose       = 10
	kpMouthLeft  = 11
	kpMouthRight = 12
	kpTopLip     = 13
	kpBottomLip  = 14
)

// orderReasons checks left/right and top-to-bottom order.
func (f *face) orderReasons() []string {
	var r []string
	for _, p := range FlipPairs {
		l, rt := p[0], p[1]
		if f.present[l] && f.present[rt] && f.pts[l].x < f.pts[rt].x {
			r = append(r, fmt.Sprintf("%s %v is left of %s %v: left and right swapped",
				Keypoints[l], f.pts[l], Keypoints[rt], f.pts[rt]))
		}
	}
	if !f.present[kpLeftEye] || !f.present[kpRightEye] {
		return r
	}
	// The face's own axes: across from the right eye to the left eye, and
	// down perpendicular to it. With the eyes swapped, image down.
	eyes := f.pts[kpLeftEye].add(f.pts[kpRightEye]).scale(0.5)
	across := f.pts[kpLeftEye].sub(f.pts[kpRightEye])
	down := point{0, 1}
	if across.x > 0 {
		down = across.unit().perp()
	}
	depth := func(k int) float64 { return f.pts[k].sub(eyes).dot(down) }
	if f.present[kpNose] && depth(kpNose) < 0 {
		r = append(r, fmt.Sprintf("%s %v is above the eyes", Keypoints[kpNose], f.pts[kpNose]))
	}
	for _, k := range []int{kpMouthLeft, kpMouthRight, kpTopLip, kpBottomLip} {
		if !f.present[k] {
			continue
		}
		if depth(k) < 0 {
			r = append(r, fmt.Sprintf("%s %v is above the eyes", Keypoints[k], f.pts[k]))
		} else if k >= kpTopLip && f.present[kpNose] && depth(k) < depth(kpNose) {
			r = append(r, fmt.Sprintf("%s %v is above %s %v", Keypoints[k], f.pts[k], Keypoints[kpNose], f.pts[kpNose]))
		}
	}
	return r
}

// similarity is the map p -> [a -b; b a] p + t.
type similarity struct {
	a, b float64
	t    point
}

func (s similarity) apply(p point) point {
	return point{s.a*p.x - s.b*p.y + s.t.x, s.b*p.x + s.a*p.y + s.t.y}
}

// fitSimilarity returns the similarity that maps the face's keypoints in
// use onto mean with the least squared error, and false when fewer than
// two distinct points are in use.
func fitSimilarity(f *face, use func(k int) bool, mean *[NumKeypoints]point) (similarity, bool) {
	var cp, cq point
	n := 0
	for k := range NumKeypoints {
		if use(k) {
			cp, cq = cp.add(f.pts[k]), cq.add(mean[k])
			n++
		}
	}
	if n < 2 {
		return similarity{}, false
	}
	cp, cq = cp.scale(1/float64(n)), cq.scale(1/float64(n))
	var dot, cross, norm float64
	for k := range NumKeypoints {
		if use(k) {
			p, q := f.pts[k].sub(cp), mean[k].sub(cq)
			dot += p.dot(q)
			cross += p.cross(q)
			norm += p.dot(p)
		}
	}
	if norm < 1e-9 {
		return similarity{}, false
	}
	s := similarity{a: dot / norm, b: cross / norm}
	s.t = cq.sub(point{s.a*cp.x - s.b*cp.y, s.b*cp.x + s.a*cp.y})
	return s, true
}

// meanShape averages the faces' keypoints after aligning each face to the
// running mean, starting from the plain column means.
func meanShape(faces []face) (mean [NumKeypoints]point, have [NumKeypoints]bool) {
	var sum [NumKeypoints]point
	var n [NumKeypoints]int
	for i := range faces {
		for k := range NumKeypoints {
			if faces[i].present[k] {
				sum[k], n[k] = sum[k].add(faces[i].pts[k]), n[k]+1
			}
		}
	}
	for k := range NumKeypoints {
		if n[k] > 0 {
			mean[k], have[k] = sum[k].scale(1/float64(n[k])), true
		}
	}
	for range 3 {
		sum, n = [NumKeypoints]point{}, [NumKeypoints]int{}
		for i := range faces {
			f := &faces[i]
			if f.count < 3 {
				continue
			}
			tf, ok := fitSimilarity(f, func(k int) bool { return f.present[k] }, &mean)
			if !ok {
				continue
			}
			for k := range NumKeypoints {
				if f.present[k] {
					sum[k], n[k] = sum[k].add(tf.apply(f.pts[k])), n[k]+1
				}
			}
		}
		for k := range NumKeypoints {
			if n[k] > 0 {
				mean[k] = sum[k].scale(1 / float64(n[k]))
			}
		}
	}
	return mean, have
}

// looResiduals sets res[k], for each keypoint k in use, to the distance
// between k's mean position and where the similarity fitted on the
// face's other keypoints in use puts it; -1 where unknown.
func looResiduals(f *face, use *[NumKeypoints]bool, mean *[NumKeypoints]point, res *[NumKeypoints]float64) {
	for k := range NumKeypoints {
		res[k] = -1
		if !use[k] {
			continue
		}
		tf, ok := fitSimilarity(f, func(j int) bool { return j != k && use[j] }, mean)
		if ok {
			res[k] = tf.apply(f.pts[k]).dist(mean[k])
		}
	}
}

// shapeReasons returns, for each face, the keypoints far from where the
// rest of the face places them.
func shapeReasons(faces []face) [][]string {
	out := make([][]string, len(faces))
	mean, have := meanShape(faces)
	checked := func(f *face) (use [NumKeypoints]bool, n int) {
		for k := range NumKeypoints {
			if f.present[k] && have[k] {
				use[k] = true
				n++
			}
		}
		return use, n
	}

	// Residuals of every face, grouped by which keypoints it has.
	res := make([][NumKeypoints]float64, len(faces))
	groups := map[uint32][]int{}
	for i := range faces {
		f := &faces[i]
		use, n := checked(f)
		if n < outlierMinPoints {
			continue
		}
		looResiduals(f, &use, &mean, &res[i])
		groups[f.pattern] = append(groups[f.pattern], i)
	}
	all := make([]int, 0, len(faces))
	for _, idx := range groups {
		all = append(all, idx...)
	}
	overall := residualLimits(res, all)
	limits := map[uint32][NumKeypoints]float64{}
	for p, idx := range groups {
		if len(idx) >= outlierMinGroup {
			limits[p] = residualLimits(res, idx)
		} else {
			limits[p] = overall
		}
	}

	for i := range faces {
		f := &faces[i]
		use, n := checked(f)
		if n < outlierMinPoints {
			continue
		}
		lim := limits[f.pattern]
		r := res[i]
		var found []string
		for n >= outlierMinPoints && len(found) < outlierMaxFar {
			worst, ratio := -1, 1.0
			for k := range NumKeypoints {
				if use[k] && lim[k] > 0 && r[k]/lim[k] > ratio {
					worst, ratio = k, r[k]/lim[k]
				}
			}
			if worst < 0 {
				break
			}
			found = append(found, fmt.Sprintf("%s %v is %.1f px from where the other keypoints place it (limit %.1f px)",
				Keypoints[worst], f.pts[worst], r[worst], lim[worst]))
			use[worst] = false
			n--
			looResiduals(f, &use, &mean, &r)
		}
		if len(found) < outlierMaxFar {
			out[i] = found
		}
	}
	return out
}

// residualLimits returns, for each keypoint, median + outlierMADs
// normal-scaled MADs of its residuals over the faces idx (at least
// outlierMinResidual), or 0 when no face has it.
func residualLimits(res [][NumKeypoints]float64, idx []int) (lim [NumKeypoints]float64) {
	vals := make([]float64, 0, len(idx))
	for k := range NumKeypoints {
		vals = vals[:0]
		for _, i := range idx {
			if v := res[i][k]; v >= 0 {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			continue
		}
		med := median(vals)
		for j, v := range vals {
			vals[j] = math.Abs(v - med)
		}
		mad := 1.4826 * median(vals)
		lim[k] = max(med+outlierMADs*mad, outlierMinResidual)
	}
	return lim
}

// median returns the median of v, reordering v.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
