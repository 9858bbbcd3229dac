package models

import (
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

// ConfidenceRadius is the radius, in pixels of the 96×96 face, within
// which PredictConfident sums a heatmap's probability.
const ConfidenceRadius = 6

// PredictConfident is Predict for a model that reads its keypoints off
// heatmaps (HasHeatmaps), which also returns a confidence for each
// keypoint: the share of its heatmap's probability that lies within
// ConfidenceRadius pixels of the keypoint read off it, in [0, 1]. A
// sharp, single peak gives nearly 1; a map spread over the face, or split
// between two places (an eye hidden, a face that is not there), gives
// little. conf holds n·15 values, face by face in dataset.Keypoints
// order. ok is false, and both results nil, for a model without heatmaps
// (a regression head has no such measure).
//
// For an ensemble (LoadEnsemble) whose members all read heatmaps, each
// member's confidence is measured about its own keypoints, and the
// ensemble's is their mean under the ensemble's weights.
func PredictConfident(m Model, images []uint8, batch int, dev torch.Device) (coords, conf []float32, ok bool) {
	members, weights := heatmapMembers(m)
	if members == nil {
		return nil, nil, false
	}
	n := len(images) / dataset.PixelCount
	coords = make([]float32, 0, n*dataset.NumCoords)
	conf = make([]float32, 0, n*dataset.NumKeypoints)
	forBatches(m, images, batch, dev, func(x *torch.Tensor, n int) {
		mixed := make([]float32, n*dataset.NumKeypoints)
		var sum *torch.Tensor // the coordinates, mixed as ensemble.Forward mixes them
		for i, member := range members {
			y, maps := member.forwardHeatmaps(x)
			switch {
			case len(members) == 1:
				sum = y
			case sum == nil:
				sum = y.MulScalar(weights[i])
			default:
				sum = sum.Add(y.MulScalar(weights[i]))
			}
			px := y.MulScalar(CoordScale).AddScalar(CoordCentre).Float32s()
			h, w := maps.Size(2), maps.Size(3)
			c := massNear(maps.ToDType(torch.Float32).Float32s(), px, n, int(h), int(w))
			for j := range mixed {
				mixed[j] += float32(weights[i]) * c[j]
			}
		}
		for j := range mixed {
			mixed[j] = min(max(mixed[j], 0), 1)
		}
		conf = append(conf, mixed...)
		coords = append(coords, sum.MulScalar(CoordScale).AddScalar(CoordCentre).Float32s()...)
	})
	return coords, conf, true
}

// massNear returns, for each of the n·15 heatmaps in probs ([n, 15, h,
// w], row-major, each summing to 1), the probability of the cells whose
// centres lie within ConfidenceRadius pixels of that map's keypoint in
// px ([n, 30] pixels, x then y).
func massNear(probs, px []float32, n, h, w int) []float32 {
	cellW := float64(dataset.ImageSize) / float64(w)
	cellH := float64(dataset.ImageSize) / float64(h)
	const r2 = ConfidenceRadius * ConfidenceRadius
	out := make([]float32, 0, n*dataset.NumKeypoints)
	for f := range n {
		for k := range dataset.NumKeypoints {
			kx := float64(px[f*dataset.NumCoords+2*k])
			ky := float64(px[f*dataset.NumCoords+2*k+1])
			m := probs[(f*dataset.NumKeypoints+k)*h*w:][:h*w]
			var sum float64
			for i := range h {
				dy := (float64(i)+0.5)*cellH - ky
				for j := range w {
					dx := (float64(j)+0.5)*cellW - kx
					if dx*dx+dy*dy <= r2 {
						sum += float64(m[i*w+j])
					}
				}
			}
			out = append(out, float32(min(sum, 1)))
		}
	}
	return out
}

// heatmapMembers returns the networks whose heatmaps give m's
// confidences, with their weights: m's own network, or every member of an
// ensemble; nil when m, or any member, reads no heatmaps.
func heatmapMembers(m Model) ([]heatmapNet, []float64) {
	switch mm := m.(type) {
	case *model:
		if hn, ok := mm.net.(heatmapNet); ok && hn.hasHeatmaps() {
			return []heatmapNet{hn}, []float64{1}
		}
	case *ensemble:
		nets := make([]heatmapNet, len(mm.nets))
		for i, net := range mm.nets {
			hn, ok := net.(heatmapNet)
			if !ok || !hn.hasHeatmaps() {
				return nil, nil
			}
			nets[i] = hn
		}
		return nets, mm.weights
	}
	return nil, nil
}

// HasConfidence reports whether PredictConfident measures confidences
// for m: a model that reads heatmaps, or an ensemble of such models.
func HasConfidence(m Model) bool {
	members, _ := heatmapMembers(m)
	return members != nil
}
