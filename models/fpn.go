package models

import (
	"maps"
	"slices"
	"strconv"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

var fpnArch = arch{
	summary: "feature pyramid: 7x7 stem, three 3x3 stages, top-down path with lateral 1x1s, swappable head",
	defaults: map[string]string{
		"width":    "16",         // stem channels; the stages have 2x, 4x and 8x
		"channels": "32",         // channels of the pyramid (top-down path)
		"dropout":  "0.1",        // in the head
		"head":     "regression", // what turns the finest pyramid level into coordinates
		"maps":     "24",         // side of the finest level, which the head reads: 24, or 48 with one more upsampling stage
	},
	build: newFPN,
}

// fpnHeatArch is fpn with the heatmap head by default: trained alike, it
// beat the regression head on the hold-out faces (docs/results/README.md).
var fpnHeatArch = arch{
	summary:  "fpn with the heatmap head: a 24x24 (maps=48: 48x48) heatmap per keypoint, decoded by soft-argmax",
	defaults: withDefault(fpnArch.defaults, "head", "heatmap"),
	build:    newFPN,
}

// withDefault returns a copy of defaults with key set to value.
func withDefault(defaults map[string]string, key, value string) map[string]string {
	d := maps.Clone(defaults)
	d[key] = value
	return d
}

// fpnHeads are the heads an fpn can end with. Each maps the finest level
// of the pyramid, [N, channels, 24, 24] (48, 48 with maps=48), to the 30
// normalised coordinates:
// "regression" regresses them from a pooled grid of features (see
// regressionHead), "heatmap" reads them off one heatmap per keypoint by
// soft-argmax (see heatmapHead).
var fpnHeads = map[string]func(b *builder, p nn.Path, channels int64, drop float64) nn.Module{
	"regression": newRegressionHead,
	"heatmap":    newHeatmapHead,
}

// fpn is a feature pyramid network (Lin et al., 2017) sized for 96×96
// faces. The bottom-up path
//
//	stem   conv7x7/2 1→w BN ReLU                            96 → 48
//	stage1 conv3x3/2 w→2w, conv3x3 2w→2w (BN ReLU each)     48 → 24  (C1)
//	stage2 conv3x3/2 2w→4w, conv3x3 4w→4w                   24 → 12  (C2)
//	stage3 conv3x3/2 4w→8w, conv3x3 8w→8w                   12 → 6   (C3)
//
// feeds a top-down path whose width is the "channels" option: P3 is
// lateral(C3), and each finer level Pi is lateral(Ci) plus P(i+1)
// upsampled ×2 (nearest), the laterals being 1×1 convolutions. A 3×3
// convolution smooths the finest level, P1 (24×24), which goes to the head.
// With maps=48 the path goes one stage further: P0 (48×48) is
// lateral(stem) plus P1 upsampled, and it is P0 that is smoothed and goes
// to the head, a heatmap head then drawing 48×48 maps of 2×2-pixel cells.
type fpn struct {
	stem     *convBN
	stages   [3]*nn.Sequential
	laterals [3]*conv
	stemLat  *conv // lateral0, from the stem; nil unless maps=48
	smooth   *convBN
	head     nn.Module
}

// fpnMaps are the sides the finest pyramid level may have.
var fpnMaps = []string{"24", "48"}

func newFPN(b *builder, p nn.Path, o *options) (nn.Module, error) {
	width := o.int("width", 4, 128)
	channels := o.int("channels", 4, 256)
	drop := o.prob("dropout")
	headName := o.choice("head", slices.Sorted(maps.Keys(fpnHeads))...)
	side := o.choice("maps", fpnMaps...)
	if o.err != nil {
		return nil, o.err
	}
	n := &fpn{stem: b.convBNReLU(p.Sub("stem"), 1, width, 7, 2)}
	if side == "48" {
		n.stemLat = b.conv(p.Sub("lateral0"), width, channels, 1, 1, true)
	}
	in := width
	for i := range n.stages {
		out := width << (i + 1)
		sp := p.Sub("stage" + strconv.Itoa(i+1))
		n.stages[i] = nn.NewSequential(
			b.convBNReLU(sp.Sub("0"), in, out, 3, 2),
			b.convBNReLU(sp.Sub("1"), out, out, 3, 1),
		)
		// The laterals have a bias: no normalisation follows them.
		n.laterals[i] = b.conv(p.Sub("lateral"+strconv.Itoa(i+1)), out, channels, 1, 1, true)
		in = out
	}
	n.smooth = b.convBNReLU(p.Sub("smooth"), channels, channels, 3, 1)
	n.head = fpnHeads[headName](b, p.Sub("head"), channels, drop)
	return n, nil
}

// Forward runs the bottom-up path, the top-down path and the head.
func (n *fpn) Forward(x *torch.Tensor) *torch.Tensor {
	return n.head.Forward(n.finest(x))
}

func (n *fpn) hasHeatmaps() bool {
	_, ok := n.head.(*heatmapHead)
	return ok
}

// forwardHeatmaps is Forward with the heatmap head's maps.
func (n *fpn) forwardHeatmaps(x *torch.Tensor) (coords, maps *torch.Tensor) {
	return n.head.(*heatmapHead).forwardMaps(n.finest(x))
}

// finest runs the bottom-up path and the top-down path and returns the
// smoothed finest level, which the head reads.
func (n *fpn) finest(x *torch.Tensor) *torch.Tensor {
	var c [3]*torch.Tensor
	stem := n.stem.Forward(x)
	x = stem
	for i, s := range n.stages {
		x = s.Forward(x)
		c[i] = x
	}
	top := n.laterals[2].Forward(c[2])
	for i := 1; i >= 0; i-- {
		top = topDown(n.laterals[i].Forward(c[i]), top)
	}
	if n.stemLat != nil {
		top = topDown(n.stemLat.Forward(stem), top)
	}
	return n.smooth.Forward(top)
}

// topDown returns a level of the top-down path: the lateral features lat
// plus the coarser level top upsampled to their size (nearest).
func topDown(lat, top *torch.Tensor) *torch.Tensor {
	return lat.Add(torch.Interpolate(top, lat.Size(2), lat.Size(3), torch.Nearest, false))
}

// regressionHead regresses the coordinates directly from the finest
// pyramid level: a 1×1 convolution down to a few channels, average
// pooling to a 12×12 grid (which keeps where features fire), dropout and
// a linear layer.
type regressionHead struct {
	reduce *convBN
	drop   *nn.Dropout
	out    *linear
}

// regressionReduce and regressionGrid size the regression head's input to
// the output layer: regressionReduce channels on a regressionGrid² grid.
const (
	regressionReduce = 16
	regressionGrid   = 12
)

func newRegressionHead(b *builder, p nn.Path, channels int64, drop float64) nn.Module {
	return &regressionHead{
		reduce: b.convBNReLU(p.Sub("reduce"), channels, regressionReduce, 1, 1),
		drop:   nn.NewDropout(p, drop),
		out:    b.output(p.Sub("out"), regressionReduce*regressionGrid*regressionGrid, 30),
	}
}

// Forward maps features [N, channels, H, W] to [N, 30].
func (h *regressionHead) Forward(x *torch.Tensor) *torch.Tensor {
	y := flattenGrid(regressionGrid)(h.reduce.Forward(x))
	return h.out.Forward(h.drop.Forward(y))
}
