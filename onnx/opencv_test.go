//go:build !noopencv

package onnx_test

import (
	"fmt"

	"gocv.io/x/gocv"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/fkdtest"
)

func init() { runOpenCV = openCVPredict }

// openCVPredict runs the ONNX model at path on n faces x [n, 1, 96, 96]
// in OpenCV's DNN module (gocv's ReadNetFromONNX), on the CPU.
func openCVPredict(path string, x []float32, n int) ([]float32, error) {
	net := gocv.ReadNetFromONNX(path)
	if net.Empty() {
		return nil, fmt.Errorf("ReadNetFromONNX %s: no network", path)
	}
	defer net.Close()
	net.SetPreferableBackend(gocv.NetBackendOpenCV)
	net.SetPreferableTarget(gocv.NetTargetCPU)
	blob, err := gocv.NewMatWithSizesFromBytes([]int{n, 1, dataset.ImageSize, dataset.ImageSize}, gocv.MatTypeCV32F, fkdtest.Float32Bytes(x))
	if err != nil {
		return nil, err
	}
	defer blob.Close()
	net.SetInput(blob, "")
	out := net.Forward("")
	defer out.Close()
	if got, want := out.Total(), n*dataset.NumCoords; got != want {
		return nil, fmt.Errorf("OpenCV's output has %d values (sizes %v), want %d", got, out.Size(), want)
	}
	y, err := out.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), y...), nil
}
