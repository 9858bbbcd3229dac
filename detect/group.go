package detect

import (
	"cmp"
	"image"
	"math"
	"slices"
)

// groupEps is how far apart, as a fraction of their size, two raw
// detections may be and still be one face: OpenCV's default.
const groupEps = 0.2

// group merges raw detections into faces as OpenCV's groupRectangles
// does: detections whose edges all lie within groupEps of their mean size
// of each other are one face (transitively); a face of at most
// minNeighbors detections is dropped, the others get the mean box and a
// score of their count, and a face inside a bigger one with more
// detections is dropped. minNeighbors < 0 keeps each raw detection as a
// face of score 1. Faces come surest first.
func group(raw []image.Rectangle, minNeighbors int) []Face {
	if minNeighbors < 0 {
		out := make([]Face, len(raw))
		for i, r := range raw {
			out[i] = Face{Box: r, Score: 1}
		}
		return out
	}
	parent := make([]int, len(raw))
	for i := range parent {
		parent[i] = i
	}
	var root func(i int) int
	root = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range raw {
		for j := range i {
			if similar(raw[i], raw[j]) {
				parent[root(i)] = root(j)
			}
		}
	}
	type cluster struct {
		x, y, w, h float64
		n          int
	}
	byRoot := map[int]*cluster{}
	var clusters []*cluster
	for i, r := range raw {
		c := byRoot[root(i)]
		if c == nil {
			c = &cluster{}
			byRoot[root(i)] = c
			clusters = append(clusters, c)
		}
		c.x += float64(r.Min.X)
		c.y += float64(r.Min.Y)
		c.w += float64(r.Dx())
		c.h += float64(r.Dy())
		c.n++
	}
	boxes := make([]image.Rectangle, len(clusters))
	for i, c := range clusters {
		n := float64(c.n)
		x, y := int(math.Round(c.x/n)), int(math.Round(c.y/n))
		boxes[i] = image.Rect(x, y, x+int(math.Round(c.w/n)), y+int(math.Round(c.h/n)))
	}
	var out []Face
	for i, c := range clusters {
		if c.n <= minNeighbors {
			continue
		}
		inside := false
		for j, d := range clusters {
			if j == i || d.n <= minNeighbors {
				continue
			}
			r1, r2 := boxes[i], boxes[j]
			dx, dy := int(math.Round(float64(r2.Dx())*groupEps)), int(math.Round(float64(r2.Dy())*groupEps))
			if r1.Min.X >= r2.Min.X-dx && r1.Min.Y >= r2.Min.Y-dy && r1.Max.X <= r2.Max.X+dx && r1.Max.Y <= r2.Max.Y+dy &&
				(d.n > max(3, c.n) || c.n < 3) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, Face{Box: boxes[i], Score: float64(c.n)})
		}
	}
	slices.SortStableFunc(out, func(a, b Face) int {
		switch {
		case a.Score != b.Score:
			return cmp.Compare(b.Score, a.Score)
		case a.Box.Min.Y != b.Box.Min.Y:
			return a.Box.Min.Y - b.Box.Min.Y
		}
		return a.Box.Min.X - b.Box.Min.X
	})
	return out
}

// similar reports whether two raw detections are of one face: each edge
// of one within groupEps of their mean smaller side of the other's.
func similar(a, b image.Rectangle) bool {
	delta := groupEps * float64(min(a.Dx(), b.Dx())+min(a.Dy(), b.Dy())) / 2
	near := func(p, q int) bool { return math.Abs(float64(p-q)) <= delta }
	return near(a.Min.X, b.Min.X) && near(a.Min.Y, b.Min.Y) && near(a.Max.X, b.Max.X) && near(a.Max.Y, b.Max.Y)
}
