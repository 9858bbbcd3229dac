package onnx_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/onnx"
	"github.com/fkd-project/fkd/torch"
)

// numFaces is how many faces the runtimes must reproduce fkd's keypoints
// for.
const numFaces = 256

// tolerancePx is how far, in pixels, a runtime's keypoint may be from
// fkd's.
const tolerancePx = 1e-3

// exportCase is one model to export: its members' specs (one for a single
// model), their weights and the test-time augmentation.
type exportCase struct {
	name    string
	specs   []string
	weights []float64
	tta     eval.TTA
}

var exportCases = []exportCase{
	{name: "cnn3", specs: []string{"cnn3"}},
	{name: "tinyresnet", specs: []string{"tinyresnet"}},
	{name: "fpn", specs: []string{"fpn"}},
	{name: "fpn-maps48", specs: []string{"fpn:maps=48"}},
	{name: "fpnheat", specs: []string{"fpnheat"}},
	{name: "fpnheat-maps48", specs: []string{"fpnheat:maps=48"}},
	{name: "cnn3-flip+shift", specs: []string{"cnn3:width=8"}, tta: eval.FlipShiftTTA},
	{name: "ensemble-flip", specs: []string{"cnn3", "fpnheat", "tinyresnet:width=8"}, weights: []float64{0.5, 0.3, 0.2}, tta: eval.FlipTTA},
}

// exported is a model exported to an ONNX file, with fkd's keypoints for
// the test faces.
type exported struct {
	path string
	want []float32 // [numFaces·30], pixels
}

// exportAll exports every case into dir and predicts the test faces with
// fkd.
func exportAll(t *testing.T, dir string, faces []uint8) map[string]exported {
	t.Helper()
	out := map[string]exported{}
	for ci, c := range exportCases {
		var paths []string
		var members []onnx.Member
		for i, s := range c.specs {
			path := filepath.Join(dir, c.name+"-"+string(rune('a'+i))+".pt")
			fkdtest.SaveRandom(t, s, uint64(10*ci+i+1), path)
			m, _, err := models.Load(path, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(m.Store().Free)
			w := 1.0
			if c.weights != nil {
				w = c.weights[i]
			}
			paths = append(paths, path)
			members = append(members, onnx.Member{Model: m, Weight: w})
		}
		var buf bytes.Buffer
		if err := onnx.Write(&buf, members, onnx.Options{TTA: c.tta, Producer: "test"}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		path := filepath.Join(dir, c.name+".onnx")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// fkd's own prediction, as fkd submit makes it.
		var m models.Model = members[0].Model
		if len(paths) > 1 {
			e, _, err := models.LoadEnsemble(paths, c.weights, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(e.Store().Free)
			m = e
		}
		want := models.Predict(eval.WithTTA(m, c.tta), faces, 64, torch.CPU)
		if spread := fkdtest.SpreadPx(want); spread < 0.5 {
			t.Fatalf("%s: fkd's keypoints vary by %.2g px across the faces: too little to tell a wrong graph", c.name, spread)
		}
		out[c.name] = exported{path: path, want: want}
	}
	return out
}

// compare fails t unless got and want, keypoints in pixels, agree within
// tolerancePx, and logs the largest difference.
func compare(t *testing.T, runtime string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d coordinates, want %d", runtime, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if !(worst <= tolerancePx) {
		t.Errorf("%s: face %d coordinate %d is %v px, fkd's %v px (off by %.3g px, tolerance %g)",
			runtime, at/dataset.NumCoords, at%dataset.NumCoords, got[at], want[at], worst, tolerancePx)
		return
	}
	t.Logf("%s: largest difference from fkd %.2g px", runtime, worst)
}

// TestRuntimesMatchFKD exports every architecture and an ensemble and
// checks that ONNX's checker accepts each file and that ONNX Runtime and
// OpenCV's DNN reproduce fkd's keypoints. Each runtime's check skips,
// saying what to install, when the runtime is missing.
func TestRuntimesMatchFKD(t *testing.T) {
	if testing.Short() {
		t.Skip("exports and runs every architecture")
	}
	dir := t.TempDir()
	faces, x := fkdtest.Faces(numFaces)
	facesPath := filepath.Join(dir, "faces.f32")
	if err := os.WriteFile(facesPath, fkdtest.Float32Bytes(x), 0o644); err != nil {
		t.Fatal(err)
	}
	files := exportAll(t, dir, faces)
	for _, c := range exportCases {
		e := files[c.name]
		t.Run(c.name, func(t *testing.T) {
			t.Run("checker", func(t *testing.T) { checkONNX(t, e.path) })
			t.Run("onnxruntime", func(t *testing.T) {
				compare(t, "ONNX Runtime", runORT(t, e.path, facesPath, filepath.Join(dir, c.name+".ort.f32")), e.want)
			})
			t.Run("opencv", func(t *testing.T) {
				if runOpenCV == nil {
					t.Skip("OpenCV check skipped: built with the noopencv tag (make deps installs libopencv-dev)")
				}
				got, err := runOpenCV(e.path, x, numFaces)
				if err != nil {
					t.Fatalf("OpenCV DNN: %v", err)
				}
				compare(t, "OpenCV DNN", got, e.want)
			})
		})
	}
}

// runOpenCV runs an ONNX model on n faces x in OpenCV's DNN module and
// returns its keypoints; nil in a build without OpenCV.
var runOpenCV func(path string, x []float32, n int) ([]float32, error)

// ortScript is the Node script that runs a model in ONNX Runtime.
const ortScript = "ort/ort.js"

// runORT runs the model at path on the faces in facesPath in ONNX Runtime
// (onnxruntime-node) and returns its keypoints. It skips t, saying how to
// install them, without node or onnxruntime-node.
func runORT(t *testing.T, path, facesPath, outPath string) []float32 {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("ONNX Runtime check skipped: no node (apt-get install nodejs npm, or make deps-onnx)")
	}
	if _, err := os.Stat("ort/node_modules/onnxruntime-node/package.json"); err != nil {
		t.Skip("ONNX Runtime check skipped: onnxruntime-node is not installed (npm install --ignore-scripts --no-package-lock --prefix onnx/ort, or make deps-onnx)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", ortScript, "predict", path, facesPath, outPath, "2")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node %s: %v\n%s", ortScript, err, out)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	return fkdtest.Float32s(data)
}

// checkONNX runs ONNX's own checker (Debian's python3-onnx) on the model
// at path, skipping t without it.
func checkONNX(t *testing.T, path string) {
	t.Helper()
	python := pythonWith(t, "onnx", "ONNX checker skipped: no python3 with the onnx package (apt-get install python3-onnx, or make deps-onnx)")
	const script = `
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print(m.opset_import[0].version, m.ir_version)
`
	out, err := exec.Command(python, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
	t.Logf("onnx.checker accepts %s (opset, IR: %s)", filepath.Base(path), strings.TrimSpace(string(out)))
}

// pythonWith returns a python3 that imports module, Debian's first, or
// skips t with msg.
func pythonWith(t *testing.T, module, msg string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import "+module).Run() == nil {
			return p
		}
	}
	t.Skip(msg)
	return ""
}

// TestWriteRefuses checks that what cannot be exported is an error and
// writes nothing.
func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.pt")
	fkdtest.SaveRandom(t, "cnn3:width=4", 1, a)
	e, _, err := models.LoadEnsemble([]string{a, a}, nil, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Store().Free()
	m, _, err := models.Load(a, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Store().Free()
	tests := []struct {
		name    string
		members []onnx.Member
		opts    onnx.Options
		want    error // nil: any error
	}{
		{"no members", nil, onnx.Options{}, nil},
		{"an ensemble as a member", []onnx.Member{{Model: e, Weight: 1}}, onnx.Options{}, onnx.ErrUnsupported},
		{"negative weight", []onnx.Member{{Model: m, Weight: -1}}, onnx.Options{}, nil},
		{"unknown TTA", []onnx.Member{{Model: m, Weight: 1}}, onnx.Options{TTA: eval.TTA(9)}, onnx.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := onnx.Write(&buf, tt.members, tt.opts)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Write: %v, want an error wrapping %v", err, tt.want)
			}
			if buf.Len() != 0 || strings.Contains(err.Error(), "\n") {
				t.Errorf("Write wrote %d bytes, error %q: want nothing written and one line", buf.Len(), err)
			}
		})
	}
}
