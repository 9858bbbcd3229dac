// Command photos measures fkd's face detectors on the real photos of
// ../shared/data/photos, side by side with dlib's own pipeline (HOG
// detector upsampled once, then the 68-point shape predictor; the C++
// program dlibref/dlibref.cpp, whose JSON it reads with -dlib).
//
// For each detector it runs fkd's two-pass pipeline with a model on every
// face found and matches the records to faces.json as the photos'
// README says: a face is found when a record's two eye centres each lie
// within 0.3 × that face's eye distance of the truth; any other record is
// a false face. "boxed" counts the faces a detector's box is about,
// whatever the model finds in it. The keypoint RMSE is over the found
// faces' eye centres and bottom lip, in the 96×96 frame's scale (pixels
// × 41.2 / the true eyes-to-lip length, as predict.DefaultFraming frames
// a face); faces.json's points came from dlib's predictor, so dlib's
// RMSE there is its agreement with itself after a check by eye. Photos
// per second is detection alone, on decoded images, with -threads
// goroutines each detecting whole photos, as dlibref does with threads:
// dlib scans every photo enlarged twice, detect.Dlib shrinks the large
// ones to detect.DlibOptions.MaxPixels.
//
//	go run ./bench/photos -model M [-dlib dlib.json] [-threads 1] [-detectors default,cascade]
//	go run ./bench/photos -measure    # where each detector's box puts the true anchor
//
// bench/photos/run.sh builds dlibref, trains a small model when MODEL is
// not set, and prints the table.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/predict"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
)

// truth is one face of faces.json, in the photo's pixels.
type truth struct {
	LeftEye  [2]float64 `json:"left_eye_center"`
	RightEye [2]float64 `json:"right_eye_center"`
	Lip      [2]float64 `json:"mouth_center_bottom_lip"`
}

func (t truth) eyeDist() float64 {
	return math.Hypot(t.LeftEye[0]-t.RightEye[0], t.LeftEye[1]-t.RightEye[1])
}

func (t truth) anchor() predict.Anchor {
	var c [dataset.NumCoords]float64
	c[0], c[1], c[2], c[3] = t.LeftEye[0], t.LeftEye[1], t.RightEye[0], t.RightEye[1]
	c[28], c[29] = t.Lip[0], t.Lip[1]
	return predict.AnchorOf(c[:])
}

// points are a record's three points: left eye, right eye, bottom lip.
type points [3][2]float64

// detOpts are the settings of every detector measured.
var (
	detOpts detect.Options
	onePass bool
)

type photoSet struct {
	names  []string
	images []image.Image
	truth  map[string][]truth
}

func main() {
	dir := flag.String("photos", "../shared/data/photos", "the photos folder, with faces.json")
	modelPath := flag.String("model", "", "a model file fkd train wrote (needed for the table, not -measure)")
	dlibJSON := flag.String("dlib", "", "dlibref's output (JSON), for its row")
	threads := flag.Int("threads", 1, "goroutines detecting at once, and LibTorch threads")
	seconds := flag.Float64("seconds", 3, "how long each detector's speed is measured")
	detectors := flag.String("detectors", "default,cascade", "fkd's detectors to measure, by detect.New's names")
	flag.BoolVar(&onePass, "one-pass", false, "predict once, on the crop framed from the detector's box (predict.Pipeline.OnePass)")
	measure := flag.Bool("measure", false, "print where each detector's boxes put the true anchors, instead")
	flag.IntVar(&detOpts.MinFace, "min-face", 0, "detect.Options.MinFace (0: each detector's default)")
	flag.Float64Var(&detOpts.Dlib.MinScore, "dlib-min-score", 0, "detect.DlibOptions.MinScore (0: detect.DefaultDlibMinScore)")
	flag.Parse()
	set, err := load(*dir)
	if err == nil {
		if *measure {
			err = measureAnchors(set, strings.Split(*detectors, ","))
		} else {
			err = table(set, *modelPath, *dlibJSON, strings.Split(*detectors, ","), *threads, *seconds)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "photos:", err)
		os.Exit(1)
	}
}

func load(dir string) (*photoSet, error) {
	b, err := os.ReadFile(filepath.Join(dir, "faces.json"))
	if err != nil {
		return nil, err
	}
	s := &photoSet{}
	if err := json.Unmarshal(b, &s.truth); err != nil {
		return nil, fmt.Errorf("faces.json: %w", err)
	}
	for name := range s.truth {
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	for _, name := range s.names {
		img, err := photo.Read(filepath.Join(dir, name), 100_000_000)
		if err != nil {
			return nil, err
		}
		s.images = append(s.images, img)
	}
	return s, nil
}

// match counts the faces found and the false ones among the records of
// one photo, and returns the squared errors (frame scale) of the found.
func match(faces []truth, recs []points) (found, falses int, sq []float64) {
	used := make([]bool, len(recs))
	for _, t := range faces {
		tol := 0.3 * t.eyeDist()
		best, bestD := -1, math.Inf(1)
		for i, r := range recs {
			dl := math.Hypot(r[0][0]-t.LeftEye[0], r[0][1]-t.LeftEye[1])
			dr := math.Hypot(r[1][0]-t.RightEye[0], r[1][1]-t.RightEye[1])
			if !used[i] && dl <= tol && dr <= tol && dl+dr < bestD {
				best, bestD = i, dl+dr
			}
		}
		if best < 0 {
			continue
		}
		used[best] = true
		found++
		k := predict.DefaultFraming.Length / t.anchor().Length
		want := points{t.LeftEye, t.RightEye, t.Lip}
		for p := range 3 {
			for c := range 2 {
				d := (recs[best][p][c] - want[p][c]) * k
				sq = append(sq, d*d)
			}
		}
	}
	for _, u := range used {
		if !u {
			falses++
		}
	}
	return found, falses, sq
}

type row struct {
	name          string
	boxed         int // faces with a box about them, -1 unknown
	found, falses int
	rmse          float64
	perSecond     float64
	note          string
}

func table(set *photoSet, modelPath, dlibJSON string, names []string, threads int, seconds float64) error {
	if modelPath == "" {
		return fmt.Errorf("-model is required (a model file fkd train wrote)")
	}
	torch.SetNumThreads(threads)
	m, meta, err := report.LoadModel(modelPath, torch.CPU)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	total := 0
	for _, f := range set.truth {
		total += len(f)
	}
	var rows []row
	for _, name := range names {
		det, err := detect.New(name, detOpts)
		if err != nil {
			return err
		}
		p := predict.New(m, meta, eval.NoTTA, predict.BoxAnchorOf(det))
		p.OnePass = onePass
		r := row{name: name + " (" + detect.Name(det) + ")"}
		var sq []float64
		for i, img := range set.images {
			faces, err := det.Detect(img)
			if err != nil {
				return err
			}
			res, err := p.Run(predict.Targets(img, faces, det))
			if err != nil {
				return err
			}
			recs := make([]points, len(res))
			for j, x := range res {
				k := x.Keypoints
				recs[j] = points{{k[0], k[1]}, {k[2], k[3]}, {k[28], k[29]}}
			}
			r.boxed += boxed(set.truth[set.names[i]], faces)
			f, fa, s := match(set.truth[set.names[i]], recs)
			r.found += f
			r.falses += fa
			sq = append(sq, s...)
			if os.Getenv("PHOTOS_DEBUG") != "" {
				for j, face := range faces {
					fmt.Printf("  %s %s: %v score %.3f: eyes %.0f, crop %v\n", name, set.names[i], face.Box, face.Score, recs[j], res[j].Crop)
				}
			}
		}
		r.rmse = rms(sq)
		r.perSecond = speed(det, set.images, threads, seconds)
		detect.Close(det)
		rows = append(rows, r)
	}
	if dlibJSON != "" {
		r, err := dlibRow(set, dlibJSON)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	fmt.Printf("bench/photos: %d photos, %d faces; model %s; %d thread(s); RMSE over eye centres and bottom lip of the faces found, 96×96 frame scale\n",
		len(set.names), total, filepath.Base(modelPath), threads)
	fmt.Printf("%-52s %6s %7s %7s %9s %9s\n", "detector", "boxed", "found", "false", "RMSE px", "photos/s")
	for _, r := range rows {
		b := "-"
		if r.boxed >= 0 {
			b = fmt.Sprintf("%d/%d", r.boxed, total)
		}
		fmt.Printf("%-52s %6s %4d/%-2d %7d %9.2f %9.2f %s\n", r.name, b, r.found, total, r.falses, r.rmse, r.perSecond, r.note)
	}
	fmt.Println("boxed: faces with a detector box about them (the true anchor inside, the box 1.2 to 3 times the eyes-to-lip length wide), whatever the model then finds; found and false: by the records' eyes, as the photos' README says")
	return nil
}

// boxed counts the faces that one of the detector's boxes is about: the
// face's anchor inside, the box 1.2 to 3 times its length wide.
func boxed(faces []truth, found []detect.Face) int {
	n := 0
	for _, t := range faces {
		a := t.anchor()
		for _, f := range found {
			w := float64(f.Box.Dx())
			if image.Pt(int(a.X), int(a.Y)).In(f.Box) && w >= 1.2*a.Length && w <= 3*a.Length {
				n++
				break
			}
		}
	}
	return n
}

func rms(sq []float64) float64 {
	if len(sq) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range sq {
		s += v
	}
	return math.Sqrt(s / float64(len(sq)))
}

// speed returns the photos detected per second by threads goroutines,
// each taking the photos in turn, over about seconds.
func speed(det detect.Detector, images []image.Image, threads int, seconds float64) float64 {
	for _, img := range images { // warm up: one detector per goroutine made
		det.Detect(img)
	}
	var mu sync.Mutex
	done := 0
	start := time.Now()
	deadline := start.Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for g := range threads {
		wg.Go(func() {
			for i := g; time.Now().Before(deadline); i++ {
				det.Detect(images[i%len(images)])
				mu.Lock()
				done++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return float64(done) / time.Since(start).Seconds()
}

// dlibOut is dlibref's output.
type dlibOut struct {
	Threads   int                 `json:"threads"`
	PerSecond float64             `json:"photos_per_second"`
	Faces     map[string][]points `json:"faces"`
}

func dlibRow(set *photoSet, path string) (row, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return row{}, err
	}
	var o dlibOut
	if err := json.Unmarshal(b, &o); err != nil {
		return row{}, fmt.Errorf("%s: %w", path, err)
	}
	r := row{name: "dlib 19.24 (HOG up 1, 68 points)", boxed: -1, perSecond: o.PerSecond, note: fmt.Sprintf("(%d thread(s); faces.json came from it)", o.Threads)}
	var sq []float64
	for _, name := range set.names {
		f, fa, s := match(set.truth[name], o.Faces[name])
		r.found += f
		r.falses += fa
		sq = append(sq, s...)
	}
	r.rmse = rms(sq)
	return r, nil
}

// measureAnchors prints, for each detector, where its box of each true
// face puts the face's anchor: offsets from the box's top-left corner
// over its width and height, and length over its width, with their
// medians (what predict.BoxAnchor holds).
func measureAnchors(set *photoSet, names []string) error {
	for _, name := range names {
		det, err := detect.New(name, detOpts)
		if err != nil {
			return err
		}
		defer detect.Close(det)
		var xs, ys, ls []float64
		for i, img := range set.images {
			faces, err := det.Detect(img)
			if err != nil {
				return err
			}
			for _, t := range set.truth[set.names[i]] {
				a := t.anchor()
				for _, f := range faces {
					if !image.Pt(int(a.X), int(a.Y)).In(f.Box) {
						continue
					}
					w, h := float64(f.Box.Dx()), float64(f.Box.Dy())
					x, y, l := (a.X-float64(f.Box.Min.X))/w, (a.Y-float64(f.Box.Min.Y))/h, a.Length/w
					fmt.Printf("%s %s: box %v score %.3f: X %.3f Y %.3f Length %.3f\n", name, set.names[i], f.Box, f.Score, x, y, l)
					xs, ys, ls = append(xs, x), append(ys, y), append(ls, l)
				}
			}
		}
		fmt.Printf("%s: medians over %d faces: BoxAnchor{X: %.3f, Y: %.3f, Length: %.3f}\n", name, len(xs), median(xs), median(ys), median(ls))
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
