//go:build !noopencv

package predict

import (
	"bytes"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/video"
)

// TestRunnerVideo runs a video of the two faces, every second frame, and
// a damaged video: a record per face and frame read, an annotated copy
// of the good video, the damaged one named and skipped.
func TestRunnerVideo(t *testing.T) {
	dir := t.TempDir()
	img, faces, det := twoFaces()
	path := filepath.Join(dir, "clip.avi")
	w, err := video.Create(path, 12, 520, 400)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := w.Write(img); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.mp4")
	os.WriteFile(bad, []byte("\x00\x00\x00\x20ftypisom but nothing else"), 0o644)
	var log bytes.Buffer
	r := Runner{Pipeline: meanPipeline(t), Detector: det, Every: 2, Log: &log,
		Overlays: Overlays{PhotoSuffix: ".png", VideoSuffix: "-marked.avi"}}
	records, sum, err := r.Run([]Source{{Path: bad, Video: true}, {Path: path, Video: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 6 || sum.Videos != 1 || sum.Frames != 3 || len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Error(), bad) {
		t.Fatalf("%d records, summary %+v; log %q", len(records), sum, log.String())
	}
	for i, rec := range records {
		if rec.Frame == nil || *rec.Frame != 2*(i/2) || rec.Source != path {
			t.Errorf("record %d: source %s, frame %v", i, rec.Source, rec.Frame)
		}
		checkInside(t, rec.Coords(), faces[i%2])
	}
	v, err := video.Open(filepath.Join(dir, "clip-marked.avi"))
	if err != nil {
		t.Fatalf("%v; log %q", err, log.String())
	}
	defer v.Close()
	n := 0
	for {
		frame, _, err := v.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if frame.Bounds() != image.Rect(0, 0, 520, 400) {
			t.Errorf("annotated frame %v", frame.Bounds())
		}
		n++
	}
	if n != 3 || v.FPS() != 6 {
		t.Errorf("annotated video: %d frames at %v a second, want 3 at 6", n, v.FPS())
	}
}
