package onnx

import (
	"fmt"
	"math"
	"strconv"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch/nn"
)

// The layouts below mirror the forward passes of package models, layer by
// layer, reading each layer's weights by its state-dict name from the
// model's store. The tests hold every architecture's exported graph to
// models.Predict, so that a change of the models shows here.

// bnEps is the ε of every batch normalisation of package models (nn's
// default).
const bnEps = 1e-5

// regressionGrid is the side of the grid the fpn regression head pools
// its features to before the output layer (models' regressionGrid).
const regressionGrid = 12

// archs are the architectures Export knows: each writes the network of a
// member, in evaluation mode, from the faces x to the normalised
// coordinates [N, 30], and returns the name of the coordinates.
var archs = map[string]func(n *net, x string, opts map[string]string) string{
	"cnn3":       cnn3,
	"tinyresnet": tinyResNet,
	"fpn":        fpn,
	"fpnheat":    fpn,
}

// exportError is what the writers of a network panic with when a model
// cannot be written; Build recovers it.
type exportError struct{ err error }

// net writes one member's network into a graph, reading its weights from
// store. Its initializers are named prefix + the weight's name, so that a
// network written twice (once per view of a test-time augmentation)
// shares them.
type net struct {
	g      *graph
	store  *nn.Store
	prefix string
}

func (n *net) fail(format string, args ...any) {
	panic(exportError{fmt.Errorf(format, args...)})
}

// weight returns the values and the shape of the tensor called name.
func (n *net) weight(name string) ([]float32, []int64) {
	t, ok := n.store.Get(name)
	if !ok {
		n.fail("the model has no tensor %q", name)
	}
	return t.Float32s(), t.Shape()
}

// conv writes a convolution with a bias, "same" padding (kernel/2) and
// the given stride; p names its weights (p.weight, p.bias).
func (n *net) conv(x, p string, stride int64) string {
	w, shape := n.weight(p + ".weight")
	b, _ := n.weight(p + ".bias")
	return n.convWith(x, p, w, shape, b, stride)
}

// convWith is conv with the weights w [shape] and bias b given; both may
// be nil when the network was written before (for another view), whose
// initializers it then reads.
func (n *net) convWith(x, p string, w []float32, shape []int64, b []float32, stride int64) string {
	if len(shape) != 4 || shape[2] != shape[3] {
		n.fail("%s.weight has shape %v, want a square convolution kernel", p, shape)
	}
	k := shape[2]
	wName := n.g.floats(n.prefix+p+".weight", shape, w)
	bName := n.g.floats(n.prefix+p+".bias", shape[:1], b)
	return n.g.node("Conv", []string{x, wName, bName},
		intsAttr("kernel_shape", k, k),
		intsAttr("strides", stride, stride),
		intsAttr("pads", k/2, k/2, k/2, k/2),
	)
}

// convBN writes models' convBN, conv → BN (→ ReLU unless linear), as one
// convolution: the batch normalisation, in evaluation mode an affine map
// per channel, is folded into the convolution's weights and bias.
func (n *net) convBN(x, p string, stride int64, linear bool) string {
	name := p + ".conv"
	w, shape := n.weight(name + ".weight")
	var folded, bias []float32
	if !n.g.has(n.prefix + name + ".weight") { // else written for another view
		gamma, _ := n.weight(p + ".bn.weight")
		beta, _ := n.weight(p + ".bn.bias")
		mean, _ := n.weight(p + ".bn.running_mean")
		variance, _ := n.weight(p + ".bn.running_var")
		out := int(shape[0])
		if len(gamma) != out || len(beta) != out || len(mean) != out || len(variance) != out {
			n.fail("%s.bn has %d channels, its convolution %d", p, len(gamma), out)
		}
		per := len(w) / out
		folded = make([]float32, len(w))
		bias = make([]float32, out)
		for c := range out {
			scale := float64(gamma[c]) / math.Sqrt(float64(variance[c])+bnEps)
			for i := range per {
				folded[c*per+i] = float32(float64(w[c*per+i]) * scale)
			}
			bias[c] = float32(float64(beta[c]) - float64(mean[c])*scale)
		}
	}
	y := n.convWith(x, name, folded, shape, bias, stride)
	if linear {
		return y
	}
	return n.g.node("Relu", []string{y})
}

// linear writes an nn.Linear, y = x·Wᵀ + b, as a Gemm; x is [N, in].
func (n *net) linear(x, p string) string {
	w, shape := n.weight(p + ".weight")
	b, _ := n.weight(p + ".bias")
	wName := n.g.floats(n.prefix+p+".weight", shape, w)
	bName := n.g.floats(n.prefix+p+".bias", shape[:1], b)
	return n.g.node("Gemm", []string{x, wName, bName}, intAttr("transB", 1))
}

func (n *net) maxPool2(x string) string {
	return n.g.node("MaxPool", []string{x}, intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2))
}

// cnn3 writes models' cnn3: three conv blocks, each conv-BN-ReLU and a
// 2×2 max-pool (the spatial dropout is off in evaluation), a 1×1
// reduction and a linear layer on the flattened 6×6 grid.
func cnn3(n *net, x string, _ map[string]string) string {
	for i := range 3 {
		stride := int64(1)
		if i == 0 {
			stride = 2
		}
		x = n.maxPool2(n.convBN(x, "features."+strconv.Itoa(i), stride, false))
	}
	x = n.convBN(x, "head.reduce", 1, false)
	x = n.g.node("Flatten", []string{x}, intAttr("axis", 1))
	return n.linear(x, "head.out")
}

// tinyResNet writes models' tinyresnet: a stride-2 stem and a max-pool,
// four stages of basic blocks, global average pooling and a linear layer.
func tinyResNet(n *net, x string, opts map[string]string) string {
	blocks, err := strconv.Atoi(opts["blocks"])
	if err != nil {
		n.fail("tinyresnet option blocks=%q: %v", opts["blocks"], err)
	}
	x = n.maxPool2(n.convBN(x, "stem", 2, false))
	for stage := range 4 {
		for i := range blocks {
			stride := int64(1)
			if stage > 0 && i == 0 {
				stride = 2
			}
			p := "layer" + strconv.Itoa(stage+1) + "." + strconv.Itoa(i)
			y := n.convBN(n.convBN(x, p+".conv1", stride, false), p+".conv2", 1, true)
			skip := x
			if _, ok := n.store.Get(p + ".shortcut.conv.weight"); ok {
				skip = n.convBN(x, p+".shortcut", stride, true)
			}
			x = n.g.node("Relu", []string{n.g.node("Add", []string{y, skip})})
		}
	}
	x = n.g.node("Flatten", []string{n.g.node("GlobalAveragePool", []string{x})}, intAttr("axis", 1))
	return n.linear(x, "fc")
}

// fpn writes models' fpn and fpnheat: the bottom-up path, the top-down
// path with nearest ×2 upsampling (maps=48: one stage further, from the
// stem) and the head the "head" option names.
func fpn(n *net, x string, opts map[string]string) string {
	stem := n.convBN(x, "stem", 2, false)
	var c [3]string
	x = stem
	for i := range c {
		sp := "stage" + strconv.Itoa(i+1)
		x = n.convBN(n.convBN(x, sp+".0", 2, false), sp+".1", 1, false)
		c[i] = x
	}
	top := n.conv(c[2], "lateral3", 1)
	for i := 1; i >= 0; i-- {
		top = n.topDown(n.conv(c[i], "lateral"+strconv.Itoa(i+1), 1), top)
	}
	side := int64(24)
	switch opts["maps"] {
	case "24":
	case "48":
		top = n.topDown(n.conv(stem, "lateral0", 1), top)
		side = 48
	default:
		n.fail("fpn option maps=%q: want 24 or 48", opts["maps"])
	}
	finest := n.convBN(top, "smooth", 1, false)
	switch opts["head"] {
	case "regression":
		y := n.convBN(finest, "head.reduce", 1, false)
		k := side / regressionGrid // adaptive pooling to the grid: k×k cells
		y = n.g.node("AveragePool", []string{y}, intsAttr("kernel_shape", k, k), intsAttr("strides", k, k))
		y = n.g.node("Flatten", []string{y}, intAttr("axis", 1))
		return n.linear(y, "head.out")
	case "heatmap":
		return n.heatmapHead(finest, side)
	}
	n.fail("fpn option head=%q: want regression or heatmap", opts["head"])
	return ""
}

// topDown writes lat + the coarser level top upsampled ×2 (nearest,
// pixel i of the result being pixel floor(i/2) of top, as LibTorch's
// nearest interpolation has it).
func (n *net) topDown(lat, top string) string {
	roi := n.g.floats("resize.roi", []int64{0}, nil)
	scales := n.g.floats("resize.scales2", []int64{4}, []float32{1, 1, 2, 2})
	up := n.g.node("Resize", []string{top, roi, scales},
		stringAttr("mode", "nearest"),
		stringAttr("coordinate_transformation_mode", "asymmetric"),
		stringAttr("nearest_mode", "floor"),
	)
	return n.g.node("Add", []string{lat, up})
}

// heatmapHead writes models' heatmap head on the finest level, side×side:
// conv-BN-ReLU, the logits' 1×1 convolution (its weights and bias scaled
// by each map's sharpness exp(log_beta), so that the logits come out
// multiplied by it), a softmax over each map's cells and the expected cell
// centre. The maps are reshaped to [N·15, side²] and the expectation is
// one product with the [side², 2] grid of cell centres, shapes that
// OpenCV's importer takes (it refuses a 3-D MatMul and opset 13's
// ReduceSum).
func (n *net) heatmapHead(x string, side int64) string {
	x = n.convBN(x, "head.reduce", 1, false)
	p := "head.logits"
	w, shape := n.weight(p + ".weight")
	b, _ := n.weight(p + ".bias")
	logBeta, _ := n.weight("head.log_beta")
	k := int(shape[0])
	if k != dataset.NumKeypoints || len(logBeta) != k {
		n.fail("%s has %d maps and %d sharpnesses, want %d", p, k, len(logBeta), dataset.NumKeypoints)
	}
	if !n.g.has(n.prefix + p + ".weight") {
		per := len(w) / k
		for c := range k {
			beta := math.Exp(float64(logBeta[c]))
			for i := range per {
				w[c*per+i] = float32(float64(w[c*per+i]) * beta)
			}
			b[c] = float32(float64(b[c]) * beta)
		}
	}
	z := n.convWith(x, p, w, shape, b, 1)
	cells := side * side
	z = n.g.node("Reshape", []string{z, n.g.ints("shape.cells"+strconv.FormatInt(side, 10), -1, cells)})
	probs := n.g.node("Softmax", []string{z}, intAttr("axis", 1))
	xy := n.g.node("MatMul", []string{probs, n.g.floats("centres"+strconv.FormatInt(side, 10), []int64{cells, 2}, cellGrid(side))})
	return n.g.node("Reshape", []string{xy, n.g.ints("shape.coords", -1, dataset.NumCoords)})
}

// cellGrid returns the normalised centres of the cells of a side×side
// heatmap, [side², 2], x then y of cell (i, j) at row i·side + j, as
// models.CellCentres computes them.
func cellGrid(side int64) []float32 {
	centre := make([]float32, side)
	for j := range centre {
		// As CellCentres: (2j + 1)/side - 1, in float32 steps.
		centre[j] = float32(2*j+1)/float32(side) - 1
	}
	g := make([]float32, 0, 2*side*side)
	for i := range side {
		for j := range side {
			g = append(g, centre[j], centre[i])
		}
	}
	return g
}

// specOf returns the architecture of a member, refusing one that Export
// cannot write.
func specOf(m models.Model) (models.Spec, error) {
	spec := m.Spec()
	if _, ok := archs[spec.Arch]; !ok {
		return spec, fmt.Errorf("%w: architecture %q (ONNX export knows cnn3, fpn, fpnheat and tinyresnet)", ErrUnsupported, spec.Arch)
	}
	return spec, nil
}
