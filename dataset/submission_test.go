package dataset

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeSubmission(t *testing.T) {
	rows := []LookupRow{
		{1, 1, 0},  // answered
		{2, 1, 1},  // answered, clipped up to 0
		{3, 1, 4},  // masked out: filled
		{4, 2, 20}, // image 2 unknown: filled
		{5, 3, 20}, // answered, clipped down to 96
		{6, 3, 21}, // NaN: filled, counted invalid
	}
	var fill [NumCoords]float32
	for i := range fill {
		fill[i] = 40 + float32(i)/4
	}
	p1 := Prediction{}
	p1.Coords[0], p1.Mask[0] = 66.25, true
	p1.Coords[1], p1.Mask[1] = -3, true
	p1.Coords[4] = 12 // mask false
	p3 := Prediction{}
	p3.Coords[20], p3.Mask[20] = 101.5, true
	p3.Coords[21], p3.Mask[21] = float32(math.NaN()), true
	pred := Predictions{1: p1, 3: p3}

	var buf bytes.Buffer
	rep, err := EncodeSubmission(&buf, rows, pred, fill)
	if err != nil {
		t.Fatal(err)
	}
	want := "RowId,Location\n1,66.25\n2,0\n3,41\n4,45\n5,96\n6,45.25\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	wantRep := SubmissionReport{Rows: 6, Filled: 3, FilledImages: 3, Invalid: 1, Clipped: 2, Missing: 1, MissingIDs: []int{2}}
	if !reflect.DeepEqual(rep, wantRep) {
		t.Errorf("report %+v, want %+v", rep, wantRep)
	}

	buf.Reset()
	if _, err := EncodeSubmissionLong(&buf, rows[:2], pred, fill); err != nil {
		t.Fatal(err)
	}
	want = "RowId,ImageId,FeatureName,Location\n1,1,left_eye_center_x,66.25\n2,1,left_eye_center_y,0\n"
	if buf.String() != want {
		t.Errorf("long format: got\n%s\nwant\n%s", buf.String(), want)
	}

	fill[3] = float32(math.Inf(1))
	if _, err := EncodeSubmission(io.Discard, rows, pred, fill); err == nil || !strings.Contains(err.Error(), "right_eye_center_y") {
		t.Errorf("infinite fill: got %v", err)
	}
}

func TestWriteSubmissionAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub.csv")
	rows := []LookupRow{{1, 1, 0}}
	if _, err := WriteSubmission(path, rows, nil, [NumCoords]float32{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// A bad lookup row stops the write; the old file stays whole.
	bad := append(rows, LookupRow{2, 1, NumCoords})
	if _, err := WriteSubmission(path, bad, nil, [NumCoords]float32{}); err == nil {
		t.Fatal("bad coordinate index accepted")
	}
	after, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if !bytes.Equal(before, after) || len(entries) != 1 {
		t.Errorf("failed write changed the file or left %d entries", len(entries))
	}
	if _, err := WriteSubmissionLong(filepath.Join(dir, "long.csv"), rows, nil, [NumCoords]float32{}); err != nil {
		t.Fatal(err)
	}
}

func TestNewPredictions(t *testing.T) {
	coords := make([]float32, 2*NumCoords)
	mask := make([]bool, 2*NumCoords)
	coords[NumCoords+3], mask[NumCoords+3] = 7, true
	p := NewPredictions([]int{10, 20}, coords, mask)
	if len(p) != 2 || p[20].Coords[3] != 7 || !p[20].Mask[3] || p[20].Mask[2] || p[10].Mask[3] {
		t.Errorf("got %+v", p)
	}
	if all := NewPredictions([]int{10, 20}, coords, nil); !all[10].Mask[0] {
		t.Error("nil mask should answer every coordinate")
	}
}
