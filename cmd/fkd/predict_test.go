package main

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/predict"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
	"github.com/fkd-project/fkd/video"
)

func TestPredictUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no photos", []string{"predict"}, "no photos or videos given"},
		{"bad format", []string{"predict", "--format", "xml", "a.png"}, "--format"},
		{"short crop", []string{"predict", "--crop", "1,2,3", "a.png"}, "not X,Y,W,H"},
		{"empty crop", []string{"predict", "--crop", "0,0,0,5", "a.png"}, "must be positive"},
		{"fractional crop", []string{"predict", "--crop", "0,0,9.5,5", "a.png"}, "whole number"},
		{"negative crop", []string{"predict", "--crop", "-4,0,8,8", "a.png"}, "must not be negative"},
		{"crop past int64", []string{"predict", "--crop", "0,0,99999999999999999999,5", "a.png"}, "99999999999999999999 pixels is more than any photo has"},
		{"crop ending too far", []string{"predict", "--crop", "2147483000,0,1000,5", "a.png"}, "the box ends past 2147483647 pixels"},
		{"no megapixels", []string{"predict", "--max-megapixels", "0", "a.png"}, "--max-megapixels 0"},
		{"bad tta", []string{"predict", "--tta", "mirror", "a.png"}, "--tta"},
		{"suffix with a directory", []string{"predict", "--overlay-suffix", "x/y.png", "a.png"}, "--overlay-suffix"},
		{"no frames", []string{"predict", "--every", "0", "a.mp4"}, "--every 0"},
		{"bad detector", []string{"predict", "--detector", "haar", "a.png"}, `--detector "haar"`},
		{"misspelt detector", []string{"predict", "--detector", "dlb", "a.png"}, `(did you mean dlib?)`},
		{"negative min face", []string{"predict", "--min-face", "-1", "a.png"}, "--min-face -1"},
		{"serve bad batch", []string{"serve", "--max-batch", "0"}, "--max-batch"},
		{"serve bad detector", []string{"serve", "--detector", "x"}, "--detector"},
		{"submit bad tta", []string{"submit", "--tta", "rotate"}, "--tta"},
		{"evaluate bad tta", []string{"evaluate", "--tta", "rotate"}, "--tta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(tt.args, &stdout, &stderr)
			msg := stderr.String()
			if status != 2 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want 2 and one line containing %q", status, msg, tt.want)
			}
		})
	}
}

// centroidPipeline is a pipeline on centroidModel, framed as fkd-ytf.
func centroidPipeline() *predict.Pipeline {
	return &predict.Pipeline{Model: centroidModel{nn.NewStore(torch.CPU)}, Framing: predict.Framing{X: 48.45, Y: 58.4, Length: 41.2},
		Box: predict.HaarFrontalFace}
}

// predictWith runs predict with centroidModel on paths and returns the
// faces of its records (read back from its JSON) and its log.
func predictWith(t *testing.T, o predictOptions, paths ...string) ([]faceRecord, string, error) {
	t.Helper()
	records, log, err := predictRecords(t, o, paths...)
	return facesOf(records), log, err
}

// predictRecords runs predict with centroidModel on paths and returns its
// records, read back from its JSON (or JSON lines with --format jsonl),
// and its log.
func predictRecords(t *testing.T, o predictOptions, paths ...string) ([]predict.Record, string, error) {
	t.Helper()
	o = withDefaults(t, o)
	var log bytes.Buffer
	err := o.run(paths, &log)
	var records []predict.Record
	if data, rerr := os.ReadFile(o.out); rerr == nil {
		records = decodeRecords(t, o.format, data)
	}
	return records, log.String(), err
}

// withDefaults returns o with centroidModel, --format json, an --out in
// a temporary folder and the defaults of the flags not set.
func withDefaults(t *testing.T, o predictOptions) predictOptions {
	o.pipe, o.every = cmp.Or(o.pipe, centroidPipeline()), max(o.every, 1)
	o.format = cmpOr(o.format, "json")
	if o.out == "" {
		o.out = filepath.Join(t.TempDir(), "out."+o.format)
	}
	if o.videoSuffix == "" {
		o.videoSuffix = defaultVideoSuffix
	}
	if o.configPath == nil {
		o.configPath = new(string)
	}
	o.ttaName = cmpOr(o.ttaName, "none")
	o.detector, o.maxMegapixels, o.minFace = cmpOr(o.detector, "whole"), cmp.Or(o.maxMegapixels, 50), 24
	return o
}

// decodeRecords reads predict's JSON or JSON lines.
func decodeRecords(t *testing.T, format string, data []byte) []predict.Record {
	t.Helper()
	var records []predict.Record
	if format == "jsonl" {
		for line := range strings.Lines(string(data)) {
			var r predict.Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			records = append(records, r)
		}
		return records
	}
	if err := json.Unmarshal(data, &records); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return records
}

// faceRecord is one face of a record, with its photo's or frame's
// fields.
type faceRecord struct {
	Source        string
	Frame         *int
	Width, Height int
	predict.Face
}

// facesOf returns the faces of the records, in order.
func facesOf(records []predict.Record) []faceRecord {
	var out []faceRecord
	for _, r := range records {
		for _, f := range r.Faces {
			out = append(out, faceRecord{r.Source, r.Frame, r.Width, r.Height, f})
		}
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestPredictMapsToPhoto runs predict with centroidModel on photos of
// several sizes, cropped or whole, and checks that the keypoints land on
// the centre of the white rectangle in the photo's own coordinates. The
// rectangles cover whole face pixels, so the centroid survives the
// resampling exactly (up to JPEG's losses).
func TestPredictMapsToPhoto(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name      string
		w, h      int
		blob      image.Rectangle
		crop      string
		tolerance float64 // pixels
	}{
		// Crop 24,0,144,144: scale 1.5; the blob is face pixels [50, 56) × [28, 34).
		{"wide.png", 192, 144, image.Rect(99, 42, 108, 51), "24,0,144,144", 1e-3},
		{"wide.jpg", 192, 144, image.Rect(99, 42, 108, 51), "24,0,144,144", 0.5},
		// The whole photo: scale 2.5; face pixels [40, 48) × [24, 32).
		{"big.png", 240, 240, image.Rect(100, 60, 120, 80), "", 1e-3},
		// Enlarged: scale 0.5, from 48×48; face pixels [40, 52) × [60, 72).
		{"small.png", 48, 48, image.Rect(20, 30, 26, 36), "", 1e-3},
	}
	for _, tt := range tests {
		for _, tta := range []eval.TTA{eval.NoTTA, eval.FlipTTA} {
			t.Run(tt.name+"/"+tta.String(), func(t *testing.T) {
				path := fkdtest.WritePhoto(t, dir, tt.name, blobPhoto(tt.w, tt.h, tt.blob))
				o := predictOptions{crop: tt.crop, overlay: filepath.Join(dir, "overlays")}
				o.ttaName = tta.String()
				records, log, err := predictWith(t, o, path)
				if err != nil {
					t.Fatalf("%v: %s", err, log)
				}
				r := records[0]
				wantX := float64(tt.blob.Min.X+tt.blob.Max.X) / 2
				wantY := float64(tt.blob.Min.Y+tt.blob.Max.Y) / 2
				for _, p := range r.Keypoints {
					if math.Abs(p.X-wantX) > tt.tolerance+0.005 || math.Abs(p.Y-wantY) > tt.tolerance+0.005 {
						t.Fatalf("%s at (%.3f, %.3f), want (%g, %g)", p.Name, p.X, p.Y, wantX, wantY)
					}
				}
				if len(records) != 1 || r.Width != tt.w || r.Height != tt.h || r.Keypoints[14].Name != "mouth_center_bottom_lip" || r.Score != 0 {
					t.Errorf("records %+v", records)
				}
				img := fkdtest.ReadPNG(t, filepath.Join(o.overlay, strings.TrimSuffix(tt.name, filepath.Ext(tt.name))+defaultOverlaySuffix))
				if img.Bounds() != image.Rect(0, 0, tt.w, tt.h) {
					t.Errorf("overlay is %v, want the photo's %dx%d", img.Bounds(), tt.w, tt.h)
				}
				// The mark of the last keypoint covers the pixel holding it.
				cr, cg, cb, _ := img.At(int(wantX), int(wantY)).RGBA()
				if want := plots.KeypointColours[dataset.NumKeypoints-1]; cr>>8 != uint32(want.R) || cg>>8 != uint32(want.G) || cb>>8 != uint32(want.B) {
					t.Errorf("overlay pixel at the keypoint is %d,%d,%d, want the keypoint's colour %v", cr>>8, cg>>8, cb>>8, want)
				}
			})
		}
	}
}

// readPredictCSV reads fkd predict's CSV: per source, the box and the 30
// coordinates of each face.
func readPredictCSV(t *testing.T, path string) map[string][][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	names := dataset.CoordNames()
	if len(rows) == 0 || !strings.HasPrefix(strings.Join(rows[0], ","), "source,frame,box_x,box_y,box_w,box_h,score,"+strings.Join(names[:], ",")+",left_eye_center_confidence,") {
		t.Fatalf("header %q", rows[0])
	}
	out := map[string][][]float64{}
	for _, row := range rows[1:] {
		if row[len(row)-2] != predict.StatusFaces {
			continue
		}
		var c []float64
		for _, s := range slices.Concat(row[2:6], row[7:7+dataset.NumCoords]) {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			c = append(c, v)
		}
		out[row[0]] = append(out[row[0]], c)
	}
	return out
}

// centroidModel is a stand-in for a keypoint network whose answer is
// known: it puts all 15 keypoints at the centroid of the bright pixels
// (grey level over half), weighted by how bright they are.
type centroidModel struct{ store *nn.Store }

func (c centroidModel) Store() *nn.Store  { return c.store }
func (c centroidModel) Spec() models.Spec { return models.Spec{Arch: "centroid"} }

func (c centroidModel) Forward(x *torch.Tensor) *torch.Tensor {
	n := x.Size(0)
	w := x.SubScalar(0.5).Relu()
	total := w.SumDims([]int64{1, 2, 3}, false)
	// Normalised centres of the 96 pixels, in keypoint coordinates, which
	// count pixels from 1: (c + 1 - 48) / 48.
	centres := torch.Arange(1, dataset.ImageSize+1, 1, torch.Float32, x.Device()).SubScalar(48).DivScalar(48)
	cx := w.SumDims([]int64{1, 2}, false).Mul(centres).SumDims([]int64{1}, false).Div(total)
	cy := w.SumDims([]int64{1, 3}, false).Mul(centres).SumDims([]int64{1}, false).Div(total)
	return torch.Stack([]*torch.Tensor{cx, cy}, 1).Reshape(n, 1, 2).Expand(n, dataset.NumKeypoints, 2).Reshape(n, dataset.NumCoords)
}

// blobPhoto returns a black w×h photo, in colour, with a white rectangle.
func blobPhoto(w, h int, blob image.Rectangle) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{0, 0, 0, 255}
			if (image.Point{x, y}).In(blob) {
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// saveLopsidedModel saves an untrained cnn3 into dir whose keypoints are
// spread over the face and move with the pixels, and returns its path.
func saveLopsidedModel(t *testing.T, dir string) string {
	t.Helper()
	m := fkdtest.NewModel(t, "cnn3:width=4", 5)
	defer m.Store().Free()
	bias, _ := m.Store().Get("head.out.bias")
	weight, _ := m.Store().Get("head.out.weight")
	b := make([]float32, dataset.NumCoords)
	for i := range b {
		b[i] = float32(0.4 * math.Cos(2.1*float64(i)))
	}
	torch.NoGrad(func() {
		torch.WithScope(func() { bias.CopyFrom(torch.FromFloat32(b, dataset.NumCoords)) })
		weight.MulScalarInPlace(20)
	})
	path := filepath.Join(dir, "model.pt")
	if err := models.Save(path, m, models.Meta{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPredictCommand runs "fkd predict" end to end with a real (untrained,
// lopsided) model file: the keypoints of a face enlarged twice into a
// bigger photo, and cropped, are those of the 96×96 face scaled twice and
// shifted by the crop's corner.
func TestPredictCommand(t *testing.T) {
	dir := t.TempDir()
	modelPath := saveLopsidedModel(t, dir)

	face := synth.Generate(1, 9, synth.Options{}).Image(0)
	small := image.NewGray(image.Rect(0, 0, dataset.ImageSize, dataset.ImageSize))
	copy(small.Pix, face)
	const x0, y0 = 31, 7
	big := image.NewRGBA(image.Rect(0, 0, 250, 210))
	for y := range 210 {
		for x := range 250 {
			v := uint8(x ^ y) // busy background outside the crop
			if fx, fy := (x-x0)/2, (y-y0)/2; x >= x0 && y >= y0 && fx < dataset.ImageSize && fy < dataset.ImageSize {
				v = face[fy*dataset.ImageSize+fx]
			}
			big.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	smallPath := fkdtest.WritePhoto(t, dir, "face.png", small)
	bigPath := fkdtest.WritePhoto(t, dir, "photo.png", big)

	fkdPredict := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"predict", "--model", modelPath, "--device", "cpu", "--threads", "1"}, args...)
		if status := run(args, &stdout, &stderr); status != 0 {
			t.Fatalf("fkd %s: status %d: %s", strings.Join(args, " "), status, stderr.String())
		}
	}
	smallCSV, bigCSV := filepath.Join(dir, "small.csv"), filepath.Join(dir, "out", "big.csv")
	fkdPredict("--out", smallCSV, "--detector", "whole", smallPath)
	fkdPredict("--out", bigCSV, "--crop", "31,7,192,192", "--overlay-suffix", ".marked.png", bigPath)
	want := readPredictCSV(t, smallCSV)[smallPath][0][4:]
	gotFace := readPredictCSV(t, bigCSV)[bigPath][0]
	got := gotFace[4:]
	if len(want) != dataset.NumCoords || len(got) != dataset.NumCoords || !slices.Equal(gotFace[:4], []float64{31, 7, 192, 192}) {
		t.Fatalf("%d and %d coordinates, box %v; want %d and the crop", len(want), len(got), gotFace[:4], dataset.NumCoords)
	}
	var spread float64
	for i := range got {
		corner := float64(x0)
		if i%2 == 1 {
			corner = y0
		}
		if w := corner + 2*want[i]; math.Abs(got[i]-w) > 0.02 {
			t.Errorf("%s: %.2f in the photo, want %.2f (2 × %.2f + %g)", dataset.CoordNames()[i], got[i], w, want[i], corner)
		}
		spread = max(spread, math.Abs(want[i]-want[0]))
	}
	if spread < 5 {
		t.Errorf("the model puts every keypoint within %.1f pixels; the test needs them apart", spread)
	}
	if _, err := os.Stat(filepath.Join(dir, "photo.marked.png")); err != nil {
		t.Errorf("no overlay beside the photo: %v", err)
	}

	// JSON, with flip TTA: the same photo and box, keypoints by name.
	jsonPath := filepath.Join(dir, "big.json")
	fkdPredict("--out", jsonPath, "--format", "json", "--tta", "flip", "--crop", "31,7,192,192", bigPath)
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	results := facesOf(decodeRecords(t, "json", data))
	if len(results) != 1 || results[0].Source != bigPath || results[0].Box != [4]int{31, 7, 192, 192} || results[0].Crop != results[0].Box ||
		results[0].Width != 250 || results[0].Height != 210 || len(results[0].Keypoints) != dataset.NumKeypoints ||
		results[0].Keypoints[10].Name != "nose_tip" || strings.Contains(string(data), `"score"`) {
		t.Fatalf("JSON: %s", data)
	}
	var moved float64
	for k, p := range results[0].Keypoints {
		moved = max(moved, math.Abs(p.X-got[2*k]), math.Abs(p.Y-got[2*k+1]))
	}
	if moved < 0.5 {
		t.Errorf("flip TTA moved no keypoint of a lopsided model by more than %.2f pixels", moved)
	}
}

// twoFacePhoto is a 400×260 photo of two synthetic faces enlarged twice
// at (10, 30) and (220, 50), and a detector that boxes them.
func twoFacePhoto() (*image.RGBA, [2]image.Rectangle, detect.Fixed) {
	set := synth.Generate(2, 5, synth.Options{Clean: true})
	img := image.NewRGBA(image.Rect(0, 0, 400, 260))
	at := [2]image.Point{{10, 30}, {220, 50}}
	var regions [2]image.Rectangle
	var det detect.Fixed
	for y := range 260 {
		for x := range 400 {
			img.SetRGBA(x, y, color.RGBA{0, 0, 0, 255}) // dark: centroidModel sees the faces alone
		}
	}
	for i, p := range at {
		for y := range 192 {
			for x := range 192 {
				v := set.Image(i)[(y/2)*96+x/2]
				img.SetRGBA(p.X+x, p.Y+y, color.RGBA{v, v, v, 255})
			}
		}
		regions[i] = image.Rect(p.X, p.Y, p.X+192, p.Y+192)
		// About where a Haar cascade boxes a face of this size.
		det = append(det, detect.Face{Box: image.Rect(p.X+14, p.Y+28, p.X+178, p.Y+192), Score: float64(5 - i)})
	}
	return img, regions, det
}

// TestPredictTwoFaces predicts on a photo of two faces and on a folder of
// photos holding one without a face, a damaged one and a link to
// nowhere: a record per face, keypoints inside their faces; the bad ones
// named, skipped, and the exit status 0, or 1 with --strict.
func TestPredictTwoFaces(t *testing.T) {
	dir := t.TempDir()
	img, regions, det := twoFacePhoto()
	two := fkdtest.WritePhoto(t, dir, "two.png", img)
	folder := filepath.Join(dir, "folder")
	os.MkdirAll(filepath.Join(folder, "deeper"), 0o755)
	fkdtest.WritePhoto(t, filepath.Join(folder, "deeper"), "again.jpg", img)
	fkdtest.WritePhoto(t, folder, "blank.png", image.NewGray(image.Rect(0, 0, 50, 50)))
	os.WriteFile(filepath.Join(folder, "damaged.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o644)
	os.Symlink(filepath.Join(dir, "nowhere.png"), filepath.Join(folder, "gone.png"))
	o := predictOptions{overlay: filepath.Join(dir, "marked")}
	o.detector = "cascade" // but the test's own detector, not OpenCV
	o.det = fkdtest.SizeDetector{Size: image.Pt(400, 260), Faces: det}
	records, log, err := predictWith(t, o, two, folder)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if len(records) != 4 {
		t.Fatalf("%d records, want 2 faces in each of two photos; log:\n%s", len(records), log)
	}
	for i, r := range records {
		want := []string{two, two, filepath.Join(folder, "deeper", "again.jpg"), filepath.Join(folder, "deeper", "again.jpg")}[i]
		if b := det[i%2].Box; r.Source != want || r.Box != [4]int{b.Min.X, b.Min.Y, b.Dx(), b.Dy()} || r.Score != float64(5-i%2) || r.Frame != nil {
			t.Errorf("record %d: %s, box %v, score %v", i, r.Source, r.Box, r.Score)
		}
		for _, p := range r.Keypoints {
			if pt := image.Pt(int(p.X), int(p.Y)); !pt.In(regions[i%2]) {
				t.Errorf("record %d: %s at %v, outside its face %v", i, p.Name, pt, regions[i%2])
			}
		}
	}
	for _, want := range []string{
		"warning: skipped " + filepath.Join(folder, "gone.png") + ": no such file or directory\n",
		"warning: skipped read photo " + filepath.Join(folder, "damaged.png") + ": ",
		"warning: " + filepath.Join(folder, "blank.png") + ": no face found\n",
		"wrote " + filepath.Join(dir, "marked", "two-keypoints.png") + "\n",
		"4 faces in 3 photos and 0 frames of 0 videos; 2 skipped, 1 without a face\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	o.strict = true
	records, _, err = predictWith(t, o, two, folder)
	if err == nil || err.Error() != "--strict: 2 skipped, 1 without a face" || len(records) != 4 {
		t.Errorf("--strict: %v, %d records", err, len(records))
	}
	_, _, err = predictWith(t, o, filepath.Join(dir, "missing.png"))
	if err == nil || !strings.Contains(err.Error(), "no photo or video could be read") {
		t.Errorf("a missing photo alone: %v", err)
	}
}

// TestPredictVideo predicts on every second frame of a video of the two
// faces and a damaged video: records with their frames, an annotated
// video named after the good one, the damaged one skipped.
func TestPredictVideo(t *testing.T) {
	dir := t.TempDir()
	img, regions, det := twoFacePhoto()
	path := filepath.Join(dir, "clip.mp4")
	w, err := video.Create(path, 10, 400, 260)
	if err != nil {
		t.Skipf("no video here: %v", err)
	}
	for range 4 {
		w.Write(img)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "bad.avi"), []byte("RIFF nothing"), 0o644)
	o := predictOptions{every: 2, overlaySuffix: ".png", videoSuffix: "-kp.avi"}
	o.det = det
	records, log, err := predictWith(t, o, path, filepath.Join(dir, "bad.avi"))
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 4 || !strings.Contains(log, "warning: skipped read video "+filepath.Join(dir, "bad.avi")) ||
		!strings.Contains(log, "wrote "+filepath.Join(dir, "clip-kp.avi")) {
		t.Fatalf("%d records; log:\n%s", len(records), log)
	}
	for i, r := range records {
		if r.Frame == nil || *r.Frame != 2*(i/2) || r.Source != path {
			t.Errorf("record %d: %s frame %v", i, r.Source, r.Frame)
		}
		if p := image.Pt(int(r.Keypoints[0].X), int(r.Keypoints[0].Y)); !p.In(regions[i%2]) {
			t.Errorf("record %d: left eye at %v, outside %v", i, p, regions[i%2])
		}
	}
}

// TestSubmitAndEvaluateWithTTA checks that flip TTA reaches the
// predictions of "fkd submit" and "fkd evaluate": they change, and
// evaluate says so.
func TestSubmitAndEvaluateWithTTA(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	modelPath := saveLopsidedModel(t, dir)
	trainPath, test, lookup, rows := writeBaselineFiles(t)
	outputs := map[string]string{}
	for _, tta := range []string{"none", "flip"} {
		var stdout, stderr bytes.Buffer
		evaluation := captureStdout(t, func() {
			if status := run([]string{"evaluate", "--model", modelPath, "--data", trainPath, "--device", "cpu", "--tta", tta}, &stdout, &stderr); status != 0 {
				t.Fatalf("evaluate --tta %s: status %d: %s", tta, status, stderr.String())
			}
		})
		lines := strings.Split(strings.TrimSpace(evaluation), "\n")
		if said := strings.Contains(lines[0], "test-time augmentation flip"); said != (tta == "flip") {
			t.Errorf("evaluate --tta %s: heading %q", tta, lines[0])
		}
		outputs["evaluate "+tta] = lines[len(lines)-1]
		sub := filepath.Join(dir, "sub-"+tta+".csv")
		if status := run([]string{"submit", "--model", modelPath, "--test", test, "--lookup", lookup, "--outfile", sub,
			"--device", "cpu", "--tta", tta}, &stdout, &stderr); status != 0 {
			t.Fatalf("submit --tta %s: status %d: %s", tta, status, stderr.String())
		}
		data, err := os.ReadFile(sub)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), "\n"); n != rows+1 {
			t.Errorf("submit --tta %s: %d lines, want %d", tta, n, rows+1)
		}
		outputs["submit "+tta] = string(data)
	}
	for _, what := range []string{"evaluate", "submit"} {
		if outputs[what+" none"] == outputs[what+" flip"] {
			t.Errorf("%s: the same with and without flip TTA:\n%s", what, outputs[what+" none"])
		}
	}
}

// withOrientation returns a JPEG file with an EXIF segment giving the
// orientation inserted after its start of image marker.
func withOrientation(jpg []byte, orientation uint16) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")  // big-endian, IFD0 at 8
	tiff = binary.BigEndian.AppendUint16(tiff, 1) // one entry:
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3) // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1) // one of them
	tiff = binary.BigEndian.AppendUint16(tiff, orientation)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // padding, no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(payload)+2))
	return slices.Concat(jpg[:2], seg, payload, jpg[2:])
}

// TestPredictRefusesBeforeWork runs "fkd predict" on photos and outputs
// that it must refuse with one line before it loads the model or reads a
// pixel: the model file does not even exist.
func TestPredictRefusesBeforeWork(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, fkdtest.PNGHeader(60000, 60000), 0o644); err != nil {
		t.Fatal(err)
	}
	small := fkdtest.WritePhoto(t, dir, "small.png", blobPhoto(250, 210, image.Rect(10, 10, 20, 20)))
	os.Mkdir(filepath.Join(dir, "x"), 0o755)
	fkdtest.WritePhoto(t, filepath.Join(dir, "x"), "small.png", blobPhoto(25, 21, image.Rect(1, 1, 2, 2)))
	notDir := fkdtest.WritePhoto(t, dir, "not-a-dir.png", blobPhoto(4, 4, image.Rectangle{}))
	model := filepath.Join(dir, "missing.pt")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"crop past the photo", []string{"--crop", "200,0,100,100", small},
			[]string{"small.png: --crop 200,0,100,100 reaches past the photo, which is 250x210 pixels"}},
		{"huge crop", []string{"--crop", "2000000000,2000000000,100000000,100000000", small},
			[]string{"--crop 2000000000,2000000000,100000000,100000000 reaches past the photo"}},
		{"crop past a photo after one too large", []string{"--crop", "200,0,100,100", huge, small},
			[]string{"small.png: --crop 200,0,100,100 reaches past the photo"}},
		{"out is a directory", []string{"--out", dir, small}, []string{dir + ": it is a directory"}},
		{"overlay is a file", []string{"--overlay", notDir, small}, []string{"--overlay " + notDir + " is not a directory"}},
		{"overlays of one name", []string{"--overlay", dir, small, filepath.Join(dir, "x", "small.png")},
			[]string{"would both be " + filepath.Join(dir, "small-keypoints.png")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append([]string{"predict", "--model", model, "--device", "cpu"}, tt.args...), &stdout, &stderr)
			msg := stderr.String()
			if status != 1 || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want 1 and one line", status, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q does not say %q", msg, w)
				}
			}
		})
	}
}

// TestPredictPhotoChecks runs predict with a stand-in model on photos it
// must skip, or warn of, as it reads them.
func TestPredictPhotoChecks(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "folder")
	os.Mkdir(folder, 0o755)
	if err := os.WriteFile(filepath.Join(folder, "huge.png"), fkdtest.PNGHeader(60000, 60000), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		photo string // a file in dir, or a photo to write there
		w, h  int
		crop  string
		warn  string // of a tiny face, or a skipped photo
	}{
		// Named, it is skipped alike (TestPredictBadPhotoNamedOrFound).
		{"huge in a folder", "folder", 0, 0, "", "warning: skipped read photo " + filepath.Join(folder, "huge.png") + ": 60000x60000 pixels is 3600 megapixels, more than the limit of 50 (--max-megapixels 3600 would allow it)\n"},
		{"one pixel", "dot.png", 1, 1, "", "the face is 1x1 pixels"},
		{"narrow", "narrow.png", 40, 200, "", "the face is 40x200 pixels"},
		{"small crop", "photo.png", 250, 210, "10,10,30,30", "the face is 30x30 pixels"},
		{"just big enough", "face.png", 48, 48, "", ""},
		{"face size", "face.jpg", 96, 96, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.photo)
			if tt.w > 0 {
				path = fkdtest.WritePhoto(t, dir, tt.photo, blobPhoto(tt.w, tt.h, image.Rect(0, 0, tt.w/2, tt.h/2)))
			}
			paths := []string{path}
			if tt.photo == "folder" {
				paths = append(paths, fkdtest.WritePhoto(t, t.TempDir(), "ok.png", blobPhoto(96, 96, image.Rect(9, 9, 20, 20))))
			}
			records, log, err := predictWith(t, predictOptions{crop: tt.crop}, paths...)
			if err != nil {
				t.Fatal(err)
			}
			if want := 1; len(records) != want {
				t.Fatalf("%d records, want %d; log %s", len(records), want, log)
			}
			lines := strings.Split(strings.TrimSpace(log), "\n")
			if tt.warn == "" && len(lines) != 1 || tt.warn != "" && (len(lines) != 2 || !strings.Contains(log, tt.warn) || !strings.HasPrefix(log, "warning: ")) {
				t.Errorf("log %q; want the summary after %q", log, tt.warn)
			}
		})
	}
}

// TestPredictEXIFOrientation predicts with centroidModel on JPEGs whose
// EXIF orientation turns or mirrors them: the keypoints come back in the
// pixels of the photo as displayed, 192×96, whose white blob is at
// [100, 120) × [40, 50), centre (110, 45), whatever way it is stored.
func TestPredictEXIFOrientation(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		orientation uint16 // 0: no EXIF segment
		w, h        int    // as stored
		blob        image.Rectangle
	}{
		{0, 192, 96, image.Rect(100, 40, 120, 50)},
		{1, 192, 96, image.Rect(100, 40, 120, 50)},
		{3, 192, 96, image.Rect(72, 46, 92, 56)},   // half a turn: x → 191-x, y → 95-y
		{6, 96, 192, image.Rect(40, 72, 50, 92)},   // shown a quarter clockwise: stored (y, 191-x)
		{8, 96, 192, image.Rect(46, 100, 56, 120)}, // shown a quarter anticlockwise: stored (95-y, x)
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(int(tt.orientation)), func(t *testing.T) {
			var b bytes.Buffer
			if err := jpeg.Encode(&b, blobPhoto(tt.w, tt.h, tt.blob), &jpeg.Options{Quality: 95}); err != nil {
				t.Fatal(err)
			}
			data := b.Bytes()
			if tt.orientation != 0 {
				data = withOrientation(data, tt.orientation)
			}
			path := filepath.Join(dir, strconv.Itoa(int(tt.orientation))+".jpg")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			o := predictOptions{overlay: filepath.Join(dir, "overlays")}
			records, _, err := predictWith(t, o, path)
			if err != nil {
				t.Fatal(err)
			}
			r := records[0]
			if r.Width != 192 || r.Height != 96 || r.Box != [4]int{0, 0, 192, 96} {
				t.Errorf("photo %dx%d, box %v; want 192x96 as displayed", r.Width, r.Height, r.Box)
			}
			for _, p := range r.Keypoints {
				if math.Abs(p.X-110) > 0.5 || math.Abs(p.Y-45) > 0.5 {
					t.Fatalf("%s at (%.2f, %.2f), want (110, 45)", p.Name, p.X, p.Y)
				}
			}
			img := fkdtest.ReadPNG(t, filepath.Join(o.overlay, strconv.Itoa(int(tt.orientation))+defaultOverlaySuffix))
			// The overlay shows the photo as displayed: the blob's corner
			// is white there.
			if img.Bounds() != image.Rect(0, 0, 192, 96) {
				t.Fatalf("overlay is %v, want 192x96", img.Bounds())
			}
			if c, _, _, _ := img.At(101, 41).RGBA(); c>>8 < 200 {
				t.Errorf("overlay at (101, 41) is %d, want the white blob", c>>8)
			}
		})
	}
}

// TestPredictOutputs writes the keypoints to the standard output, by "-"
// and by /dev/stdout, through a symbolic link and into a FIFO: each gets
// the CSV, the link stays a link and the FIFO a FIFO.
func TestPredictOutputs(t *testing.T) {
	dir := t.TempDir()
	modelPath := saveLopsidedModel(t, dir)
	photoPath := fkdtest.WritePhoto(t, dir, "face.png", blobPhoto(96, 96, image.Rect(30, 30, 60, 70)))
	target := filepath.Join(dir, "target.csv")
	link := filepath.Join(dir, "link.csv")
	if err := os.Symlink("target.csv", link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	tests := []struct {
		out  string
		read func(t *testing.T, run func()) string // runs fkd, returns what the output got
	}{
		{"-", captureStdout},
		{"/dev/stdout", captureStdout},
		{link, func(t *testing.T, run func()) string {
			run()
			if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != os.ModeSymlink {
				t.Errorf("%s is no longer a link: %v, %v", link, fi, err)
			}
			data, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}},
		{fifo, func(t *testing.T, run func()) string {
			got := make(chan []byte)
			go func() {
				data, _ := os.ReadFile(fifo) // opens once fkd opens it to write
				got <- data
			}()
			run()
			// A run that failed before opening the FIFO leaves the reader
			// waiting: let it go.
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			data := <-got
			if fi, err := os.Lstat(fifo); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
				t.Errorf("%s is no longer a FIFO: %v, %v", fifo, fi, err)
			}
			return string(data)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.out, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var status int
			got := tt.read(t, func() {
				status = run([]string{"predict", "--model", modelPath, "--device", "cpu", "--threads", "1", "--detector", "whole", "--out", tt.out, photoPath},
					&stdout, &stderr)
			})
			if status != 0 {
				t.Fatalf("status %d: %s", status, stderr.String())
			}
			if !strings.HasPrefix(got, "source,frame,box_x,box_y,box_w,box_h,score,left_eye_center_x,") || !strings.Contains(got, "\n"+photoPath+",") {
				t.Errorf("--out %s got %q", tt.out, got)
			}
		})
	}
}

// treeFiles returns the content of every file under dir, by path.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkTreeSame fails the test unless every file of before holds the same
// bytes, and no file was added.
func checkTreeSame(t *testing.T, before, after map[string]string) {
	t.Helper()
	for path, data := range before {
		if got, ok := after[path]; !ok || got != data {
			t.Errorf("%s changed: %d bytes, was %d", path, len(got), len(data))
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("%s was written", path)
		}
	}
}

// TestPredictRefusesClashes runs "fkd predict" with outputs that would
// replace a photo, the model or another output: each is refused with one
// line naming both files, exit status 1 (2 for a flag's value), before
// the model is loaded (it is no model: loading it would fail otherwise),
// and every file stays as it was, byte for byte.
func TestPredictRefusesClashes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	img := blobPhoto(40, 40, image.Rect(10, 10, 20, 20))
	fkdtest.WritePhoto(t, dir, "p.png", img)
	os.MkdirAll("D", 0o755)
	os.WriteFile(filepath.Join("D", "p-keypoints.png"), []byte("an older overlay"), 0o644)
	os.MkdirAll("in", 0o755)
	fkdtest.WritePhoto(t, "in", "a.png", img)
	fkdtest.WritePhoto(t, "in", "b.jpg", img)
	os.MkdirAll("in2", 0o755)
	fkdtest.WritePhoto(t, "in2", "b.png", img)
	os.WriteFile("m.pt", []byte("not a model"), 0o644)
	tests := []struct {
		name   string
		args   []string
		status int
		want   []string
	}{
		{"--out is the photo", []string{"--out", "p.png", "p.png"}, 1, []string{"refusing to write p.png (--out): it is the photo p.png"}},
		{"the overlay is the photo", []string{"--overlay-suffix", ".png", "p.png"}, 1, []string{"refusing to write p.png (the overlay of p.png): it is the photo p.png"}},
		{"the overlay is --out", []string{"--overlay", "D", "--out", "D/p-keypoints.png", "p.png"}, 1,
			[]string{"refusing to write D/p-keypoints.png (the overlay of p.png): --out D/p-keypoints.png is the same file"}},
		{"--out is a photo of a folder", []string{"--out", "in/a.png", "in"}, 1, []string{"refusing to write in/a.png (--out): it is the photo in/a.png"}},
		{"--out through a link", []string{"--out", "./in/../in/b.jpg", "in/"}, 1, []string{"it is the photo in/b.jpg"}},
		{"an overlay folder's photo", []string{"--overlay", "in2", "--overlay-suffix", ".png", "in", "in2"}, 1,
			[]string{"refusing to write in2/b.png (the overlay of in/b.jpg): it is the photo in2/b.png"}},
		{"--out is the model", []string{"--out", "m.pt", "p.png"}, 1, []string{"refusing to write m.pt (--out): it is --model m.pt"}},
		{"a GIF overlay", []string{"--overlay-suffix", "-k.gif", "p.png"}, 2, []string{"--overlay-suffix -k.gif", "PNG (.png) or JPEG (.jpg, .jpeg)"}},
		{"a video suffix of a photo", []string{"--overlay", "D", "--video-suffix", "-k.png", "p.png"}, 2, []string{"--video-suffix -k.png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := treeFiles(t, dir)
			var stdout, stderr bytes.Buffer
			status := run(append([]string{"predict", "--model", "m.pt", "--device", "cpu"}, tt.args...), &stdout, &stderr)
			msg := stderr.String()
			if status != tt.status || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want %d and one line", status, msg, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q does not say %q", msg, w)
				}
			}
			checkTreeSame(t, before, treeFiles(t, dir))
		})
	}
}

// TestPredictKeepsResultsOnFailure runs predict where nothing can be
// read: it fails, and the results of an earlier run stay, byte for byte.
func TestPredictKeepsResultsOnFailure(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.jpg")
	os.WriteFile(text, []byte("this is no photo"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, tt := range []struct {
		name  string
		paths []string
	}{
		{"text", []string{text}},
		{"missing", []string{filepath.Join(dir, "missing.png")}},
		{"an empty folder", []string{empty}},
	} {
		for format, earlier := range map[string]string{"json": `[{"source": "earlier.png"}]` + "\n", "jsonl": `{"source": "earlier.png"}` + "\n"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				out := filepath.Join(dir, "results."+format)
				if err := os.WriteFile(out, []byte(earlier), 0o644); err != nil {
					t.Fatal(err)
				}
				_, log, err := predictWith(t, predictOptions{out: out, format: format}, tt.paths...)
				if err == nil || !strings.Contains(err.Error(), "no photo or video could be read") || !strings.HasSuffix(err.Error(), "; "+out+" is left as it was") {
					t.Errorf("%v, want nothing read; log %q", err, log)
				}
				if data, _ := os.ReadFile(out); string(data) != earlier {
					t.Errorf("results became %q", data)
				}
			})
		}
	}
}

// TestPredictOverlayFormat writes overlays named .jpg and .png: each holds
// the bytes its name says.
func TestPredictOverlayFormat(t *testing.T) {
	dir := t.TempDir()
	path := fkdtest.WritePhoto(t, dir, "face.png", blobPhoto(96, 96, image.Rect(30, 30, 60, 60)))
	for suffix, magic := range map[string]string{"-k.jpg": "\xff\xd8\xff", "-k.jpeg": "\xff\xd8\xff", "-k.png": "\x89PNG"} {
		if _, log, err := predictWith(t, predictOptions{overlaySuffix: suffix}, path); err != nil {
			t.Fatalf("%v: %s", err, log)
		}
		data, err := os.ReadFile(filepath.Join(dir, "face"+suffix))
		if err != nil || !strings.HasPrefix(string(data), magic) {
			t.Errorf("%s: begins %q, %v; want %q", suffix, data[:min(len(data), 4)], err, magic)
		}
	}
}

// TestPredictSpecialFiles predicts on a folder holding a FIFO, a link to
// a device and a photo: the photo is read, the others named and
// skipped, and the run ends. A FIFO named itself is read.
func TestPredictSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "f")
	os.Mkdir(folder, 0o755)
	fkdtest.WritePhoto(t, folder, "good.png", blobPhoto(96, 96, image.Rect(30, 30, 60, 60)))
	fifo := filepath.Join(folder, "x.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	os.Symlink("/dev/zero", filepath.Join(folder, "zero.jpg"))
	type result struct {
		records []faceRecord
		log     string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		records, log, err := predictWith(t, predictOptions{}, folder)
		done <- result{records, log, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close() // let the reader go
		}
		t.Fatal("predict hung on a FIFO in a folder")
	}
	if r.err != nil || len(r.records) != 1 {
		t.Fatalf("%v, %d records; log %s", r.err, len(r.records), r.log)
	}
	for _, want := range []string{"warning: skipped " + fifo + ": a FIFO, not a regular file", "warning: skipped " + filepath.Join(folder, "zero.jpg") + ": a device"} {
		if !strings.Contains(r.log, want) {
			t.Errorf("log %q lacks %q", r.log, want)
		}
	}

	named := filepath.Join(dir, "named.png")
	if err := syscall.Mkfifo(named, 0o600); err != nil {
		t.Fatal(err)
	}
	var photo bytes.Buffer
	png.Encode(&photo, blobPhoto(96, 96, image.Rect(30, 30, 60, 60)))
	go func() {
		if w, err := os.OpenFile(named, os.O_WRONLY, 0); err == nil {
			w.Write(photo.Bytes())
			w.Close()
		}
	}()
	records, log, err := predictWith(t, predictOptions{}, named)
	if err != nil || len(records) != 1 || records[0].Source != named {
		t.Errorf("a FIFO named: %v, %v; log %s", records, err, log)
	}
}

// TestPredictRerunBesideOverlays runs predict twice on a folder with the
// overlays written beside the photos: the second run reads the photos
// alone, says once that it passed over their overlays, and replaces
// them.
func TestPredictRerunBesideOverlays(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.png", "b.png"} {
		fkdtest.WritePhoto(t, dir, name, blobPhoto(96, 96, image.Rect(30, 30, 60, 60)))
	}
	o := predictOptions{overlaySuffix: defaultOverlaySuffix}
	for run := range 3 {
		if run == 2 {
			o.overlaySuffix = "" // and without overlays
		}
		records, log, err := predictWith(t, o, dir)
		if err != nil || len(records) != 2 {
			t.Fatalf("run %d: %v, %d records; log %s", run, err, len(records), log)
		}
		if said := strings.Count(log, "passed over 2 files found with the photos and videos they are the overlays of"); said != min(run, 1) {
			t.Errorf("run %d: said %d times that it passed over the overlays: %s", run, said, log)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("%d files, want 2 photos and their overlays", len(entries))
	}
}

// TestPredictNewFolders writes the keypoints, an annotated video and an
// overlay into folders that do not exist, the video first; and removes
// the temporary files a killed run left there, only those.
func TestPredictNewFolders(t *testing.T) {
	dir := t.TempDir()
	img := blobPhoto(96, 96, image.Rect(30, 30, 60, 60))
	clip := filepath.Join(dir, "clip.avi")
	w, err := video.Create(clip, 10, 96, 96)
	if err != nil {
		t.Skipf("no video here: %v", err)
	}
	for range 3 {
		w.Write(img)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	photoPath := fkdtest.WritePhoto(t, dir, "photo.png", img)
	overlays, out := filepath.Join(dir, "NEW", "marked"), filepath.Join(dir, "NEW2", "r.json")
	records, log, err := predictWith(t, predictOptions{overlay: overlays, out: out}, clip, photoPath)
	if err != nil || len(records) != 4 {
		t.Fatalf("%v, %d records; log %s", err, len(records), log)
	}
	for _, name := range []string{"clip-keypoints.avi", "photo-keypoints.png"} {
		if fi, err := os.Stat(filepath.Join(overlays, name)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v; want mode 0644", name, err)
		}
	}

	long := time.Now().Add(-time.Hour)
	stale := []string{filepath.Join(overlays, ".clip-keypoints.avi.123.avi"), filepath.Join(overlays, ".photo-keypoints.png.tmp-456"), filepath.Join(dir, "NEW2", ".r.json.tmp-789")}
	keep := filepath.Join(overlays, ".photo-keypoints.png.tmp-457") // a run under way
	for _, p := range append(stale, keep) {
		os.WriteFile(p, []byte("partial"), 0o600)
		if p != keep {
			os.Chtimes(p, long, long)
		}
	}
	os.Chtimes(keep, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	_, log, err = predictWith(t, predictOptions{overlay: overlays, out: out}, clip, photoPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) || !strings.Contains(log, "removed "+p+", a temporary file an interrupted run left\n") {
			t.Errorf("%s: %v; log %s", p, err, log)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("another run's file: %v", err)
	}
}

// TestPredictEveryPhotoInEveryFormat predicts on a photo of two faces, a
// photo without a face and a damaged photo, in each format: each photo
// has its record, the one without a face with no box and an empty list
// of faces, the damaged one with its error.
func TestPredictEveryPhotoInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	img, _, det := twoFacePhoto()
	two := fkdtest.WritePhoto(t, dir, "two.png", img)
	blank := fkdtest.WritePhoto(t, dir, "blank.png", image.NewGray(image.Rect(0, 0, 50, 50)))
	damaged := filepath.Join(dir, "damaged.png")
	os.WriteFile(damaged, []byte("\x89PNG\r\n\x1a\nbroken"), 0o644)
	for _, format := range predict.Formats {
		t.Run(format, func(t *testing.T) {
			o := predictOptions{format: format, out: filepath.Join(t.TempDir(), "out."+format)}
			o.detector, o.det = "cascade", fkdtest.SizeDetector{Size: image.Pt(400, 260), Faces: det}
			o = withDefaults(t, o)
			var log bytes.Buffer
			if err := o.run([]string{two, blank, damaged}, &log); err != nil {
				t.Fatalf("%v; log %s", err, log.String())
			}
			data, err := os.ReadFile(o.out)
			if err != nil {
				t.Fatal(err)
			}
			if format == "csv" {
				rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				status := slices.Index(rows[0], "status")
				if len(rows) != 5 || status < 0 || !slices.Equal(rows[0], predict.CSVHeader()) {
					t.Fatalf("CSV:\n%s", data)
				}
				for i, want := range [][2]string{{two, "face"}, {two, "face"}, {blank, "no_face"}, {damaged, "skipped"}} {
					row := rows[i+1]
					face := slices.ContainsFunc(row[2:status], func(c string) bool { return c != "" })
					if row[0] != want[0] || row[status] != want[1] || face != (want[1] == "face") || (row[status+1] != "") != (want[1] == "skipped") {
						t.Errorf("row %d: %q; want %s, %s", i+1, row, want[0], want[1])
					}
				}
				return
			}
			records := decodeRecords(t, format, data)
			if len(records) != 3 {
				t.Fatalf("%d records:\n%s", len(records), data)
			}
			for i, want := range []struct {
				source string
				faces  int
				status string
			}{{two, 2, "face"}, {blank, 0, "no_face"}, {damaged, 0, "skipped"}} {
				r := records[i]
				if r.Source != want.source || len(r.Faces) != want.faces || r.Status() != want.status || r.Faces == nil {
					t.Errorf("record %d: %+v; want %s with %d faces, %s", i, r, want.source, want.faces, want.status)
				}
			}
			if records[1].Width != 50 || records[2].Error == "" || !strings.Contains(string(data), `"faces": []`) && !strings.Contains(string(data), `"faces":[]`) {
				t.Errorf("records:\n%s", data)
			}
		})
	}
}

// gateDetector boxes every image whole; from its second image on it waits
// until gate is closed.
type gateDetector struct {
	calls *atomic.Int32
	gate  chan struct{}
}

func (d gateDetector) Detect(img image.Image) ([]detect.Face, error) {
	if d.calls.Add(1) > 1 {
		select {
		case <-d.gate:
		case <-time.After(30 * time.Second):
			return nil, errors.New("the test never read the first line")
		}
	}
	return []detect.Face{{Box: img.Bounds(), Score: 0.5}}, nil
}

// TestPredictStreamsJSONL runs predict --format jsonl on two photos with
// a detector that stops before the second until the first photo's line
// has been read from --out: the line is there while the run waits.
func TestPredictStreamsJSONL(t *testing.T) {
	dir := t.TempDir()
	first := fkdtest.WritePhoto(t, dir, "a.png", blobPhoto(96, 96, image.Rect(30, 30, 60, 60)))
	second := fkdtest.WritePhoto(t, dir, "b.png", blobPhoto(96, 96, image.Rect(20, 30, 50, 60)))
	gate := make(chan struct{})
	o := predictOptions{format: "jsonl", out: filepath.Join(dir, "out", "faces.jsonl")}
	o.detector, o.det = "cascade", gateDetector{new(atomic.Int32), gate}
	o = withDefaults(t, o)
	done := make(chan error, 1)
	var log bytes.Buffer
	go func() { done <- o.run([]string{first, second}, &log) }()

	var line string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(o.out)
		if l, ok := strings.CutSuffix(string(data), "\n"); ok {
			line = l
			break
		}
	}
	var runErr error
	ended := false
	select {
	case runErr = <-done:
		ended = true
	default:
	}
	close(gate)
	if !ended {
		runErr = <-done
	}
	if ended || runErr != nil {
		t.Fatalf("ended before the first line was read: %v; error %v; log %s", ended, runErr, log.String())
	}
	var r predict.Record
	if err := json.Unmarshal([]byte(line), &r); err != nil || r.Source != first || len(r.Faces) != 1 {
		t.Fatalf("first line %q (%v); want the record of %s alone", line, err, first)
	}
	data, err := os.ReadFile(o.out)
	if err != nil {
		t.Fatal(err)
	}
	if records := decodeRecords(t, "jsonl", data); len(records) != 2 || records[1].Source != second || !strings.HasPrefix(string(data), line+"\n") {
		t.Errorf("output:\n%s", data)
	}
}

// TestPredictBadPhotoNamedOrFound predicts on a photo too large and on a
// damaged one, each named and found in a folder, beside a good photo:
// skipped alike, with the same record and warning, and the exit status
// 0, or 1 with --strict.
func TestPredictBadPhotoNamedOrFound(t *testing.T) {
	dir := t.TempDir()
	good := fkdtest.WritePhoto(t, dir, "good.png", blobPhoto(96, 96, image.Rect(30, 30, 60, 60)))
	bad := map[string][]byte{
		"huge.png":    fkdtest.PNGHeader(60000, 60000),
		"damaged.jpg": []byte("\xff\xd8\xff\xe0 cut short"),
	}
	for name, data := range bad {
		t.Run(name, func(t *testing.T) {
			folder := filepath.Join(dir, strings.TrimSuffix(name, filepath.Ext(name)))
			os.Mkdir(folder, 0o755)
			path := filepath.Join(folder, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			var reasons [2]string
			for i, arg := range []string{path, folder} {
				for _, strict := range []bool{false, true} {
					records, log, err := predictRecords(t, predictOptions{strict: strict}, good, arg)
					if len(records) != 2 || records[0].Status() != predict.StatusFaces || records[1].Source != path || records[1].Status() != predict.StatusSkipped {
						t.Fatalf("%s, strict %v: records %+v; log %s", arg, strict, records, log)
					}
					reasons[i] = records[1].Error
					if !strings.Contains(log, "warning: skipped ") || !strings.Contains(log, path+": "+records[1].Error+"\n") {
						t.Errorf("%s: log %q does not name %s and say %q", arg, log, path, records[1].Error)
					}
					if strict && (err == nil || err.Error() != "--strict: 1 skipped, 0 without a face") || !strict && err != nil {
						t.Errorf("%s, strict %v: %v", arg, strict, err)
					}
				}
			}
			if reasons[0] != reasons[1] {
				t.Errorf("named: %q; found in a folder: %q", reasons[0], reasons[1])
			}
			if name == "huge.png" && !strings.HasSuffix(reasons[0], "60000x60000 pixels is 3600 megapixels, more than the limit of 50 (--max-megapixels 3600 would allow it)") {
				t.Errorf("error %q", reasons[0])
			}
		})
	}
}

// saveHeatmapModel saves an untrained fpnheat into dir and returns its
// path.
func saveHeatmapModel(t *testing.T, dir string) string {
	t.Helper()
	m := fkdtest.NewModel(t, "fpnheat:width=8,channels=16", 3)
	defer m.Store().Free()
	if !models.HasHeatmaps(m) {
		t.Fatal("fpnheat has no heatmaps")
	}
	path := filepath.Join(dir, "heat.pt")
	if err := models.Save(path, m, models.Meta{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPredictConfidence runs "fkd predict" with a heatmap model and with
// cnn3: the heatmap model's keypoints have confidences in [0, 1], the
// same with --tta flip (they come from a plain pass); cnn3's have none,
// null in JSON and empty in CSV.
func TestPredictConfidence(t *testing.T) {
	dir := t.TempDir()
	heat, cnn3 := saveHeatmapModel(t, dir), saveLopsidedModel(t, dir)
	photoPath := fkdtest.WritePhoto(t, dir, "face.png", blobPhoto(120, 100, image.Rect(40, 30, 80, 70)))
	fkdPredict := func(model string, args ...string) []byte {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		var stdout, stderr bytes.Buffer
		args = append([]string{"predict", "--model", model, "--device", "cpu", "--threads", "1", "--detector", "whole", "--out", out}, args...)
		if status := run(append(args, photoPath), &stdout, &stderr); status != 0 {
			t.Fatalf("fkd %s: status %d: %s", strings.Join(args, " "), status, stderr.String())
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var plain []float32
	for _, tta := range []string{"none", "flip"} {
		records := decodeRecords(t, "json", fkdPredict(heat, "--format", "json", "--tta", tta))
		if len(records) != 1 || len(records[0].Faces) != 1 {
			t.Fatalf("--tta %s: records %+v", tta, records)
		}
		conf := records[0].Faces[0].Confidences()
		if len(conf) != dataset.NumKeypoints || slices.ContainsFunc(conf, func(c float32) bool { return !(c >= 0 && c <= 1) }) {
			t.Fatalf("--tta %s: confidences %v, want %d in [0, 1]", tta, conf, dataset.NumKeypoints)
		}
		if plain == nil {
			plain = conf
		} else if !slices.Equal(conf, plain) {
			t.Errorf("confidences with --tta flip %v, without %v: want those of the plain pass", conf, plain)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(fkdPredict(heat))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	at := slices.Index(rows[0], "left_eye_center_confidence")
	if len(rows) != 2 || at < 0 || rows[1][at] != strconv.FormatFloat(float64(plain[0]), 'f', 3, 64) {
		t.Errorf("CSV confidence of the left eye %q, want %.3f", rows[1][at], plain[0])
	}

	data := fkdPredict(cnn3, "--format", "jsonl")
	if records := decodeRecords(t, "jsonl", data); len(records) != 1 || records[0].Faces[0].Confidences() != nil ||
		strings.Count(string(data), `"confidence":null`) != dataset.NumKeypoints {
		t.Errorf("cnn3: %s", data)
	}
	rows, err = csv.NewReader(bytes.NewReader(fkdPredict(cnn3))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if conf := rows[1][at : at+dataset.NumKeypoints]; slices.ContainsFunc(conf, func(c string) bool { return c != "" }) {
		t.Errorf("cnn3: CSV confidences %q, want empty", conf)
	}
}
