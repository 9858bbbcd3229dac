package models

import (
	"maps"
	"slices"

	"github.com/fkd-project/fkd/torch"
)

// Check validates spec as New would, architecture, option names and
// option values, without keeping a model: commands call it on every spec
// they are given before any training starts. A misspelt architecture or
// option name gets the closest valid one in the error ("did you mean
// tinyresnet?"). It returns the spec with every option filled in.
func Check(spec Spec) (Spec, error) {
	m, err := New(spec, torch.CPU)
	if err != nil {
		return Spec{}, err
	}
	full := m.Spec()
	m.Store().Free()
	return full, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
