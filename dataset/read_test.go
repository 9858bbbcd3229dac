package dataset

import (
	"archive/zip"
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// makeSet returns n random training faces; about half of them have only
// the four common keypoints.
func makeSet(n int, seed uint64) *Set {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &Set{
		Images: make([]uint8, n*PixelCount),
		Coords: make([]float32, n*NumCoords),
		Mask:   make([]bool, n*NumCoords),
		IDs:    make([]int, n),
	}
	for i := range s.Images {
		s.Images[i] = uint8(rng.IntN(256))
	}
	for i := range n {
		s.IDs[i] = i + 1
		c, m := s.Keypoints(i)
		partial := rng.IntN(2) == 0
		for k := range NumKeypoints {
			if partial && k != 0 && k != 1 && k != 10 && k != 14 {
				continue
			}
			for j := 2 * k; j < 2*k+2; j++ {
				c[j], m[j] = rng.Float32()*ImageSize, true
			}
		}
	}
	if n > 0 { // the edges of the valid range
		s.Coords[0], s.Coords[1] = 0, ImageSize
	}
	return s
}

// trainingCSV renders s with WriteTraining.
func trainingCSV(t testing.TB, s *Set) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTraining(&buf, s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameSet(t *testing.T, got, want *Set) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("got %d faces, want %d", got.Len(), want.Len())
	}
	if !bytes.Equal(got.Images, want.Images) {
		t.Error("images differ")
	}
	if !reflect.DeepEqual(got.Coords, want.Coords) || !reflect.DeepEqual(got.Mask, want.Mask) {
		t.Error("keypoints differ")
	}
	if !reflect.DeepEqual(got.IDs, want.IDs) {
		t.Errorf("ids differ: got %v, want %v", got.IDs, want.IDs)
	}
}

func TestRoundTripTraining(t *testing.T) {
	for _, n := range []int{1, 7, 300} {
		want := makeSet(n, uint64(n))
		data := trainingCSV(t, want)
		for _, workers := range []int{0, 1, 3, 8} {
			got, rep, err := ParseTraining(bytes.NewReader(data), "t.csv", ReadOptions{Workers: workers})
			if err != nil {
				t.Fatalf("n=%d workers=%d: %v", n, workers, err)
			}
			sameSet(t, got, want)
			if rep.Rows != n || rep.Read != n || rep.Skipped != 0 {
				t.Errorf("n=%d: report %+v", n, rep)
			}
		}
		// Writing what was read gives the same bytes.
		got, _, _ := ParseTraining(bytes.NewReader(data), "t.csv", ReadOptions{})
		if again := trainingCSV(t, got); !bytes.Equal(again, data) {
			t.Errorf("n=%d: write(read(write(s))) differs from write(s)", n)
		}
	}
}

func TestRoundTripTest(t *testing.T) {
	want := makeSet(5, 9)
	want.Coords, want.Mask = nil, nil
	want.IDs = []int{3, 1, 100, 7, 2}
	var buf bytes.Buffer
	if err := WriteTest(&buf, want); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "ImageId,Image\n3,") {
		t.Errorf("test csv starts %q", buf.String()[:20])
	}
	got, rep, err := ParseTest(&buf, "test.csv", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, got, want)
	if rep.Read != 5 || got.HasKeypoints() {
		t.Errorf("report %+v, keypoints %v", rep, got.HasKeypoints())
	}
}

func TestReportStats(t *testing.T) {
	s := makeSet(40, 2)
	_, rep, err := ParseTraining(bytes.NewReader(trainingCSV(t, s)), "t.csv", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	complete := 0
	for i := range s.Len() {
		if s.Complete(i) {
			complete++
		}
	}
	if rep.Complete != complete || rep.Present[0] != 40 || rep.Min[0] != 0 || rep.Max[1] != ImageSize {
		t.Errorf("report: complete %d (want %d), present[0] %d, min[0] %v, max[1] %v",
			rep.Complete, complete, rep.Present[0], rep.Min[0], rep.Max[1])
	}
	if rep.Present[4] != complete {
		t.Errorf("left_eye_inner_corner_x present %d times, want %d", rep.Present[4], complete)
	}
}

// row returns a valid training data line whose fields can be replaced:
// fields[0..29] are coordinates, fields[30] the image.
func rowFields() []string {
	f := make([]string, NumCoords+1)
	for i := range NumCoords {
		f[i] = "48.5"
	}
	f[NumCoords] = strings.TrimSpace(strings.Repeat("7 ", PixelCount))
	return f
}

var trainingHeader = func() string {
	names := CoordNames()
	return strings.Join(names[:], ",") + ",Image"
}()

// csvText joins a header and rows of fields into CSV text with line end eol.
func csvText(header string, eol string, rows ...[]string) string {
	var b strings.Builder
	b.WriteString(header + eol)
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + eol)
	}
	return b.String()
}

// with returns a valid row with field i replaced by v.
func with(i int, v string) []string {
	f := rowFields()
	f[i] = v
	return f
}

func TestParseTrainingErrors(t *testing.T) {
	good := rowFields()
	pixels := func(n int) string { return strings.TrimSpace(strings.Repeat("1 ", n)) }
	tests := []struct {
		name string
		text string
		want string // the error message must contain this
	}{
		{"empty file", "", `t.csv: empty file`},
		{"bad header", strings.Replace(trainingHeader, "nose_tip_x", "nose_x", 1) + "\n", `t.csv line 1 column "nose_x": unexpected column`},
		{"missing column", strings.TrimSuffix(trainingHeader, ",Image") + "\n", `t.csv line 1 column "Image": column missing`},
		{"duplicate column", strings.Replace(trainingHeader, "nose_tip_x", "nose_tip_y", 1) + "\n", `t.csv line 1 column "nose_tip_y": column appears twice`},
		{"too few fields", csvText(trainingHeader, "\n", good, good[1:]), `t.csv line 3: got 30 fields, want 31`},
		{"too many fields", csvText(trainingHeader, "\n", append(rowFields(), "1")), `t.csv line 2: got 32 fields, want 31`},
		{"too few pixels", csvText(trainingHeader, "\n", good, good, with(30, pixels(9215))), `t.csv line 4 column "Image": got 9215 pixels, want 9216`},
		{"too many pixels", csvText(trainingHeader, "\n", with(30, pixels(9217))), `t.csv line 2 column "Image": got 9217 pixels, want 9216`},
		{"pixel too big", csvText(trainingHeader, "\n", with(30, "256 "+pixels(9215))), `line 2 column "Image": pixel 1: "256" is not a grey level`},
		{"negative pixel", csvText(trainingHeader, "\n", with(30, pixels(9215)+" -1")), `pixel 9216: "-1" is not a grey level`},
		{"pixel not a number", csvText(trainingHeader, "\n", with(30, "1 2x "+pixels(9214))), `pixel 2: "2x" is not a grey level`},
		{"fractional pixel", csvText(trainingHeader, "\n", with(30, "1.5 "+pixels(9215))), `pixel 1: "1.5" is not a grey level`},
		{"coordinate not a number", csvText(trainingHeader, "\n", good, with(20, "abc")), `t.csv line 3 column "nose_tip_x": "abc" is not a number`},
		{"coordinate NaN", csvText(trainingHeader, "\n", with(21, "NaN")), `t.csv line 2 column "nose_tip_y": coordinate NaN outside the image`},
		{"coordinate negative", csvText(trainingHeader, "\n", with(0, "-0.5")), `column "left_eye_center_x": coordinate -0.5 outside the image [0,96]`},
		{"coordinate too big", csvText(trainingHeader, "\r\n", good, good, good, with(29, "96.01")), `t.csv line 5 column "mouth_center_bottom_lip_y": coordinate 96.01 outside`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseTraining(strings.NewReader(tt.text), "t.csv", ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseTestErrors(t *testing.T) {
	img := strings.TrimSpace(strings.Repeat("9 ", PixelCount))
	tests := []struct {
		name, text, want string
	}{
		{"training header", trainingHeader + "\n", `t.csv line 1 column "left_eye_center_x": unexpected column in test header`},
		{"bad id", "ImageId,Image\n1," + img + "\nx," + img + "\n", `t.csv line 3 column "ImageId": "x" is not a positive integer ImageId`},
		{"zero id", "ImageId,Image\n0," + img + "\n", `t.csv line 2 column "ImageId": "0" is not a positive`},
		{"huge id", "ImageId,Image\n99999999999999999999," + img + "\n", `is not a positive integer ImageId`},
		{"duplicate id", "ImageId,Image\n4," + img + "\n\n4," + img + "\n", `t.csv line 4 column "ImageId": ImageId 4 repeats line 2`},
		{"short image", "ImageId,Image\n1,1 2 3\n", `t.csv line 2 column "Image": got 3 pixels, want 9216`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseTest(strings.NewReader(tt.text), "t.csv", ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRowErrorFields(t *testing.T) {
	text := csvText(trainingHeader, "\n", rowFields(), with(3, "x"))
	_, _, err := ParseTraining(strings.NewReader(text), "f.csv", ReadOptions{})
	var re *RowError
	if !errors.As(err, &re) || re.File != "f.csv" || re.Line != 3 || re.Column != "right_eye_center_y" {
		t.Fatalf("got %#v", err)
	}
}

func TestSkipBad(t *testing.T) {
	good := rowFields()
	text := csvText(trainingHeader, "\n",
		good, with(0, "x"), good, with(30, "1 2"), good, good[:5])
	s, rep, err := ParseTraining(strings.NewReader(text), "t.csv", ReadOptions{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || rep.Rows != 6 || rep.Read != 3 || rep.Skipped != 3 || len(rep.SkipReasons) != 3 {
		t.Fatalf("got %d faces, report %+v", s.Len(), rep)
	}
	if want := []int{1, 3, 5}; !reflect.DeepEqual(s.IDs, want) {
		t.Errorf("ids %v, want the row numbers %v", s.IDs, want)
	}
	for i, line := range []string{"line 3 ", "line 5 ", "line 7:"} {
		if !strings.Contains(rep.SkipReasons[i], line) {
			t.Errorf("reason %d = %q, want %q", i, rep.SkipReasons[i], line)
		}
	}
}

func TestParseTrainingLayout(t *testing.T) {
	want := makeSet(3, 4)
	plain := string(trainingCSV(t, want))
	// The same data with the first two columns swapped everywhere.
	var swapped strings.Builder
	for _, line := range strings.SplitAfter(plain, "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, ",", 3)
		swapped.WriteString(f[1] + "," + f[0] + "," + f[2])
	}
	quoted := strings.ReplaceAll(plain, ",", `","`)
	quoted = strings.ReplaceAll(`"`+quoted, "\n", "\"\n\"")
	quoted = strings.TrimSuffix(quoted, `"`)
	tests := []struct {
		name, text string
	}{
		{"LF", plain},
		{"CRLF", strings.ReplaceAll(plain, "\n", "\r\n")},
		{"no final line end", strings.TrimSuffix(plain, "\n")},
		{"BOM", "\ufeff" + plain},
		{"blank lines", strings.Replace(plain, "\n", "\n\n\r\n", 2) + "\n\n"},
		{"columns reordered", swapped.String()},
		{"quoted fields", quoted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rep, err := ParseTraining(strings.NewReader(tt.text), "t.csv", ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != 3 {
				t.Errorf("report says %d rows, want 3", rep.Rows)
			}
			sameSet(t, got, want)
		})
	}
}

// writeZip writes a zip file holding the given members.
func writeZip(t *testing.T, path string, members map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadZip(t *testing.T) {
	dir := t.TempDir()
	train := makeSet(4, 5)
	trainCSV := trainingCSV(t, train)
	test := makeSet(3, 6)
	test.Coords, test.Mask = nil, nil
	var buf bytes.Buffer
	if err := WriteTest(&buf, test); err != nil {
		t.Fatal(err)
	}
	testCSV := buf.Bytes()

	os.WriteFile(filepath.Join(dir, "plain.csv"), trainCSV, 0o644)
	writeZip(t, filepath.Join(dir, "training.zip"), map[string][]byte{"training.csv": trainCSV})
	writeZip(t, filepath.Join(dir, "test.zip"), map[string][]byte{"test.csv": testCSV})
	trainZip, _ := os.ReadFile(filepath.Join(dir, "training.zip"))
	testZip, _ := os.ReadFile(filepath.Join(dir, "test.zip"))
	writeZip(t, filepath.Join(dir, "competition"), map[string][]byte{
		"training.zip": trainZip, "test.zip": testZip, "IdLookupTable.csv": []byte("RowId\n"),
	})
	writeZip(t, filepath.Join(dir, "flat.zip"), map[string][]byte{
		"data/training.csv": trainCSV, "data/test.csv": testCSV, "__MACOSX/data/._training.csv": []byte("junk"),
	})
	writeZip(t, filepath.Join(dir, "only-one.zip"), map[string][]byte{"faces.csv": trainCSV})
	writeZip(t, filepath.Join(dir, "ambiguous.zip"), map[string][]byte{"a.csv": trainCSV, "b.csv": trainCSV})

	for _, name := range []string{"plain.csv", "training.zip", "competition", "flat.zip", "only-one.zip"} {
		got, rep, err := ReadTraining(filepath.Join(dir, name), ReadOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sameSet(t, got, train)
		if !strings.HasPrefix(rep.Source, filepath.Join(dir, name)) {
			t.Errorf("%s: report source %q", name, rep.Source)
		}
	}
	for _, name := range []string{"test.zip", "competition", "flat.zip"} {
		got, _, err := ReadTest(filepath.Join(dir, name), ReadOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sameSet(t, got, test)
	}
	if _, _, err := ReadTraining(filepath.Join(dir, "ambiguous.zip"), ReadOptions{}); err == nil || !strings.Contains(err.Error(), "no training.csv") {
		t.Errorf("ambiguous zip: got %v", err)
	}
	// An error inside a nested zip names the path to it.
	bad := strings.Replace(string(trainCSV), "\n", "\nx,", 2)
	writeZip(t, filepath.Join(dir, "bad.zip"), map[string][]byte{"training.csv": []byte(bad)})
	_, _, err := ReadTraining(filepath.Join(dir, "bad.zip"), ReadOptions{})
	if want := filepath.Join(dir, "bad.zip") + ":training.csv line 2:"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad zip: got %v, want %q", err, want)
	}
	if _, _, err := ReadTraining(filepath.Join(dir, "missing.csv"), ReadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestWorkers(t *testing.T) {
	if got := workers(4, 10); got != 1 {
		t.Errorf("workers(4, 10 bytes) = %d, want 1", got)
	}
	if got := workers(4, 100<<20); got != 4 {
		t.Errorf("workers(4, 100 MB) = %d, want 4", got)
	}
	// Chunks end at line ends and cover the input.
	text := []byte(strings.Repeat("abc\n", 1000) + "tail")
	for n := 1; n < 9; n++ {
		chunks := splitChunks(text, n)
		total := 0
		for i, c := range chunks {
			if i < len(chunks)-1 && c[len(c)-1] != '\n' {
				t.Errorf("n=%d: chunk %d does not end a line", n, i)
			}
			total += len(c)
		}
		if total != len(text) {
			t.Errorf("n=%d: chunks cover %d of %d bytes", n, total, len(text))
		}
	}
}

func TestParseID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{{"1", 1}, {"1783", 1783}, {strconv.Itoa(maxID), maxID}} {
		if got, err := parseID([]byte(tt.in)); err != nil || got != tt.want {
			t.Errorf("parseID(%q) = %d, %v", tt.in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "1.0", " 1", "2147483648"} {
		if _, err := parseID([]byte(in)); err == nil {
			t.Errorf("parseID(%q) succeeded", in)
		}
	}
}
