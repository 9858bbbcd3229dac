package models

import (
	"strconv"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

var tinyResNetArch = arch{
	summary: "small ResNet: stride-2 stem, four stages of basic residual blocks, global average pool, linear",
	defaults: map[string]string{
		"width":   "16",  // channels of the first stage; each later stage doubles them
		"blocks":  "2",   // basic blocks per stage
		"dropout": "0.2", // before the output layer
	},
	build: newTinyResNet,
}

// newTinyResNet builds a ResNet-18-like net scaled down for 96×96 faces:
//
//	stem       conv3x3/2 1→w BN ReLU, maxpool2      96 → 48 → 24
//	layer1..4  blocks× basic block, widths w, 2w, 4w, 8w; the first block
//	           of layers 2-4 has stride 2           24 → 12 → 6 → 3
//	head       global average pool, dropout, linear 8w → 30
func newTinyResNet(b *builder, p nn.Path, o *options) (nn.Module, error) {
	width := o.int("width", 4, 128)
	blocks := o.int("blocks", 1, 8)
	drop := o.prob("dropout")
	if o.err != nil {
		return nil, o.err
	}
	layers := []nn.Module{
		b.convBNReLU(p.Sub("stem"), 1, width, 3, 2),
		nn.MaxPool2d(2, 0, 0),
	}
	in := width
	for stage := range 4 {
		out := width << stage
		lp := p.Sub("layer" + strconv.Itoa(stage+1))
		for i := range blocks {
			stride := int64(1)
			if stage > 0 && i == 0 {
				stride = 2
			}
			layers = append(layers, b.basicBlock(lp.Sub(strconv.FormatInt(i, 10)), in, out, stride))
			in = out
		}
	}
	layers = append(layers,
		nn.AdaptiveAvgPool2d(1, 1),
		nn.Flatten(),
		nn.NewDropout(p, drop),
		b.output(p.Sub("fc"), in, 30),
	)
	return nn.NewSequential(layers...), nil
}

// basicBlock is ResNet's basic residual block: two 3×3 convolutions with
// batch normalisation, added to a shortcut and passed through a ReLU. The
// shortcut is the input itself, or a 1×1 convolution with batch
// normalisation when the block changes the width or the resolution.
type basicBlock struct {
	conv1, conv2 *convBN
	shortcut     *convBN // nil for the identity
}

func (b *builder) basicBlock(p nn.Path, in, out, stride int64) *basicBlock {
	blk := &basicBlock{
		conv1: b.convBNReLU(p.Sub("conv1"), in, out, 3, stride),
		conv2: b.convBNLinear(p.Sub("conv2"), out, out, 3, 1),
	}
	if stride != 1 || in != out {
		blk.shortcut = b.convBNLinear(p.Sub("shortcut"), in, out, 1, stride)
	}
	return blk
}

// Forward returns ReLU(conv2(conv1(x)) + shortcut(x)).
func (blk *basicBlock) Forward(x *torch.Tensor) *torch.Tensor {
	y := blk.conv2.Forward(blk.conv1.Forward(x))
	skip := x
	if blk.shortcut != nil {
		skip = blk.shortcut.Forward(x)
	}
	out := y.Add(skip)
	out.ReluInPlace() // the sum's gradient does not need the sum
	return out
}
