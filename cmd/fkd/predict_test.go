package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
	"github.com/fkd-project/fkd/train"
)

func TestPredictUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no photos", []string{"predict"}, "no photos"},
		{"bad format", []string{"predict", "--format", "xml", "a.png"}, "--format"},
		{"short crop", []string{"predict", "--crop", "1,2,3", "a.png"}, "not X,Y,W,H"},
		{"empty crop", []string{"predict", "--crop", "0,0,0,5", "a.png"}, "must be positive"},
		{"fractional crop", []string{"predict", "--crop", "0,0,9.5,5", "a.png"}, "whole number"},
		{"bad tta", []string{"predict", "--tta", "mirror", "a.png"}, "--tta"},
		{"suffix with a directory", []string{"predict", "--overlay-suffix", "x/y.png", "a.png"}, "--overlay-suffix"},
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

func TestParseCrop(t *testing.T) {
	tests := []struct {
		in   string
		want image.Rectangle
		ok   bool
	}{
		{"10,20,30,40", image.Rect(10, 20, 40, 60), true},
		{" 0, 0, 96 ,96", image.Rect(0, 0, 96, 96), true},
		{"-4,0,8,8", image.Rect(-4, 0, 4, 8), true}, // Cut refuses it, naming the photo
		{"1,2,3", image.Rectangle{}, false},
		{"1,2,3,4,5", image.Rectangle{}, false},
		{"a,2,3,4", image.Rectangle{}, false},
		{"1,2,-3,4", image.Rectangle{}, false},
	}
	for _, tt := range tests {
		got, err := parseCrop(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseCrop(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
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
	// Normalised centres of the 96 pixels: (c + 0.5 - 48) / 48.
	centres := torch.Arange(0.5, dataset.ImageSize, 1, torch.Float32, x.Device()).SubScalar(48).DivScalar(48)
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

// savePhoto encodes img as PNG or JPEG, by the extension of name.
func savePhoto(t *testing.T, dir, name string, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	var err error
	if filepath.Ext(name) == ".png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPredictMapsToPhoto runs predict with centroidModel on photos of
// several sizes, cropped or not, and checks that the keypoints land on
// the centre of the white rectangle in the photo's own coordinates. The
// rectangles cover whole face pixels, so the centroid survives the
// resampling exactly (up to JPEG's losses).
func TestPredictMapsToPhoto(t *testing.T) {
	dir := t.TempDir()
	m := centroidModel{nn.NewStore(torch.CPU)}
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
		for _, tta := range []train.TTA{train.NoTTA, train.FlipTTA} {
			t.Run(tt.name+"/"+tta.String(), func(t *testing.T) {
				path := savePhoto(t, dir, tt.name, blobPhoto(tt.w, tt.h, tt.blob))
				o := predictOptions{crop: tt.crop, format: "csv", ttaName: tta.String(), overlay: filepath.Join(dir, "overlays")}
				if err := o.check(); err != nil {
					t.Fatal(err)
				}
				results, err := o.predict(m, []string{path}, io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				r := results[0]
				wantX := float64(tt.blob.Min.X+tt.blob.Max.X) / 2
				wantY := float64(tt.blob.Min.Y+tt.blob.Max.Y) / 2
				for _, p := range r.Points {
					if math.Abs(p.X-wantX) > tt.tolerance || math.Abs(p.Y-wantY) > tt.tolerance {
						t.Fatalf("%s at (%.3f, %.3f), want (%g, %g)", p.Name, p.X, p.Y, wantX, wantY)
					}
				}
				if r.Width != tt.w || r.Height != tt.h || r.Points[14].Name != "mouth_center_bottom_lip" {
					t.Errorf("result %+v", r)
				}
				ov, err := os.Open(overlayPath(path, o.overlay, defaultOverlaySuffix))
				if err != nil {
					t.Fatal(err)
				}
				defer ov.Close()
				img, err := png.Decode(ov)
				if err != nil {
					t.Fatal(err)
				}
				if img.Bounds() != image.Rect(0, 0, tt.w, tt.h) {
					t.Errorf("overlay is %v, want the photo's %dx%d", img.Bounds(), tt.w, tt.h)
				}
				// The mark of the last keypoint covers the pixel holding it.
				cr, cg, cb, _ := img.At(int(wantX), int(wantY)).RGBA()
				if want := keypointColours[dataset.NumKeypoints-1]; cr>>8 != uint32(want.R) || cg>>8 != uint32(want.G) || cb>>8 != uint32(want.B) {
					t.Errorf("overlay pixel at the keypoint is %d,%d,%d, want the keypoint's colour %v", cr>>8, cg>>8, cb>>8, want)
				}
			})
		}
	}
}

// readPredictCSV reads fkd predict's CSV: the photo and 30 coordinates
// per row.
func readPredictCSV(t *testing.T, path string) map[string][]float64 {
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
	if len(rows) == 0 || strings.Join(rows[0], ",") != "photo,"+strings.Join(names[:], ",") {
		t.Fatalf("header %q", rows[0])
	}
	out := map[string][]float64{}
	for _, row := range rows[1:] {
		var c []float64
		for _, s := range row[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			c = append(c, v)
		}
		out[row[0]] = c
	}
	return out
}

// saveLopsidedModel saves an untrained cnn3 into dir whose keypoints are
// spread over the face and move with the pixels, and returns its path.
func saveLopsidedModel(t *testing.T, dir string) string {
	t.Helper()
	torch.ManualSeed(5)
	m, err := models.New(models.Spec{Arch: "cnn3", Options: map[string]string{"width": "4"}}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
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
	smallPath := savePhoto(t, dir, "face.png", small)
	bigPath := savePhoto(t, dir, "photo.png", big)

	predict := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"predict", "--model", modelPath, "--device", "cpu", "--threads", "1"}, args...)
		if status := run(args, &stdout, &stderr); status != 0 {
			t.Fatalf("fkd %s: status %d: %s", strings.Join(args, " "), status, stderr.String())
		}
	}
	smallCSV, bigCSV := filepath.Join(dir, "small.csv"), filepath.Join(dir, "out", "big.csv")
	predict("--out", smallCSV, smallPath)
	predict("--out", bigCSV, "--crop", "31,7,192,192", "--overlay-suffix", ".marked.png", bigPath)
	want := readPredictCSV(t, smallCSV)[smallPath]
	got := readPredictCSV(t, bigCSV)[bigPath]
	if len(want) != dataset.NumCoords || len(got) != dataset.NumCoords {
		t.Fatalf("%d and %d coordinates, want %d", len(want), len(got), dataset.NumCoords)
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
	predict("--out", jsonPath, "--format", "json", "--tta", "flip", "--crop", "31,7,192,192", bigPath)
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var results []photoKeypoints
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Photo != bigPath || results[0].Box != [4]int{31, 7, 192, 192} ||
		results[0].Width != 250 || results[0].Height != 210 || len(results[0].Points) != dataset.NumKeypoints ||
		results[0].Points[10].Name != "nose_tip" {
		t.Fatalf("JSON: %s", data)
	}
	var moved float64
	for k, p := range results[0].Points {
		moved = max(moved, math.Abs(p.X-got[2*k]), math.Abs(p.Y-got[2*k+1]))
	}
	if moved < 0.5 {
		t.Errorf("flip TTA moved no keypoint of a lopsided model by more than %.2f pixels", moved)
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
	var err error
	for _, tta := range []string{"none", "flip"} {
		var stdout, stderr bytes.Buffer
		eo := evaluateOptions{model: modelPath, data: trainPath}
		if eo.tta, err = train.ParseTTA(tta); err != nil {
			t.Fatal(err)
		}
		if err := eo.run(&stdout, &stderr, torch.CPU, false, false); err != nil {
			t.Fatalf("evaluate --tta %s: %v", tta, err)
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
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
