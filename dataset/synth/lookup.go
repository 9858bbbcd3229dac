package synth

import (
	"math/rand/v2"

	"github.com/fkd-project/fkd/dataset"
)

// LookupTable makes an IdLookupTable like Kaggle's for test images with
// the given ids: each image asks for all 30 coordinates with probability
// fullFrac, otherwise for the 8 coordinates of the four common keypoints.
// RowIds run from 1 in order of ids, then coordinates.
func LookupTable(ids []int, fullFrac float64, seed int64) []dataset.LookupRow {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c6f6f6b7570)) // "lookup"
	var common []int
	for _, k := range dataset.CommonKeypoints {
		common = append(common, 2*k, 2*k+1)
	}
	var rows []dataset.LookupRow
	for _, id := range ids {
		if rng.Float64() < fullFrac {
			for c := range dataset.NumCoords {
				rows = append(rows, dataset.LookupRow{RowID: len(rows) + 1, ImageID: id, Coord: c})
			}
			continue
		}
		for _, c := range common {
			rows = append(rows, dataset.LookupRow{RowID: len(rows) + 1, ImageID: id, Coord: c})
		}
	}
	return rows
}
