package predict

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/models"
)

// TestPixelCentres checks the coordinate convention of the records: a
// keypoint the model puts at the centre of face pixel (10, 20) (keypoint
// coordinates (11, 21), which count from 1) lands on the centre of the
// photo pixels that face pixel was cut from: x0 + s·(10 + 0.5) for a crop
// at x0 enlarged s times, the centre of pixel column c being c + 0.5.
func TestPixelCentres(t *testing.T) {
	var means [dataset.NumCoords]float32
	for k := range dataset.NumKeypoints {
		means[2*k], means[2*k+1] = 10+1, 20+1
	}
	p := New(newMeanModel(means), models.Meta{Means: ytfMeans}, 0, HaarFrontalFace)
	img := image.NewGray(image.Rect(0, 0, 400, 300))
	tests := []struct {
		box    image.Rectangle
		wantXY [2]float64
	}{
		{image.Rect(0, 0, 96, 96), [2]float64{10.5, 20.5}},
		{image.Rect(7, 5, 7+96, 5+96), [2]float64{17.5, 25.5}},
		{image.Rect(7, 5, 7+192, 5+192), [2]float64{7 + 21, 5 + 41}},      // pixels [27, 29) × [45, 47)
		{image.Rect(30, 40, 30+288, 40+48), [2]float64{30 + 31.5, 50.25}}, // 3 times across, half down
	}
	for _, tt := range tests {
		res, err := p.Run([]Target{{Image: img, Box: tt.box, Exact: true}})
		if err != nil {
			t.Fatal(err)
		}
		f := NewFace(detect.Face{Box: tt.box}, res[0])
		for _, k := range f.Keypoints {
			if math.Abs(k.X-tt.wantXY[0]) > 0.01 || math.Abs(k.Y-tt.wantXY[1]) > 0.01 {
				t.Fatalf("crop %v: %s at (%g, %g), want (%g, %g)", tt.box, k.Name, k.X, k.Y, tt.wantXY[0], tt.wantXY[1])
			}
		}
	}
}

// testRecords are a photo with a face that has confidences, a photo
// without a face, a skipped photo and a video frame.
func testRecords() []Record {
	face := NewFace(detect.Face{Box: image.Rect(1, 2, 11, 12), Score: 0.75}, Result{Crop: image.Rect(0, 0, 12, 12)})
	conf := make([]float32, dataset.NumKeypoints)
	for k := range conf {
		conf[k] = float32(k) / 20
	}
	face.SetConfidence(conf)
	frame := 4
	return []Record{
		{Source: "a.jpg", Width: 40, Height: 30, Faces: []Face{face}},
		{Source: "b.jpg", Width: 40, Height: 30},
		{Source: "c.jpg", Error: "not a PNG or JPEG image"},
		{Source: "d.avi", Frame: &frame, Width: 40, Height: 30, Faces: []Face{}},
	}
}

func TestWriterFormats(t *testing.T) {
	records := testRecords()
	tests := []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"csv", func(t *testing.T, out string) {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 5 || len(rows[0]) != colError+1 || rows[0][colConf] != "left_eye_center_confidence" || rows[0][colStatus] != "status" {
				t.Fatalf("CSV:\n%s", out)
			}
			want := [][]string{
				{"a.jpg", "", "1", "2", "10", "10", "0.75"},
				{"b.jpg", "", "", "", "", "", ""},
				{"c.jpg", "", "", "", "", "", ""},
				{"d.avi", "4", "", "", "", "", ""},
			}
			status := []string{StatusFaces, StatusNoFace, StatusSkipped, StatusNoFace}
			for i, row := range rows[1:] {
				if strings.Join(row[:colCoords], ",") != strings.Join(want[i], ",") || row[colStatus] != status[i] {
					t.Errorf("row %d: %q", i+1, row)
				}
			}
			if rows[1][colConf+1] != "0.050" || rows[2][colConf] != "" || rows[3][colError] != "not a PNG or JPEG image" {
				t.Errorf("CSV:\n%s", out)
			}
		}},
		{"json", func(t *testing.T, out string) {
			var back []Record
			if err := json.Unmarshal([]byte(out), &back); err != nil {
				t.Fatal(err)
			}
			if len(back) != 4 || *back[0].Faces[0].Keypoints[1].Confidence != 0.05 || back[1].Faces == nil || back[2].Error == "" {
				t.Errorf("JSON:\n%s", out)
			}
			if !strings.Contains(out, `"faces": []`) || !strings.Contains(out, `"confidence": 0.7`) {
				t.Errorf("JSON without an empty list of faces, or confidences:\n%s", out)
			}
		}},
		{"jsonl", func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 4 || lines[1] != `{"source":"b.jpg","width":40,"height":30,"faces":[]}` ||
				lines[2] != `{"source":"c.jpg","faces":[],"error":"not a PNG or JPEG image"}` || !strings.HasPrefix(lines[3], `{"source":"d.avi","frame":4,`) {
				t.Errorf("JSON lines:\n%s", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var b bytes.Buffer
			bw := bufio.NewWriter(&b)
			w, err := NewWriter(bw, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range records {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
				// The streaming formats flush each record through.
				lines := strings.Count(b.String(), "\n")
				if tt.format == "jsonl" && lines != i+1 || tt.format == "csv" && lines < i+2 || tt.format == "json" && lines != 0 {
					t.Fatalf("%d lines through after %d records", lines, i+1)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			tt.check(t, b.String())
		})
	}
	if _, err := NewWriter(&bytes.Buffer{}, "xml"); err == nil {
		t.Error("format xml: no error")
	}
}
