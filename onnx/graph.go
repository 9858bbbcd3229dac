package onnx

import (
	"encoding/binary"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/fkd-project/fkd/onnx/onnxpb"
)

// graph collects the nodes and initializers of one ONNX graph. Every
// method returns the name of the value it made, so that the network reads
// as a chain of calls, as a PyTorch forward does.
type graph struct {
	pb    *onnxpb.GraphProto
	nodes int             // nodes made so far, for unique names
	inits map[string]bool // names of the initializers made so far
}

func newGraph(name string) *graph {
	return &graph{pb: &onnxpb.GraphProto{Name: proto.String(name)}, inits: map[string]bool{}}
}

// node adds one node of op reading inputs and returns its output's name.
func (g *graph) node(op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	g.nodes++
	id := strconv.Itoa(g.nodes)
	out := op + "_" + id
	g.pb.Node = append(g.pb.Node, &onnxpb.NodeProto{
		Name:      proto.String(op + id),
		OpType:    proto.String(op),
		Input:     inputs,
		Output:    []string{out},
		Attribute: attrs,
	})
	return out
}

// has reports whether an initializer called name was made.
func (g *graph) has(name string) bool { return g.inits[name] }

// floats adds a float32 initializer called name with the given shape and
// values, unless one of that name exists, and returns name.
func (g *graph) floats(name string, shape []int64, values []float32) string {
	if g.inits[name] {
		return name
	}
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	g.add(&onnxpb.TensorProto{
		Name:     proto.String(name),
		Dims:     shape,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		RawData:  raw,
	})
	return name
}

// ints adds an int64 initializer called name with the given values, a
// vector, unless one of that name exists, and returns name.
func (g *graph) ints(name string, values ...int64) string {
	if g.inits[name] {
		return name
	}
	g.add(&onnxpb.TensorProto{
		Name:      proto.String(name),
		Dims:      []int64{int64(len(values))},
		DataType:  proto.Int32(int32(onnxpb.TensorProto_INT64)),
		Int64Data: values,
	})
	return name
}

func (g *graph) add(t *onnxpb.TensorProto) {
	g.inits[t.GetName()] = true
	g.pb.Initializer = append(g.pb.Initializer, t)
}

// faceTensor is the type of a float tensor whose first dimension is the
// batch ("N") and whose other dimensions are dims.
func faceTensor(dims ...int64) *onnxpb.TypeProto {
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
		{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
	}}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d},
		})
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		Shape:    shape,
	}}}
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func intsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func stringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}
