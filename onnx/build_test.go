package onnx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/onnx"
	"github.com/fkd-project/fkd/onnx/onnxpb"
	"github.com/fkd-project/fkd/torch"
)

// openCVOps are the operators the graphs may use: those OpenCV 4.6's
// importer reads at opset 11 (and ONNX Runtime reads them all).
var openCVOps = []string{"Add", "AveragePool", "Conv", "Flatten", "Gemm", "GlobalAveragePool",
	"MatMul", "MaxPool", "Relu", "Reshape", "Resize", "Softmax", "Transpose"}

// TestBuildGraph checks the interface of the exported graphs, which needs
// no runtime: opset, input and output with a free batch dimension, the
// metadata, and only operators from openCVOps.
func TestBuildGraph(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		specs []string
		tta   eval.TTA
	}{
		{[]string{"cnn3:width=4"}, eval.NoTTA},
		{[]string{"tinyresnet:width=4,blocks=1"}, eval.FlipTTA},
		{[]string{"fpn:width=4,channels=8,maps=48"}, eval.NoTTA},
		{[]string{"fpnheat:width=4,channels=8", "cnn3:width=4"}, eval.FlipShiftTTA},
	}
	for ti, tt := range tests {
		t.Run(fmt.Sprint(tt.specs, tt.tta), func(t *testing.T) {
			var members []onnx.Member
			for i, s := range tt.specs {
				path := filepath.Join(dir, fmt.Sprintf("%d-%d.pt", ti, i))
				fkdtest.SaveRandom(t, s, uint64(i+1), path)
				m, _, err := models.Load(path, torch.CPU)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Store().Free()
				members = append(members, onnx.Member{Model: m, Weight: float64(i + 1)})
			}
			var buf bytes.Buffer
			if err := onnx.Write(&buf, members, onnx.Options{TTA: tt.tta, Metadata: map[string]string{"extra": "1"}}); err != nil {
				t.Fatal(err)
			}
			var m onnxpb.ModelProto
			if err := proto.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if m.GetIrVersion() != onnx.IRVersion || len(m.OpsetImport) != 1 || m.OpsetImport[0].GetVersion() != onnx.Opset {
				t.Errorf("IR version %d, opsets %v", m.GetIrVersion(), m.OpsetImport)
			}
			g := m.GetGraph()
			checkValue(t, g.Input, onnx.InputName, 1, dataset.ImageSize, dataset.ImageSize)
			checkValue(t, g.Output, onnx.OutputName, dataset.NumCoords)
			for _, n := range g.Node {
				if !slices.Contains(openCVOps, n.GetOpType()) {
					t.Errorf("node %s: operator %s is not one OpenCV 4.6 reads", n.GetName(), n.GetOpType())
				}
			}
			meta := map[string]string{}
			for _, p := range m.MetadataProps {
				meta[p.GetKey()] = p.GetValue()
			}
			var names []string
			want := dataset.CoordNames()
			if err := json.Unmarshal([]byte(meta["fkd.keypoints"]), &names); err != nil || !slices.Equal(names, want[:]) {
				t.Errorf("fkd.keypoints %q (%v)", meta["fkd.keypoints"], err)
			}
			var desc []struct {
				Spec   string
				Weight float64
			}
			if err := json.Unmarshal([]byte(meta["fkd.members"]), &desc); err != nil || len(desc) != len(tt.specs) {
				t.Errorf("fkd.members %q (%v)", meta["fkd.members"], err)
			}
			if meta["fkd.tta"] != tt.tta.String() || meta["fkd.input"] != onnx.InputConvention ||
				meta["fkd.output"] != onnx.OutputConvention || meta["extra"] != "1" {
				t.Errorf("metadata %v", meta)
			}
		})
	}
}

// checkValue checks that values is one float tensor called name of shape
// [N, dims...] with N free.
func checkValue(t *testing.T, values []*onnxpb.ValueInfoProto, name string, dims ...int64) {
	t.Helper()
	if len(values) != 1 || values[0].GetName() != name {
		t.Fatalf("values %v, want one called %s", values, name)
	}
	tt := values[0].GetType().GetTensorType()
	if tt.GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
		t.Errorf("%s: element type %d, want float", name, tt.GetElemType())
	}
	d := tt.GetShape().GetDim()
	if len(d) != len(dims)+1 || d[0].GetDimParam() != "N" {
		t.Fatalf("%s: shape %v, want [N %v]", name, d, dims)
	}
	for i, want := range dims {
		if d[i+1].GetDimValue() != want {
			t.Errorf("%s: dimension %d is %v, want %d", name, i+1, d[i+1], want)
		}
	}
}
