package predict

import (
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/video"
)

// Source is a photo or a video to find faces in.
type Source struct {
	Path  string
	Video bool
	Found bool // in a folder named, not named itself
}

// PhotoExtensions are the extensions, lower case, of the photos that
// Expand finds in folders.
var PhotoExtensions = []string{".jpg", ".jpeg", ".png"}

// SkipError says why a source, or a part of one, was skipped.
type SkipError struct {
	Path string
	Err  error
}

func (e *SkipError) Error() string {
	if msg := e.Err.Error(); strings.Contains(msg, e.Path) {
		return msg
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *SkipError) Unwrap() error { return e.Err }

// skip makes the SkipError of path, without the path twice when err is
// the *fs.PathError of it.
func skip(path string, err error) *SkipError {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return &SkipError{Path: path, Err: err}
}

// Expand turns paths into sources. A folder gives the photos and videos
// under it, by their extensions (PhotoExtensions, video.Extensions), in
// lexical order, following no symbolic link to a folder; a file gives
// itself, a video by its extension and a photo otherwise. A path or a
// folder entry that cannot be read is returned in skipped, and the rest
// are expanded. A folder's entries are taken only when they are regular
// files (or links to them): a FIFO, a socket or a device there, which
// could block the reader forever or never end, is named in skipped. A
// FIFO or a device named itself, such as /dev/stdin, is read.
func Expand(paths []string) (sources []Source, skipped []error) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			skipped = append(skipped, skip(p, err))
			continue
		}
		if !fi.IsDir() {
			sources = append(sources, Source{Path: p, Video: video.IsVideo(p)})
			continue
		}
		// The separator makes WalkDir go into a link to a folder named.
		filepath.WalkDir(p+string(filepath.Separator), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				skipped = append(skipped, skip(path, err))
				return nil
			}
			if d.IsDir() {
				return nil
			}
			ext := strings.ToLower(filepath.Ext(path))
			isVideo := video.IsVideo(path)
			if !isVideo && !slices.Contains(PhotoExtensions, ext) {
				return nil
			}
			fi, err := os.Stat(path)
			switch {
			case err != nil:
				skipped = append(skipped, skip(path, err))
				return nil
			case fi.IsDir():
				return nil
			case !fi.Mode().IsRegular():
				skipped = append(skipped, skip(path, notRegular(fi.Mode())))
				return nil
			}
			sources = append(sources, Source{Path: path, Video: isVideo, Found: true})
			return nil
		})
	}
	return sources, skipped
}

// notRegular is the error of a file found in a folder that is not a
// regular file.
func notRegular(mode fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	}
	return fmt.Errorf("%s, not a regular file: a folder's files are read only when regular (name it to read it)", kind)
}

// readPhoto reads the photo of s. A photo found in a folder is opened
// without waiting for a writer, and read only when it is still a regular
// file: Expand checked it, but it may have been replaced since.
func (r *Runner) readPhoto(s Source) (image.Image, error) {
	img, err := r.readPhotoFile(s)
	var big *photo.TooLargeError
	if errors.As(err, &big) {
		need := (int64(big.Width)*int64(big.Height) + 999_999) / 1_000_000
		err = fmt.Errorf("%w (--max-megapixels %d would allow it)", err, need)
	}
	return img, err
}

func (r *Runner) readPhotoFile(s Source) (image.Image, error) {
	if !s.Found {
		return photo.Read(s.Path, r.MaxPixels)
	}
	f, err := os.OpenFile(s.Path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read photo: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read photo: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(fi.Mode())
	}
	img, _, err := photo.Decode(f, s.Path, r.MaxPixels)
	return img, err
}

// Runner finds the faces, and their keypoints, in photos and in the
// frames of videos, in batches, and writes the overlays and annotated
// videos asked for.
type Runner struct {
	Pipeline *Pipeline
	// Detector finds the faces of each photo and frame. detect.Whole
	// takes each as one face, cut as it is, not framed.
	Detector detect.Detector
	// Crop, when not empty, is the one face of every photo and frame,
	// cut as it is: no detection. It must fit in each.
	Crop image.Rectangle
	// MaxPixels is the largest photo, width × height (photo.Read).
	MaxPixels int64
	// Every is how many frames of a video make one read: frames 0,
	// Every, 2·Every... (0 or 1: every frame).
	Every int
	// Overlays names the overlays of photos and the annotated copies of
	// videos; none when its PhotoSuffix is "".
	Overlays Overlays
	// Labels draws each face's score and its keypoints' confidences on
	// the overlays (plots.OverlayOptions).
	Labels bool
	// Log gets warnings and the files written, a line each.
	Log io.Writer
	// Output, when not nil, gets each record as soon as its batch is
	// done, in the order of the sources and frames, and Run returns
	// none.
	Output Writer
	// Stream runs each photo or frame through the model as soon as its
	// faces are found, so that its record reaches Output before the next
	// one is read: a long video or folder shows its results as it goes,
	// at the cost of smaller batches.
	Stream bool
	// BatchFaces and BatchBytes bound a batch: the faces given to the
	// model at once (default 256) and the bytes of the images held for
	// them, about (default 256 MiB).
	BatchFaces int
	BatchBytes int64
}

// Summary counts what Run read and names what it skipped.
type Summary struct {
	Photos, Videos, Frames int // read
	Faces                  int // found
	// NoFace names the photos, and the videos, in which no face was
	// found.
	NoFace []string
	// Skipped says why each source, or part of a video, was skipped.
	Skipped []error
}

// Run finds the faces in the sources and returns the records of every
// photo and frame read, with or without faces, and of every source
// skipped, in the order of the sources and frames (or gives them to
// r.Output). A source that cannot be read, and the rest of a video after
// a frame that cannot be decoded or where the file is cut short
// (video.TruncatedError), are skipped, named in the summary and given a
// record with the error; an error is returned only for what stops the
// whole run: the model failing, or an output that cannot be written.
// A photo named is skipped for the same reasons as one found in a folder.
func (r *Runner) Run(sources []Source) ([]Record, Summary, error) {
	b := &batch{r: r, warned: map[string]bool{}}
	for _, s := range sources {
		if s.Video {
			if err := r.video(s, b); err != nil {
				return nil, b.sum, err
			}
			continue
		}
		img, err := r.readPhoto(s)
		if err != nil {
			if err := b.skip(s, -1, skip(s.Path, err)); err != nil {
				return nil, b.sum, err
			}
			continue
		}
		b.sum.Photos++
		faces, exact, err := r.faces(s.Path, img)
		if err != nil {
			if err := b.skip(s, -1, err); err != nil {
				return nil, b.sum, err
			}
			continue
		}
		b.add(item{src: s, frame: -1, img: img, faces: faces, exact: exact})
		if err := b.flushIfFull(); err != nil {
			return nil, b.sum, err
		}
	}
	if err := b.flush(); err != nil {
		return nil, b.sum, err
	}
	return b.records, b.sum, nil
}

// faces returns the faces of one photo or frame, and whether they are to
// be cut as they are.
func (r *Runner) faces(name string, img image.Image) ([]detect.Face, bool, error) {
	b := img.Bounds()
	if !r.Crop.Empty() {
		if !r.Crop.In(b) {
			c := r.Crop
			return nil, false, &SkipError{Path: name, Err: fmt.Errorf("--crop %d,%d,%d,%d reaches past the photo, which is %dx%d pixels (as displayed)",
				c.Min.X, c.Min.Y, c.Dx(), c.Dy(), b.Dx(), b.Dy())}
		}
		return []detect.Face{{Box: r.Crop}}, true, nil
	}
	faces, err := r.Detector.Detect(img)
	if err != nil {
		return nil, false, &SkipError{Path: name, Err: err}
	}
	_, exact := r.Detector.(detect.Whole)
	return faces, exact, nil
}

// video reads the frames of one video into b.
func (r *Runner) video(s Source, b *batch) error {
	v, err := video.Open(s.Path)
	if err != nil {
		return b.skip(s, -1, skip(s.Path, err))
	}
	defer v.Close()
	b.sum.Videos++
	every := max(r.Every, 1)
	out := &videoOut{fps: v.FPS() / float64(every)}
	if r.Overlays.PhotoSuffix != "" {
		out.path = r.Overlays.Path(s)
	}
	found, framesBefore := false, b.sum.Frames
	for {
		img, frame, err := v.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if err := b.skip(s, -1, skip(s.Path, err)); err != nil {
				out.abort()
				return err
			}
			break
		}
		b.sum.Frames++
		faces, exact, err := r.faces(fmt.Sprintf("%s frame %d", s.Path, frame), img)
		if err != nil {
			if err := b.skip(s, frame, err); err != nil {
				out.abort()
				return err
			}
			break
		}
		found = found || len(faces) > 0
		b.add(item{src: s, frame: frame, img: img, faces: faces, exact: exact, video: out})
		if err := b.flushIfFull(); err != nil {
			out.abort()
			return err
		}
		v.Skip(every - 1)
	}
	if err := b.flush(); err != nil {
		out.abort()
		return err
	}
	if !found && b.sum.Frames > framesBefore { // this video's frames, not the run's
		b.sum.NoFace = append(b.sum.NoFace, s.Path)
		fmt.Fprintf(r.Log, "warning: %s: no face found in any frame read\n", s.Path)
	}
	if out.w != nil {
		if err := out.w.Close(); err != nil {
			return err
		}
		fmt.Fprintf(r.Log, "wrote %s\n", out.path)
	}
	return nil
}

// videoOut is the annotated copy of a video being written.
type videoOut struct {
	path string // "" for none
	fps  float64
	w    *video.Writer // opened at the first frame
}

func (o *videoOut) write(img image.Image) error {
	if o.path == "" {
		return nil
	}
	if o.w == nil {
		b := img.Bounds()
		w, err := video.Create(o.path, o.fps, b.Dx(), b.Dy())
		if err != nil {
			return err
		}
		o.w = w
	}
	return o.w.Write(img)
}

func (o *videoOut) abort() {
	if o.w != nil {
		o.w.Abort()
	}
}

// item is a photo or a frame waiting in a batch, or a source skipped
// (err), which waits for the items before it to keep the records in
// order.
type item struct {
	src   Source
	frame int // -1 for a photo
	img   image.Image
	faces []detect.Face
	exact bool
	video *videoOut // for a frame
	err   error     // why it was skipped
}

// batch gathers photos and frames until their faces are worth a run of
// the model.
type batch struct {
	r       *Runner
	items   []item
	faces   int
	bytes   int64
	records []Record
	sum     Summary
	warned  map[string]bool // sources warned of a small face
}

func (b *batch) add(it item) {
	b.items = append(b.items, it)
	b.faces += len(it.faces)
	if it.img != nil {
		r := it.img.Bounds()
		b.bytes += 4 * int64(r.Dx()) * int64(r.Dy())
	}
}

// flushIfFull runs the batch when it is full, or at once with Stream.
func (b *batch) flushIfFull() error {
	maxFaces, maxBytes := b.r.BatchFaces, b.r.BatchBytes
	if maxFaces <= 0 {
		maxFaces = 256
	}
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	if b.r.Stream || b.faces >= maxFaces || b.bytes >= maxBytes {
		return b.flush()
	}
	return nil
}

// skip names a source, or a frame of a video (frame >= 0), that was
// skipped, and gives it its record.
func (b *batch) skip(s Source, frame int, err error) error {
	b.sum.Skipped = append(b.sum.Skipped, err)
	fmt.Fprintf(b.r.Log, "warning: skipped %v\n", err)
	b.add(item{src: s, frame: frame, err: err})
	if b.r.Stream {
		return b.flush()
	}
	return nil
}

// emit gives a record to the runner's Output, or keeps it.
func (b *batch) emit(r Record) error {
	if b.r.Output == nil {
		b.records = append(b.records, r)
		return nil
	}
	return b.r.Output.Write(r)
}

// flush runs the pipeline on the faces gathered, makes their records and
// writes their overlays and annotated frames.
func (b *batch) flush() error {
	var targets []Target
	for _, it := range b.items {
		for _, f := range it.faces {
			targets = append(targets, Target{Image: it.img, Box: f.Box, Exact: it.exact})
		}
	}
	var results []Result
	var conf [][]float32
	if len(targets) > 0 {
		var err error
		if results, err = b.r.Pipeline.Run(targets); err != nil {
			return err
		}
		if conf, err = b.r.Pipeline.Confidences(targets, results); err != nil {
			return err
		}
	}
	next := 0
	for _, it := range b.items {
		rec := Record{Source: it.src.Path}
		name := it.src.Path
		if it.frame >= 0 {
			name = fmt.Sprintf("%s frame %d", it.src.Path, it.frame)
			rec.Frame = &it.frame
		}
		if it.err != nil {
			rec.Error = skipReason(it.err, it.src.Path)
			if err := b.emit(rec); err != nil {
				return fmt.Errorf("write the records: %w", err)
			}
			continue
		}
		bounds := it.img.Bounds()
		rec.Width, rec.Height = bounds.Dx(), bounds.Dy()
		rec.Faces = make([]Face, 0, len(it.faces))
		marks := make([]plots.OverlayFace, 0, len(it.faces))
		for _, d := range it.faces {
			res := results[next]
			face := NewFace(d, res)
			if conf != nil {
				face.SetConfidence(conf[next])
			}
			next++
			b.sum.Faces++
			rec.Faces = append(rec.Faces, face)
			marks = append(marks, plots.OverlayFace{Box: d.Box, Crop: res.Crop, Keypoints: res.Keypoints, Score: d.Score, Confidence: face.Confidences()})
			if w, h := res.Crop.Dx(), res.Crop.Dy(); (w < photo.MinFaceSide || h < photo.MinFaceSide) && !b.warned[it.src.Path] {
				b.warned[it.src.Path] = true
				fmt.Fprintf(b.r.Log, "warning: %s: the face is %dx%d pixels, under %dx%d: enlarged to %dx%d it shows little, and its keypoints are rough\n",
					name, w, h, photo.MinFaceSide, photo.MinFaceSide, dataset.ImageSize, dataset.ImageSize)
			}
		}
		if err := b.emit(rec); err != nil {
			return fmt.Errorf("write the records: %w", err)
		}
		marked := it.img
		if b.r.Overlays.PhotoSuffix != "" && (len(marks) > 0 || it.frame >= 0) { // every frame keeps the legend
			marked = plots.Overlay(it.img, marks, plots.OverlayOptions{Labels: b.r.Labels})
		}
		if it.frame >= 0 {
			if err := it.video.write(marked); err != nil {
				return err
			}
			continue
		}
		if len(it.faces) == 0 {
			b.sum.NoFace = append(b.sum.NoFace, it.src.Path)
			fmt.Fprintf(b.r.Log, "warning: %s: no face found\n", it.src.Path)
			continue
		}
		if b.r.Overlays.PhotoSuffix != "" {
			path := b.r.Overlays.Path(it.src)
			format, err := photo.FormatOf(path)
			if err != nil {
				return fmt.Errorf("write overlays: %w", err)
			}
			if err := atomicfile.Write(path, func(w io.Writer) error { return photo.Encode(w, marked, format) }); err != nil {
				return err
			}
			fmt.Fprintf(b.r.Log, "wrote %s\n", path)
		}
	}
	clear(b.items) // let the images go
	b.items, b.faces, b.bytes = b.items[:0], 0, 0
	return nil
}

// skipReason is the error of a skipped source for its record, without
// the source's path, which the record holds.
func skipReason(err error, path string) string {
	var se *SkipError
	if errors.As(err, &se) && (se.Path == path || strings.HasPrefix(se.Path, path+" frame ")) {
		err = se.Err
	}
	msg := err.Error()
	for _, prefix := range []string{path + ": ", "read photo " + path + ": ", "read video " + path + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}
