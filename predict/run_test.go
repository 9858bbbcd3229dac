package predict

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/fkdtest"
)

// TestRunnerTwoFaces runs a photo of two faces through the Runner: two
// records whose keypoints fall inside their faces, in CSV and JSON, and
// an overlay.
func TestRunnerTwoFaces(t *testing.T) {
	dir := t.TempDir()
	img, faces, det := twoFaces()
	path := filepath.Join(dir, "two.png")
	fkdtest.WritePNG(t, path, img)
	var log bytes.Buffer
	r := Runner{Pipeline: meanPipeline(t), Detector: det, Log: &log,
		Overlays: Overlays{Dir: filepath.Join(dir, "marked"), PhotoSuffix: "-kp.png"}}
	records, sum, err := r.Run([]Source{{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || len(records[0].Faces) != 2 || sum.Photos != 1 || sum.Faces != 2 || len(sum.Skipped)+len(sum.NoFace) != 0 {
		t.Fatalf("%d records, summary %v", len(records), sum)
	}
	rec := records[0]
	if rec.Source != path || rec.Frame != nil || rec.Width != 520 || rec.Height != 400 || rec.Status() != StatusFaces {
		t.Errorf("record %+v", rec)
	}
	for i, f := range rec.Faces {
		if b := det[i].Box; f.Box != [4]int{b.Min.X, b.Min.Y, b.Dx(), b.Dy()} || f.Score != det[i].Score {
			t.Errorf("face %d: box %v, score %v; want the detector's %v, %v", i, f.Box, f.Score, b, det[i].Score)
		}
		if f.Confidences() != nil {
			t.Errorf("face %d: confidences from a model without heatmaps", i)
		}
		checkInside(t, f.Coords(), faces[i])
	}
	if _, err := os.Stat(filepath.Join(dir, "marked", "two-kp.png")); err != nil {
		t.Errorf("no overlay: %v (log %q)", err, log.String())
	}

	var b bytes.Buffer
	if err := WriteCSV(&b, records); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], CSVHeader()) || len(rows[1]) != 7+dataset.NumCoords+dataset.NumKeypoints+2 {
		t.Fatalf("CSV %q", rows)
	}
	if rows[0][7] != "left_eye_center_x" || rows[1][0] != path || rows[1][1] != "" || rows[1][6] != "0.5" || rows[1][colStatus] != "face" {
		t.Errorf("CSV row %q", rows[1])
	}
	if x, _ := strconv.ParseFloat(rows[2][7], 64); x != rec.Faces[1].Keypoints[0].X {
		t.Errorf("CSV left eye x %s, want %v", rows[2][7], rec.Faces[1].Keypoints[0].X)
	}
	if conf := rows[1][colConf : colConf+dataset.NumKeypoints]; slices.ContainsFunc(conf, func(c string) bool { return c != "" }) {
		t.Errorf("CSV confidences %q of a model without heatmaps, want empty", conf)
	}
	b.Reset()
	if err := WriteJSON(&b, records); err != nil {
		t.Fatal(err)
	}
	var back []Record
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || len(back[0].Faces) != 2 || back[0].Faces[1].Keypoints[14].Name != "mouth_center_bottom_lip" || back[0].Faces[1].Box != rec.Faces[1].Box ||
		back[0].Frame != nil || strings.Contains(b.String(), `"frame"`) || !strings.Contains(b.String(), `"confidence": null`) {
		t.Errorf("JSON %s", b.String())
	}
}

// TestRunnerBadInput runs a folder holding photos, a photo with no face,
// a damaged photo, a link to nowhere and a file of another kind: each bad
// one is named and skipped, the rest processed.
func TestRunnerBadInput(t *testing.T) {
	dir := t.TempDir()
	img, _, det := twoFaces()
	fkdtest.WritePNG(t, filepath.Join(dir, "a", "one.png"), img)
	fkdtest.WritePNG(t, filepath.Join(dir, "a", "b", "two.PNG"), img)
	fkdtest.WritePNG(t, filepath.Join(dir, "empty.png"), image.NewGray(image.Rect(0, 0, 50, 40)))
	os.WriteFile(filepath.Join(dir, "broken.jpg"), []byte("not a JPEG at all"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	os.Symlink(filepath.Join(dir, "nowhere.png"), filepath.Join(dir, "dangling.png"))
	sources, skipped := Expand([]string{dir, filepath.Join(dir, "missing.png")})
	var names []string
	for _, s := range sources {
		names = append(names, strings.TrimPrefix(s.Path, dir+"/"))
	}
	if want := []string{"a/b/two.PNG", "a/one.png", "broken.jpg", "empty.png"}; !slices.Equal(names, want) {
		t.Errorf("sources %q, want %q", names, want)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0].Error(), "dangling.png") || !strings.Contains(skipped[1].Error(), "missing.png: no such file") {
		t.Errorf("skipped %v", skipped)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(filepath.Join(dir, "a"), link)
	if linked, _ := Expand([]string{link}); len(linked) != 2 || linked[0].Path != filepath.Join(link, "b", "two.PNG") || !linked[0].Found {
		t.Errorf("a link to a folder gives %v", linked)
	}
	var log bytes.Buffer
	r := Runner{Pipeline: meanPipeline(t), Detector: fkdtest.SizeDetector{Size: image.Pt(520, 400), Faces: det}, Log: &log}
	records, sum, err := r.Run(sources)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 4 || sum.Photos != 3 || len(sum.Skipped) != 1 || !slices.Equal(sum.NoFace, []string{filepath.Join(dir, "empty.png")}) {
		t.Errorf("%d records, summary %+v", len(records), sum)
	}
	// A record for every source, in order: the bad ones say why.
	for i, want := range []struct{ name, status, err string }{
		{"a/b/two.PNG", StatusFaces, ""}, {"a/one.png", StatusFaces, ""},
		{"broken.jpg", StatusSkipped, "not a PNG or JPEG image"}, {"empty.png", StatusNoFace, ""},
	} {
		if i >= len(records) {
			break
		}
		rec := records[i]
		if rec.Source != filepath.Join(dir, want.name) || rec.Status() != want.status || !strings.Contains(rec.Error, want.err) || (want.err == "") != (rec.Error == "") {
			t.Errorf("record %d: %s, %s, %q; want %s, %s, %q", i, rec.Source, rec.Status(), rec.Error, want.name, want.status, want.err)
		}
	}
	msg := log.String()
	for _, want := range []string{"warning: skipped read photo " + filepath.Join(dir, "broken.jpg") + ": not a PNG or JPEG image\n",
		"warning: " + filepath.Join(dir, "empty.png") + ": no face found\n"} {
		if !strings.Contains(msg, want) {
			t.Errorf("log %q lacks %q", msg, want)
		}
	}
	if err := sum.Err(false); err != nil {
		t.Errorf("without strict: %v", err)
	}
	if err := sum.Err(true); err == nil || !strings.Contains(err.Error(), "1 skipped, 1 without a face") {
		t.Errorf("with strict: %v", err)
	}
	if err := (Summary{Skipped: skipped}).Err(false); err == nil {
		t.Error("nothing read: no error")
	}
}

func TestParseBox(t *testing.T) {
	tests := []struct {
		in   string
		want image.Rectangle
		ok   bool
	}{
		{"10,20,30,40", image.Rect(10, 20, 40, 60), true},
		{" 0, 0, 96 ,96", image.Rect(0, 0, 96, 96), true},
		{"0,0,2147483647,2147483647", image.Rect(0, 0, 1<<31-1, 1<<31-1), true},
		{"-4,0,8,8", image.Rectangle{}, false},
		{"0,-1,8,8", image.Rectangle{}, false},
		{"1,0,2147483647,8", image.Rectangle{}, false},
		{"0,0,8,9223372036854775807", image.Rectangle{}, false},
		{"9223372036854775807,9223372036854775807,9223372036854775807,9223372036854775807", image.Rectangle{}, false},
		{"1,2,3", image.Rectangle{}, false},
		{"1,2,3,4,5", image.Rectangle{}, false},
		{"a,2,3,4", image.Rectangle{}, false},
		{"1,2,-3,4", image.Rectangle{}, false},
	}
	for _, tt := range tests {
		got, err := ParseBox(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBox(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
