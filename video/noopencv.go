//go:build noopencv

package video

import "image"

// Reader reads the frames of a video file; in this build, without
// OpenCV, Open returns ErrNoOpenCV.
type Reader struct{}

// Open returns ErrNoOpenCV: this fkd was built without OpenCV.
func Open(path string) (*Reader, error) { return nil, ErrNoOpenCV }

// FPS returns 0.
func (r *Reader) FPS() float64 { return 0 }

// Frames returns 0.
func (r *Reader) Frames() int { return 0 }

// Next returns ErrNoOpenCV.
func (r *Reader) Next() (image.Image, int, error) { return nil, 0, ErrNoOpenCV }

// Skip does nothing.
func (r *Reader) Skip(n int) {}

// Close does nothing.
func (r *Reader) Close() error { return nil }

// Writer writes frames into a new video file; in this build, without
// OpenCV, Create returns ErrNoOpenCV.
type Writer struct{}

// Create returns ErrNoOpenCV: this fkd was built without OpenCV.
func Create(path string, fps float64, w, h int) (*Writer, error) { return nil, ErrNoOpenCV }

// Write returns ErrNoOpenCV.
func (v *Writer) Write(img image.Image) error { return ErrNoOpenCV }

// Close returns ErrNoOpenCV.
func (v *Writer) Close() error { return ErrNoOpenCV }

// Abort does nothing.
func (v *Writer) Abort() {}
