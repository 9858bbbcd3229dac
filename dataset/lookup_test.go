package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseLookup(t *testing.T) {
	want := []LookupRow{{1, 1, 0}, {2, 1, 1}, {3, 2, 29}}
	tests := []struct {
		name, text string
	}{
		{"kaggle CRLF, no Location fields", "RowId,ImageId,FeatureName,Location\r\n1,1,left_eye_center_x\r\n2,1,left_eye_center_y\r\n3,2,mouth_center_bottom_lip_y\r\n"},
		{"empty Location fields", "RowId,ImageId,FeatureName,Location\n1,1,left_eye_center_x,\n2,1,left_eye_center_y,\n3,2,mouth_center_bottom_lip_y,\n"},
		{"no Location column", "RowId,ImageId,FeatureName\n1,1,left_eye_center_x\n2,1,left_eye_center_y\n\n3,2,mouth_center_bottom_lip_y"},
		{"columns reordered", "\ufeffFeatureName,RowId,ImageId\nleft_eye_center_x,1,1\nleft_eye_center_y,2,1\nmouth_center_bottom_lip_y,3,2\n"},
	}
	for _, tt := range tests {
		got, err := ParseLookup(strings.NewReader(tt.text), "l.csv")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, want)
		}
	}
	if got := want[2].FeatureName(); got != "mouth_center_bottom_lip_y" {
		t.Errorf("FeatureName = %q", got)
	}
}

func TestParseLookupErrors(t *testing.T) {
	const h = "RowId,ImageId,FeatureName,Location\r\n"
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "l.csv: empty file"},
		{"no FeatureName column", "RowId,ImageId\n", `l.csv line 1 column "FeatureName": column missing`},
		{"bad feature", h + "1,1,left_eye_center_x\r\n2,1,nose_x\r\n", `l.csv line 3 column "FeatureName": unknown feature "nose_x"`},
		{"bad image id", h + "1,1,nose_tip_x\r\n2,one,nose_tip_y\r\n", `l.csv line 3 column "ImageId": "one" is not a positive integer`},
		{"zero image id", h + "1,0,nose_tip_x\r\n", `l.csv line 2 column "ImageId": "0" is not`},
		{"bad row id", h + "x,1,nose_tip_x\r\n", `l.csv line 2 column "RowId"`},
		{"duplicate row id", h + "1,1,nose_tip_x\r\n1,1,nose_tip_y\r\n", `l.csv line 3 column "RowId": RowId 1 repeats line 2`},
		{"short row", h + "1,1\r\n", `l.csv line 2 column "FeatureName": unknown feature ""`},
		{"bad quoting", h + "1,1,\"nose\"tip\r\n", `l.csv line 2:`},
		{"unterminated quote", h + "1,1,nose_tip_x\r\n2,1,\"nose_tip_y\r\n", `l.csv line 3:`},
		{"extra field", h + "1,1,nose_tip_x,\r\n2,1,nose_tip_y,,7\r\n", `l.csv line 3: got 5 fields, want 4 as in the header`},
		{"extra field, no Location column", "RowId,ImageId,FeatureName\n1,1,nose_tip_x,3\n", `l.csv line 2: got 4 fields, want 3`},
		{"header only", h, "no rows in l.csv"},
		{"header and blank lines", h + "\r\n\r\n", "no rows in l.csv"},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "l.csv is not a CSV file: it looks like a PNG image (first bytes 89 50 4e 47"},
	}
	for _, tt := range tests {
		_, err := ParseLookup(strings.NewReader(tt.text), "l.csv")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestKaggleLookup reads Kaggle's own IdLookupTable.csv and checks that a
// submission made from it has exactly the RowIds of Kaggle's
// SampleSubmission.csv, byte for byte when every prediction is 0.
func TestKaggleLookup(t *testing.T) {
	dir := sharedData(t, "kaggle")
	rows, err := ReadLookup(filepath.Join(dir, "IdLookupTable.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 27124 || rows[0].ImageID != 1 || rows[len(rows)-1].ImageID != 1783 {
		t.Fatalf("got %d rows, images %d..%d; want 27124 rows, images 1..1783",
			len(rows), rows[0].ImageID, rows[len(rows)-1].ImageID)
	}
	out := filepath.Join(t.TempDir(), "submission.csv")
	rep, err := WriteSubmission(out, rows, nil, [NumCoords]float32{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 27124 || rep.Filled != 27124 || rep.FilledImages != 1783 {
		t.Errorf("report %+v", rep)
	}
	got, _ := os.ReadFile(out)
	want, err := os.ReadFile(filepath.Join(dir, "SampleSubmission.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("submission of zeros differs from Kaggle's SampleSubmission.csv")
	}
}

func TestWriteLookupRoundTrip(t *testing.T) {
	want := []LookupRow{{1, 1, 0}, {2, 1, 1}, {3, 5, 20}, {10, 7, 29}}
	var buf strings.Builder
	if err := WriteLookup(&buf, want); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "RowId,ImageId,FeatureName,Location\n1,1,left_eye_center_x,\n") {
		t.Errorf("got %q", buf.String())
	}
	got, err := ParseLookup(strings.NewReader(buf.String()), "l.csv")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: %v, %v", got, err)
	}
	if err := WriteLookup(&buf, []LookupRow{{1, 1, 30}}); err == nil {
		t.Error("coordinate 30 written")
	}
}
