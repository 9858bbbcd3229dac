// Package python_test checks python/fkd_torch.py, the PyTorch loader of
// fkd's model files, against fkd's own predictions.
package python_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// tolerancePx is how far, in pixels, PyTorch's keypoint may be from fkd's.
const tolerancePx = 1e-4

// TestPyTorchLoaderMatchesFKD loads a model of every architecture with
// fkd_torch.py in Debian's PyTorch and compares its keypoints for a few
// hundred faces with fkd's. It skips without a python3 that imports torch.
func TestPyTorchLoaderMatchesFKD(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch")
	}
	python := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import torch, numpy").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Skip("PyTorch loader check skipped: no python3 with torch (apt-get install python3-torch, or make deps-onnx)")
	}
	// One thread on both sides: LibTorch sums in another order with
	// another thread count.
	torch.SetNumThreads(1)
	dir := t.TempDir()
	faces, x := fkdtest.Faces(256)
	facesPath := filepath.Join(dir, "faces.f32")
	if err := os.WriteFile(facesPath, fkdtest.Float32Bytes(x), 0o644); err != nil {
		t.Fatal(err)
	}
	specs := []string{"cnn3", "tinyresnet", "fpn", "fpn:maps=48", "fpnheat", "fpnheat:maps=48"}
	for i, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			path := filepath.Join(dir, "model.pt")
			fkdtest.SaveRandom(t, spec, uint64(i+1), path)
			m, _, err := models.Load(path, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Store().Free()
			want := models.Predict(m, faces, len(faces)/dataset.PixelCount, torch.CPU) // one batch, as fkd_torch.py runs them
			if spread := fkdtest.SpreadPx(want); spread < 0.5 {
				t.Fatalf("fkd's keypoints vary by %.2g px across the faces: too little to tell a wrong loader", spread)
			}
			outPath := filepath.Join(dir, "out.f32")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, "fkd_torch.py", path, facesPath, outPath)
			cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("fkd_torch.py: %v\n%s", err, out)
			}
			data, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			got := fkdtest.Float32s(data)
			if len(got) != len(want) {
				t.Fatalf("PyTorch gave %d coordinates, fkd %d", len(got), len(want))
			}
			worst, at := 0.0, 0
			for j := range got {
				if d := math.Abs(float64(got[j] - want[j])); d > worst || math.IsNaN(d) {
					worst, at = d, j
				}
			}
			if !(worst <= tolerancePx) {
				t.Fatalf("face %d coordinate %d: PyTorch %v px, fkd %v px (off by %.3g px, tolerance %g)",
					at/dataset.NumCoords, at%dataset.NumCoords, got[at], want[at], worst, tolerancePx)
			}
			t.Logf("largest difference from fkd %.2g px", worst)
		})
	}
}
