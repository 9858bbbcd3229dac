package main

import (
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/plots"
)

func init() {
	register(&command{name: "augment-preview", run: runAugmentPreview,
		summary: "draw one face as the augmenter perturbs it: a PNG grid with the keypoints marked",
		usage:   "(--train FILE | --synth) --out FILE.png [--index 0] [--augment default] [--n 16] [flags]"})
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
	start := time.Now()
	var o augmentPreviewOptions
	var recipe string
	fs.StringVar(&o.train, "train", "", "Kaggle training data (training.csv or a zip holding it)")
	fs.BoolVar(&o.synth, "synth", false, "draw a synthetic face (fkd synth's generator, seed 1, all keypoints) instead of reading --train")
	fs.IntVar(&o.index, "index", 0, "which face, counting from 0")
	fs.StringVar(&recipe, "augment", "default", "augmentation recipe: none, light, default, heavy, or a list such as \"default,rotate=5\"")
	augmentFlags(fs, "mirror half the faces (overrides the recipe)", "largest rotation in degrees (overrides the recipe)",
		"largest shift in pixels (overrides the recipe)", "largest relative zoom, e.g. 0.1 for ±10% (overrides the recipe)",
		"largest relative brightness change (overrides the recipe)", "largest relative contrast change (overrides the recipe)")
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
	// The flags' settings on top of the recipe: only their range can be
	// wrong, which ParseRecipe wraps.
	if o.opts, err = augment.ParseRecipe(strings.Join(append([]string{opts.String()}, augmentItems(fs)...), ",")); err != nil {
		return usagef("%v", errors.Unwrap(err))
	}
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
	var f files
	f.input("the training data", o.train)
	f.output("--out", o.out)
	if err := f.check(); err != nil {
		return err
	}
	if !o.synth {
		if err := checkInput("--train", o.train); err != nil {
			return err
		}
	}
	f.tidy(os.Stderr, start)
	return o.run(messages(o.out))
}

func (o *augmentPreviewOptions) run(w io.Writer) error {
	face, source, err := o.loadFace()
	if err != nil {
		return err
	}
	images, coords, mask := augment.Copies(face, o.n, o.opts, o.seed)
	img := plots.Preview(images, coords, mask, o.n, o.zoom)
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
