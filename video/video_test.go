//go:build !noopencv

package video

import (
	"errors"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// frame returns a w×h frame whose left i·4 columns are white.
func frame(w, h, i int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(30)
			if x < 4*i {
				v = 230
			}
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

// writeVideo writes n frames of 64×48 at 10 per second to path.
func writeVideo(t *testing.T, path string, n int) {
	t.Helper()
	w, err := Create(path, 10, 64, 48)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Write(frame(64, 48, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(frame(32, 48, 0)); err == nil {
		t.Error("a frame of another size was taken")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRead(t *testing.T) {
	for _, name := range []string{"clip.avi", "clip.mp4"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			writeVideo(t, path, 12)
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("%d files in the folder, want the video alone", len(entries))
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.FPS() != 10 {
				t.Errorf("%v frames a second, want 10", r.FPS())
			}
			var got []int
			for {
				img, i, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if img.Bounds() != image.Rect(0, 0, 64, 48) {
					t.Fatalf("frame %d is %v", i, img.Bounds())
				}
				// Frame i is white up to column 4i: the middle of the
				// white band is bright, the column after it dark.
				if i > 0 {
					if r, _, _, _ := img.At(2*i, 24).RGBA(); r>>8 < 150 {
						t.Errorf("frame %d at column %d: %d, want white", i, 2*i, r>>8)
					}
				}
				if r, _, _, _ := img.At(4*i+2, 24).RGBA(); 4*i+2 < 64 && r>>8 > 120 {
					t.Errorf("frame %d at column %d: %d, want dark", i, 4*i+2, r>>8)
				}
				got = append(got, i)
				r.Skip(2)
			}
			if want := []int{0, 3, 6, 9}; len(got) != len(want) || got[1] != 3 || got[3] != 9 {
				t.Errorf("frames %v, want %v", got, want)
			}
		})
	}
}

func TestBadVideos(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.avi")
	os.WriteFile(garbage, []byte("RIFF....AVI this is not a video at all, just some bytes"), 0o644)
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	for _, path := range []string{garbage, empty} {
		r, err := Open(path)
		if err == nil {
			_, _, err = r.Next()
			r.Close()
		}
		if !errors.Is(err, ErrNoFrames) {
			t.Errorf("%s: %v, want ErrNoFrames", path, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing.avi")); err == nil || errors.Is(err, ErrNoFrames) {
		t.Errorf("missing file: %v", err)
	}
}
