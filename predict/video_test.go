//go:build !noopencv

package predict

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
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
	if len(records) != 4 || sum.Videos != 1 || sum.Frames != 3 || len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Error(), bad) {
		t.Fatalf("%d records, summary %+v; log %q", len(records), sum, log.String())
	}
	if rec := records[0]; rec.Source != bad || rec.Frame != nil || rec.Status() != StatusSkipped || rec.Error == "" || strings.Contains(rec.Error, bad) {
		t.Errorf("the damaged video's record %+v", rec)
	}
	for i, rec := range records[1:] {
		if rec.Frame == nil || *rec.Frame != 2*i || rec.Source != path || len(rec.Faces) != 2 {
			t.Errorf("record %d: source %s, frame %v, %d faces", i, rec.Source, rec.Frame, len(rec.Faces))
			continue
		}
		for j, f := range rec.Faces {
			checkInside(t, f.Coords(), faces[j])
		}
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

// writeClip writes n frames of img at 12 a second to path.
func writeClip(t *testing.T, path string, img image.Image, n int) {
	t.Helper()
	b := img.Bounds()
	w, err := video.Create(path, 12, b.Dx(), b.Dy())
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := w.Write(img); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunnerTruncatedVideo runs a video cut in half: the frames before
// the cut give records, and the video is named in a warning and in the
// summary's skipped, with the frames announced and read.
func TestRunnerTruncatedVideo(t *testing.T) {
	dir := t.TempDir()
	img, _, det := twoFaces()
	whole := filepath.Join(dir, "whole.avi")
	writeClip(t, whole, img, 20)
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.avi")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := Runner{Pipeline: meanPipeline(t), Detector: det, Log: &log}
	records, sum, err := r.Run([]Source{{Path: cut, Video: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) == 0 || len(records) >= 40 || sum.Videos != 1 || len(sum.Skipped) != 1 {
		t.Fatalf("%d records, summary %+v", len(records), sum)
	}
	want := fmt.Sprintf("warning: skipped read video %s: only %d of the 20 frames it announces could be read", cut, sum.Frames)
	if !strings.Contains(log.String(), want) || !strings.Contains(sum.String(), "1 skipped") {
		t.Errorf("log %q, summary %q; want %q", log.String(), sum, want)
	}
}

// TestRunnerVideoIntoNewFolder annotates a video, then overlays a photo,
// into an overlay folder that does not exist yet; the annotated video is
// 0644, as overlays are.
func TestRunnerVideoIntoNewFolder(t *testing.T) {
	dir := t.TempDir()
	img, _, det := twoFaces()
	clip := filepath.Join(dir, "clip.avi")
	writeClip(t, clip, img, 2)
	photoPath := filepath.Join(dir, "photo.png")
	fkdtest.WritePNG(t, photoPath, img)
	out := filepath.Join(dir, "new", "marked")
	var log bytes.Buffer
	r := Runner{Pipeline: meanPipeline(t), Detector: det, Log: &log, Overlays: Overlays{Dir: out, PhotoSuffix: "-k.png", VideoSuffix: "-k.avi"}}
	if _, _, err := r.Run([]Source{{Path: clip, Video: true}, {Path: photoPath}}); err != nil {
		t.Fatalf("%v; log %q", err, log.String())
	}
	for _, name := range []string{"clip-k.avi", "photo-k.png"} {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, %v; want mode 0644", name, fi, err)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("%d files in the overlay folder, want 2", len(entries))
	}
}
