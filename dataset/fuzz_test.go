package dataset

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// Fuzz inputs of the image files are kept small, so that the fuzzer
// mutates (and minimizes) a hundred bytes instead of a 37 KB row: each
// imageMark byte in an input stands for a whole valid image field of
// PixelCount grey levels, and a headerMark byte for the 600-byte training
// header, put in place by expandImages before parsing. Inputs can so hold
// valid rows, and the parser still sees every byte a real file has.
const (
	imageMark  = '~'
	headerMark = '^'
	maxImages  = 4 // image marks expanded per input; more are left as they are
)

// fuzzImage is a valid image field with grey levels of one, two and three
// digits.
var fuzzImage = func() []byte {
	b := make([]byte, 0, 4*PixelCount)
	for i := range PixelCount {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(i*37%256), 10)
	}
	return b
}()

// expandImages replaces the first maxImages image marks of data by
// fuzzImage, and the first header mark by the training header.
func expandImages(data []byte) []byte {
	if bytes.IndexByte(data, headerMark) >= 0 {
		data = bytes.Replace(data, []byte{headerMark}, []byte(trainingHeader), 1)
	}
	if bytes.IndexByte(data, imageMark) >= 0 {
		data = bytes.Replace(data, []byte{imageMark}, fuzzImage, maxImages)
	}
	return data
}

// shortRow returns a training row of the 30 coordinates given (empty
// strings for missing ones) and an image mark.
func shortRow(coords []string) string {
	return strings.Join(coords, ",") + ",~"
}

// fuzzSeeds returns small training inputs, valid and near misses.
func fuzzSeeds() []string {
	full := make([]string, NumCoords)
	partial := make([]string, NumCoords)
	for i := range full {
		full[i] = strconv.FormatFloat(20+float64(i)*1.75, 'f', -1, 64)
	}
	for _, k := range CommonKeypoints {
		partial[2*k], partial[2*k+1] = full[2*k], full[2*k+1]
	}
	valid := "^\n" + shortRow(full) + "\n" + shortRow(partial) + "\n"
	return []string{
		valid,
		strings.ReplaceAll(valid, "\n", "\r\n"),
		valid + "\n\n" + shortRow(full), // blank lines, no last line end
		"^\n" + shortRow(full)[:40],     // cut short
		"^\n" + strings.Replace(shortRow(full), "21.75", "9e9", 1), // outside the image
		"^\n" + strings.Repeat(",", 30) + "1 2 3\n",                // short image
		"^\n", // no faces
		"\"" + strings.ReplaceAll(trainingHeader, ",", "\",\"") + "\"\n" + shortRow(partial),
		"ImageId,Image\n1,~\n",
		"\ufeff\n\n\r\n",
		"\x89PNG\r\n\x1a\n\x00\x00",
		"",
	}
}

func FuzzParseTraining(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, skipBad bool) {
		data = expandImages(data)
		s, rep, err := ParseTraining(bytes.NewReader(data), "fuzz.csv", ReadOptions{SkipBad: skipBad, Workers: 2})
		if err != nil {
			if s != nil || rep != nil {
				t.Fatal("error with a result")
			}
			return
		}
		n := s.Len()
		if n == 0 {
			t.Fatal("no faces and no error")
		}
		if len(s.Images) != n*PixelCount || len(s.Coords) != n*NumCoords || len(s.Mask) != n*NumCoords || len(s.IDs) != n || len(s.Lines) != n {
			t.Fatalf("inconsistent set: %d images", n)
		}
		if rep.Read != n || rep.Rows != rep.Read+rep.Skipped || (!skipBad && rep.Skipped != 0) {
			t.Fatalf("report %+v for %d faces", rep, n)
		}
		for i := 1; i < n; i++ {
			if s.Lines[i] <= s.Lines[i-1] || s.IDs[i] <= s.IDs[i-1] {
				t.Fatalf("lines %v, ids %v not increasing", s.Lines, s.IDs)
			}
		}
		for i, v := range s.Coords {
			if s.Mask[i] && !(v >= 0 && v <= ImageSize) || !s.Mask[i] && v != 0 {
				t.Fatalf("coordinate %d = %v, mask %v", i, v, s.Mask[i])
			}
		}
		for _, o := range Outliers(s) {
			if o.Row < 0 || o.Row >= n || o.Line != s.Lines[o.Row] || o.Reason == "" {
				t.Fatalf("outlier %+v of %d faces", o, n)
			}
		}
		// Whatever parsed must survive a round trip.
		again, _, err := ParseTraining(bytes.NewReader(trainingCSV(t, s)), "again.csv", ReadOptions{})
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if !bytes.Equal(again.Images, s.Images) || len(again.Coords) != len(s.Coords) {
			t.Fatal("round trip changed the data")
		}
		for i := range s.Coords {
			if again.Coords[i] != s.Coords[i] || again.Mask[i] != s.Mask[i] {
				t.Fatalf("round trip changed coordinate %d: %v -> %v", i, s.Coords[i], again.Coords[i])
			}
		}
	})
}

func FuzzParseTest(f *testing.F) {
	for _, s := range []string{
		"ImageId,Image\r\n1,~\r\n2,~\r\n",
		"Image,ImageId\n~,3\n",
		"\"ImageId\",\"Image\"\n7,\"~\"\n\n8,~",
		"ImageId,Image\n1,~\n1,~\n",
		"ImageId,Image\n1,1 2\n1,1 2\n",
		"ImageId,Image\n0,~\n99999999999,~\n",
		"ImageId,Image\n",
		trainingHeader + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = expandImages(data)
		for _, skip := range []bool{false, true} {
			s, rep, err := ParseTest(bytes.NewReader(data), "fuzz.csv", ReadOptions{SkipBad: skip})
			if err != nil {
				if s != nil || rep != nil {
					t.Fatal("error with a result")
				}
				continue
			}
			if s.Len() == 0 {
				t.Fatal("no faces and no error")
			}
			seen := map[int]bool{}
			for _, id := range s.IDs {
				if id < 1 || seen[id] {
					t.Fatalf("bad or repeated id %d", id)
				}
				seen[id] = true
			}
			if len(s.IDs) != s.Len() || len(s.Lines) != s.Len() || rep.Read != s.Len() || s.HasKeypoints() {
				t.Fatalf("inconsistent test set")
			}
		}
	})
}

func FuzzParseLookup(f *testing.F) {
	f.Add("RowId,ImageId,FeatureName,Location\r\n1,1,left_eye_center_x\r\n2,1,nose_tip_y,\r\n")
	f.Add("FeatureName,RowId,ImageId\nnose_tip_x,1,1\n")
	f.Add("RowId,ImageId,FeatureName\n\"1\",1,\"nose_tip_x\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		rows, err := ParseLookup(strings.NewReader(text), "fuzz.csv")
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, r := range rows {
			if r.RowID < 1 || r.ImageID < 1 || r.Coord < 0 || r.Coord >= NumCoords || seen[r.RowID] {
				t.Fatalf("bad row %+v", r)
			}
			seen[r.RowID] = true
		}
		// Every parsed lookup table makes a submission that scores 0
		// against itself.
		var fill [NumCoords]float32
		var sub bytes.Buffer
		if _, err := EncodeSubmission(&sub, rows, nil, fill); err != nil {
			t.Fatal(err)
		}
		score, err := ScoreSubmission(bytes.NewReader(sub.Bytes()), bytes.NewReader(sub.Bytes()))
		if err != nil || (len(rows) > 0 && score.RMSE != 0) {
			t.Fatalf("self score %v, %v", score.RMSE, err)
		}
	})
}

// TestFuzzSeeds checks that the valid seeds are valid once expanded, so
// that the fuzzer starts from inputs that reach the whole parser.
func TestFuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds()
	for i, want := range map[int]int{0: 2, 1: 2, 2: 3, 7: 1} {
		s, _, err := ParseTraining(bytes.NewReader(expandImages([]byte(seeds[i]))), "seed.csv", ReadOptions{})
		if err != nil || s.Len() != want {
			t.Errorf("seed %d: %v, want %d faces", i, err, want)
		}
	}
	s, _, err := ParseTest(bytes.NewReader(expandImages([]byte("\"ImageId\",\"Image\"\n7,\"~\"\n\n8,~"))), "seed.csv", ReadOptions{})
	if err != nil || s.Len() != 2 {
		t.Errorf("test seed: %v", err)
	}
}
