package predict

import (
	"bytes"
	"errors"
	"image"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/internal/fkdtest"
)

// TestCheckRefusesClashes checks the outputs of runs that would replace
// a photo, a model or another output: each is refused with a line
// naming both files.
func TestCheckRefusesClashes(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	p := filepath.Join(dir, "p.png")
	fkdtest.WritePNG(t, p, img)
	in := filepath.Join(dir, "in")
	fkdtest.WritePNG(t, filepath.Join(in, "a.png"), img)
	fkdtest.WritePNG(t, filepath.Join(in, "a.jpg"), img) // a PNG, by its name a JPEG: no matter here
	in2 := filepath.Join(dir, "in2")
	fkdtest.WritePNG(t, filepath.Join(in2, "a.png"), img)
	model := filepath.Join(dir, "m.pt")
	os.WriteFile(model, []byte("model"), 0o644)
	reads := []atomicfile.Role{{Path: model, What: "--model"}}
	tests := []struct {
		name     string
		out      string
		overlays Overlays
		paths    []string
		want     []string // in the error; none: no error
	}{
		{"--out is the photo", p, Overlays{}, []string{p}, []string{"refusing to write " + p + " (--out): it is the photo " + p}},
		{"--out is the model", model, Overlays{}, []string{p}, []string{model + " (--out)", "--model " + model}},
		{"the overlay is the photo", "-", Overlays{PhotoSuffix: ".png"}, []string{p}, []string{"refusing to write " + p + " (the overlay of " + p + "): it is the photo " + p}},
		{"the overlay is --out", filepath.Join(dir, "D", "p-keypoints.png"), Overlays{Dir: filepath.Join(dir, "D"), PhotoSuffix: "-keypoints.png"}, []string{p},
			[]string{"refusing to write " + filepath.Join(dir, "D", "p-keypoints.png") + " (the overlay of " + p + "): --out " + filepath.Join(dir, "D", "p-keypoints.png") + " is the same file"}},
		{"--out is a photo of a folder", filepath.Join(in, "a.png"), Overlays{}, []string{in}, []string{filepath.Join(in, "a.png") + " (--out): it is the photo " + filepath.Join(in, "a.png")}},
		{"--out spelled otherwise", filepath.Join(in, "..", "in", "a.png"), Overlays{}, []string{in}, []string{"it is the photo " + filepath.Join(in, "a.png")}},
		{"an overlay beside is a photo of the folder", "-", Overlays{PhotoSuffix: ".png"}, []string{in},
			[]string{filepath.Join(in, "a.png") + " (the overlay of " + filepath.Join(in, "a.jpg") + "): it is the photo " + filepath.Join(in, "a.png")}},
		{"an overlay folder's photo", "-", Overlays{Dir: in2, PhotoSuffix: ".png"}, []string{in, in2},
			[]string{filepath.Join(in2, "a.png"), "it is the photo " + filepath.Join(in2, "a.png")}},
		{"a JPEG overlay", "-", Overlays{PhotoSuffix: "-k.jpg", VideoSuffix: "-k.avi"}, []string{p}, nil},
		{"a GIF overlay", "-", Overlays{PhotoSuffix: "-k.gif", VideoSuffix: "-k.avi"}, []string{p}, []string{"-k.gif", "PNG (.png) or JPEG"}},
		{"a video overlay as a photo", "-", Overlays{PhotoSuffix: "-k.png", VideoSuffix: "-k.png"}, []string{p}, []string{"-k.png does not end in a video's extension"}},
		{"apart", filepath.Join(dir, "new", "r.csv"), Overlays{Dir: filepath.Join(dir, "new"), PhotoSuffix: "-k.png", VideoSuffix: "-k.avi"}, []string{p, in2}, nil},
		{"two overlays of one name", "-", Overlays{Dir: filepath.Join(dir, "new"), PhotoSuffix: "-k.png"}, []string{in}, []string{"the overlays of " + filepath.Join(in, "a.jpg") + " and " + filepath.Join(in, "a.png") + " would both be"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.overlays.PhotoSuffix != "" && tt.overlays.VideoSuffix == "" {
				tt.overlays.VideoSuffix = "-k.avi"
			}
			sources, _ := Expand(tt.paths)
			sources, _ = tt.overlays.Own(sources)
			err := tt.overlays.Check(tt.out, sources, reads, 0, image.Rectangle{})
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("%v, want no error", err)
				}
				return
			}
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%v, want a line saying %q", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v, want it to say %q", err, w)
				}
			}
		})
	}
}

// TestOwn passes over the overlays of an earlier run found beside their
// photos, and nothing else.
func TestOwn(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for _, name := range []string{"a.jpg", "a-keypoints.png", "a-keypoints-keypoints.png", "b.png", "c-keypoints.png", "sub/d.png", "sub/d-keypoints.png",
		"clip-keypoints.avi", "marked/e-keypoints.png"} {
		fkdtest.WritePNG(t, filepath.Join(dir, name), img)
	}
	os.WriteFile(filepath.Join(dir, "clip.mp4"), []byte("a video"), 0o644)
	named := filepath.Join(dir, "b-keypoints.png")
	fkdtest.WritePNG(t, named, img)
	tests := []struct {
		name     string
		overlays Overlays
		paths    []string
		own      []string // relative to dir
	}{
		{"beside", Overlays{PhotoSuffix: "-keypoints.png", VideoSuffix: "-keypoints.avi"}, []string{dir, named},
			[]string{"a-keypoints-keypoints.png", "a-keypoints.png", "b-keypoints.png", "clip-keypoints.avi", "sub/d-keypoints.png"}},
		{"no overlays", Overlays{}, []string{dir}, nil},
		{"in a folder", Overlays{Dir: filepath.Join(dir, "marked"), PhotoSuffix: "-keypoints.png", VideoSuffix: "-keypoints.avi"}, []string{filepath.Join(dir, "sub"), filepath.Join(dir, "marked"), filepath.Join(dir, "e.png")},
			[]string{"marked/d-keypoints.png"}[:0]},
		{"its own overlay", Overlays{PhotoSuffix: ".png", VideoSuffix: ".avi"}, []string{filepath.Join(dir, "b.png"), dir}, []string{"a.png"}[:0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sources, _ := Expand(tt.paths)
			read, own := tt.overlays.Own(sources)
			var names []string
			for _, s := range own {
				names = append(names, strings.TrimPrefix(s.Path, dir+"/"))
			}
			if !slices.Equal(names, tt.own) || len(read)+len(own) != len(sources) {
				t.Errorf("own %q, want %q; %d read of %d", names, tt.own, len(read), len(sources))
			}
			if slices.Contains(tt.paths, named) && !slices.Contains(read, Source{Path: named}) {
				t.Errorf("a file named was passed over")
			}
		})
	}
}

// TestExpandSpecialFiles finds a FIFO, a socket and a link to a device
// in a folder: each is named and skipped, never opened, and the run
// ends. A FIFO named itself is a source.
func TestExpandSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	img, _, det := twoFaces()
	fkdtest.WritePNG(t, filepath.Join(dir, "good.png"), img)
	fifo := filepath.Join(dir, "x.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	sock := filepath.Join(dir, "s.jpg")
	if l, err := net.Listen("unix", sock); err == nil {
		defer l.Close()
	}
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.png"))
	os.Symlink("/dev/stdin", filepath.Join(dir, "stdin.mp4"))
	done := make(chan struct{})
	var sources []Source
	var skipped []error
	var sum Summary
	var runErr error
	go func() {
		defer close(done)
		sources, skipped = Expand([]string{dir})
		r := Runner{Pipeline: meanPipeline(t), Detector: det, Log: new(bytes.Buffer)}
		_, sum, runErr = r.Run(sources)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		// Let a reader blocked on the FIFO go, and fail.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("the run hung")
	}
	if runErr != nil || len(sources) != 1 || sum.Photos != 1 {
		t.Errorf("sources %v, summary %+v, %v", sources, sum, runErr)
	}
	var msgs []string
	for _, err := range skipped {
		msgs = append(msgs, err.Error())
	}
	for _, want := range []string{fifo + ": a FIFO, not a regular file", filepath.Join(dir, "zero.png") + ": a device", filepath.Join(dir, "stdin.mp4") + ": "} {
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, want) }) {
			t.Errorf("skipped %q, want one saying %q", msgs, want)
		}
	}
	if named, skipped := Expand([]string{fifo}); len(named) != 1 || len(skipped) != 0 || named[0].Found {
		t.Errorf("a FIFO named: %v, %v; want a source", named, skipped)
	}
}

// TestRunnerReadsFoundFilesOnlyWhenRegular gives the Runner a FIFO found
// in a folder, as if it had replaced a photo after Expand: it is skipped,
// not waited on.
func TestRunnerReadsFoundFilesOnlyWhenRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "x.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	_, _, det := twoFaces()
	var log bytes.Buffer
	r := Runner{Pipeline: meanPipeline(t), Detector: det, Log: &log}
	_, sum, err := r.Run([]Source{{Path: fifo, Found: true}})
	if err != nil || len(sum.Skipped) != 1 || !strings.Contains(log.String(), "a FIFO, not a regular file") {
		t.Errorf("%v, summary %+v, log %q", err, sum, log.String())
	}
}

// TestRunnerOverlayFormats writes overlays named .jpg, .jpeg and .png, in
// a folder that does not exist yet: each holds the bytes its name says.
func TestRunnerOverlayFormats(t *testing.T) {
	dir := t.TempDir()
	img, _, det := twoFaces()
	path := filepath.Join(dir, "two.png")
	fkdtest.WritePNG(t, path, img)
	for suffix, magic := range map[string]string{"-kp.jpg": "\xff\xd8\xff", "-kp.JPEG": "\xff\xd8\xff", "-kp.png": "\x89PNG\r\n\x1a\n"} {
		out := filepath.Join(dir, "new", "deeper")
		r := Runner{Pipeline: meanPipeline(t), Detector: det, Log: new(bytes.Buffer), Overlays: Overlays{Dir: out, PhotoSuffix: suffix, VideoSuffix: ".avi"}}
		if _, _, err := r.Run([]Source{{Path: path}}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(out, "two"+suffix))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(magic)) {
			t.Errorf("overlay %s begins %q, want %q", suffix, data[:min(8, len(data))], magic)
		}
		if fi, err := os.Stat(filepath.Join(out, "two"+suffix)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("overlay %s: %v, %v; want mode 0644", suffix, fi.Mode(), err)
		}
	}
}

// TestTidy removes the temporary files a killed run left beside --out,
// an overlay and an annotated video, and keeps those of a run under way
// and everything else.
func TestTidy(t *testing.T) {
	dir := t.TempDir()
	marked := filepath.Join(dir, "marked")
	os.Mkdir(marked, 0o755)
	start := time.Now()
	files := []struct {
		name         string
		old, removed bool
	}{
		{".r.csv.tmp-123", true, true},
		{"marked/.a-k.png.tmp-9", true, true},
		{"marked/.clip-k.avi.4567.avi", true, true},
		{"marked/.clip-k.avi.4568.avi", false, false}, // under way
		{"marked/.a-k.png.tmp-10", false, false},
		{"marked/.b-k.png.tmp-11", true, false}, // no overlay of this run
		{"marked/.a-k.png.keep", true, false},
		{"marked/a-k.png", true, false},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		os.WriteFile(p, []byte("x"), 0o600)
		when := start.Add(time.Second)
		if f.old {
			when = start.Add(-time.Hour)
		}
		os.Chtimes(p, when, when)
	}
	o := Overlays{Dir: marked, PhotoSuffix: "-k.png", VideoSuffix: "-k.avi"}
	var log bytes.Buffer
	o.Tidy(&log, filepath.Join(dir, "r.csv"), []Source{{Path: "a.jpg"}, {Path: "clip.mp4", Video: true}}, start)
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if gone := errors.Is(err, os.ErrNotExist); gone != f.removed {
			t.Errorf("%s: removed %v, want %v", f.name, gone, f.removed)
		}
		if said := strings.Contains(log.String(), "removed "+filepath.Join(dir, f.name)+", "); said != f.removed {
			t.Errorf("%s: said so %v, want %v: %q", f.name, said, f.removed, log.String())
		}
	}
}
