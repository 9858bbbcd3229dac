package dataset

import (
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultHoldout is the usual fraction of rows held out for validation.
const DefaultHoldout = 0.1

// Split divides the rows of s into a training part and a hold-out part of
// about frac of the rows, and returns their indices in ascending order.
//
// The split is stratified by which keypoints a row has: rows with all 15
// keypoints and rows with only some are held out in the same proportion,
// and every group of at least two rows has a row in each part when
// 0 < frac < 1. A set without keypoints is one group. The same seed gives
// the same split. Split panics unless 0 <= frac <= 1.
func Split(s *Set, frac float64, seed int64) (train, holdout []int) {
	if !(frac >= 0 && frac <= 1) {
		panic("dataset: Split fraction outside [0,1]")
	}
	groups := map[uint32][]int{}
	for i := range s.Len() {
		key := uint32(0)
		if s.HasKeypoints() {
			_, m := s.Keypoints(i)
			for k := range NumKeypoints {
				if m[2*k] && m[2*k+1] {
					key |= 1 << k
				}
			}
		}
		groups[key] = append(groups[key], i)
	}
	keys := make([]uint32, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys) // map order is random; the shuffle must not be

	rng := rand.New(rand.NewPCG(uint64(seed), 0x666b642d73706c74)) // "fkd-splt"
	for _, key := range keys {
		rows := groups[key]
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		k := int(math.Round(frac * float64(len(rows))))
		if frac > 0 && frac < 1 && len(rows) >= 2 {
			k = min(max(k, 1), len(rows)-1)
		}
		holdout = append(holdout, rows[:k]...)
		train = append(train, rows[k:]...)
	}
	slices.Sort(train)
	slices.Sort(holdout)
	return train, holdout
}
