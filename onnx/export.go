// Package onnx writes fkd's models and ensembles as ONNX models, for ONNX
// Runtime, OpenCV's DNN module and the other runtimes that read ONNX.
//
// # The exported model
//
// One input, "faces": float32 [N, 1, 96, 96], grey levels divided by 255
// (models.Input, "pixel/255"), rows from the top, N free. One output,
// "keypoints": float32 [N, 30], the Kaggle coordinates in pixels, x then
// y of each keypoint in dataset.CoordNames order, the centre of pixel
// column c (from 0) at x = c + 1, as fkd submit writes them. The model's
// metadata_props say so ("fkd.input", "fkd.output") and name the 30
// outputs ("fkd.keypoints", a JSON list), the members and their weights
// ("fkd.members") and the test-time augmentation ("fkd.tta").
//
// # Graph
//
// The graph uses opset 11 (IR version 6), which both ONNX Runtime and the
// importer of OpenCV 4.6 read: Conv, Relu, MaxPool, AveragePool,
// GlobalAveragePool, Add, Resize (nearest), Flatten, Reshape, Softmax,
// MatMul, Gemm and Transpose. Batch normalisation, in evaluation mode an
// affine map per channel, is folded into the convolution before it, and
// dropout, off in evaluation, is left out. An ensemble is one graph: every
// member's network on the same input, its keypoints weighted and summed. A
// test-time augmentation (eval.TTA) is part of the graph too: each view
// of the faces (mirrored by a product with a permutation matrix, shifted
// likewise) runs through the networks, and its keypoints are mapped back
// (the left and right keypoints swapped, x mirrored) before the mean.
package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/onnx/onnxpb"
)

// Opset is the version of the ONNX operator set the models use, and
// IRVersion the ONNX file format's version that goes with it.
const (
	Opset     = 11
	IRVersion = 6
)

// Names of the graph's input and output.
const (
	InputName  = "faces"
	OutputName = "keypoints"
)

// Conventions of the exported model's input and output, as its
// metadata_props record them.
const (
	InputConvention  = "float32 [N,1,96,96]: grey levels divided by 255 (pixel/255), rows from the top"
	OutputConvention = "float32 [N,30]: Kaggle pixel coordinates, x then y of each keypoint (fkd.keypoints), the centre of pixel column c (from 0) at x = c+1"
)

// ErrUnsupported is wrapped by the error for a model that Write cannot
// export, such as one of an architecture it does not know.
var ErrUnsupported = errors.New("cannot be exported to ONNX")

// Member is one network of the exported model with its weight.
type Member struct {
	Model models.Model // as models.Load returns it, not an ensemble
	// Weight is the member's share of the keypoints. Weights must be
	// non-negative with a positive sum; they are scaled to sum to 1.
	Weight float64
}

// Options are the choices of an export.
type Options struct {
	// TTA is the test-time augmentation the model predicts with, as
	// eval.WithTTA does; eval.NoTTA for none.
	TTA eval.TTA
	// Producer is the producer_version recorded, such as fkd's version.
	Producer string
	// Metadata are added to the model's metadata_props.
	Metadata map[string]string
}

// Write writes members, one model or an ensemble, as one ONNX model to w
// (see the package comment). A member Write cannot export is an error
// wrapping ErrUnsupported, returned before anything is written.
func Write(w io.Writer, members []Member, opts Options) error {
	m, err := Build(members, opts)
	if err != nil {
		return err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode ONNX model: %w", err)
	}
	_, err = w.Write(data)
	return err
}

// Build returns the ONNX model Write writes.
func Build(members []Member, opts Options) (m *onnxpb.ModelProto, err error) {
	if len(members) == 0 {
		return nil, errors.New("ONNX export: no model")
	}
	weights := make([]float64, len(members))
	for i, mb := range members {
		weights[i] = mb.Weight
	}
	if weights, err = models.NormaliseWeights(weights, len(members)); err != nil {
		return nil, fmt.Errorf("ONNX export: %w", err)
	}
	type described struct {
		Spec   string  `json:"spec"`
		Weight float64 `json:"weight"`
	}
	var desc []described
	specs := make([]models.Spec, len(members))
	for i, mb := range members {
		if specs[i], err = specOf(mb.Model); err != nil {
			return nil, err
		}
		desc = append(desc, described{specs[i].String(), weights[i]})
	}
	vs, err := views(opts.TTA)
	if err != nil {
		return nil, err
	}

	g := newGraph("fkd")
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exportError)
			if !ok {
				panic(r)
			}
			m, err = nil, fmt.Errorf("%w: %w", ErrUnsupported, e.err)
		}
	}()
	var sum string
	bias := make([]float32, dataset.NumCoords)
	for c := range bias {
		bias[c] = models.CoordCentre
	}
	for vi, v := range vs {
		x := v.faces(g, InputName)
		mapBack, shift := v.coordMap()
		for c := range bias {
			bias[c] += float32(models.CoordScale * shift[c] / float64(len(vs)))
		}
		for i, mb := range members {
			n := &net{g: g, store: mb.Model.Store(), prefix: "m" + strconv.Itoa(i) + "/"}
			y := archs[specs[i].Arch](n, x, specs[i].Options)
			// The member's share of the keypoints in pixels.
			scale := weights[i] / float64(len(vs)) * models.CoordScale
			mat := make([]float32, len(mapBack))
			for j, a := range mapBack {
				mat[j] = float32(a * scale)
			}
			name := fmt.Sprintf("out.m%d.v%d", i, vi)
			mName := g.floats(name, []int64{dataset.NumCoords, dataset.NumCoords}, mat)
			term := g.node("MatMul", []string{y, mName})
			if sum == "" {
				sum = term
			} else {
				sum = g.node("Add", []string{sum, term})
			}
		}
	}
	g.node("Add", []string{sum, g.floats("out.bias", []int64{dataset.NumCoords}, bias)})
	g.pb.Node[len(g.pb.Node)-1].Output[0] = OutputName // the last node writes the output
	g.pb.Input = []*onnxpb.ValueInfoProto{{Name: proto.String(InputName), Type: faceTensor(1, dataset.ImageSize, dataset.ImageSize)}}
	g.pb.Output = []*onnxpb.ValueInfoProto{{Name: proto.String(OutputName), Type: faceTensor(dataset.NumCoords)}}

	names := dataset.CoordNames()
	keypoints, _ := json.Marshal(names[:])
	membersJSON, _ := json.Marshal(desc)
	meta := map[string]string{
		"fkd.keypoints": string(keypoints),
		"fkd.input":     InputConvention,
		"fkd.output":    OutputConvention,
		"fkd.members":   string(membersJSON),
		"fkd.tta":       opts.TTA.String(),
	}
	for k, v := range opts.Metadata {
		meta[k] = v
	}
	m = &onnxpb.ModelProto{
		IrVersion:       proto.Int64(IRVersion),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName:    proto.String("fkd"),
		ProducerVersion: proto.String(opts.Producer),
		DocString:       proto.String("fkd facial keypoints: " + InputName + " " + InputConvention + "; " + OutputName + " " + OutputConvention),
		Graph:           g.pb,
	}
	for _, k := range sortedKeys(meta) {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	return m, nil
}
