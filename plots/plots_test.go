package plots

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/fkdtest"
)

// testRun returns a run of n epochs whose RMSEs fall like a learning
// curve's, named name.
func testRun(name string, n int, shift float64) Run {
	r := Run{Name: name, BestEpoch: n}
	for e := 1; e <= n; e++ {
		r.Epochs = append(r.Epochs, Epoch{
			Epoch:       e,
			TrainRMSE:   1.5 + shift + 6/float64(e),
			HoldoutRMSE: 2 + shift + 3/float64(e),
		})
	}
	return r
}

// testFace returns a face with a gradient background and a bright blob,
// keypoints on a grid and predictions off by d pixels.
func testFace(d float32) Face {
	img := make([]uint8, dataset.PixelCount)
	for i := range img {
		x, y := i%dataset.ImageSize, i/dataset.ImageSize
		img[i] = uint8(40 + x + y/2)
	}
	truth := make([]float32, dataset.NumCoords)
	pred := make([]float32, dataset.NumCoords)
	for k := range dataset.NumKeypoints {
		truth[2*k], truth[2*k+1] = float32(20+(k%5)*14), float32(20+(k/5)*25)
		pred[2*k], pred[2*k+1] = truth[2*k]+d, truth[2*k+1]-d
	}
	mask := make([]bool, dataset.NumCoords)
	for i := range mask {
		mask[i] = i < 8 // four keypoints present
	}
	return Face{Image: img, Pred: pred, Truth: truth, Mask: mask, Label: "1.23 px"}
}

func keypointSeries(name string, base float64) Series {
	v := make([]float64, dataset.NumKeypoints)
	for k := range v {
		v[k] = base + float64(k%4)*0.5
	}
	return Series{Name: name, Values: v}
}

func errorSeries(name string, scale float64, n int) Series {
	v := make([]float64, n)
	for i := range v {
		v[i] = scale * math.Exp(float64(i%50)/25)
	}
	v[0] = math.NaN() // left out
	return Series{Name: name, Values: v}
}

// checkPNG decodes the PNG at path and checks its size and that it is not
// a blank canvas: the grey levels of its pixels must vary.
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := fkdtest.ReadPNG(t, path)
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	if v := greyVariance(img); v < 50 {
		t.Errorf("%s: grey-level variance %.1f: looks blank", path, v)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(matches) > 0 {
		t.Errorf("temporary files left behind: %q", matches)
	}
}

// greyVariance returns the variance of the 8-bit grey levels of img.
func greyVariance(img image.Image) float64 {
	var sum, sum2, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			v := float64(r+g+bl) / 3 / 257
			sum += v
			sum2 += v * v
			n++
		}
	}
	mean := sum / n
	return sum2/n - mean*mean
}

func TestChartsWritePNGOfRequestedSize(t *testing.T) {
	refs := []Reference{{"mean baseline", 3.4}, {"patch search", 2.9}, {"not scored", math.NaN()}}
	runs := []Run{testRun("cnn3", 12, 0), testRun("fpn", 9, 0.3)}
	noHoldout := testRun("no hold-out", 5, 0)
	for i := range noHoldout.Epochs {
		noHoldout.Epochs[i].HoldoutRMSE = math.NaN()
	}
	noHoldout.BestEpoch = 0
	rows := []FaceRow{
		{Title: "best", Faces: []Face{testFace(0.5), testFace(1)}},
		{Title: "worst", Faces: []Face{testFace(4), testFace(6), testFace(8)}},
	}
	bars := []Series{keypointSeries("cnn3", 1.5), keypointSeries("mean", 3)}
	bars[1].Values[3] = math.NaN() // a keypoint never present
	errs := []Series{errorSeries("cnn3", 0.5, 300), errorSeries("mean", 1, 200)}

	tests := []struct {
		name string
		w, h int
		draw func(path string, w, h int) error
	}{
		{"learning curves", 1000, 600, func(p string, w, h int) error { return LearningCurves(p, runs[0], refs, w, h) }},
		{"learning curves small", 320, 200, func(p string, w, h int) error { return LearningCurves(p, runs[1], nil, w, h) }},
		{"learning curves one epoch", 400, 300, func(p string, w, h int) error { return LearningCurves(p, testRun("x", 1, 0), refs, w, h) }},
		{"learning curves without hold-out", 500, 300, func(p string, w, h int) error { return LearningCurves(p, noHoldout, nil, w, h) }},
		{"compare curves", 1000, 600, func(p string, w, h int) error { return CompareCurves(p, runs, refs, w, h) }},
		{"landmarks", 700, 560, func(p string, w, h int) error { return Landmarks(p, rows, w, h) }},
		{"landmarks smoothly scaled", 300, 250, func(p string, w, h int) error { return Landmarks(p, rows, w, h) }},
		{"per-keypoint bars", 1000, 600, func(p string, w, h int) error { return PerKeypointBars(p, bars, w, h) }},
		{"error histogram", 800, 500, func(p string, w, h int) error { return ErrorHistogram(p, errs, w, h) }},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".png")
			if err := tt.draw(path, tt.w, tt.h); err != nil {
				t.Fatal(err)
			}
			checkPNG(t, path, tt.w, tt.h)
			// Drawing again replaces the file.
			if i == 0 {
				if err := tt.draw(path, tt.w+10, tt.h); err != nil {
					t.Fatal(err)
				}
				checkPNG(t, path, tt.w+10, tt.h)
			}
		})
	}
}

func TestChartErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.png")
	face := testFace(1)
	short := face
	short.Image = short.Image[:100]
	tests := []struct {
		name string
		draw func() error
		want string
	}{
		{"too small", func() error { return LearningCurves(path, testRun("a", 3, 0), nil, 50, 600) }, "at least"},
		{"too large", func() error { return CompareCurves(path, []Run{testRun("a", 3, 0)}, nil, 20000, 600) }, "at most"},
		{"no epochs", func() error { return LearningCurves(path, Run{Name: "a"}, nil, 400, 300) }, "no epochs"},
		{"no runs", func() error { return CompareCurves(path, nil, nil, 400, 300) }, "no runs"},
		{"no faces", func() error { return Landmarks(path, []FaceRow{{Title: "best"}}, 400, 300) }, "no faces"},
		{"bad face", func() error { return Landmarks(path, []FaceRow{{Faces: []Face{short}}}, 400, 300) }, "grey levels"},
		{"faces do not fit", func() error {
			return Landmarks(path, []FaceRow{{Faces: slices.Repeat([]Face{face}, 20)}}, 400, 300)
		}, "do not fit"},
		{"bars need 15 values", func() error {
			return PerKeypointBars(path, []Series{{Name: "a", Values: []float64{1, 2}}}, 400, 300)
		}, "want 15"},
		{"bars refuse negative RMSE", func() error {
			s := keypointSeries("a", 1)
			s.Values[2] = -1
			return PerKeypointBars(path, []Series{s}, 400, 300)
		}, "RMSE -1"},
		{"histogram of nothing", func() error {
			return ErrorHistogram(path, []Series{{Name: "a", Values: []float64{math.NaN()}}}, 400, 300)
		}, "no errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.draw()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if _, statErr := os.Stat(path); statErr == nil {
				t.Errorf("%s was written despite the error", path)
			}
		})
	}
}

func TestPickByError(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                string
		errs                []float64
		n                   int
		best, median, worst []int
	}{
		{"spread", []float64{5, 1, 9, 3, 7, 2, 8, 4, 6}, 2, []int{1, 5}, []int{7, 0}, []int{6, 2}},
		{"odd group around the median", []float64{5, 1, 9, 3, 7, 2, 8, 4, 6}, 3, []int{1, 5, 3}, []int{7, 0, 8}, []int{4, 6, 2}},
		{"nan left out", []float64{nan, 2, 1, nan, 3}, 1, []int{2}, []int{1}, []int{4}},
		{"fewer than asked", []float64{2, 1}, 3, []int{1, 0}, []int{1, 0}, []int{1, 0}},
		{"none", []float64{nan}, 2, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, m, w := PickByError(tt.errs, tt.n)
			if !slices.Equal(b, tt.best) || !slices.Equal(m, tt.median) || !slices.Equal(w, tt.worst) {
				t.Errorf("PickByError = %v, %v, %v; want %v, %v, %v", b, m, w, tt.best, tt.median, tt.worst)
			}
		})
	}
}

func TestShortKeypointName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"left_eye_center", "L eye"},
		{"right_eye_outer_corner", "R eye out"},
		{"left_eyebrow_inner_end", "L eyebrow in"},
		{"nose_tip", "nose tip"},
		{"mouth_right_corner", "mouth R"},
		{"mouth_center_bottom_lip", "mouth bottom lip"},
	}
	for _, tt := range tests {
		if got := ShortKeypointName(tt.name); got != tt.want {
			t.Errorf("ShortKeypointName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	seen := map[string]string{}
	for _, n := range dataset.Keypoints {
		s := ShortKeypointName(n)
		if other, dup := seen[s]; dup {
			t.Errorf("%s and %s both shorten to %q", other, n, s)
		}
		seen[s] = n
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		name    string
		ticks   niceTicks
		lo, hi  float64
		labeled []string
	}{
		{"epochs", niceTicks{target: 10, integer: true}, 0.5, 40.5, []string{"5", "10", "15", "20", "25", "30", "35", "40"}},
		{"few epochs stay whole", niceTicks{target: 10, integer: true}, 0.5, 2.5, []string{"1", "2"}},
		{"rmse", niceTicks{target: 8}, 1.4, 5.3, []string{"1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0"}},
		{"small", niceTicks{target: 4}, 0, 0.1, []string{"0.000", "0.025", "0.050", "0.075", "0.100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tk := range tt.ticks.Ticks(tt.lo, tt.hi) {
				if tk.Value < tt.lo || tk.Value > tt.hi {
					t.Errorf("tick %v outside [%v, %v]", tk.Value, tt.lo, tt.hi)
				}
				if tk.Label != "" {
					got = append(got, tk.Label)
				}
			}
			if !slices.Equal(got, tt.labeled) {
				t.Errorf("labels %q, want %q", got, tt.labeled)
			}
		})
	}
}
