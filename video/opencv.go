//go:build !noopencv

package video

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"

	"gocv.io/x/gocv"
)

func init() {
	// FFmpeg prints messages of its own for a damaged file; fkd names
	// the file itself, once. Set OPENCV_FFMPEG_LOGLEVEL to see FFmpeg's.
	if _, set := os.LookupEnv("OPENCV_FFMPEG_LOGLEVEL"); !set {
		os.Setenv("OPENCV_FFMPEG_LOGLEVEL", "-8") // AV_LOG_QUIET
	}
}

// Reader reads the frames of a video file in order.
type Reader struct {
	path string
	vc   *gocv.VideoCapture
	mat  gocv.Mat
	next int  // index of the next frame
	done bool // Next has returned the end
	fps  float64
}

// Open opens the video file at path and checks that OpenCV can read it.
func Open(path string) (*Reader, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("read video: %w", err)
	}
	// Through FFmpeg, which reads every common video: OpenCV's other
	// backends (GStreamer) print errors of their own for a damaged file.
	vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("read video %s: OpenCV cannot open it: %w", path, ErrNoFrames)
	}
	fps := vc.Get(gocv.VideoCaptureFPS)
	if !(fps > 0 && fps < 1000) {
		fps = 25
	}
	return &Reader{path: path, vc: vc, mat: gocv.NewMat(), fps: fps}, nil
}

// FPS returns the video's frames per second (25 when it does not say).
func (r *Reader) FPS() float64 { return r.fps }

// Frames returns the number of frames the video's header claims, or 0.
func (r *Reader) Frames() int {
	n := r.vc.Get(gocv.VideoCaptureFrameCount)
	if !(n > 0 && n < math.MaxInt32) {
		return 0
	}
	return int(n)
}

// Next decodes the next frame and returns it with its index, counted
// from 0. After the last frame it returns io.EOF; when not even the
// first frame can be read, an error wrapping ErrNoFrames; when the
// frames end before the number the file announces (Frames), a
// *TruncatedError, once, then io.EOF.
func (r *Reader) Next() (image.Image, int, error) {
	if r.done {
		return nil, 0, io.EOF
	}
	if !r.vc.Read(&r.mat) || r.mat.Empty() {
		r.done = true
		if r.next == 0 {
			return nil, 0, fmt.Errorf("read video %s: %w", r.path, ErrNoFrames)
		}
		// The frames decoded, or passed over by Skip, as FFmpeg counts
		// them: Skip cannot tell whether it reached the frames it asked for.
		read := r.next
		if pos := r.vc.Get(gocv.VideoCapturePosFrames); pos >= 0 && pos < float64(read) {
			read = int(pos)
		}
		if n := r.Frames(); n > 0 && read < n-slack(r.path, n) {
			return nil, 0, &TruncatedError{Path: r.path, Announced: n, Read: read}
		}
		return nil, 0, io.EOF
	}
	img, err := r.mat.ToImage()
	if err != nil {
		return nil, 0, fmt.Errorf("read video %s, frame %d: %w", r.path, r.next, err)
	}
	r.next++
	return img, r.next - 1, nil
}

// Skip passes over the next n frames without decoding them.
func (r *Reader) Skip(n int) {
	if n > 0 {
		r.vc.Grab(n)
		r.next += n
	}
}

// Close closes the file.
func (r *Reader) Close() error {
	r.mat.Close()
	return r.vc.Close()
}

// Writer writes frames into a new video file. The file appears at its
// path only when Close succeeds, with mode 0644 or that of the file it
// replaces; until then it is written under a temporary name beside it,
// which RemoveStale removes when a killed process left it.
type Writer struct {
	path, tmp string
	w, h      int
	vw        *gocv.VideoWriter
}

// Create starts a video of w×h pixels at fps frames a second at path, in
// Motion JPEG, or MPEG-4 for .mp4, .m4v and .mov files. The folders that
// lead to path are made when missing.
func Create(path string, fps float64, w, h int) (*Writer, error) {
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("write video %s: frames of %dx%d pixels", path, w, h)
	}
	ext := filepath.Ext(path)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write video: %w", err)
	}
	f, err := os.CreateTemp(dir, tempPattern(filepath.Base(path)))
	if err != nil {
		return nil, fmt.Errorf("write video: %w", err)
	}
	f.Close()
	vw, err := gocv.VideoWriterFile(f.Name(), codec(path), fps, w, h, true)
	if err != nil || !vw.IsOpened() {
		if vw != nil {
			vw.Close()
		}
		os.Remove(f.Name())
		return nil, fmt.Errorf("write video %s: OpenCV cannot write %s with codec %s", path, ext, codec(path))
	}
	return &Writer{path: path, tmp: f.Name(), w: w, h: h, vw: vw}, nil
}

// Write appends a frame, which must be of the video's size.
func (v *Writer) Write(img image.Image) error {
	if b := img.Bounds(); b.Dx() != v.w || b.Dy() != v.h {
		return fmt.Errorf("write video %s: a frame of %dx%d pixels in a video of %dx%d", v.path, b.Dx(), b.Dy(), v.w, v.h)
	}
	m, err := gocv.ImageToMatRGB(img)
	if err != nil {
		return fmt.Errorf("write video %s: %w", v.path, err)
	}
	defer m.Close()
	if err := v.vw.Write(m); err != nil {
		return fmt.Errorf("write video %s: %w", v.path, err)
	}
	return nil
}

// Close finishes the file and moves it to its path.
func (v *Writer) Close() error {
	err := v.vw.Close()
	if err == nil {
		if fi, serr := os.Stat(v.tmp); serr != nil || fi.Size() == 0 {
			err = errors.New("OpenCV wrote nothing")
		}
	}
	if err == nil {
		// CreateTemp made the file 0600: give it the usual permissions,
		// or those of the file it replaces.
		perm := os.FileMode(0o644)
		if fi, serr := os.Stat(v.path); serr == nil && fi.Mode().IsRegular() {
			perm = fi.Mode().Perm()
		}
		err = os.Chmod(v.tmp, perm)
	}
	if err != nil {
		os.Remove(v.tmp)
		return fmt.Errorf("write video %s: %w", v.path, err)
	}
	if err := os.Rename(v.tmp, v.path); err != nil {
		os.Remove(v.tmp)
		return fmt.Errorf("write video: %w", err)
	}
	return nil
}

// Abort closes the file and removes it, leaving nothing at the path.
func (v *Writer) Abort() {
	v.vw.Close()
	os.Remove(v.tmp)
}
