package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/torch"
)

func init() {
	register(&command{
		name:    "augment-preview",
		summary: "draw one face as the augmenter perturbs it: a PNG grid with the keypoints marked",
		usage:   "(--train FILE | --synth) --out FILE.png [--index 0] [--augment default] [--n 16] [flags]",
		run:     runAugmentPreview,
	})
}

// augmentPreviewOptions holds the flags of "fkd augment-preview".
type augmentPreviewOptions struct {
	train string // training data, or "" with synth
	synth bool   // draw a synthetic face instead
	index int    // which face, from 0
	opts  augment.Options
	n     int    // tiles, the original first
	zoom  int    // screen pixels per image pixel
	seed  uint64 // LibTorch's seed for the augmentation
	out   string
}

func runAugmentPreview(fs *pflag.FlagSet, args []string) error {
	var o augmentPreviewOptions
	var recipe string
	var flip bool
	var rotate, jitter, scale, brightness, contrast float64
	fs.StringVar(&o.train, "train", "", "Kaggle training data (training.csv or a zip holding it)")
	fs.BoolVar(&o.synth, "synth", false, "draw a synthetic face (fkd synth's generator, seed 1, all keypoints) instead of reading --train")
	fs.IntVar(&o.index, "index", 0, "which face, counting from 0")
	fs.StringVar(&recipe, "augment", "default", "augmentation recipe: none, light, default, heavy, or a list such as \"default,rotate=5\"")
	fs.BoolVar(&flip, "flip", false, "mirror half the faces (overrides the recipe)")
	fs.Float64Var(&rotate, "rotate", 0, "largest rotation in degrees (overrides the recipe)")
	fs.Float64Var(&jitter, "jitter", 0, "largest shift in pixels (overrides the recipe)")
	fs.Float64Var(&scale, "scale", 0, "largest relative zoom, e.g. 0.1 for ±10% (overrides the recipe)")
	fs.Float64Var(&brightness, "brightness", 0, "largest relative brightness change (overrides the recipe)")
	fs.Float64Var(&contrast, "contrast", 0, "largest relative contrast change (overrides the recipe)")
	fs.IntVar(&o.n, "n", 16, "tiles in the grid: the original face, then n-1 augmented copies")
	fs.IntVar(&o.zoom, "zoom", 2, "screen pixels per image pixel")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed of the augmentation")
	fs.StringVar(&o.out, "out", "", "PNG file to write")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts, err := augment.ParseRecipe(recipe)
	if err != nil {
		return usagef("--augment: %v", err)
	}
	if fs.Changed("flip") {
		opts.Flip = flip
	}
	for name, v := range map[string]struct {
		field *float64
		value float64
	}{
		"rotate": {&opts.RotateDeg, rotate}, "jitter": {&opts.JitterPx, jitter}, "scale": {&opts.Scale, scale},
		"brightness": {&opts.Brightness, brightness}, "contrast": {&opts.Contrast, contrast},
	} {
		if fs.Changed(name) {
			*v.field = v.value
		}
	}
	if err := opts.Validate(); err != nil {
		return usagef("%v", err)
	}
	o.opts = opts
	switch {
	case fs.NArg() != 0:
		return usagef("unexpected arguments %q", fs.Args())
	case (o.train == "") == !o.synth:
		return usagef("give exactly one of --train FILE and --synth")
	case o.out == "":
		return usagef("--out is required")
	case o.index < 0:
		return usagef("--index %d is negative", o.index)
	case o.n < 1 || o.n > 256:
		return usagef("--n %d is outside [1, 256]", o.n)
	case o.zoom < 1 || o.zoom > 8:
		return usagef("--zoom %d is outside [1, 8]", o.zoom)
	}
	if err := atomicfile.Check(o.out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return o.run(messages(o.out))
}

func (o *augmentPreviewOptions) run(w io.Writer) error {
	face, source, err := o.loadFace()
	if err != nil {
		return err
	}
	images, coords, mask := o.augmentFace(face)
	img := drawPreview(images, coords, mask, o.n, o.zoom)
	if err := atomicfile.Write(o.out, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %s, the original then %d copies under %s (seed %d)\n",
		o.out, source, o.n-1, o.opts, o.seed)
	fmt.Fprintln(w, "keypoints: orange = the subject's left, blue = right, yellow = midline")
	return nil
}

// loadFace returns the chosen face as a one-face Set, and says where it
// came from.
func (o *augmentPreviewOptions) loadFace() (*dataset.Set, string, error) {
	if o.synth {
		s := synth.Generate(o.index+1, 1, synth.Options{})
		return s.Subset([]int{o.index}), fmt.Sprintf("synthetic face %d", o.index), nil
	}
	s, rep, err := dataset.ReadTraining(o.train, dataset.ReadOptions{})
	if err != nil {
		return nil, "", err
	}
	if o.index >= s.Len() {
		return nil, "", fmt.Errorf("--index %d: %s holds %d faces (0..%d)", o.index, rep.Source, s.Len(), s.Len()-1)
	}
	return s.Subset([]int{o.index}), fmt.Sprintf("face %d (row %d) of %s", o.index, s.IDs[o.index], rep.Source), nil
}

// augmentFace returns n copies of the face, all but the first augmented,
// as grey levels in [0, 1], normalised coordinates and mask, flattened.
func (o *augmentPreviewOptions) augmentFace(face *dataset.Set) (images, coords, mask []float32) {
	n := o.n
	images = make([]float32, 0, n*dataset.PixelCount)
	coords = make([]float32, 0, n*dataset.NumCoords)
	mask = make([]float32, 0, n*dataset.NumCoords)
	c, m := face.Keypoints(0)
	for range n {
		for _, v := range face.Image(0) {
			images = append(images, float32(v)/255)
		}
		for i, ok := range m {
			if ok {
				coords = append(coords, (c[i]-dataset.ImageSize/2)/(dataset.ImageSize/2))
				mask = append(mask, 1)
			} else {
				coords = append(coords, 0)
				mask = append(mask, 0)
			}
		}
	}
	if n == 1 {
		return images, coords, mask
	}
	torch.WithScope(func() {
		x := torch.FromFloat32(images[dataset.PixelCount:], int64(n-1), 1, dataset.ImageSize, dataset.ImageSize)
		y := torch.FromFloat32(coords[dataset.NumCoords:], int64(n-1), dataset.NumCoords)
		k := torch.FromFloat32(mask[dataset.NumCoords:], int64(n-1), dataset.NumCoords)
		torch.ManualSeed(o.seed)
		x, y, k = augment.Apply(x, y, k, o.opts)
		images = append(images[:dataset.PixelCount], x.Float32s()...)
		coords = append(coords[:dataset.NumCoords], y.Float32s()...)
		mask = append(mask[:dataset.NumCoords], k.Float32s()...)
	})
	return images, coords, mask
}

// Colours of the preview.
var (
	previewBackground = color.RGBA{40, 40, 48, 255}
	previewFrame      = color.RGBA{255, 255, 255, 255} // around the original
	previewLeft       = color.RGBA{255, 130, 0, 255}   // the subject's left keypoints
	previewRight      = color.RGBA{0, 150, 255, 255}   // right keypoints
	previewMidline    = color.RGBA{255, 230, 0, 255}   // nose and lip centres
)

// previewGap is the space between tiles, in screen pixels.
const previewGap = 6

// keypointColours gives each keypoint its colour by side.
var keypointColours = func() (cs [dataset.NumKeypoints]color.RGBA) {
	for k := range cs {
		cs[k] = previewMidline
	}
	for _, p := range dataset.FlipPairs {
		cs[p[0]], cs[p[1]] = previewLeft, previewRight
	}
	return cs
}()

// previewLayout returns the grid of n tiles: columns, rows, and the size
// of the whole picture for tiles of the given side.
func previewLayout(n, tile int) (cols, rows, width, height int) {
	cols = int(math.Ceil(math.Sqrt(float64(n))))
	rows = (n + cols - 1) / cols
	return cols, rows, cols*tile + (cols+1)*previewGap, rows*tile + (rows+1)*previewGap
}

// drawPreview lays out n faces (grey levels in [0, 1], normalised
// coordinates and mask as for augment.Apply) in a grid, each enlarged zoom
// times with its present keypoints marked by crosses. The first tile gets
// a frame.
func drawPreview(images, coords, mask []float32, n, zoom int) *image.RGBA {
	tile := dataset.ImageSize * zoom
	cols, _, width, height := previewLayout(n, tile)
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(previewBackground), image.Point{}, draw.Src)
	for f := range n {
		x0 := previewGap + (f%cols)*(tile+previewGap)
		y0 := previewGap + (f/cols)*(tile+previewGap)
		if f == 0 {
			frame := image.Rect(x0-2, y0-2, x0+tile+2, y0+tile+2)
			draw.Draw(img, frame, image.NewUniform(previewFrame), image.Point{}, draw.Src)
		}
		face := images[f*dataset.PixelCount : (f+1)*dataset.PixelCount]
		for y := range tile {
			for x := range tile {
				v := face[(y/zoom)*dataset.ImageSize+x/zoom]
				g := uint8(math.Round(float64(min(max(v, 0), 1)) * 255))
				img.SetRGBA(x0+x, y0+y, color.RGBA{g, g, g, 255})
			}
		}
		for k := range dataset.NumKeypoints {
			j := f*dataset.NumCoords + 2*k
			if mask[j] == 0 || mask[j+1] == 0 {
				continue
			}
			// Normalised u is pixel (u+1)*48; pixel c spans [c, c+1).
			px := (float64(coords[j]) + 1) * dataset.ImageSize / 2 * float64(zoom)
			py := (float64(coords[j+1]) + 1) * dataset.ImageSize / 2 * float64(zoom)
			drawCross(img, image.Rect(x0, y0, x0+tile, y0+tile), int(math.Floor(px))+x0, int(math.Floor(py))+y0, zoom+1, keypointColours[k])
		}
	}
	return img
}

// drawCross draws a plus sign with arms of arm pixels centred at (x, y),
// clipped to the tile r.
func drawCross(img *image.RGBA, r image.Rectangle, x, y, arm int, c color.RGBA) {
	for d := -arm; d <= arm; d++ {
		for _, p := range []image.Point{{x + d, y}, {x, y + d}} {
			if p.In(r) {
				img.SetRGBA(p.X, p.Y, c)
			}
		}
	}
}
