package synth

import (
	"reflect"
	"testing"
)

func TestLookupTable(t *testing.T) {
	ids := make([]int, 300)
	for i := range ids {
		ids[i] = i + 1
	}
	rows := LookupTable(ids, 0.3, 1)
	perImage := map[int][]int{}
	for i, r := range rows {
		if r.RowID != i+1 {
			t.Fatalf("row %d has RowId %d", i, r.RowID)
		}
		perImage[r.ImageID] = append(perImage[r.ImageID], r.Coord)
	}
	full := 0
	common := []int{0, 1, 2, 3, 20, 21, 28, 29}
	for _, id := range ids {
		switch c := perImage[id]; len(c) {
		case 30:
			full++
		case 8:
			if !reflect.DeepEqual(c, common) {
				t.Fatalf("image %d asks for %v", id, c)
			}
		default:
			t.Fatalf("image %d asks for %d coordinates", id, len(c))
		}
	}
	if full < 60 || full > 120 {
		t.Errorf("%d of 300 images ask for everything, want about 90", full)
	}
	if !reflect.DeepEqual(rows, LookupTable(ids, 0.3, 1)) {
		t.Error("same seed, different table")
	}
}
