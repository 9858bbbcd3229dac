package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch/nn"
)

// saveExportModel saves an untrained model of spec to path.
func saveExportModel(t *testing.T, spec, path string) {
	t.Helper()
	m := fkdtest.NewModel(t, spec, 1)
	defer m.Store().Free()
	if err := models.Save(path, m, models.Meta{}); err != nil {
		t.Fatal(err)
	}
}

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pt"), filepath.Join(dir, "b.pt")
	saveExportModel(t, "cnn3:width=4", a)
	saveExportModel(t, "fpnheat:width=4,channels=8", b)
	ens := filepath.Join(dir, "ensemble.json")
	if err := os.WriteFile(ens, []byte(`{"format": "fkd-ensemble/1", "tta": "flip",
		"members": [{"model": "a.pt", "weight": 0.25}, {"model": "b.pt", "weight": 0.75}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// A model file whose architecture has an option fkd does not know.
	bad := filepath.Join(dir, "bad.pt")
	md, err := nn.LoadMetadata(a)
	if err != nil {
		t.Fatal(err)
	}
	md["fkd.options"] = `{"width": "4", "dropout": "0.1", "wings": "2"}`
	func() {
		m := fkdtest.NewModel(t, "cnn3:width=4", 1)
		defer m.Store().Free()
		if err := m.Store().Save(bad, md); err != nil {
			t.Fatal(err)
		}
	}()
	modelBytes, _ := os.ReadFile(a)

	tests := []struct {
		name   string
		args   []string
		status int
		out    string // the file to write; "" for none
		stdout string // in what fkd prints
		stderr string // in the one line of the error
	}{
		{"model", []string{"--model", a}, 0, "a.onnx", "cnn3:dropout=0.1,width=4, test-time augmentation none", ""},
		{"model with tta", []string{"--model", a, "--tta", "flip+shift"}, 0, "a-tta.onnx", "test-time augmentation flip+shift", ""},
		{"ensemble file", []string{"--model", ens}, 0, "ens.onnx", "+ fpnheat:", ""},
		{"ensemble file without its tta", []string{"--model", ens, "--tta", "none"}, 0, "ens-none.onnx", "augmentation none", ""},
		{"list", []string{"--model", a + "," + b}, 0, "list.onnx", "augmentation none", ""},
		{"out is the model", []string{"--model", a, "--out", a}, 1, "", "", "a.pt"},
		{"out is a member", []string{"--model", ens, "--out", b}, 1, "", "", "b.pt"},
		{"unknown option", []string{"--model", bad}, 1, "bad.onnx", "", `no option "wings"`},
		{"format", []string{"--model", a, "--format", "tflite"}, 2, "x.onnx", "", "--format"},
		{"tta", []string{"--model", a, "--tta", "rotate"}, 2, "y.onnx", "", "--tta"},
		{"missing model", []string{"--model", filepath.Join(dir, "none.pt")}, 1, "z.onnx", "", "none.pt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"export"}, tt.args...)
			out := ""
			if tt.out != "" {
				out = filepath.Join(dir, tt.out)
				args = append(args, "--out", out)
			}
			var stdout, stderr bytes.Buffer
			var status int
			printed := captureStdout(t, func() { status = run(args, &stdout, &stderr) })
			if status != tt.status {
				t.Fatalf("status %d, want %d; stderr: %s", status, tt.status, stderr.String())
			}
			if tt.status != 0 {
				if msg := stderr.String(); !strings.Contains(msg, tt.stderr) || strings.Count(msg, "\n") != 1 {
					t.Errorf("stderr %q: want one line naming %q", msg, tt.stderr)
				}
				if out != "" {
					if _, err := os.Stat(out); !os.IsNotExist(err) {
						t.Errorf("%s was written (%v)", out, err)
					}
				}
				if got, _ := os.ReadFile(a); !bytes.Equal(got, modelBytes) {
					t.Errorf("the model file changed")
				}
				return
			}
			if !strings.Contains(printed, "wrote "+out) || !strings.Contains(printed, tt.stdout) {
				t.Errorf("printed %q, want it to name %s and %q", printed, out, tt.stdout)
			}
			if fi, err := os.Stat(out); err != nil || fi.Size() < 1000 {
				t.Errorf("%s: %v", out, err)
			}
		})
	}
}
