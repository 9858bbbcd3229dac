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
	"path/filepath"
	"strings"
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
