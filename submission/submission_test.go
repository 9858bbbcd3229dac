package submission

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
)

// writeFiles writes a test file of n synthetic faces and a lookup table
// asking for two coordinates of each, plus those of the missing images;
// it returns their paths.
func writeFiles(t *testing.T, n int, missing ...int) (test, lookup string) {
	t.Helper()
	dir := t.TempDir()
	set := synth.Generate(n, 2, synth.Options{})
	var b bytes.Buffer
	if err := dataset.WriteTest(&b, set); err != nil {
		t.Fatal(err)
	}
	test = filepath.Join(dir, "test.csv")
	if err := os.WriteFile(test, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	fmt.Fprintln(&b, "RowId,ImageId,FeatureName,Location")
	row := 0
	for _, id := range append(set.IDs, missing...) {
		for _, name := range []string{"nose_tip_x", "nose_tip_y"} {
			row++
			fmt.Fprintf(&b, "%d,%d,%s,\n", row, id, name)
		}
	}
	lookup = filepath.Join(dir, "IdLookupTable.csv")
	if err := os.WriteFile(lookup, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return test, lookup
}

// constant predicts every coordinate at v.
func constant(v float32) Predict {
	return func(images []uint8) ([]float32, error) {
		pred := make([]float32, len(images)/dataset.PixelCount*dataset.NumCoords)
		for i := range pred {
			pred[i] = v
		}
		return pred, nil
	}
}

func TestMake(t *testing.T) {
	var fill [dataset.NumCoords]float32
	for i := range fill {
		fill[i] = 48
	}
	tests := []struct {
		name                              string
		n                                 int
		missing                           []int
		predict                           Predict
		want                              string // the submission's second line
		rows, filled, clipped, missingIDs int
	}{
		{"all answered", 3, nil, constant(40), "1,40", 6, 0, 0, 0},
		{"clipped", 2, nil, constant(120), "1,96", 4, 0, 4, 0},
		{"not finite", 2, nil, constant(float32(nan())), "1,48", 4, 4, 0, 0},
		{"images missing", 2, []int{77}, constant(40), "1,40", 6, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			test, lookup := writeFiles(t, tt.n, tt.missing...)
			out := filepath.Join(t.TempDir(), "new", "dir", "sub.csv")
			var log bytes.Buffer
			res, err := Make(&log, test, lookup, out, tt.predict, fill)
			if err != nil {
				t.Fatal(err)
			}
			if res.Faces != tt.n || res.Rows != tt.rows || res.Filled != tt.filled || res.Clipped != tt.clipped || res.Missing != tt.missingIDs {
				t.Errorf("result %+v", res)
			}
			if want := fmt.Sprintf("read %s: %d faces\n", test, tt.n); log.String() != want {
				t.Errorf("log %q, want %q", log.String(), want)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if lines[0] != "RowId,Location" || lines[1] != tt.want || len(lines) != tt.rows+1 {
				t.Errorf("submission starts %q, %q and has %d lines; want RowId,Location, %q and %d", lines[0], lines[1], len(lines), tt.want, tt.rows+1)
			}
		})
	}
}

func TestMakeErrors(t *testing.T) {
	test, lookup := writeFiles(t, 2)
	dir := t.TempDir()
	badLookup := filepath.Join(dir, "lookup.csv")
	if err := os.WriteFile(badLookup, []byte("RowId,ImageId,FeatureName,Location\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	failing := func([]uint8) ([]float32, error) { return nil, errors.New("predict test: out of ideas") }
	tests := []struct {
		name, test, lookup string
		predict            Predict
		want               string
	}{
		{"no test file", filepath.Join(dir, "none.csv"), lookup, constant(1), "none.csv"},
		{"empty lookup", test, badLookup, constant(1), "read lookup table: no rows in " + badLookup},
		{"predictor fails", test, lookup, failing, "predict test: out of ideas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "sub.csv")
			_, err := Make(new(bytes.Buffer), tt.test, tt.lookup, out, tt.predict, [dataset.NumCoords]float32{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a submission was written")
			}
		})
	}
}

func TestWrite(t *testing.T) {
	m := fkdtest.NewModel(t, "cnn3:width=4", 1)
	test, lookup := writeFiles(t, 3, 9999)
	tests := []struct {
		name, out  string
		wantStdout string
		wantStderr []string
	}{
		{"to a file", filepath.Join(t.TempDir(), "sub.csv"), "wrote %s: 8 rows for 3 test faces\n",
			[]string{"read " + test + ": 3 faces\n", "warning: 2 rows of 1 images filled with the training means", "(9999)"}},
		{"to standard output", "-", "", []string{"wrote the submission to standard output: 8 rows for 3 test faces\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if tt.out == "-" {
				// The submission goes to the process's standard output.
				f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				saved := os.Stdout
				os.Stdout = f
				defer func() { os.Stdout = saved }()
			}
			if err := Write(&stdout, &stderr, m, models.Meta{}, test, lookup, tt.out); err != nil {
				t.Fatal(err)
			}
			want := tt.wantStdout
			if want != "" {
				want = fmt.Sprintf(want, tt.out)
			}
			if stdout.String() != want {
				t.Errorf("stdout %q, want %q", stdout.String(), want)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestInputs(t *testing.T) {
	test, lookup := writeFiles(t, 1)
	missing := filepath.Join(t.TempDir(), "none.csv")
	tests := []struct {
		name, test, lookup, want string
	}{
		{"both", test, lookup, ""},
		{"no test file given", "", lookup, "no --test file given"},
		{"no lookup given", test, "", "no --lookup file given"},
		{"test missing", missing, lookup, "--test: stat " + missing},
		{"lookup missing", test, missing, "--lookup: stat " + missing},
	}
	for _, tt := range tests {
		err := Inputs(tt.test, tt.lookup)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}
