package baseline

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/fkd-project/fkd/dataset"
)

// Defaults of the patch search, as in the Kaggle tutorial.
const (
	DefaultPatchRadius  = 10 // 21x21 patches
	DefaultSearchRadius = 2  // a 5x5 window of candidate positions
)

// maxPatchRadius is the largest radius whose patch fits in an image.
const maxPatchRadius = (dataset.ImageSize - 1) / 2

// Patch is the patch-search baseline. Fit averages, for each keypoint, the
// square patch of side 2*PatchRadius+1 centred on the pixel holding the
// keypoint, over the training faces that have the keypoint and whose patch
// lies wholly inside the image. Predict places each keypoint at the centre
// of the pixel whose patch correlates best (Pearson) with the average patch,
// trying every pixel within SearchRadius rows and columns of the pixel
// holding the keypoint's mean training position.
//
// Candidates whose patch would leave the image are not tried, so the search
// window is clipped at the borders. Ties go to the first candidate in scan
// order (top row first, left to right). Where no candidate can be scored
// (the clipped window is empty, or every candidate patch is a single flat
// grey), the keypoint's mean position is predicted instead.
//
// Fit reads PatchRadius; Predict reads the other options, so they may
// change between predictions without fitting again.
type Patch struct {
	PatchRadius  int // half the patch side, at least 1
	SearchRadius int // how far from the mean position to search, at least 0
	// Workers is how many goroutines Predict shares the faces among;
	// 0 or less means runtime.NumCPU(). The predictions do not depend on it.
	Workers int
	// Progress, if set, is called by Predict with the number of faces just
	// finished (1 each time). It may be called from several goroutines at
	// once.
	Progress func(faces int)

	radius    int // PatchRadius at Fit
	mean      [dataset.NumCoords]float64
	templates [dataset.NumKeypoints]template
	fitted    bool
}

// template is one keypoint's average patch, ready for correlation.
type template struct {
	average []float64 // average grey levels, row-major
	faces   int       // training faces averaged
	// weights is the average patch minus its mean, scaled to unit length,
	// so that the correlation of a candidate patch p is
	// sum(p*weights) / |p - mean(p)|. Nil when the average patch is flat,
	// which leaves correlation undefined.
	weights []float64
}

// NewPatch returns a patch search with the default radii, using every CPU.
func NewPatch() *Patch {
	return &Patch{PatchRadius: DefaultPatchRadius, SearchRadius: DefaultSearchRadius}
}

// Fit computes the mean keypoint positions and the average patches.
func (p *Patch) Fit(train *dataset.Set) error {
	if p.PatchRadius < 1 || p.PatchRadius > maxPatchRadius {
		return fmt.Errorf("fit patch baseline: patch radius %d is outside [1, %d]", p.PatchRadius, maxPatchRadius)
	}
	if p.SearchRadius < 0 {
		return fmt.Errorf("fit patch baseline: negative search radius %d", p.SearchRadius)
	}
	means, err := columnMeans(train)
	if err != nil {
		return fmt.Errorf("fit patch baseline: %w", err)
	}
	r := p.PatchRadius
	side := 2*r + 1
	// Integer sums make the averages exact and independent of face order.
	sums := make([][]int64, dataset.NumKeypoints)
	for k := range sums {
		sums[k] = make([]int64, side*side)
	}
	var counts [dataset.NumKeypoints]int
	for i := range train.Len() {
		img := train.Image(i)
		coords, mask := train.Keypoints(i)
		for k := range dataset.NumKeypoints {
			if !mask[2*k] || !mask[2*k+1] {
				continue
			}
			cx, cy := pixelOf(float64(coords[2*k])), pixelOf(float64(coords[2*k+1]))
			if !patchInside(cx, cy, r) {
				continue
			}
			sum := sums[k]
			for dy := range side {
				row := img[(cy-r+dy)*dataset.ImageSize+cx-r:][:side]
				acc := sum[dy*side:][:side]
				for j, v := range row {
					acc[j] += int64(v)
				}
			}
			counts[k]++
		}
	}
	for k := range dataset.NumKeypoints {
		if counts[k] == 0 {
			return fmt.Errorf("fit patch baseline: no training face has %s with its %dx%d patch inside the image",
				dataset.Keypoints[k], side, side)
		}
		p.templates[k] = newTemplate(sums[k], counts[k])
	}
	p.radius = r
	p.mean = means
	p.fitted = true
	return nil
}

func newTemplate(sum []int64, faces int) template {
	t := template{average: make([]float64, len(sum)), faces: faces}
	var total float64
	for j, s := range sum {
		t.average[j] = float64(s) / float64(faces)
		total += t.average[j]
	}
	mean := total / float64(len(sum))
	w := make([]float64, len(sum))
	var norm float64
	for j, a := range t.average {
		w[j] = a - mean
		norm += w[j] * w[j]
	}
	if norm == 0 {
		return t
	}
	norm = math.Sqrt(norm)
	for j := range w {
		w[j] /= norm
	}
	t.weights = w
	return t
}

// patchInside reports whether the patch of radius r centred on pixel
// (cx, cy) lies wholly inside the image.
func patchInside(cx, cy, r int) bool {
	return cx-r >= 0 && cy-r >= 0 && cx+r < dataset.ImageSize && cy+r < dataset.ImageSize
}

// AveragePatch returns keypoint k's average training patch (grey levels,
// row-major, side 2*PatchRadius+1 as fitted) and how many training faces it
// averages.
func (p *Patch) AveragePatch(k int) ([]float64, int) {
	t := p.templates[k]
	return append([]float64(nil), t.average...), t.faces
}

// Predict searches every face in images for the 15 keypoints and returns
// their coordinates, dataset.NumCoords per face.
func (p *Patch) Predict(images []uint8) ([]float32, error) {
	if !p.fitted {
		return nil, errors.New("patch baseline: predict before fit")
	}
	n, err := faceCount(images)
	if err != nil {
		return nil, fmt.Errorf("patch baseline: %w", err)
	}
	if p.SearchRadius < 0 {
		return nil, fmt.Errorf("patch baseline: negative search radius %d", p.SearchRadius)
	}
	out := make([]float32, n*dataset.NumCoords)
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = min(workers, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var f face
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f.load(images[i*dataset.PixelCount:][:dataset.PixelCount])
				p.search(&f, out[i*dataset.NumCoords:][:dataset.NumCoords])
				if p.Progress != nil {
					p.Progress(1)
				}
			}
		})
	}
	wg.Wait()
	return out, nil
}

// search writes the 30 coordinates found in face f into dst.
func (p *Patch) search(f *face, dst []float32) {
	r := p.radius
	for k := range dataset.NumKeypoints {
		mx, my := p.mean[2*k], p.mean[2*k+1]
		dst[2*k], dst[2*k+1] = float32(mx), float32(my)
		t := &p.templates[k]
		if t.weights == nil {
			continue
		}
		x0, x1, y0, y1 := p.window(mx, my)
		best := math.Inf(-1)
		bx, by := -1, -1
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				score, ok := f.correlate(x, y, r, t.weights)
				if ok && score > best {
					best, bx, by = score, x, y
				}
			}
		}
		// dst is written once per keypoint, not at every better candidate:
		// it shares cache lines with the faces other workers search.
		if bx >= 0 {
			dst[2*k], dst[2*k+1] = pixelCentre(bx), pixelCentre(by)
		}
	}
}

// window returns the candidate pixels searched around mean position
// (mx, my): columns x0..x1 and rows y0..y1, inclusive, clipped so that
// every candidate's patch lies inside the image. The window is empty
// (x0 > x1 or y0 > y1) when no candidate fits.
func (p *Patch) window(mx, my float64) (x0, x1, y0, y1 int) {
	r, s := p.radius, p.SearchRadius
	lo, hi := r, dataset.ImageSize-1-r
	cx, cy := pixelOf(mx), pixelOf(my)
	return max(cx-s, lo), min(cx+s, hi), max(cy-s, lo), min(cy+s, hi)
}

// integralSide is the side of an integral image: one more than the image.
const integralSide = dataset.ImageSize + 1

// face is one image prepared for correlation. Each Predict worker reuses
// one, so the search allocates nothing per face or per candidate.
type face struct {
	pixels [dataset.PixelCount]float64
	// sum and sumSq are integral images: entry (y, x) holds the sum of
	// the grey levels (or their squares) of rows < y and columns < x.
	// A whole image's sum of squares, 9216*255*255, fits an int32, and
	// half the bytes of int64 keep a worker's face in its core's cache.
	sum, sumSq [integralSide * integralSide]int32
}

// load prepares img for correlate.
func (f *face) load(img []uint8) {
	for y := range dataset.ImageSize {
		var rowSum, rowSumSq int32
		above := y * integralSide
		here := above + integralSide
		for x, v := range img[y*dataset.ImageSize:][:dataset.ImageSize] {
			f.pixels[y*dataset.ImageSize+x] = float64(v)
			rowSum += int32(v)
			rowSumSq += int32(v) * int32(v)
			f.sum[here+x+1] = f.sum[above+x+1] + rowSum
			f.sumSq[here+x+1] = f.sumSq[above+x+1] + rowSumSq
		}
	}
}

// boxSum returns the sum over rows y0 <= y < y1 and columns x0 <= x < x1
// of an integral image.
func boxSum(integral []int32, x0, y0, x1, y1 int) int64 {
	return int64(integral[y1*integralSide+x1]) - int64(integral[y0*integralSide+x1]) -
		int64(integral[y1*integralSide+x0]) + int64(integral[y0*integralSide+x0])
}

// correlate returns the Pearson correlation between the patch of radius r
// centred on pixel (x, y) and the template whose unit-length, zero-mean
// weights are given. The patch must lie inside the image. ok is false when
// the patch is flat, which leaves the correlation undefined.
func (f *face) correlate(x, y, r int, weights []float64) (corr float64, ok bool) {
	side := 2*r + 1
	n := int64(side * side)
	sum := boxSum(f.sum[:], x-r, y-r, x+r+1, y+r+1)
	sumSq := boxSum(f.sumSq[:], x-r, y-r, x+r+1, y+r+1)
	// n * sum((p - mean(p))^2), exact in integers.
	spread := n*sumSq - sum*sum
	if spread == 0 {
		return 0, false
	}
	// Four accumulators let the additions overlap instead of each waiting
	// for the one before.
	var d0, d1, d2, d3 float64
	for dy := range side {
		row := f.pixels[(y-r+dy)*dataset.ImageSize+x-r:][:side]
		w := weights[dy*side:][:side]
		j := 0
		for ; j+4 <= side; j += 4 {
			d0 += row[j] * w[j]
			d1 += row[j+1] * w[j+1]
			d2 += row[j+2] * w[j+2]
			d3 += row[j+3] * w[j+3]
		}
		for ; j < side; j++ {
			d0 += row[j] * w[j]
		}
	}
	// The weights sum to zero, so the dot product already equals
	// sum((p - mean(p)) * w).
	dot := (d0 + d1) + (d2 + d3)
	return dot / math.Sqrt(float64(spread)/float64(n)), true
}
