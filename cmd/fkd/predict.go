package main

import (
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/predict"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func init() {
	register(&command{
		name:    "predict",
		summary: "find the faces in photos, folders and videos, and the keypoints of each",
		usage:   "--model FILE [--crop X,Y,W,H] [--every N] [--format csv|json] [--out FILE] [--overlay DIR] [--strict] photo|folder|video ...",
		run:     runPredict,
	})
}

// modelOptions are the flags predict and serve share: the model and how
// faces are found.
type modelOptions struct {
	model, ttaName, device, detector, cascade string
	threads, maxMegapixels, minFace           int
	onePass                                   bool
	configPath                                *string
	tta                                       train.TTA
	det                                       detect.Detector   // tests set it; else from the flags
	pipe                                      *predict.Pipeline // tests set it; else loaded
}

func (o *modelOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.model, "model", "output/model.pt", "the model, as fkd train saved it")
	addTTAFlag(fs, &o.ttaName)
	fs.StringVar(&o.detector, "detector", "cascade", "how faces are found: cascade (OpenCV's --cascade) or whole (each photo or frame is one face)")
	fs.StringVar(&o.cascade, "cascade", detect.DefaultCascadeFile, "the OpenCV cascade file, or its name in "+detect.CascadeDirs[0]+" (Debian's opencv-data)")
	fs.IntVar(&o.minFace, "min-face", 24, "the smallest face the cascade looks for, pixels a side")
	fs.BoolVar(&o.onePass, "one-pass", false, "predict once, on the crop framed from the detector's box, not again on the crop framed from the keypoints found")
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	fs.IntVar(&o.maxMegapixels, "max-megapixels", photo.DefaultMaxPixels/1e6, "refuse a photo of more millions of pixels (width × height) than this, before decoding it")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "model", "cascade")
}

func (o *modelOptions) check() (err error) {
	switch {
	case o.threads < 0:
		return usagef("--threads %d is negative", o.threads)
	case o.maxMegapixels < 1 || o.maxMegapixels > math.MaxInt64/1_000_000:
		return usagef("--max-megapixels %d: want a whole number from 1 to %d", o.maxMegapixels, math.MaxInt64/1_000_000)
	case o.detector != "cascade" && o.detector != "whole":
		return usagef("--detector %q: want cascade or whole", o.detector)
	case o.minFace < 1:
		return usagef("--min-face %d: want a positive number of pixels", o.minFace)
	}
	o.tta, err = parseTTAFlag(o.ttaName)
	return err
}

func (o *modelOptions) maxPixels() int64 { return int64(o.maxMegapixels) * 1_000_000 }

// newDetector makes the detector the flags ask for, unless a test set one.
func (o *modelOptions) newDetector() (detect.Detector, func(), error) {
	if o.det != nil {
		return o.det, func() {}, nil
	}
	if o.detector == "whole" {
		return detect.Whole{}, func() {}, nil
	}
	c, err := detect.NewCascade(detect.CascadeOptions{File: o.cascade, MinSize: o.minFace})
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

// load loads the model into a pipeline; free frees it.
func (o *modelOptions) load() (p *predict.Pipeline, free func(), err error) {
	if o.pipe != nil {
		return o.pipe, func() {}, nil
	}
	dev, err := torch.ParseDevice(o.device)
	if err != nil {
		return nil, nil, err
	}
	torch.SetNumThreads(o.threads)
	m, meta, err := report.LoadModel(o.model, dev)
	if err != nil {
		return nil, nil, err
	}
	p = predict.New(m, meta, o.tta, predict.HaarFrontalFace)
	p.OnePass = o.onePass
	return p, func() { m.Store().Free() }, nil
}

// predictOptions holds the flags of "fkd predict".
type predictOptions struct {
	modelOptions
	crop, format, out, overlay, overlaySuffix, videoSuffix string
	every                                                  int
	strict                                                 bool
	box                                                    image.Rectangle // parsed from crop
}

// The overlays of photos and videos, by default: photo.jpg gets
// photo-keypoints.png, clip.mp4 gets clip-keypoints.avi.
const defaultOverlaySuffix, defaultVideoSuffix = "-keypoints.png", "-keypoints.avi"

func runPredict(fs *pflag.FlagSet, args []string) error {
	var o predictOptions
	o.addFlags(fs)
	fs.StringVar(&o.crop, "crop", "", "the face's box in every photo and frame, X,Y,W,H in pixels from the top left as displayed: no detection, no framing")
	fs.IntVar(&o.every, "every", 1, "in a video, read every N-th frame from the first")
	fs.StringVar(&o.format, "format", "csv", "csv (a row per face: source, frame, box, score, then x and y of each keypoint) or json")
	fs.StringVar(&o.out, "out", "-", "where to write the keypoints; - for the standard output")
	fs.StringVar(&o.overlay, "overlay", "", "write each photo with its faces' boxes and keypoints drawn, and each video annotated, to this directory")
	fs.StringVar(&o.overlaySuffix, "overlay-suffix", "", "name a photo's overlay after it with this suffix instead of its extension; alone, write overlays beside the photos (default \""+defaultOverlaySuffix+"\" with --overlay)")
	fs.StringVar(&o.videoSuffix, "video-suffix", defaultVideoSuffix, "name an annotated video after its video with this suffix (.avi: Motion JPEG; .mp4: MPEG-4)")
	fs.BoolVar(&o.strict, "strict", false, "exit with status 1 when a source was skipped or a photo had no face")
	markPaths(fs, "out", "overlay")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no photos or videos given")
	}
	if err := applyConfig(fs, "predict", *o.configPath, fs.Changed("config"), nil); err != nil {
		return err
	}
	return o.run(fs.Args(), os.Stderr)
}

// run finds the faces in the sources named by paths and writes their
// keypoints; log gets the warnings.
func (o *predictOptions) run(paths []string, log io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	sources, skipped := predict.Expand(paths)
	overlays := predict.Overlays{Dir: o.overlay, PhotoSuffix: o.overlaySuffix, VideoSuffix: o.videoSuffix}
	if err := overlays.Check(o.out, sources, o.maxPixels(), o.box); err != nil {
		return err
	}
	var det detect.Detector // none with --crop
	if o.box.Empty() {
		d, closeDet, err := o.newDetector()
		if err != nil {
			return err
		}
		defer closeDet()
		det = d
	}
	p, free, err := o.load()
	if err != nil {
		return err
	}
	defer free()
	for _, err := range skipped {
		fmt.Fprintf(log, "warning: skipped %v\n", err)
	}
	r := predict.Runner{Pipeline: p, Detector: det, Crop: o.box, MaxPixels: o.maxPixels(), Every: o.every, Overlays: overlays, Log: log}
	records, sum, err := r.Run(sources)
	if err != nil {
		return err
	}
	sum.Skipped = append(skipped, sum.Skipped...)
	write := predict.WriteCSV
	if o.format == "json" {
		write = predict.WriteJSON
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("write keypoints: %w", err)
	}
	if err := atomicfile.Write(o.out, func(w io.Writer) error { return write(w, records) }); err != nil {
		return err
	}
	fmt.Fprintln(log, sum)
	return sum.Err(o.strict)
}

// check validates the flags and parses --crop.
func (o *predictOptions) check() (err error) {
	if err := o.modelOptions.check(); err != nil {
		return err
	}
	switch {
	case o.format != "csv" && o.format != "json":
		return usagef("--format %q: want csv or json", o.format)
	case o.every < 1:
		return usagef("--every %d: want a positive number of frames", o.every)
	case strings.ContainsRune(o.overlaySuffix+o.videoSuffix, filepath.Separator):
		return usagef("--overlay-suffix and --video-suffix name no directory; give it as --overlay")
	}
	if o.crop != "" {
		if o.box, err = predict.ParseBox(o.crop); err != nil {
			return usagef("--crop: %v", err)
		}
	}
	if o.overlay != "" && o.overlaySuffix == "" {
		o.overlaySuffix = defaultOverlaySuffix
	}
	return nil
}
