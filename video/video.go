// Package video reads the frames of a video file and writes frames into a
// new one, through OpenCV's VideoCapture (its FFmpeg backend) and
// VideoWriter (gocv). Frames are image.Image values; the rest of fkd
// never sees OpenCV.
//
// fkd built with the tag noopencv has no OpenCV: Open and Create then
// return ErrNoOpenCV. IsVideo works in every build.
package video

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fkd-project/fkd/internal/atomicfile"
)

// ErrNoOpenCV is the error of Open and Create in an fkd built without
// OpenCV.
var ErrNoOpenCV = errors.New("fkd was built without OpenCV (-tags noopencv): install libopencv-dev and opencv-data and rebuild")

// ErrNoFrames is wrapped by the error of a video that has no frame to
// read: empty, or too damaged for OpenCV to decode one.
var ErrNoFrames = errors.New("no frames: the video is empty or damaged")

// Extensions are the file extensions, lower case, of videos.
var Extensions = []string{".avi", ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}

// IsVideo reports whether path names a video, by its extension.
func IsVideo(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range Extensions {
		if ext == e {
			return true
		}
	}
	return false
}

// codec returns the four-character code of the codec Create writes into
// a file of path's extension: MPEG-4 part 2 in MP4 and QuickTime files,
// Motion JPEG otherwise (OpenCV encodes it itself, whatever FFmpeg it
// has).
func codec(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mp4", ".m4v", ".mov":
		return "mp4v"
	}
	return "MJPG"
}

// TruncatedError is the error of Reader.Next for a video whose frames end
// before the number its container announces: a file cut short, or
// damaged past some frame. The frames before Read were returned.
type TruncatedError struct {
	Path      string
	Announced int // frames, as the container says
	Read      int // frames read, or passed over by Skip
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("read video %s: only %d of the %d frames it announces could be read: the file is cut short or damaged",
		e.Path, e.Read, e.Announced)
}

// slack is how many frames fewer than the n it announces a video at path
// may hold without being taken for cut short: none where the container
// counts its frames (AVI, MP4, QuickTime), else 1 and 2% (FFmpeg
// estimates the count from the duration and the frame rate).
func slack(path string, n int) int {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".avi", ".mp4", ".m4v", ".mov":
		return 0
	}
	return 1 + n/50
}

// tempPattern is the os.CreateTemp pattern of the temporary file that
// Create writes a video of base name into: ".clip-keypoints.avi.123.avi".
// It ends in the video's extension, which OpenCV picks the container by.
func tempPattern(base string) string {
	return "." + base + ".*" + filepath.Ext(base)
}

// RemoveStale removes the temporary files that a Writer of path left when
// its process was killed before Close: files of path's own pattern
// (".NAME.", digits, then NAME's extension) last modified before before,
// the start of the calling process's run, so that a video under way in
// another process is left alone unless it began before that. It returns
// the names removed; a missing directory is no error.
func RemoveStale(path string, before time.Time) ([]string, error) {
	dir, base := filepath.Split(path)
	prefix, suffix := "."+base+".", filepath.Ext(base)
	removed, err := atomicfile.RemoveStaleIn(dir, func(name string) bool {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			return false
		}
		rest, ok = strings.CutSuffix(rest, suffix)
		return ok && atomicfile.AllDigits(rest)
	}, before)
	if err != nil {
		return removed, fmt.Errorf("remove stale temporary files of %s: %w", path, err)
	}
	return removed, nil
}
