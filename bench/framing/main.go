// Command framing measures how well fkd's photo pipeline (a Haar cascade
// finds the face, the box is framed like the training faces, the model
// predicts, the crop is re-framed from the prediction and the model
// predicts again) recovers the keypoints of faces pasted into bigger
// pictures, against the model on the original 96×96 faces.
//
// Each face of fkd-ytf's training.zip is enlarged by a random factor
// (-min-scale to -max-scale, bilinear) and pasted at a random place into
// a background of smooth shapes and noise 1.5 to 3 times its size a
// side. The cascade's box of the face is the one overlapping the pasted
// 96×96 frame most, by 40% (intersection over union) or more; other boxes
// are false alarms. The keypoints found are mapped back into the original
// 96×96 frame and scored against the true keypoints (RMSE over the
// coordinates present), beside the model on the original face, on the
// faces the cascade found.
//
// Run from the repository root with a model that `fkd train` wrote (it
// records its hold-out split):
//
//	go run ./bench/framing -model M            # the model's hold-out faces: the table
//	go run ./bench/framing -model M -measure   # training faces: predict.HaarFrontalFace
//	go run ./bench/framing -model M -set test  # test.zip, against the model on the original faces
//
// -measure places the faces' true anchors (eyes-to-bottom-lip midpoint
// and length) in the Haar boxes found, on faces the model trained on,
// and prints the medians that predict.HaarFrontalFace holds. The default
// scores the model's own hold-out faces, which neither the model nor the
// constants saw. -set test scores test.zip's faces, which have no
// keypoints, against the model's predictions on the original faces.
// FRAMING_DEBUG=1 names the faces the pipeline misses by over 5 pixels.
package main

import (
	"flag"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/predict"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
)

func main() {
	modelPath := flag.String("model", "", "a model file fkd train wrote (required)")
	data := flag.String("data", "../shared/data/fkd-ytf", "the fkd-ytf folder: training.zip, test.zip")
	set := flag.String("set", "holdout", "faces to score: holdout (the model's hold-out part of training.zip, with keypoints) or test (test.zip, against the model's predictions on the original faces)")
	measure := flag.Bool("measure", false, "measure where the Haar boxes put the faces' anchors, on the training part, instead")
	n := flag.Int("n", 0, "faces to use (0: all of the set; -measure: 1000)")
	seed := flag.Uint64("seed", 1, "seed of the scales, places and backgrounds")
	minScale := flag.Float64("min-scale", 1, "smallest enlargement of a 96×96 face")
	maxScale := flag.Float64("max-scale", 4, "largest enlargement")
	cascade := flag.String("cascade", "", "cascade file (default: OpenCV's Haar frontal face)")
	threads := flag.Int("threads", 0, "LibTorch CPU threads (0: one per core)")
	flag.Parse()
	if *modelPath == "" {
		fmt.Fprintln(os.Stderr, "framing: -model is required")
		os.Exit(2)
	}
	if err := run(*modelPath, *data, *set, *measure, *n, *seed, *minScale, *maxScale, *cascade, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "framing:", err)
		os.Exit(1)
	}
}

// scene is one face pasted into a bigger picture.
type scene struct {
	trueAnchor predict.Anchor // in the picture; set by score
	img        *image.Gray
	ox         float64 // the face's top-left corner in the picture
	oy         float64
	scale      float64 // picture pixels per face pixel
}

// toFace maps a point of the picture (which spans [0, w] × [0, h]) to
// keypoint coordinates of the original 96×96 face, which count pixels
// from 1 (dataset.PixelOrigin).
func (s scene) toFace(x, y float64) (float64, float64) {
	return (x-s.ox)/s.scale + dataset.PixelOrigin, (y-s.oy)/s.scale + dataset.PixelOrigin
}

// toPhoto maps keypoint coordinates of the face to the picture; it undoes
// toFace.
func (s scene) toPhoto(x, y float64) (float64, float64) {
	return s.ox + (x-dataset.PixelOrigin)*s.scale, s.oy + (y-dataset.PixelOrigin)*s.scale
}

// region is the part of the picture the pasted face covers.
func (s scene) region() image.Rectangle {
	side := dataset.ImageSize * s.scale
	return image.Rect(int(s.ox), int(s.oy), int(math.Ceil(s.ox+side)), int(math.Ceil(s.oy+side)))
}

// paste enlarges face (96×96 grey levels) by a random factor and pastes
// it at a random place of a background 1.5 to 3 times its size a side.
func paste(face []uint8, rng *rand.Rand, minScale, maxScale float64) scene {
	s := minScale + (maxScale-minScale)*rng.Float64()
	side := dataset.ImageSize * s
	w := int(side * (1.5 + 1.5*rng.Float64()))
	h := int(side * (1.5 + 1.5*rng.Float64()))
	sc := scene{img: background(w, h, rng), scale: s}
	sc.ox = math.Floor(rng.Float64() * (float64(w) - side))
	sc.oy = math.Floor(rng.Float64() * (float64(h) - side))
	r := sc.region().Intersect(sc.img.Bounds())
	const n = dataset.ImageSize
	at := func(u, v int) float64 {
		return float64(face[min(max(v, 0), n-1)*n+min(max(u, 0), n-1)])
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			// Bilinear, between the face pixels' centres.
			u := (float64(x)+0.5-sc.ox)/s - 0.5
			v := (float64(y)+0.5-sc.oy)/s - 0.5
			if u < -0.5 || v < -0.5 || u > n-0.5 || v > n-0.5 {
				continue
			}
			u0, v0 := math.Floor(u), math.Floor(v)
			fu, fv := u-u0, v-v0
			iu, iv := int(u0), int(v0)
			g := (1-fv)*((1-fu)*at(iu, iv)+fu*at(iu+1, iv)) + fv*((1-fu)*at(iu, iv+1)+fu*at(iu+1, iv+1))
			sc.img.Pix[y*sc.img.Stride+x] = uint8(math.Round(g))
		}
	}
	return sc
}

// background draws w×h pixels of smooth random shading, a few flat
// blobs and pixel noise.
func background(w, h int, rng *rand.Rand) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	base := 60 + 130*rng.Float64()
	gx, gy := 60*(rng.Float64()-0.5)/float64(w), 60*(rng.Float64()-0.5)/float64(h)
	type wave struct{ kx, ky, phase, amp float64 }
	waves := make([]wave, 3)
	for i := range waves {
		waves[i] = wave{2 * math.Pi * rng.Float64() * 3 / float64(w), 2 * math.Pi * rng.Float64() * 3 / float64(h), 2 * math.Pi * rng.Float64(), 25 * rng.Float64()}
	}
	type blob struct{ x, y, rx, ry, grey float64 }
	blobs := make([]blob, 4)
	for i := range blobs {
		blobs[i] = blob{float64(w) * rng.Float64(), float64(h) * rng.Float64(), float64(w) * (0.05 + 0.2*rng.Float64()), float64(h) * (0.05 + 0.2*rng.Float64()), 255 * rng.Float64()}
	}
	for y := range h {
		for x := range w {
			v := base + gx*float64(x) + gy*float64(y)
			for _, wv := range waves {
				v += wv.amp * math.Sin(wv.kx*float64(x)+wv.ky*float64(y)+wv.phase)
			}
			for _, b := range blobs {
				dx, dy := (float64(x)-b.x)/b.rx, (float64(y)-b.y)/b.ry
				if dx*dx+dy*dy < 1 {
					v = 0.3*v + 0.7*b.grey
				}
			}
			v += 6 * rng.NormFloat64()
			img.Pix[y*img.Stride+x] = uint8(math.Round(min(max(v, 0), 255)))
		}
	}
	return img
}

// pick returns the face the detector found of the pasted one: of the
// boxes overlapping the pasted face's frame by at least 40% (intersection
// over union; a Haar box of the face covers about 0.8 of the frame, a
// stray one on an eye or the mouth a tenth), the one overlapping most;
// and how many boxes did not, the detector's false alarms.
func pick(faces []detect.Face, sc scene) (detect.Face, bool, int) {
	r := sc.region()
	best, found, others := detect.Face{}, false, 0
	bestIoU := 0.4
	for _, f := range faces {
		in := f.Box.Intersect(r)
		inter := float64(in.Dx() * in.Dy())
		iou := inter / (float64(f.Box.Dx()*f.Box.Dy()+r.Dx()*r.Dy()) - inter)
		switch {
		case iou < 0.4:
			others++
		case iou >= bestIoU:
			if found {
				others++
			}
			best, found, bestIoU = f, true, iou
		default:
			others++
		}
	}
	return best, found, others
}

func run(modelPath, data, set string, measure bool, n int, seed uint64, minScale, maxScale float64, cascade string, threads int) error {
	torch.SetNumThreads(threads)
	m, meta, err := report.LoadModel(modelPath, torch.CPU)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	det, err := detect.NewCascade(detect.CascadeOptions{File: cascade})
	if err != nil {
		return err
	}
	defer det.Close()

	file := filepath.Join(data, "training.zip")
	if set == "test" && !measure {
		file = filepath.Join(data, "test.zip")
	}
	faces, _, err := dataset.ReadAny(file, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	var idx []int
	if set == "holdout" || measure {
		h, ok := eval.OwnHoldout(meta)
		if !ok {
			return fmt.Errorf("%s records no hold-out split: train it with fkd train --holdout", modelPath)
		}
		// The split alone: the outliers stay in, whatever the run did.
		parts, err := eval.Holdout{Fraction: h.Fraction, Seed: h.Seed}.Split(faces)
		if err != nil {
			return err
		}
		idx = parts.Held
		if measure {
			idx = parts.Train
		}
	} else if set == "test" {
		for i := range faces.Len() {
			idx = append(idx, i)
		}
	} else {
		return fmt.Errorf("-set %q: want holdout or test", set)
	}
	if measure && n == 0 {
		n = 1000
	}
	if n > 0 && n < len(idx) {
		rng := rand.New(rand.NewPCG(seed, 7))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:n]
		slices.Sort(idx)
	}
	faces = faces.Subset(idx)
	start := time.Now()
	if measure {
		err = measureAnchors(faces, det, seed, minScale, maxScale)
	} else {
		err = score(m, meta, faces, det, file, seed, minScale, maxScale)
	}
	fmt.Printf("\n%d faces in %.0f s\n", faces.Len(), time.Since(start).Seconds())
	return err
}

// measureAnchors prints where the true anchors of the faces lie in the
// Haar boxes found on them: the medians predict.HaarFrontalFace holds.
func measureAnchors(faces *dataset.Set, det detect.Detector, seed uint64, minScale, maxScale float64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	var xs, ys, ls, sides []float64
	missed, others := 0, 0
	for i := range faces.Len() {
		sc := paste(faces.Image(i), rng, minScale, maxScale)
		found, err := det.Detect(sc.img)
		if err != nil {
			return err
		}
		f, ok, o := pick(found, sc)
		others += o
		if !ok {
			missed++
			continue
		}
		c, _ := faces.Keypoints(i)
		var xy [dataset.NumCoords]float64
		for k := range dataset.NumKeypoints {
			xy[2*k], xy[2*k+1] = sc.toPhoto(float64(c[2*k]), float64(c[2*k+1]))
		}
		a := predict.AnchorOf(xy[:])
		w, h := float64(f.Box.Dx()), float64(f.Box.Dy())
		xs = append(xs, (a.X-float64(f.Box.Min.X))/w)
		ys = append(ys, (a.Y-float64(f.Box.Min.Y))/h)
		ls = append(ls, a.Length/w)
		sides = append(sides, w/(dataset.ImageSize*sc.scale))
	}
	fmt.Printf("Haar boxes on %d training faces enlarged %g to %g times: %d found, %d missed, %d false alarms\n",
		faces.Len(), minScale, maxScale, len(xs), missed, others)
	fmt.Println("\n| quantity | median | 10th percentile | 90th percentile |\n| --- | --- | --- | --- |")
	for _, q := range []struct {
		name string
		v    []float64
	}{
		{"anchor x / box width", xs}, {"anchor y / box height", ys}, {"eyes-to-lip length / box width", ls},
		{"box width / face frame (96 px enlarged)", sides},
	} {
		fmt.Printf("| %s | %.4f | %.4f | %.4f |\n", q.name, quantile(q.v, 0.5), quantile(q.v, 0.1), quantile(q.v, 0.9))
	}
	fmt.Printf("\npredict.HaarFrontalFace = BoxAnchor{X: %.3f, Y: %.3f, Length: %.3f}\n", quantile(xs, 0.5), quantile(ys, 0.5), quantile(ls, 0.5))
	return nil
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(math.Round(q*float64(len(s)-1)))]
}

// score runs the pipeline on the pasted faces and prints the RMSE of each
// way of framing them, in the original 96×96 frame.
func score(m models.Model, meta models.Meta, faces *dataset.Set, det detect.Detector, file string, seed uint64, minScale, maxScale float64) error {
	p := predict.New(m, meta, eval.NoTTA, predict.HaarFrontalFace)
	orig := models.Predict(m, faces.Images, 0, m.Store().Device())
	// The truth: the keypoints, or for test faces the model's own
	// predictions on the original faces.
	truth := func(i int) ([]float32, []bool) {
		if faces.HasKeypoints() {
			return faces.Keypoints(i)
		}
		mask := make([]bool, dataset.NumCoords)
		for j := range mask {
			mask[j] = true
		}
		return orig[i*dataset.NumCoords : (i+1)*dataset.NumCoords], mask
	}
	type way struct {
		name   string
		sum    float64
		count  int
		target func(sc scene, f detect.Face) predict.Target
		pass   bool // OnePass
	}
	ways := []*way{
		{name: "original 96×96 face"},
		{name: "pasted, the face's own frame cut exactly (no detector)", pass: true, target: func(sc scene, _ detect.Face) predict.Target {
			return predict.Target{Image: sc.img, Box: sc.region(), Exact: true}
		}},
		{name: "pasted, framed from the true keypoints (no detector, one pass)", pass: true, target: func(sc scene, _ detect.Face) predict.Target {
			return predict.Target{Image: sc.img, Box: p.Framing.Crop(sc.trueAnchor), Exact: true}
		}},
		{name: "pasted, Haar box cut as it is", pass: true, target: func(sc scene, f detect.Face) predict.Target {
			b := f.Box
			side := max(b.Dx(), b.Dy())
			return predict.Target{Image: sc.img, Box: image.Rect(b.Min.X, b.Min.Y, b.Min.X+side, b.Min.Y+side), Exact: true}
		}},
		{name: "pasted, Haar box framed, one pass", pass: true, target: func(sc scene, f detect.Face) predict.Target {
			return predict.Target{Image: sc.img, Box: f.Box}
		}},
		{name: "pasted, Haar box framed, two passes (fkd predict)", target: func(sc scene, f detect.Face) predict.Target {
			return predict.Target{Image: sc.img, Box: f.Box}
		}},
	}
	add := func(w *way, i int, pred []float64) {
		t, mask := truth(i)
		for j, ok := range mask {
			if ok {
				d := pred[j] - float64(t[j])
				w.sum += d * d
				w.count++
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	found, others := 0, 0
	for i := range faces.Len() {
		sc := paste(faces.Image(i), rng, minScale, maxScale)
		detected, err := det.Detect(sc.img)
		if err != nil {
			return err
		}
		f, ok, o := pick(detected, sc)
		others += o
		if !ok {
			continue
		}
		found++
		c, _ := truth(i) // the eye centres and bottom lip: every face has them
		var xy [dataset.NumCoords]float64
		for k := range dataset.NumKeypoints {
			xy[2*k], xy[2*k+1] = sc.toPhoto(float64(c[2*k]), float64(c[2*k+1]))
		}
		sc.trueAnchor = predict.AnchorOf(xy[:])
		o32 := orig[i*dataset.NumCoords : (i+1)*dataset.NumCoords]
		o64 := make([]float64, len(o32))
		for j, v := range o32 {
			o64[j] = float64(v)
		}
		add(ways[0], i, o64)
		for _, w := range ways[1:] {
			p.OnePass = w.pass
			res, err := p.Run([]predict.Target{w.target(sc, f)})
			if err != nil {
				return err
			}
			back := make([]float64, dataset.NumCoords)
			for k := range dataset.NumKeypoints {
				back[2*k], back[2*k+1] = sc.toFace(res[0].Keypoints[2*k], res[0].Keypoints[2*k+1])
			}
			add(w, i, back)
			if os.Getenv("FRAMING_DEBUG") != "" && !w.pass {
				t, mask := truth(i)
				var ss float64
				var nn int
				for j, ok := range mask {
					if ok {
						ss += (back[j] - float64(t[j])) * (back[j] - float64(t[j]))
						nn++
					}
				}
				if r := math.Sqrt(ss / float64(nn)); r > 5 {
					fmt.Fprintf(os.Stderr, "face %d: rmse %.2f scale %.2f region %v box %v score %v crop %v n=%d\n", i, r, sc.scale, sc.region(), f.Box, f.Score, res[0].Crop, nn)
				}
			}
		}
	}
	what := "the true keypoints"
	if !faces.HasKeypoints() {
		what = "the model's predictions on the original faces"
	}
	fmt.Printf("%s (%s), %d faces of %s enlarged %g to %g times into backgrounds 1.5 to 3 times bigger a side\n",
		meta.Spec, filepath.Base(file), faces.Len(), file, minScale, maxScale)
	fmt.Printf("Haar found %d of %d (%.1f%%; a box overlapping the face's frame by 40%% or more); %d false alarms. RMSE in the original 96×96 frame against %s, on the %d faces found:\n\n",
		found, faces.Len(), 100*float64(found)/float64(faces.Len()), others, what, found)
	fmt.Println("| framing | RMSE (px) | vs original |\n| --- | --- | --- |")
	base := math.Sqrt(ways[0].sum / float64(max(ways[0].count, 1)))
	for _, w := range ways {
		r := math.Sqrt(w.sum / float64(max(w.count, 1)))
		rel := "—"
		if base > 0 {
			rel = fmt.Sprintf("%+.1f%%", 100*(r/base-1))
		}
		fmt.Printf("| %s | %.3f | %s |\n", w.name, r, rel)
	}
	return nil
}
