package models

import (
	"strconv"

	"github.com/fkd-project/fkd/torch/nn"
)

var cnn3Arch = arch{
	summary: "three conv blocks (conv-BN-ReLU-maxpool-spatial dropout), 1x1 reduction, linear head on a 6x6 grid",
	defaults: map[string]string{
		"width":   "24",  // channels of the first block; the others have 2x and 5x
		"dropout": "0.1", // spatial dropout after each block
	},
	build: newCNN3,
}

// cnn3Reduce is the number of channels the head's 1×1 convolution keeps
// at each cell of the 6×6 grid.
const cnn3Reduce = 24

// newCNN3 builds the small baseline net:
//
//	features.0  conv3x3/2 1→w    BN ReLU maxpool2 dropout2d  96 → 48 → 24
//	features.1  conv3x3   w→2w   BN ReLU maxpool2 dropout2d  24 → 12
//	features.2  conv3x3   2w→5w  BN ReLU maxpool2 dropout2d  12 → 6
//	head.reduce conv1x1   5w→24  BN ReLU                      6×6
//	head.out    linear    24·36 → 30
//
// With w = 24 that is about 91k parameters. The first convolution has
// stride 2 and the widest block works on the 12×12 grid, which keeps the
// net cheap on a CPU; the head keeps the 6×6 layout of the features rather
// than averaging it away, since where a feature fires is what locates a
// keypoint.
func newCNN3(b *builder, p nn.Path, o *options) (nn.Module, error) {
	width := o.int("width", 4, 256)
	drop := o.prob("dropout")
	if o.err != nil {
		return nil, o.err
	}
	f := p.Sub("features")
	widths := []int64{1, width, 2 * width, 5 * width}
	var layers []nn.Module
	for i := range 3 {
		stride := int64(1)
		if i == 0 {
			stride = 2
		}
		bp := f.Sub(strconv.Itoa(i))
		layers = append(layers,
			b.convBNReLU(bp, widths[i], widths[i+1], 3, stride),
			nn.MaxPool2d(2, 0, 0),
			nn.NewDropout2d(bp, drop),
		)
	}
	h := p.Sub("head")
	layers = append(layers,
		b.convBNReLU(h.Sub("reduce"), widths[3], cnn3Reduce, 1, 1),
		nn.Flatten(),
		b.output(h.Sub("out"), cnn3Reduce*6*6, 30),
	)
	return nn.NewSequential(layers...), nil
}
