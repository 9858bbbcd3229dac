package dataset

import (
	"bytes"
	"strings"
	"testing"
)

// fuzzSeeds returns valid training files and near misses.
func fuzzSeeds(t testing.TB) [][]byte {
	valid := trainingCSV(t, makeSet(2, 1))
	crlf := bytes.ReplaceAll(valid, []byte("\n"), []byte("\r\n"))
	return [][]byte{
		valid,
		crlf,
		valid[:len(valid)-100],
		[]byte(trainingHeader + "\n"),
		[]byte(trainingHeader + "\n" + strings.Repeat(",", 30) + "1 2 3\n"),
		[]byte("ImageId,Image\n1,1 2 3\n"),
		[]byte("\ufeff\n\n\r\n"),
		{},
	}
}

func FuzzParseTraining(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, skipBad bool) {
		s, rep, err := ParseTraining(bytes.NewReader(data), "fuzz.csv", ReadOptions{SkipBad: skipBad, Workers: 2})
		if err != nil {
			if s != nil || rep != nil {
				t.Fatal("error with a result")
			}
			return
		}
		n := s.Len()
		if len(s.Images) != n*PixelCount || len(s.Coords) != n*NumCoords || len(s.Mask) != n*NumCoords || len(s.IDs) != n {
			t.Fatalf("inconsistent set: %d images", n)
		}
		if rep.Read != n || rep.Rows != rep.Read+rep.Skipped || (!skipBad && rep.Skipped != 0) {
			t.Fatalf("report %+v for %d faces", rep, n)
		}
		for i, v := range s.Coords {
			if s.Mask[i] && !(v >= 0 && v <= ImageSize) || !s.Mask[i] && v != 0 {
				t.Fatalf("coordinate %d = %v, mask %v", i, v, s.Mask[i])
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
	img := strings.TrimSpace(strings.Repeat("200 ", PixelCount))
	f.Add([]byte("ImageId,Image\r\n1," + img + "\r\n2," + img + "\r\n"))
	f.Add([]byte("Image,ImageId\n" + img + ",3\n"))
	f.Add([]byte("ImageId,Image\n1,1 2\n1,1 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, skip := range []bool{false, true} {
			s, rep, err := ParseTest(bytes.NewReader(data), "fuzz.csv", ReadOptions{SkipBad: skip})
			if err != nil {
				continue
			}
			seen := map[int]bool{}
			for _, id := range s.IDs {
				if id < 1 || seen[id] {
					t.Fatalf("bad or repeated id %d", id)
				}
				seen[id] = true
			}
			if len(s.IDs) != s.Len() || rep.Read != s.Len() || s.HasKeypoints() {
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
