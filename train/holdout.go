package train

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
)

// OwnHoldout returns the hold-out part a model file records, as Run saved
// it: the fraction and seed of the split, and whether the run left the
// outliers out (Config.DropOutliers). ok is false when the file records
// no hold-out part (a run with Holdout 0, or a file of another kind).
func OwnHoldout(meta models.Meta) (fraction float64, seed int64, dropOutliers, ok bool) {
	h, herr := strconv.ParseFloat(meta.Extra[ExtraHoldout], 64)
	s, serr := strconv.ParseInt(meta.Extra[ExtraSeed], 10, 64)
	if herr != nil || serr != nil || !(h > 0) {
		return 0, 0, false, false
	}
	var cfg Config
	drop := json.Unmarshal([]byte(meta.Extra[ExtraConfig]), &cfg) == nil && cfg.DropOutliers
	return h, s, drop, true
}

// WithoutOutliers returns the rows of idx that dataset.Outliers does not
// find in set, in their order; idx itself is changed.
func WithoutOutliers(set *dataset.Set, idx []int) []int {
	drop := map[int]bool{}
	for _, out := range dataset.Outliers(set) {
		drop[out.Row] = true
	}
	return slices.DeleteFunc(idx, func(i int) bool { return drop[i] })
}
