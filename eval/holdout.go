package eval

import (
	"fmt"
	"slices"

	"github.com/fkd-project/fkd/dataset"
)

// Holdout is a split of a labelled file into the faces a model trains on
// and those it is scored on: dataset.Split's hold-out part of Fraction
// with Seed, less the faces dataset.Outliers finds mislabelled when
// DropOutliers is set. fkd train makes its split with it and records it
// in the model file (Provenance), and everything that scores a model on
// its own hold-out faces reads it back from there.
type Holdout struct {
	Fraction     float64 // of the faces held out; 0: none
	Seed         int64   // the split's seed
	DropOutliers bool    // leave the outliers out of both parts
}

// Parts is how Holdout.Split divides a set, as rows of the set in their
// order.
type Parts struct {
	Train []int // the faces to train on, less the outliers left out
	// Held are the hold-out faces, less the outliers left out; nil when
	// Fraction is 0.
	Held []int
	// Outliers are the faces left out (with DropOutliers), of either
	// part, in the order dataset.Outliers finds them.
	Outliers []Outlier
}

// Outlier is a face Holdout.Split left out.
type Outlier struct {
	dataset.Outlier
	Held bool // whether the split put it in the hold-out part
}

// HeldOutliers returns how many of the outliers left out were in the
// hold-out part.
func (p Parts) HeldOutliers() int {
	n := 0
	for _, o := range p.Outliers {
		if o.Held {
			n++
		}
	}
	return n
}

// Split divides the faces of set into the part to train on and the
// hold-out part. With DropOutliers the outliers are left out of both
// after the split, so that the hold-out part is the same faces as
// without, less those. A Fraction above 0 that holds out no face, or
// whose hold-out faces are all outliers, is an error.
func (h Holdout) Split(set *dataset.Set) (Parts, error) {
	var p Parts
	drop := map[int]bool{}
	if h.DropOutliers {
		for _, o := range dataset.Outliers(set) {
			drop[o.Row] = true
			p.Outliers = append(p.Outliers, Outlier{Outlier: o})
		}
	}
	keep := func(idx []int) []int {
		return slices.DeleteFunc(idx, func(i int) bool { return drop[i] })
	}
	if h.Fraction == 0 {
		p.Train = make([]int, set.Len())
		for i := range p.Train {
			p.Train[i] = i
		}
		p.Train = keep(p.Train)
		return p, nil
	}
	tr, ho := dataset.Split(set, h.Fraction, h.Seed)
	if len(ho) == 0 {
		return Parts{}, fmt.Errorf("a hold-out fraction of %g of %d faces holds out none", h.Fraction, set.Len())
	}
	held := map[int]bool{}
	for _, i := range ho {
		held[i] = true
	}
	for k := range p.Outliers {
		p.Outliers[k].Held = held[p.Outliers[k].Row]
	}
	if ho = keep(ho); len(ho) == 0 {
		return Parts{}, fmt.Errorf("every hold-out face is an outlier (--drop-outliers); hold out a larger fraction")
	}
	p.Train, p.Held = keep(tr), ho
	return p, nil
}

// Faces returns the rows of set that a model with this hold-out part is
// scored on, and how many outliers were left out of them: the hold-out
// part (Split), or with a Fraction of 0 every face, less the outliers
// with DropOutliers.
func (h Holdout) Faces(set *dataset.Set) (rows []int, outliers int, err error) {
	p, err := h.Split(set)
	if err != nil {
		return nil, 0, err
	}
	if h.Fraction == 0 {
		if len(p.Train) == 0 {
			return nil, 0, fmt.Errorf("every face to score is an outlier (--drop-outliers)")
		}
		return p.Train, len(p.Outliers), nil
	}
	return p.Held, p.HeldOutliers(), nil
}
