package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "predict",
		summary: "find the keypoints of faces in PNG or JPEG photos of any size",
		usage:   "--model FILE [--crop X,Y,W,H] [--tta flip] [--format csv|json] [--out FILE] [--overlay DIR] photo.png|photo.jpg ...",
		run:     runPredict,
	})
}

// predictOptions holds the flags of "fkd predict".
type predictOptions struct {
	model, crop, format, out string
	overlay, overlaySuffix   string
	ttaName                  string
	device                   string
	threads                  int
	configPath               *string

	tta train.TTA       // parsed from ttaName
	box image.Rectangle // parsed from crop; empty for the whole photo
}

func predictFlags(fs *pflag.FlagSet, o *predictOptions) {
	fs.StringVar(&o.model, "model", "output/model.pt", "the model, as fkd train saved it")
	fs.StringVar(&o.crop, "crop", "", "the face's box in every photo, X,Y,W,H in pixels from the top left (default: the whole photo); a square box keeps the face's proportions")
	addTTAFlag(fs, &o.ttaName)
	fs.StringVar(&o.format, "format", "csv", "csv (a row per photo: photo, then x and y of each keypoint) or json")
	fs.StringVar(&o.out, "out", "-", "where to write the keypoints; - for the standard output")
	fs.StringVar(&o.overlay, "overlay", "", "write each photo with its keypoints drawn to this directory, as NAME plus --overlay-suffix")
	fs.StringVar(&o.overlaySuffix, "overlay-suffix", "", "name overlays after their photo with this suffix instead of its extension; alone, write them beside the photos (default \"-keypoints.png\" with --overlay)")
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "model", "out", "overlay")
}

// defaultOverlaySuffix ends the name of an overlay: photo.jpg gets
// photo-keypoints.png.
const defaultOverlaySuffix = "-keypoints.png"

func runPredict(fs *pflag.FlagSet, args []string) error {
	var o predictOptions
	predictFlags(fs, &o)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no photos given")
	}
	if err := applyConfig(fs, "predict", *o.configPath, fs.Changed("config"), nil); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	dev, err := torch.ParseDevice(o.device)
	if err != nil {
		return err
	}
	torch.SetNumThreads(o.threads)
	m, _, err := loadModel(o.model, dev)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	results, err := o.predict(m, fs.Args(), os.Stderr)
	if err != nil {
		return err
	}
	if o.out == "-" {
		return o.write(os.Stdout, results)
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("write keypoints: %w", err)
	}
	if err := atomicfile.Write(o.out, func(w io.Writer) error { return o.write(w, results) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: keypoints of %d photos\n", o.out, len(results))
	return nil
}

// check validates the flags and parses --crop and --tta.
func (o *predictOptions) check() error {
	if o.threads < 0 {
		return usagef("--threads %d is negative", o.threads)
	}
	if o.format != "csv" && o.format != "json" {
		return usagef("--format %q: want csv or json", o.format)
	}
	var err error
	if o.tta, err = parseTTAFlag(o.ttaName); err != nil {
		return err
	}
	if o.crop != "" {
		if o.box, err = parseCrop(o.crop); err != nil {
			return usagef("--crop: %v", err)
		}
	}
	if o.overlay != "" && o.overlaySuffix == "" {
		o.overlaySuffix = defaultOverlaySuffix
	}
	if strings.ContainsRune(o.overlaySuffix, filepath.Separator) {
		return usagef("--overlay-suffix %q names a directory; give the directory as --overlay", o.overlaySuffix)
	}
	return nil
}

// parseCrop reads a box written X,Y,W,H: its top-left pixel, width and
// height.
func parseCrop(s string) (image.Rectangle, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("%q is not X,Y,W,H", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("%q: %q is not a whole number of pixels", s, p)
		}
		v[i] = n
	}
	if v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("%q: the width and height must be positive", s)
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

// photoKeypoints are the keypoints found in one photo.
type photoKeypoints struct {
	Photo  string          `json:"photo"`
	Width  int             `json:"width"`  // of the photo, pixels
	Height int             `json:"height"` // of the photo, pixels
	Box    [4]int          `json:"box"`    // the face's box: X, Y, W, H
	Points []namedKeypoint `json:"keypoints"`

	img  image.Image
	face *photo.Face
}

// namedKeypoint is a keypoint in a photo's continuous pixel coordinates:
// pixel column c spans [c, c+1).
type namedKeypoint struct {
	Name string  `json:"name"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
}

// predict reads the photos, cuts their faces, predicts the keypoints with
// m in one go and maps them back onto the photos. It writes the overlays
// when asked.
func (o *predictOptions) predict(m models.Model, paths []string, stderr io.Writer) ([]photoKeypoints, error) {
	results := make([]photoKeypoints, len(paths))
	pixels := make([]uint8, 0, len(paths)*dataset.PixelCount)
	for i, path := range paths {
		img, err := photo.Read(path)
		if err != nil {
			return nil, err
		}
		face, err := photo.Cut(img, o.box)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		b := img.Bounds()
		results[i] = photoKeypoints{
			Photo: path, Width: b.Dx(), Height: b.Dy(),
			Box: [4]int{face.Box.Min.X, face.Box.Min.Y, face.Box.Dx(), face.Box.Dy()},
			img: img, face: face,
		}
		pixels = append(pixels, face.Pixels...)
	}
	var pred []float32
	if err := torch.Catch(func() {
		pred = models.Predict(train.WithTTA(m, o.tta), pixels, 0, m.Store().Device())
	}); err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	if o.overlay != "" {
		if err := os.MkdirAll(o.overlay, 0o755); err != nil {
			return nil, fmt.Errorf("write overlays: %w", err)
		}
	}
	seen := map[string]string{}
	for i := range results {
		r := &results[i]
		xy := r.face.KeypointsToPhoto(pred[i*dataset.NumCoords : (i+1)*dataset.NumCoords])
		r.Points = make([]namedKeypoint, dataset.NumKeypoints)
		for k, name := range dataset.Keypoints {
			r.Points[k] = namedKeypoint{Name: name, X: xy[2*k], Y: xy[2*k+1]}
		}
		if o.overlaySuffix == "" {
			continue
		}
		path := overlayPath(r.Photo, o.overlay, o.overlaySuffix)
		if other, dup := seen[path]; dup {
			return nil, fmt.Errorf("the overlays of %s and %s would both be %s", other, r.Photo, path)
		}
		seen[path] = r.Photo
		img := drawOverlay(r.img, r.face.Box, r.Points)
		if err := atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "wrote %s\n", path)
	}
	return results, nil
}

// overlayPath names the overlay of the photo at path: its name without
// the extension, plus suffix, in dir, or beside the photo when dir is "".
func overlayPath(path, dir, suffix string) string {
	base := filepath.Base(path)
	name := strings.TrimSuffix(base, filepath.Ext(base)) + suffix
	if dir == "" {
		return filepath.Join(filepath.Dir(path), name)
	}
	return filepath.Join(dir, name)
}

// write writes the keypoints of the photos as CSV or JSON.
func (o *predictOptions) write(w io.Writer, results []photoKeypoints) error {
	if o.format == "json" {
		// Hundredths of a pixel, as in the CSV, not float32's noise.
		rounded := make([]photoKeypoints, len(results))
		for i, r := range results {
			rounded[i] = r
			rounded[i].Points = make([]namedKeypoint, len(r.Points))
			for k, p := range r.Points {
				rounded[i].Points[k] = namedKeypoint{Name: p.Name, X: math.Round(p.X*100) / 100, Y: math.Round(p.Y*100) / 100}
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rounded)
	}
	cw := csv.NewWriter(w)
	names := dataset.CoordNames()
	if err := cw.Write(append([]string{"photo"}, names[:]...)); err != nil {
		return err
	}
	row := make([]string, 1+dataset.NumCoords)
	for _, r := range results {
		row[0] = r.Photo
		for k, p := range r.Points {
			row[1+2*k] = strconv.FormatFloat(p.X, 'f', 2, 64)
			row[2+2*k] = strconv.FormatFloat(p.Y, 'f', 2, 64)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// overlayBox is the colour of the face's box on an overlay.
var overlayBox = color.RGBA{80, 255, 80, 255}

// drawOverlay returns the photo with the face's box outlined and each
// keypoint marked by a cross in its side's colour, sized to the box.
func drawOverlay(img image.Image, box image.Rectangle, points []namedKeypoint) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(b)
	draw.Draw(out, b, img, b.Min, draw.Src)
	side := min(box.Dx(), box.Dy())
	thick := max(1, side/192) // lines of about half a face pixel
	arm := max(2, side/48)    // about two face pixels
	if box != b {
		for _, r := range []image.Rectangle{
			image.Rect(box.Min.X, box.Min.Y, box.Max.X, box.Min.Y+thick),
			image.Rect(box.Min.X, box.Max.Y-thick, box.Max.X, box.Max.Y),
			image.Rect(box.Min.X, box.Min.Y, box.Min.X+thick, box.Max.Y),
			image.Rect(box.Max.X-thick, box.Min.Y, box.Max.X, box.Max.Y),
		} {
			draw.Draw(out, r, image.NewUniform(overlayBox), image.Point{}, draw.Src)
		}
	}
	for k, p := range points {
		// The pixel holding the point: pixel c spans [c, c+1).
		x, y := int(math.Floor(p.X)), int(math.Floor(p.Y))
		c := image.NewUniform(keypointColours[k])
		lo, hi := -thick/2, thick-thick/2
		draw.Draw(out, image.Rect(x-arm, y+lo, x+arm+1, y+hi), c, image.Point{}, draw.Src)
		draw.Draw(out, image.Rect(x+lo, y-arm, x+hi, y+arm+1), c, image.Point{}, draw.Src)
	}
	return out
}
