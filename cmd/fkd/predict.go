package main

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/internal/suggest"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/predict"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/video"
)

func init() {
	register(&command{
		name:    "predict",
		summary: "find the faces in photos, folders and videos, and the keypoints of each",
		usage:   "--model FILE [--crop X,Y,W,H] [--every N] [--format csv|json|jsonl] [--out FILE] [--overlay DIR] [--overlay-labels] [--strict] photo|folder|video ...",
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
	tta                                       eval.TTA
	det                                       detect.Detector   // tests set it; else from the flags
	pipe                                      *predict.Pipeline // tests set it; else loaded
}

func (o *modelOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.model, "model", "output/model.pt", "the model, as fkd train saved it")
	addTTAFlag(fs, &o.ttaName)
	fs.StringVar(&o.detector, "detector", detect.NameDefault, "how faces are found: default (dlib's HOG detector, or OpenCV's cascade where fkd was built without dlib, with a warning), dlib, cascade (OpenCV's --cascade) or whole (each photo or frame is one face)")
	fs.StringVar(&o.cascade, "cascade", detect.DefaultCascadeFile, "the OpenCV cascade file, or its name in "+detect.CascadeDirs[0]+" (Debian's opencv-data)")
	fs.IntVar(&o.minFace, "min-face", 0, "the smallest face the detector looks for, pixels a side (0: the detector's own, 40 for dlib, 24 for the cascade; a smaller one costs time and brings false faces)")
	fs.BoolVar(&o.onePass, "one-pass", false, "predict once, on the crop framed from the detector's box, not again on the crop framed from the keypoints found")
	fs.StringVar(&o.device, "device", "auto", "auto, cpu, cuda or cuda:N")
	fs.IntVar(&o.threads, "threads", 0, "LibTorch CPU threads (0: one per core)")
	fs.IntVar(&o.maxMegapixels, "max-megapixels", photo.DefaultMaxPixels/1e6, "the largest photo, in millions of pixels (width × height), read from its header before decoding: predict skips a larger one (named, like a damaged one), serve refuses it")
	o.configPath = addConfigFlag(fs)
	markPaths(fs, "model", "cascade")
}

func (o *modelOptions) check() (err error) {
	switch {
	case o.threads < 0:
		return usagef("--threads %d is negative", o.threads)
	case o.maxMegapixels < 1 || o.maxMegapixels > math.MaxInt64/1_000_000:
		return usagef("--max-megapixels %d: want a whole number from 1 to %d", o.maxMegapixels, math.MaxInt64/1_000_000)
	case !slices.Contains(detect.Names, o.detector):
		return usagef("--detector %q%s: want one of %s", o.detector, suggest.DidYouMean(o.detector, detect.Names), strings.Join(detect.Names, ", "))
	case o.minFace < 0:
		return usagef("--min-face %d: want a number of pixels (0: the detector's own)", o.minFace)
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
	det, err := detect.New(o.detector, detect.Options{MinFace: o.minFace, Cascade: detect.CascadeOptions{File: o.cascade}})
	if err != nil {
		return nil, nil, err
	}
	return det, func() { detect.Close(det) }, nil
}

// load loads the model into a pipeline that frames the boxes of det (nil
// with --crop); free frees it.
func (o *modelOptions) load(det detect.Detector) (p *predict.Pipeline, free func(), err error) {
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
	p = predict.New(m, meta, o.tta, predict.BoxAnchorOf(det))
	p.OnePass = o.onePass
	return p, func() { m.Store().Free() }, nil
}

// predictOptions holds the flags of "fkd predict".
type predictOptions struct {
	modelOptions
	crop, format, out, overlay, overlaySuffix, videoSuffix string
	every                                                  int
	strict, labels                                         bool
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
	fs.StringVar(&o.format, "format", "csv", formatHelp)
	fs.StringVar(&o.out, "out", "-", "where to write the keypoints; - for the standard output")
	fs.StringVar(&o.overlay, "overlay", "", "write each photo with its faces' boxes and keypoints drawn, and each video annotated, to this directory: the subject's left keypoints orange, right blue, nose and lip centres yellow, the detector's box green (a legend says so on photos of 300 pixels a side and more)")
	fs.BoolVar(&o.labels, "overlay-labels", false, "on the overlays, write each face's score and mean keypoint confidence above its box, and each keypoint's confidence in hundredths beside it")
	fs.StringVar(&o.overlaySuffix, "overlay-suffix", "", "name a photo's overlay after it with this suffix instead of its extension, ending in .png (PNG) or .jpg (JPEG); alone, write overlays beside the photos (default \""+defaultOverlaySuffix+"\" with --overlay)")
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

// formatHelp is the help of --format: what the records hold.
const formatHelp = `csv, json or jsonl. A record per photo or video frame read, with or without faces, and per source skipped (with its error). ` +
	`csv: a row per face (source, frame, box x,y,w,h, score, x and y of each keypoint, the confidence of each, status face|no_face|skipped, error), ` +
	`one row with empty face cells for a photo or frame without a face or skipped; ` +
	`json: one array of records {source, frame, width, height, faces: [{box, score, crop, keypoints: [{name, x, y, confidence}]}], error}, written when the run ends; ` +
	`jsonl: one such record a line, written as each photo or frame is done (a long video or folder streams). ` +
	`Keypoints are in the photo's pixels as displayed: x right, y down from the top-left corner of the top-left pixel, whose centre is (0.5, 0.5). ` +
	`score: the detector's, in [0, 1] (empty with --crop and --detector whole); ` +
	`confidence: the share of a heatmap model's probability near each keypoint, in [0, 1], from a plain pass with or without --tta; ` +
	`empty (null) for a regression model, which has none`

// run finds the faces in the sources named by paths and writes their
// keypoints; log gets the warnings.
func (o *predictOptions) run(paths []string, log io.Writer) error {
	start := time.Now()
	if err := o.check(); err != nil {
		return err
	}
	sources, skipped := predict.Expand(paths)
	overlays := predict.Overlays{Dir: o.overlay, PhotoSuffix: o.overlaySuffix, VideoSuffix: o.videoSuffix}
	// The overlays of an earlier run found beside their photos are no
	// new photos; without overlays, those of the default names.
	own := overlays
	if own.PhotoSuffix == "" {
		own = predict.Overlays{PhotoSuffix: defaultOverlaySuffix, VideoSuffix: o.videoSuffix}
	}
	sources, ownOverlays := own.Own(sources)
	var reads files
	reads.model("--model", o.model)
	if o.configPath != nil {
		reads.config(*o.configPath)
	}
	if o.box.Empty() && o.detector == detect.NameCascade {
		if _, err := os.Stat(o.cascade); err == nil {
			reads.input("--cascade", o.cascade)
		}
	}
	if err := overlays.Check(o.out, sources, reads.in, o.maxPixels(), o.box); err != nil {
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
	p, free, err := o.load(det)
	if err != nil {
		return err
	}
	defer free()
	for _, err := range skipped {
		fmt.Fprintf(log, "warning: skipped %v\n", err)
	}
	if n := len(ownOverlays); n > 0 {
		fmt.Fprintf(log, "passed over %d files found with the photos and videos they are the overlays of, such as %s (name one to read it)\n",
			n, ownOverlays[0].Path)
	}
	overlays.Tidy(log, o.out, sources, start)
	r := &predict.Runner{Pipeline: p, Detector: det, Crop: o.box, MaxPixels: o.maxPixels(), Every: o.every, Overlays: overlays,
		Labels: o.labels, Log: log, Stream: o.format == "jsonl"}
	sum, err := writeRecords(o.out, o.format, r, sources, skipped)
	if errors.Is(err, errNothingRead) {
		// Nothing to show for the run: whatever --out holds stays.
		fmt.Fprintln(log, sum)
		err := sum.Err(o.strict)
		if fi, serr := os.Stat(o.out); serr == nil && fi.Mode().IsRegular() && !atomicfile.IsStdout(o.out) {
			err = fmt.Errorf("%w; %s is left as it was", err, o.out)
		}
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(log, sum)
	return sum.Err(o.strict)
}

// errNothingRead ends writeRecords when no photo or frame could be read.
var errNothingRead = errors.New("no photo or video could be read")

// writeRecords runs r on the sources and writes the records to out in
// format: first those of the paths that skipped names, then one per
// photo or frame read or source skipped, in order. csv and json replace
// out whole when the run ends (atomicfile.Write): a regular file is never
// seen half-written. jsonl streams: standard output, a FIFO or a device
// gets each line as soon as it is made, and a regular file is written in
// place, line by line, so that it can be read as it grows (a run cut
// short leaves it whole up to its last line). When nothing could be read
// it writes nothing, leaves out as it was, and returns errNothingRead.
func writeRecords(out, format string, r *predict.Runner, sources []predict.Source, skipped []error) (predict.Summary, error) {
	var sum predict.Summary
	run := func(w io.Writer) error {
		enc, err := predict.NewWriter(w, format)
		if err != nil {
			return err
		}
		held := &heldWriter{w: enc}
		for _, err := range skipped {
			held.skipped(err)
		}
		r.Output = held
		_, sum, err = r.Run(sources)
		sum.Skipped = append(skipped, sum.Skipped...)
		if err != nil {
			return err
		}
		if sum.Photos+sum.Videos == 0 {
			return errNothingRead
		}
		if err := held.release(); err != nil {
			return err
		}
		return enc.Close()
	}
	var err error
	if format == "jsonl" {
		err = streamTo(out, run)
	} else {
		err = atomicfile.Write(out, run)
	}
	return sum, err
}

// heldWriter holds the records of skipped sources until a photo or frame
// has been read, so that a run that reads nothing writes nothing.
type heldWriter struct {
	w    predict.Writer
	held []predict.Record
	read bool // a record of a photo or frame read has been written
}

// skipped holds the record of a path that predict.Expand skipped.
func (h *heldWriter) skipped(err error) {
	rec := predict.Record{Error: err.Error()}
	var se *predict.SkipError
	if errors.As(err, &se) {
		rec.Source, rec.Error = se.Path, se.Err.Error()
	}
	h.held = append(h.held, rec)
}

func (h *heldWriter) Write(r predict.Record) error {
	if !h.read && r.Error != "" {
		h.held = append(h.held, r)
		return nil
	}
	if err := h.release(); err != nil {
		return err
	}
	h.read = true
	return h.w.Write(r)
}

// release writes the records held.
func (h *heldWriter) release() error {
	for _, r := range h.held {
		if err := h.w.Write(r); err != nil {
			return err
		}
	}
	h.held = nil
	return nil
}

func (h *heldWriter) Close() error { return h.w.Close() }

// streamTo calls write with a writer to out that reaches it as soon as
// write flushes: standard output, or out opened in place (made when
// missing, with its folders; emptied when a regular file) the first
// time write writes, so that a run that writes nothing leaves out as it
// was. Links are followed.
func streamTo(out string, write func(w io.Writer) error) error {
	if atomicfile.IsStdout(out) {
		bw := bufio.NewWriter(os.Stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	lw := &lazyFile{path: out}
	bw := bufio.NewWriter(lw)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if lw.f != nil {
		if cerr := lw.f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil && !errors.Is(err, errNothingRead) {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return err
}

// lazyFile opens path for writing at the first Write.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
			return 0, err
		}
		flag := os.O_WRONLY | os.O_CREATE
		if fi, err := os.Stat(l.path); err != nil || fi.Mode().IsRegular() {
			flag |= os.O_TRUNC
		}
		f, err := os.OpenFile(l.path, flag, 0o644)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Write(p)
}

// check validates the flags and parses --crop.
func (o *predictOptions) check() (err error) {
	if err := o.modelOptions.check(); err != nil {
		return err
	}
	switch {
	case !slices.Contains(predict.Formats, o.format):
		return usagef("--format %q: want %s", o.format, strings.Join(predict.Formats, ", "))
	case o.every < 1:
		return usagef("--every %d: want a positive number of frames", o.every)
	case strings.ContainsRune(o.overlaySuffix+o.videoSuffix, filepath.Separator):
		return usagef("--overlay-suffix and --video-suffix name no directory; give it as --overlay")
	case o.overlaySuffix != "":
		if _, err := photo.FormatOf(o.overlaySuffix); err != nil {
			return usagef("--overlay-suffix %s: an overlay is written as PNG (.png) or JPEG (.jpg, .jpeg), as its name ends", o.overlaySuffix)
		}
	}
	if !video.IsVideo(o.videoSuffix) {
		return usagef("--video-suffix %s: an annotated video must end in a video's extension, such as .avi or .mp4", o.videoSuffix)
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
