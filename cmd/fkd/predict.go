package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
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
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "predict",
		summary: "find the keypoints of faces in PNG or JPEG photos of any size",
		usage:   "--model FILE [--crop X,Y,W,H] [--tta flip] [--format csv|json] [--out FILE] [--overlay DIR] [--max-megapixels N] photo.png|photo.jpg ...",
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
	maxMegapixels            int
	configPath               *string

	tta train.TTA       // parsed from ttaName
	box image.Rectangle // parsed from crop; empty for the whole photo
}

func predictFlags(fs *pflag.FlagSet, o *predictOptions) {
	fs.StringVar(&o.model, "model", "output/model.pt", "the model, as fkd train saved it")
	fs.StringVar(&o.crop, "crop", "", "the face's box in every photo, X,Y,W,H in pixels from the top left of the photo as displayed (default: the whole photo); a square box keeps the face's proportions")
	addTTAFlag(fs, &o.ttaName)
	fs.StringVar(&o.format, "format", "csv", "csv (a row per photo: photo, then x and y of each keypoint) or json")
	fs.StringVar(&o.out, "out", "-", "where to write the keypoints; - for the standard output")
	fs.StringVar(&o.overlay, "overlay", "", "write each photo with its keypoints drawn to this directory, as NAME plus --overlay-suffix")
	fs.StringVar(&o.overlaySuffix, "overlay-suffix", "", "name overlays after their photo with this suffix instead of its extension; alone, write them beside the photos (default \"-keypoints.png\" with --overlay)")
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	fs.IntVar(&o.maxMegapixels, "max-megapixels", photo.DefaultMaxPixels/1e6, "refuse a photo of more millions of pixels (width × height) than this, before decoding it")
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
	if err := o.checkOutputs(fs.Args()); err != nil {
		return err
	}
	if err := o.probe(fs.Args()); err != nil {
		return err
	}
	dev, err := torch.ParseDevice(o.device)
	if err != nil {
		return err
	}
	torch.SetNumThreads(o.threads)
	m, _, err := report.LoadModel(o.model, dev)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	results, err := o.predict(m, fs.Args(), os.Stderr)
	if err != nil {
		return err
	}
	// "-" and /dev/stdout are the standard output, a device or a FIFO is
	// written through, any other file replaced atomically.
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("write keypoints: %w", err)
	}
	if err := atomicfile.Write(o.out, func(w io.Writer) error { return o.write(w, results) }); err != nil {
		return err
	}
	if !atomicfile.IsStdout(o.out) {
		fmt.Fprintf(os.Stderr, "wrote %s: keypoints of %d photos\n", o.out, len(results))
	}
	return nil
}

// check validates the flags and parses --crop and --tta.
func (o *predictOptions) check() error {
	if o.threads < 0 {
		return usagef("--threads %d is negative", o.threads)
	}
	if o.maxMegapixels < 1 || o.maxMegapixels > math.MaxInt64/1_000_000 {
		return usagef("--max-megapixels %d: want a whole number from 1 to %d", o.maxMegapixels, math.MaxInt64/1_000_000)
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

// maxPixels is the limit on a photo's width × height.
func (o *predictOptions) maxPixels() int64 { return int64(o.maxMegapixels) * 1_000_000 }

// parseCrop reads a box written X,Y,W,H: its top-left pixel, width and
// height. X and Y must not be negative, W and H must be positive, and the
// box's far corner, X+W and Y+H, must be a number of pixels that a photo
// could have: at most math.MaxInt32.
func parseCrop(s string) (image.Rectangle, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("%q is not X,Y,W,H", s)
	}
	var v [4]int64
	for i, p := range parts {
		p = strings.TrimSpace(p)
		n, err := strconv.ParseInt(p, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange) || err == nil && n > math.MaxInt32:
			return image.Rectangle{}, fmt.Errorf("%q: %s pixels is more than any photo has", s, p)
		case err != nil:
			return image.Rectangle{}, fmt.Errorf("%q: %q is not a whole number of pixels", s, p)
		}
		v[i] = n
	}
	if v[0] < 0 || v[1] < 0 {
		return image.Rectangle{}, fmt.Errorf("%q: X and Y must not be negative", s)
	}
	if v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("%q: the width and height must be positive", s)
	}
	if v[0]+v[2] > math.MaxInt32 || v[1]+v[3] > math.MaxInt32 {
		return image.Rectangle{}, fmt.Errorf("%q: the box ends past %d pixels, more than any photo has", s, math.MaxInt32)
	}
	return image.Rect(int(v[0]), int(v[1]), int(v[0]+v[2]), int(v[1]+v[3])), nil
}

// checkCrop checks that the --crop box fits in a photo of w×h pixels.
func (o *predictOptions) checkCrop(path string, w, h int) error {
	if o.box.Empty() || o.box.In(image.Rect(0, 0, w, h)) {
		return nil
	}
	return fmt.Errorf("%s: --crop %s reaches past the photo, which is %dx%d pixels (as displayed)", path, o.crop, w, h)
}

// outputs returns the files predict writes: --out ("-" for the standard
// output) and the overlay of each photo. It refuses two photos whose
// overlays would have the same name.
func (o *predictOptions) outputs(photos []string) ([]string, error) {
	out := []string{o.out}
	if o.overlaySuffix == "" {
		return out, nil
	}
	seen := map[string]string{}
	for _, p := range photos {
		path := overlayPath(p, o.overlay, o.overlaySuffix)
		if other, dup := seen[path]; dup {
			return nil, fmt.Errorf("the overlays of %s and %s would both be %s", other, p, path)
		}
		seen[path] = p
		out = append(out, path)
	}
	return out, nil
}

// checkOutputs refuses, before any work, outputs that cannot be written:
// two overlays of one name, an --overlay that is not a directory, and
// each output path that atomicfile.Check refuses.
func (o *predictOptions) checkOutputs(photos []string) error {
	paths, err := o.outputs(photos)
	if err != nil {
		return err
	}
	if o.overlay != "" {
		if fi, err := os.Stat(o.overlay); err == nil && !fi.IsDir() {
			return fmt.Errorf("write overlays: --overlay %s is not a directory", o.overlay)
		}
	}
	for _, p := range paths {
		if err := atomicfile.Check(p); err != nil {
			return err
		}
	}
	return nil
}

// probe reads the header of each photo that is a regular file (a pipe can
// be read only once) and refuses, before any work, a photo over the size
// limit or one the --crop box does not fit in.
func (o *predictOptions) probe(photos []string) error {
	for _, path := range photos {
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue // Read says what is wrong
		}
		info, err := photo.Probe(path, o.maxPixels())
		if err != nil {
			return o.photoError(err)
		}
		if err := o.checkCrop(path, info.Width, info.Height); err != nil {
			return err
		}
	}
	return nil
}

// photoError adds to the error of a photo over the size limit the
// --max-megapixels that would let it through.
func (o *predictOptions) photoError(err error) error {
	var big *photo.TooLargeError
	if !errors.As(err, &big) {
		return err
	}
	need := (int64(big.Width)*int64(big.Height) + 999_999) / 1_000_000
	return fmt.Errorf("%w (--max-megapixels %d would allow it)", err, need)
}

// photoKeypoints are the keypoints found in one photo.
type photoKeypoints struct {
	Photo  string          `json:"photo"`
	Width  int             `json:"width"`  // of the photo as displayed, pixels
	Height int             `json:"height"` // of the photo as displayed, pixels
	Box    [4]int          `json:"box"`    // the face's box: X, Y, W, H
	Points []namedKeypoint `json:"keypoints"`

	img  image.Image // the photo as displayed, held for its overlay until it is drawn
	face *photo.Face
}

// namedKeypoint is a keypoint in a photo's continuous pixel coordinates:
// pixel column c spans [c, c+1).
type namedKeypoint struct {
	Name string  `json:"name"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
}

// Photos are predicted in batches of up to predictBatch faces, and with
// overlays also as soon as the decoded photos held for them reach about
// overlayHold bytes: a batch of big photos is never all in memory.
const (
	predictBatch = 1024
	overlayHold  = 1 << 29
)

// predict reads the photos, cuts their faces, predicts the keypoints with
// m and maps them back onto the photos. It writes the overlays when asked,
// and warns on stderr of a face smaller than photo.MinFaceSide a side.
func (o *predictOptions) predict(m models.Model, paths []string, stderr io.Writer) ([]photoKeypoints, error) {
	if _, err := o.outputs(paths); err != nil {
		return nil, err
	}
	results := make([]photoKeypoints, len(paths))
	var batch []int // indices of the photos read but not yet predicted
	var held int64  // bytes of the photos held for their overlays, about
	for i, path := range paths {
		img, err := photo.Read(path, o.maxPixels())
		if err != nil {
			return nil, o.photoError(err)
		}
		b := img.Bounds()
		if err := o.checkCrop(path, b.Dx(), b.Dy()); err != nil {
			return nil, err
		}
		face, err := photo.Cut(img, o.box)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if w, h := face.Box.Dx(), face.Box.Dy(); w < photo.MinFaceSide || h < photo.MinFaceSide {
			fmt.Fprintf(stderr, "warning: %s: the face is %dx%d pixels, under %dx%d: enlarged to %dx%d it shows little, and its keypoints are rough\n",
				path, w, h, photo.MinFaceSide, photo.MinFaceSide, dataset.ImageSize, dataset.ImageSize)
		}
		results[i] = photoKeypoints{
			Photo: path, Width: b.Dx(), Height: b.Dy(),
			Box:  [4]int{face.Box.Min.X, face.Box.Min.Y, face.Box.Dx(), face.Box.Dy()},
			face: face,
		}
		if o.overlaySuffix != "" {
			results[i].img = img
			held += 4 * int64(b.Dx()) * int64(b.Dy())
		}
		batch = append(batch, i)
		if len(batch) == predictBatch || held >= overlayHold || i == len(paths)-1 {
			if err := o.predictBatch(m, results, batch, stderr); err != nil {
				return nil, err
			}
			batch, held = batch[:0], 0
		}
	}
	return results, nil
}

// predictBatch predicts the keypoints of the faces of results[i] for each
// i in batch, maps them onto their photos and writes their overlays.
func (o *predictOptions) predictBatch(m models.Model, results []photoKeypoints, batch []int, stderr io.Writer) error {
	pixels := make([]uint8, 0, len(batch)*dataset.PixelCount)
	for _, i := range batch {
		pixels = append(pixels, results[i].face.Pixels...)
	}
	var pred []float32
	if err := torch.Catch(func() {
		pred = models.Predict(train.WithTTA(m, o.tta), pixels, 0, m.Store().Device())
	}); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if o.overlay != "" {
		if err := os.MkdirAll(o.overlay, 0o755); err != nil {
			return fmt.Errorf("write overlays: %w", err)
		}
	}
	for j, i := range batch {
		r := &results[i]
		xy := r.face.KeypointsToPhoto(pred[j*dataset.NumCoords : (j+1)*dataset.NumCoords])
		r.Points = make([]namedKeypoint, dataset.NumKeypoints)
		for k, name := range dataset.Keypoints {
			r.Points[k] = namedKeypoint{Name: name, X: xy[2*k], Y: xy[2*k+1]}
		}
		if r.img == nil {
			continue
		}
		path := overlayPath(r.Photo, o.overlay, o.overlaySuffix)
		img := plots.Overlay(r.img, r.face.Box, xy)
		r.img = nil
		if err := atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", path)
	}
	return nil
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
