package ensemble_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/ensemble"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

func TestSplitList(t *testing.T) {
	tests := []struct {
		list string
		want []string
		err  string
	}{
		{"a.pt", []string{"a.pt"}, ""},
		{"a.pt, b.pt", []string{"a.pt", "b.pt"}, ""},
		{"a.pt,", nil, "empty entry (number 2)"},
		{",a.pt", nil, "empty entry (number 1)"},
		{"a.pt,,b.pt", nil, "empty entry (number 2)"},
		{" ", nil, "empty entry (number 1)"},
	}
	for _, tt := range tests {
		got, err := ensemble.SplitList(tt.list)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("SplitList(%q): %v, %v; want an error containing %q", tt.list, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitList(%q) = %q, %v; want %q", tt.list, got, err, tt.want)
		}
	}
}

// safetensorsHead returns the start of a safetensors file: the header's
// length, then the header.
func safetensorsHead(header string) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(b, header...)
}

func TestCheckMember(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		want    string // "" for no error
	}{
		{"model.pt", safetensorsHead(`{"__metadata__":{}}`), ""},
		{"ensemble.json", []byte(`{"format": "fkd-ensemble/1", "members": [{"model": "a.pt", "weight": 1}]}`), "ensembles cannot be nested"},
		{"history.json", []byte(`{"config": {}, "epochs": []}`), "it holds JSON, not safetensors"},
		{"test.csv", []byte("ImageId,Image\n1,0 0 0\n"), `it is a text file starting "ImageId,Image"`},
		{"photo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "it is a PNG image"},
		{"photo.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), "it is a JPEG image"},
		{"data.zip", []byte("PK\x03\x04\x14\x00"), "it is a zip archive"},
		{"empty.pt", nil, "the file is empty"},
		{"binary.pt", []byte{1, 2, 3, 0, 0, 0, 0, 0, 7, 0xff}, "not in the safetensors format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			err := ensemble.CheckMember(path)
			if tt.want == "" {
				if err != nil {
					t.Errorf("CheckMember: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) || !errors.Is(err, models.ErrNotModel) {
				t.Errorf("CheckMember: %v; want an error naming %s, wrapping ErrNotModel and containing %q", err, path, tt.want)
			}
		})
	}
	if err := ensemble.CheckMember(filepath.Join(dir, "missing.pt")); err != nil {
		t.Errorf("CheckMember(missing file) = %v; the loader reports those", err)
	}
}

// TestLoadRefusesNonModels: an ensemble file or another file given where
// a model file is needed, alone, in a list, as an ensemble's member or to
// Fit, is named with what it is, not with a safetensors header length.
func TestLoadRefusesNonModels(t *testing.T) {
	dir := t.TempDir()
	a := saveModel(t, dir, "a.pt", "cnn3:width=4", 1, 0.25, 7, "fp1")
	ens := filepath.Join(dir, "e.json")
	if err := ensemble.Write(ens, ensemble.File{Members: []ensemble.Member{{Model: a, Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(dir, "self.json")
	if err := os.WriteFile(self, []byte(`{"format":"fkd-ensemble/1","members":[{"model":"a.pt","weight":1},{"model":"self.json","weight":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(dir, "nested.json")
	if err := os.WriteFile(nested, []byte(`{"format":"fkd-ensemble/1","members":[{"model":"a.pt","weight":1},{"model":"e.json","weight":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(dir, "test.csv")
	if err := os.WriteFile(csv, []byte("ImageId,Image\n1,0 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, spec, want string }{
		{"an ensemble in a list", a + "," + ens, ens + ": not an fkd model file: it is an ensemble file, and ensembles cannot be nested"},
		{"an ensemble listing itself", self, "self.json: not an fkd model file: it is an ensemble file, and ensembles cannot be nested"},
		{"an ensemble listing another", nested, "e.json: not an fkd model file: it is an ensemble file, and ensembles cannot be nested"},
		{"a CSV file alone", csv, csv + `: not an fkd model file: it is a text file starting "ImageId,Image"`},
		{"a CSV file in a list", a + "," + csv, `it is a text file starting "ImageId,Image"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _, err := ensemble.Load(tt.spec, torch.CPU)
			if err == nil {
				m.Store().Free()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "header length") {
				t.Errorf("Load: %v; want an error containing %q", err, tt.want)
			}
		})
	}
	_, err := ensemble.Fit([]string{a, ens}, nil, ensemble.FitOptions{Device: torch.CPU})
	if err == nil || !strings.Contains(err.Error(), "ensemble member "+ens+": not an fkd model file: it is an ensemble file, and ensembles cannot be nested") {
		t.Errorf("Fit with an ensemble member: %v", err)
	}
}

// TestHugeWeights: weights whose sum overflows a float64 still scale to
// sum to 1.
func TestHugeWeights(t *testing.T) {
	dir := t.TempDir()
	a := saveModel(t, dir, "a.pt", "cnn3:width=4", 1, 0.25, 7, "fp1")
	b := saveModel(t, dir, "b.pt", "cnn3:width=4", 2, 0.25, 7, "fp1")
	for _, w := range [][2]float64{{1e308, 1e308}, {1.7e308, 1e308}, {5e-324, 5e-324}, {1e308, 0}} {
		path := filepath.Join(dir, "e.json")
		f := ensemble.File{Members: []ensemble.Member{{Model: a, Weight: w[0]}, {Model: b, Weight: w[1]}}}
		if err := ensemble.Write(path, f); err != nil {
			t.Errorf("Write with weights %v: %v", w, err)
			continue
		}
		if _, err := ensemble.Read(path); err != nil {
			t.Errorf("Read with weights %v: %v", w, err)
			continue
		}
		m, _, _, err := ensemble.Load(path, torch.CPU)
		if err != nil {
			t.Errorf("Load with weights %v: %v", w, err)
			continue
		}
		m.Store().Free()
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	ens := filepath.Join(dir, "e.json")
	if err := os.WriteFile(ens, []byte(`{"format":"fkd-ensemble/1","members":[{"model":"m/a.pt","weight":1},{"model":"/abs/b.pt","weight":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec string
		want []string
	}{
		{"a.pt", []string{"a.pt"}},
		{"a.pt,b.pt", []string{"a.pt", "b.pt"}},
		{"a.pt,", []string{"a.pt"}},
		{ens, []string{ens, filepath.Join(dir, "m", "a.pt"), "/abs/b.pt"}},
	}
	for _, tt := range tests {
		if got := ensemble.Inputs(tt.spec); !slices.Equal(got, tt.want) {
			t.Errorf("Inputs(%q) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}
