package video

import "testing"

func TestIsVideo(t *testing.T) {
	for path, want := range map[string]bool{"a.mp4": true, "b/c.AVI": true, "x.mkv": true, "photo.jpg": false, "mp4": false, "d.png": false} {
		if IsVideo(path) != want {
			t.Errorf("IsVideo(%q) = %v", path, !want)
		}
	}
}
