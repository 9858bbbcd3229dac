package models

import (
	"math"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// heatmapHead turns the finest pyramid level into one heatmap per
// keypoint and reads each keypoint's position off its heatmap by
// soft-argmax. A 3×3 convolution, spatial dropout and a 1×1 convolution
// give 15 maps of logits on the level's grid (24×24 cells of 4×4 pixels
// for a 96×96 face); each map, scaled by a learnt per-keypoint sharpness
// β = exp(logBeta), is a softmax over its cells, and the keypoint is the
// expected cell centre under it (see softArgmax). The output is the usual
// [N, 30] of normalised coordinates, so the loss, the masking of missing
// keypoints and everything downstream stay as for a regression head; the
// heatmaps themselves are learnt without supervision of their own.
//
// Unlike a regression head, which must learn the map from "where a
// feature fires" to a number, soft-argmax is that map: a keypoint can
// only land where its evidence is, and the same convolution finds it
// anywhere on the face.
type heatmapHead struct {
	reduce  *convBN
	drop    *nn.Dropout2d
	logits  *conv
	logBeta *torch.Tensor // [15]: log of each map's sharpness, 0 (β = 1) at first
}

// heatmapGain scales the initial logits: about heatmapGain for features
// of unit size, so that every softmax starts nearly uniform and, the
// cell centres being symmetric about 0, a new model predicts the face
// centre, as the models.Model contract asks.
const heatmapGain = 0.1

func newHeatmapHead(b *builder, p nn.Path, channels int64, drop float64) nn.Module {
	lp := p.Sub("logits")
	logits := nn.NewConv2d(lp, channels, dataset.NumKeypoints, 1, nn.Conv2dConfig{
		WeightInit: nn.Normal(0, heatmapGain/math.Sqrt(float64(channels))),
		BiasInit:   nn.Zeros(),
	})
	return &heatmapHead{
		reduce:  b.convBNReLU(p.Sub("reduce"), channels, channels, 3, 1),
		drop:    nn.NewDropout2d(p, drop),
		logits:  &conv{Conv2d: logits, macsPerOutput: channels, trace: b.trace},
		logBeta: p.Param("log_beta", []int64{dataset.NumKeypoints}, nn.Zeros()),
	}
}

// Forward maps features [N, channels, H, W] to [N, 30].
func (h *heatmapHead) Forward(x *torch.Tensor) *torch.Tensor {
	coords, _ := h.forwardMaps(x)
	return coords
}

// forwardMaps maps features [N, channels, H, W] to [N, 30] and returns
// the heatmaps they were read from, [N, 15, H, W], each a probability
// distribution over its cells.
func (h *heatmapHead) forwardMaps(x *torch.Tensor) (coords, maps *torch.Tensor) {
	z := h.logits.Forward(h.drop.Forward(h.reduce.Forward(x)))
	beta := h.logBeta.Exp().Reshape(1, dataset.NumKeypoints, 1, 1)
	maps = heatmapProbs(z.Mul(beta))
	return softArgmaxProbs(maps), maps
}

// softArgmax decodes heatmap logits [N, K, H, W] into coordinates
// [N, 2K], x then y of each map, normalised to [-1, 1]. Each map becomes
// a probability distribution over its cells by a softmax over all H·W of
// them, and the result is the expected position of a cell's centre: cell
// (i, j) of an H×W grid covers [j, j+1)·96/W × [i, i+1)·96/H pixels, so
// its centre is at normalised ((j + 0.5)/W)·2 - 1 across and
// ((i + 0.5)/H)·2 - 1 down, the convention of the model outputs (pixel c
// spans [c, c+1) and maps to (c - 48)/48). A map with one overwhelming
// cell gives that cell's centre; it is differentiable everywhere.
func softArgmax(logits *torch.Tensor) *torch.Tensor {
	return softArgmaxProbs(heatmapProbs(logits))
}

// heatmapProbs turns heatmap logits [N, K, H, W] into probabilities, a
// softmax over each map's H·W cells.
func heatmapProbs(logits *torch.Tensor) *torch.Tensor {
	n, k, h, w := logits.Size(0), logits.Size(1), logits.Size(2), logits.Size(3)
	return torch.Softmax(logits.Reshape(n, k, h*w), 2).Reshape(n, k, h, w)
}

// softArgmaxProbs is softArgmax of maps already turned into
// probabilities.
func softArgmaxProbs(p *torch.Tensor) *torch.Tensor {
	n, k, h, w := p.Size(0), p.Size(1), p.Size(2), p.Size(3)
	// Marginals across (sum over rows) and down (sum over columns).
	x := expectedCentre(p.SumDims([]int64{2}, false), w) // [N, K]
	y := expectedCentre(p.SumDims([]int64{3}, false), h)
	return torch.Stack([]*torch.Tensor{x, y}, 2).Reshape(n, 2*k)
}

// expectedCentre returns the expected normalised cell centre, [N, K], of
// marginal distributions p [N, K, cells] over a row or column of cells.
func expectedCentre(p *torch.Tensor, cells int64) *torch.Tensor {
	return p.Mul(CellCentres(cells, p.DType(), p.Device())).SumDims([]int64{2}, false)
}

// CellCentres returns the normalised centres of cells cells across the
// face, [cells]: (2j + 1)/cells - 1 for cell j, the positions soft-argmax
// averages over a heatmap's row or column.
func CellCentres(cells int64, dtype torch.DType, dev torch.Device) *torch.Tensor {
	// A division by cells rounds once.
	return torch.Arange(1, float64(2*cells), 2, dtype, dev).DivScalar(float64(cells)).SubScalar(1)
}

// Heatmaps runs m on faces x, as m.Forward does, and also returns the
// heatmaps its coordinates were read from: [N, 15, H, W], one per
// keypoint, each a probability distribution over its H·W cells (cell
// (i, j) centred at CellCentres(W)[j] across and CellCentres(H)[i]
// down). ok is false, and both results nil, for a model that reads no
// heatmaps (see HasHeatmaps).
func Heatmaps(m Model, x *torch.Tensor) (coords, maps *torch.Tensor, ok bool) {
	mm, isOurs := m.(*model)
	if !isOurs {
		return nil, nil, false
	}
	hn, isHeat := mm.net.(heatmapNet)
	if !isHeat || !hn.hasHeatmaps() {
		return nil, nil, false
	}
	mm.checkInput(x)
	coords, maps = hn.forwardHeatmaps(x)
	return coords, maps, true
}

// HasHeatmaps reports whether Heatmaps works for m: fpn and fpnheat with
// the heatmap head.
func HasHeatmaps(m Model) bool {
	mm, ok := m.(*model)
	if !ok {
		return false
	}
	hn, ok := mm.net.(heatmapNet)
	return ok && hn.hasHeatmaps()
}

// heatmapNet is a network that may read its coordinates off heatmaps.
type heatmapNet interface {
	hasHeatmaps() bool
	forwardHeatmaps(x *torch.Tensor) (coords, maps *torch.Tensor)
}
