package augment

import (
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

// Copies returns n copies of the first face of s, all but the first
// perturbed by Apply with o after seeding LibTorch's generator with seed,
// flattened in the package's conventions: grey levels in [0, 1] [n, 96,
// 96], normalised coordinates and their mask [n, 30]. It is what fkd
// augment-preview draws.
func Copies(s *dataset.Set, n int, o Options, seed uint64) (images, coords, mask []float32) {
	images = make([]float32, 0, n*dataset.PixelCount)
	coords = make([]float32, 0, n*dataset.NumCoords)
	mask = make([]float32, 0, n*dataset.NumCoords)
	c, m := s.Keypoints(0)
	for range n {
		for _, v := range s.Image(0) {
			images = append(images, float32(v)/255)
		}
		for i, ok := range m {
			if ok {
				coords = append(coords, (c[i]-dataset.ImageSize/2)/(dataset.ImageSize/2))
				mask = append(mask, 1)
			} else {
				coords = append(coords, 0)
				mask = append(mask, 0)
			}
		}
	}
	if n <= 1 {
		return images, coords, mask
	}
	torch.WithScope(func() {
		x := torch.FromFloat32(images[dataset.PixelCount:], int64(n-1), 1, dataset.ImageSize, dataset.ImageSize)
		y := torch.FromFloat32(coords[dataset.NumCoords:], int64(n-1), dataset.NumCoords)
		k := torch.FromFloat32(mask[dataset.NumCoords:], int64(n-1), dataset.NumCoords)
		torch.ManualSeed(seed)
		x, y, k = Apply(x, y, k, o)
		images = append(images[:dataset.PixelCount], x.Float32s()...)
		coords = append(coords[:dataset.NumCoords], y.Float32s()...)
		mask = append(mask[:dataset.NumCoords], k.Float32s()...)
	})
	return images, coords, mask
}
