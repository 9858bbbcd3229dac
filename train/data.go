package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
)

// faces is a part of the data set moved to the training device once:
// every batch is then gathered there, with no copy from the host but the
// batch's indices.
type faces struct {
	n      int
	images *torch.Tensor // uint8 [N, 1, 96, 96]
	coords *torch.Tensor // float32 [N, 30], normalised: (c - CoordCentre) / CoordScale; 0 where missing
	// mask is float32 [N, 30]: each coordinate's weight in the loss, 1
	// for a true label, the pseudo-label weight for a pseudo-label and 0
	// where the coordinate is missing.
	mask *torch.Tensor
	dev  torch.Device
}

// newFaces copies s to dev, with the pseudo-labels pseudo (pixels, one
// per coordinate of s; nil for none) where s lacks a coordinate, weighing
// pseudoWeight. Call it outside any torch.Scope: the tensors live until
// Free.
func newFaces(s *dataset.Set, dev torch.Device, pseudo []float32, pseudoWeight float32) *faces {
	n := s.Len()
	coords := make([]float32, len(s.Coords))
	mask := make([]float32, len(s.Mask))
	for i, ok := range s.Mask {
		switch {
		case ok:
			coords[i] = (s.Coords[i] - CoordCentre) / CoordScale
			mask[i] = 1
		case pseudo != nil:
			coords[i] = (pseudo[i] - CoordCentre) / CoordScale
			mask[i] = pseudoWeight
		}
	}
	onDevice := func(t *torch.Tensor) *torch.Tensor {
		if dev == torch.CPU {
			return t
		}
		moved := t.ToDevice(dev)
		t.Free()
		return moved
	}
	return &faces{
		n:      n,
		images: onDevice(torch.FromUint8(s.Images, int64(n), 1, dataset.ImageSize, dataset.ImageSize)),
		coords: onDevice(torch.FromFloat32(coords, int64(n), dataset.NumCoords)),
		mask:   onDevice(torch.FromFloat32(mask, int64(n), dataset.NumCoords)),
		dev:    dev,
	}
}

// batch gathers the faces at idx: images as float32 pixel/255, with their
// normalised coordinates and mask. The tensors belong to the caller's
// scope.
func (f *faces) batch(idx []int64) (x, y, mask *torch.Tensor) {
	it := torch.FromInt64(idx, int64(len(idx)))
	if f.dev != torch.CPU {
		it = it.ToDevice(f.dev)
	}
	x = f.images.IndexSelect(0, it).ToDType(torch.Float32).DivScalar(255)
	return x, f.coords.IndexSelect(0, it), f.mask.IndexSelect(0, it)
}

// span returns the indices start..start+n-1, for batches in order.
func span(start, n int) []int64 {
	idx := make([]int64, n)
	for i := range idx {
		idx[i] = int64(start + i)
	}
	return idx
}

// Free releases the device tensors.
func (f *faces) Free() {
	f.images.Free()
	f.coords.Free()
	f.mask.Free()
}

// stepsPerEpoch returns the optimiser steps in one pass over n faces in
// batches of batch: the last, smaller batch counts unless it would hold a
// single face, which batch normalisation cannot train on; that face then
// sits the epoch out (the order changes every epoch).
func stepsPerEpoch(n, batch int) int {
	steps := n / batch
	if n%batch >= 2 {
		steps++
	}
	return steps
}

// epochOrder returns the order in which epoch (counted from 0) visits n
// faces: a permutation drawn from a PCG seeded by the run's seed and the
// epoch, so that it is the same however the run was interrupted.
func epochOrder(seed int64, epoch, n int) []int64 {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6f726465725f0000^uint64(epoch))) // "order_"
	order := make([]int64, n)
	for i, j := range rng.Perm(n) {
		order[i] = int64(j)
	}
	return order
}

// Seeds of LibTorch's generator: one for the initial weights, and one per
// optimiser step (so dropout draws the same masks after a resume).
func initSeed(seed int64) uint64 { return mix(uint64(seed) ^ 0x696e6974) } // "init"

func stepSeed(seed int64, globalStep int) uint64 {
	return mix(uint64(seed)^0x73746570) + uint64(globalStep) // "step"
}

// mix is SplitMix64's finaliser: it spreads nearby seeds far apart.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fingerprint identifies a data set by content, so that a run is not
// resumed on different data.
func fingerprint(s *dataset.Set) string {
	h := sha256.New()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(s.Len()))
	h.Write(n[:])
	h.Write(s.Images)
	buf := make([]byte, 0, 5*len(s.Coords))
	for i, c := range s.Coords {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(c))
		buf = append(buf, boolByte(s.Mask[i]))
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
