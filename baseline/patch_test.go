package baseline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// noiseImage returns a face of uniform random grey levels.
func noiseImage(rng *rand.Rand) []uint8 {
	img := make([]uint8, dataset.PixelCount)
	for i := range img {
		img[i] = uint8(rng.IntN(256))
	}
	return img
}

// noisePattern returns side*side random grey levels.
func noisePattern(rng *rand.Rand, side int) []uint8 {
	p := make([]uint8, side*side)
	for i := range p {
		p[i] = uint8(rng.IntN(256))
	}
	return p
}

// plant copies a square pattern into img, centred on pixel (cx, cy).
func plant(img, pattern []uint8, cx, cy int) {
	side := int(math.Sqrt(float64(len(pattern))))
	r := side / 2
	for dy := range side {
		copy(img[(cy-r+dy)*dataset.ImageSize+cx-r:][:side], pattern[dy*side:][:side])
	}
}

// gridPixel places keypoint k on a 4x4 grid of pixels, base pixels from
// the top left corner and spacing pixels apart.
func gridPixel(k, base, spacing int) (x, y int) {
	return base + (k%4)*spacing, base + (k/4)*spacing
}

// TestPatchFindsPlantedPattern plants one random pattern per keypoint on a
// grid in noisy training faces, so that each average patch is exactly its
// pattern, then plants the patterns again, shifted, in a noisy test face:
// the search must find every shifted pattern exactly.
func TestPatchFindsPlantedPattern(t *testing.T) {
	tests := []struct {
		patchRadius, searchRadius int
		maxShift                  int // largest planted shift, at most searchRadius
	}{
		{patchRadius: 10, searchRadius: 2, maxShift: 1}, // the default radii; borders clip the window
		{patchRadius: 10, searchRadius: 1, maxShift: 1},
		{patchRadius: 3, searchRadius: 3, maxShift: 3},
		{patchRadius: 5, searchRadius: 2, maxShift: 2},
		{patchRadius: 1, searchRadius: 4, maxShift: 4},
		{patchRadius: 4, searchRadius: 0, maxShift: 0},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("patch%d/search%d/shift%d", tt.patchRadius, tt.searchRadius, tt.maxShift)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.patchRadius)))
			side := 2*tt.patchRadius + 1
			base, spacing := tt.patchRadius+tt.maxShift, side+2*tt.maxShift
			if _, y := gridPixel(dataset.NumKeypoints-1, base, spacing); y+tt.patchRadius+tt.maxShift >= dataset.ImageSize {
				t.Fatalf("test case does not fit: last grid row %d", y)
			}
			var patterns [dataset.NumKeypoints][]uint8
			for k := range patterns {
				patterns[k] = noisePattern(rng, side)
			}
			var images [][]uint8
			var rows []faceRow
			for i := range 3 {
				img := noiseImage(rng)
				var row faceRow
				for k := range dataset.NumKeypoints {
					x, y := gridPixel(k, base, spacing)
					plant(img, patterns[k], x, y)
					// Anywhere within the pixel will do; the mean x is x+0.5.
					row.coords[2*k], row.coords[2*k+1] = float32(x)+0.25*float32(i+1), float32(y)
					row.present[2*k], row.present[2*k+1] = true, true
				}
				images, rows = append(images, img), append(rows, row)
			}
			p := &Patch{PatchRadius: tt.patchRadius, SearchRadius: tt.searchRadius}
			if err := p.Fit(newTrainingSet(images, rows)); err != nil {
				t.Fatal(err)
			}
			for k := range dataset.NumKeypoints {
				avg, faces := p.AveragePatch(k)
				if faces != 3 {
					t.Fatalf("keypoint %d: average patch over %d faces, want 3", k, faces)
				}
				for j, v := range avg {
					if v != float64(patterns[k][j]) {
						t.Fatalf("keypoint %d: average patch pixel %d is %v, want %d", k, j, v, patterns[k][j])
					}
				}
			}

			test := noiseImage(rng)
			var want [dataset.NumCoords]float32
			span := 2*tt.maxShift + 1
			for k := range dataset.NumKeypoints {
				x, y := gridPixel(k, base, spacing)
				x += (k*7)%span - tt.maxShift
				y += (k*3+1)%span - tt.maxShift
				plant(test, patterns[k], x, y)
				want[2*k], want[2*k+1] = float32(x)+0.5, float32(y)+0.5
			}
			got, err := p.Predict(test)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want[:]) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
			// Predict uses the patch radius given to Fit.
			p.PatchRadius = tt.patchRadius + 1
			if again, err := p.Predict(test); err != nil || !slices.Equal(again, got) {
				t.Errorf("after changing PatchRadius: got %v, %v; want the same predictions", again, err)
			}
		})
	}
}

// noisyTrainingSet returns noise faces whose 15 keypoints all sit at (x, y),
// so every average patch can be correlated.
func noisyTrainingSet(rng *rand.Rand, faces int, x, y float32) *dataset.Set {
	var images [][]uint8
	var rows []faceRow
	for range faces {
		var row faceRow
		for k := range dataset.NumKeypoints {
			row.coords[2*k], row.coords[2*k+1] = x, y
			row.present[2*k], row.present[2*k+1] = true, true
		}
		images, rows = append(images, noiseImage(rng)), append(rows, row)
	}
	return newTrainingSet(images, rows)
}

// patternOf returns keypoint k's average patch as grey levels; it is exact
// when the patch averages one face.
func patternOf(p *Patch, k int) []uint8 {
	avg, _ := p.AveragePatch(k)
	pattern := make([]uint8, len(avg))
	for j, v := range avg {
		pattern[j] = uint8(v)
	}
	return pattern
}

// TestPatchTies plants the pattern twice in the search window: the first
// copy in scan order (top row first, then left to right) must win.
func TestPatchTies(t *testing.T) {
	tests := []struct {
		name  string
		first [2]int // shift of the copy that must win
		other [2]int
	}{
		{"same row", [2]int{-2, 0}, [2]int{2, 0}},
		{"upper row wins though right", [2]int{2, -2}, [2]int{-2, 2}},
		{"same column", [2]int{1, -2}, [2]int{1, 2}},
	}
	rng := rand.New(rand.NewPCG(2, 2))
	const cx, cy = 50, 40
	train := noisyTrainingSet(rng, 1, cx+0.5, cy+0.5)
	p := &Patch{PatchRadius: 1, SearchRadius: 2, Workers: 1}
	if err := p.Fit(train); err != nil {
		t.Fatal(err)
	}
	pattern := patternOf(p, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A flat image: only the two planted copies can be scored.
			test := make([]uint8, dataset.PixelCount)
			for i := range test {
				test[i] = 7
			}
			plant(test, pattern, cx+tt.other[0], cy+tt.other[1])
			plant(test, pattern, cx+tt.first[0], cy+tt.first[1])
			got, err := p.Predict(test)
			if err != nil {
				t.Fatal(err)
			}
			wantX, wantY := float32(cx+tt.first[0])+0.5, float32(cy+tt.first[1])+0.5
			if got[0] != wantX || got[1] != wantY {
				t.Errorf("got (%v, %v), want (%v, %v)", got[0], got[1], wantX, wantY)
			}
		})
	}
}

// TestPatchWindow checks the clipping of the search window at each border.
func TestPatchWindow(t *testing.T) {
	p := &Patch{PatchRadius: 3, SearchRadius: 2, radius: 3} // as after Fit
	tests := []struct {
		name           string
		mx, my         float64
		x0, x1, y0, y1 int
	}{
		{"inside", 50.5, 60.1, 48, 52, 58, 62},
		{"left border", 4.2, 50, 3, 6, 48, 52},
		{"on the left limit", 3.0, 50, 3, 5, 48, 52},
		{"right border", 93.9, 50, 91, 92, 48, 52},
		{"top corner", 1.5, 0.3, 3, 3, 3, 2},
		{"bottom border", 50, 95.99, 48, 52, 93, 92},
		{"beyond the image", -10, 200, 3, -8, 198, 92},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x0, x1, y0, y1 := p.window(tt.mx, tt.my)
			if x0 != tt.x0 || x1 != tt.x1 || y0 != tt.y0 || y1 != tt.y1 {
				t.Errorf("window(%v, %v) = x %d..%d, y %d..%d; want x %d..%d, y %d..%d",
					tt.mx, tt.my, x0, x1, y0, y1, tt.x0, tt.x1, tt.y0, tt.y1)
			}
		})
	}
}

// TestPatchBorders searches keypoints whose window is clipped by, or lies
// beyond, the image border.
func TestPatchBorders(t *testing.T) {
	const r = 3
	tests := []struct {
		name         string
		positions    []float32 // x of keypoint 0 in each training face; y is the same
		searchRadius int
		plantAt      int     // pixel row and column where the test face holds the pattern; -1 for none
		flat         bool    // test face is one flat grey apart from the pattern
		want         float32 // predicted x and y of keypoint 0
	}{
		// Mean pixel 4: the window 2..6 is clipped to 3..6 and the pattern
		// sits on its first valid pixel.
		{"top left clipped", []float32{4.5}, 2, 3, false, 3.5},
		// Mean pixel 91: window 89..93 clipped to 89..92.
		{"bottom right clipped", []float32{91.5}, 2, 92, false, 92.5},
		// Only the face at 10.5 has its patch inside, so it makes the
		// template, but the mean is (10.5+5*0.5)/6, in pixel 2, whose window
		// (search radius 0) is wholly outside: the mean is predicted.
		{"window outside", []float32{10.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 0, -1, false, 13.0 / 6},
		// A flat test face leaves every correlation undefined.
		{"flat face", []float32{40.5}, 2, -1, true, 40.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(len(tt.name))))
			var images [][]uint8
			var rows []faceRow
			for _, pos := range tt.positions {
				row := fullRow(48.5) // the other keypoints sit mid-image
				row.coords[0], row.coords[1] = pos, pos
				images, rows = append(images, noiseImage(rng)), append(rows, row)
			}
			p := &Patch{PatchRadius: r, SearchRadius: tt.searchRadius}
			if err := p.Fit(newTrainingSet(images, rows)); err != nil {
				t.Fatal(err)
			}
			pattern := patternOf(p, 0)
			test := noiseImage(rng)
			if tt.flat {
				for i := range test {
					test[i] = 99
				}
			}
			if tt.plantAt >= 0 {
				plant(test, pattern, tt.plantAt, tt.plantAt)
			}
			got, err := p.Predict(test)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tt.want || got[1] != tt.want {
				t.Errorf("keypoint 0 at (%v, %v), want (%v, %v)", got[0], got[1], tt.want, tt.want)
			}
			for j := 2; j < dataset.NumCoords; j++ {
				if v := got[j]; v < 0 || v > dataset.ImageSize {
					t.Errorf("coordinate %d = %v lies outside the image", j, v)
				}
			}
		})
	}
}

// TestPatchWorkers checks that the predictions do not depend on the number
// of workers, and that Progress counts every face once.
func TestPatchWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var images [][]uint8
	var rows []faceRow
	for range 30 {
		var row faceRow
		for j := range row.coords {
			row.coords[j] = 20 + 56*rng.Float32()
			row.present[j] = rng.IntN(4) > 0
		}
		images, rows = append(images, noiseImage(rng)), append(rows, row)
	}
	var test []uint8
	const faces = 41
	for range faces {
		test = append(test, noiseImage(rng)...)
	}
	var want []float32
	for _, workers := range []int{1, 2, 3, 8, 64, 0} {
		t.Run(fmt.Sprintf("workers%d", workers), func(t *testing.T) {
			var done atomic.Int64
			p := &Patch{PatchRadius: 6, SearchRadius: 3, Workers: workers, Progress: func(n int) { done.Add(int64(n)) }}
			if err := p.Fit(newTrainingSet(images, rows)); err != nil {
				t.Fatal(err)
			}
			got, err := p.Predict(test)
			if err != nil {
				t.Fatal(err)
			}
			if done.Load() != faces {
				t.Errorf("Progress counted %d faces, want %d", done.Load(), faces)
			}
			if want == nil {
				want = got
				return
			}
			if !slices.Equal(got, want) {
				t.Errorf("predictions differ from those with 1 worker")
			}
		})
	}
}

func TestPatchFitErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	mid := noisyTrainingSet(rng, 2, 48, 48)
	corner := noisyTrainingSet(rng, 2, 1, 1)
	tests := []struct {
		name                      string
		patchRadius, searchRadius int
		train                     *dataset.Set
		ok                        bool
	}{
		{"defaults", DefaultPatchRadius, DefaultSearchRadius, mid, true},
		{"largest patch", 47, 0, mid, true},
		{"patch too large", 48, 0, mid, false},
		{"zero patch radius", 0, 2, mid, false},
		{"negative search radius", 3, -1, mid, false},
		{"no patch inside", 3, 2, corner, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Patch{PatchRadius: tt.patchRadius, SearchRadius: tt.searchRadius}
			err := p.Fit(tt.train)
			if (err == nil) != tt.ok {
				t.Errorf("Fit error %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// pearson is the textbook correlation of two equally long vectors.
func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// TestCorrelate checks the fast correlation against the textbook formula.
func TestCorrelate(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, r := range []int{1, 2, 10} {
		side := 2*r + 1
		for trial := range 20 {
			img := noiseImage(rng)
			if trial%5 == 0 { // low contrast
				for i := range img {
					img[i] = 100 + img[i]%3
				}
			}
			sum := make([]int64, side*side)
			for j := range sum {
				sum[j] = int64(rng.IntN(256)) * 3
			}
			tmpl := newTemplate(sum, 3)
			x, y := r+rng.IntN(dataset.ImageSize-2*r), r+rng.IntN(dataset.ImageSize-2*r)
			var f face
			f.load(img)
			got, ok := f.correlate(x, y, r, tmpl.weights)
			if !ok {
				t.Fatalf("radius %d trial %d: correlation undefined", r, trial)
			}
			patch := make([]float64, 0, side*side)
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					patch = append(patch, float64(img[(y+dy)*dataset.ImageSize+x+dx]))
				}
			}
			if want := pearson(patch, tmpl.average); math.Abs(got-want) > 1e-9 {
				t.Errorf("radius %d trial %d: correlate = %v, want %v", r, trial, got, want)
			}
		}
	}
}

// TestIntegralRange checks the integral images' box sums against direct
// sums on the images that push them hardest, up to the whole image of
// 255s, whose sum of squares is the largest an entry holds.
func TestIntegralRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	white := make([]uint8, dataset.PixelCount)
	checker := make([]uint8, dataset.PixelCount)
	for i := range white {
		white[i] = 255
		if (i/dataset.ImageSize+i%dataset.ImageSize)%2 == 0 {
			checker[i] = 255
		}
	}
	boxes := [][4]int{ // x0, y0, x1, y1
		{0, 0, dataset.ImageSize, dataset.ImageSize},
		{0, 0, 1, 1},
		{dataset.ImageSize - 21, dataset.ImageSize - 21, dataset.ImageSize, dataset.ImageSize},
		{10, 30, 31, 51},
	}
	for _, tc := range []struct {
		name string
		img  []uint8
	}{
		{"black", make([]uint8, dataset.PixelCount)},
		{"white", white},
		{"checker", checker},
		{"noise", noiseImage(rng)},
	} {
		var f face
		f.load(tc.img)
		for _, b := range boxes {
			var sum, sumSq int64
			for y := b[1]; y < b[3]; y++ {
				for x := b[0]; x < b[2]; x++ {
					v := int64(tc.img[y*dataset.ImageSize+x])
					sum += v
					sumSq += v * v
				}
			}
			if got := boxSum(f.sum[:], b[0], b[1], b[2], b[3]); got != sum {
				t.Errorf("%s box %v: sum %d, want %d", tc.name, b, got, sum)
			}
			if got := boxSum(f.sumSq[:], b[0], b[1], b[2], b[3]); got != sumSq {
				t.Errorf("%s box %v: sum of squares %d, want %d", tc.name, b, got, sumSq)
			}
		}
	}
}
