package models

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// EnsembleArch is the Spec.Arch of a model made by LoadEnsemble. It is not
// in the registry: New cannot build one, and an ensemble is never saved
// as one model file (package ensemble writes the list of its members).
const EnsembleArch = "ensemble"

// LoadEnsemble reads the model files at paths (files of Save) onto dev as
// one Model whose keypoints are the weighted mean of the members'. Since
// every member's output is an affine map of pixel coordinates, the mean is
// taken in pixel space; a test-time augmentation applied to the ensemble
// (eval.WithTTA) is the same as applying it to every member. weights must
// be as many as paths, non-negative and finite, with a positive sum; they
// are scaled to sum to 1.
//
// All members live in one store, member i's tensors under "m<i>.", so that
// Store().Free releases them all and Store().Eval puts them all in
// evaluation mode. The members must agree on the keypoints and the input
// and output conventions; an error names the member that does not. The
// metas returned are the members' own; EnsembleMeta makes the ensemble's.
func LoadEnsemble(paths []string, weights []float64, dev torch.Device) (Model, []Meta, error) {
	if len(paths) == 0 {
		return nil, nil, errors.New("an ensemble needs at least one model")
	}
	w, err := NormaliseWeights(weights, len(paths))
	if err != nil {
		return nil, nil, err
	}
	e := &ensemble{store: nn.NewStore(dev), trace: &tracer{}, weights: w}
	metas := make([]Meta, len(paths))
	for i, path := range paths {
		if metas[i], err = e.add(i, path); err != nil {
			e.store.Free()
			return nil, nil, err
		}
	}
	for i := 1; i < len(metas); i++ {
		if !slices.Equal(metas[i].Keypoints, metas[0].Keypoints) || metas[i].Input != metas[0].Input || metas[i].Output != metas[0].Output {
			e.store.Free()
			return nil, nil, fmt.Errorf("ensemble member %s: its keypoints or conventions differ from those of %s", paths[i], paths[0])
		}
	}
	if !dev.IsCUDA() {
		e.store.ToChannelsLast() // as Load lays out a single model
	}
	e.store.Eval()
	FoldBatchNorm(e)
	return e, metas, nil
}

// NormaliseWeights checks an ensemble's weights for n members, nil meaning
// equal weights, and returns them scaled to sum to 1. Weights so large
// that their sum overflows (1e308 + 1e308) are divided by the largest
// first.
func NormaliseWeights(weights []float64, n int) ([]float64, error) {
	if weights == nil {
		weights = slices.Repeat([]float64{1}, n)
	}
	if len(weights) != n {
		return nil, fmt.Errorf("%d weights for %d ensemble members", len(weights), n)
	}
	sum, top := 0.0, 0.0
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return nil, fmt.Errorf("ensemble member %d: weight %v: want a finite number >= 0", i+1, w)
		}
		sum += w
		top = max(top, w)
	}
	if math.IsInf(sum, 1) {
		scaled := make([]float64, n)
		for i, w := range weights {
			scaled[i] = w / top
		}
		return NormaliseWeights(scaled, n)
	}
	if !(sum > 0) {
		return nil, errors.New("ensemble weights sum to 0")
	}
	out := make([]float64, n)
	for i, w := range weights {
		out[i] = w / sum
	}
	return out, nil
}

// EnsembleMeta is the Meta of an ensemble of models with metas metas and
// weights weights (as LoadEnsemble scaled them): the members' conventions,
// the weighted mean of their training keypoint means, and the Extra
// entries on which every member agrees (such as the hold-out split, when
// they share one).
func EnsembleMeta(e Model, metas []Meta, weights []float64) Meta {
	meta := Meta{Spec: e.Spec(), Keypoints: metas[0].Keypoints, Input: metas[0].Input, Output: metas[0].Output}
	for i, m := range metas {
		for c := range meta.Means {
			meta.Means[c] += float32(weights[i]) * m.Means[c]
		}
	}
	for k, v := range metas[0].Extra {
		agree := true
		for _, m := range metas[1:] {
			agree = agree && m.Extra[k] == v
		}
		if agree {
			if meta.Extra == nil {
				meta.Extra = map[string]string{}
			}
			meta.Extra[k] = v
		}
	}
	return meta
}

// ensemble is the Model of LoadEnsemble.
type ensemble struct {
	store   *nn.Store
	trace   *tracer
	nets    []nn.Module
	specs   []Spec
	weights []float64 // sum to 1
}

// add builds member i from the model file at path under "m<i>" and loads
// its weights.
func (e *ensemble) add(i int, path string) (Meta, error) {
	md, err := nn.LoadMetadata(path)
	if err != nil {
		return Meta{}, fmt.Errorf("ensemble member %s: %w", path, err)
	}
	meta, err := decodeMeta(md)
	if err != nil {
		return Meta{}, fmt.Errorf("ensemble member %s: %w", path, err)
	}
	prefix := "m" + strconv.Itoa(i)
	net, spec, err := build(meta.Spec, e.store.Root().Sub(prefix), e.trace)
	if err != nil {
		return Meta{}, fmt.Errorf("ensemble member %s: %w", path, err)
	}
	tensors, _, err := nn.Load(path)
	if err != nil {
		return Meta{}, fmt.Errorf("ensemble member %s: %w", path, err)
	}
	defer func() {
		for _, t := range tensors {
			t.Free()
		}
	}()
	if err := e.copyMember(prefix+".", tensors); err != nil {
		return Meta{}, fmt.Errorf("ensemble member %s: %w (the weights are not those of %s)", path, err, spec)
	}
	e.nets = append(e.nets, net)
	e.specs = append(e.specs, spec)
	meta.Spec = spec
	return meta, nil
}

// copyMember copies a member's tensors, named as in its own file, into the
// store's tensors under prefix, after checking that names, shapes and
// element types agree exactly.
func (e *ensemble) copyMember(prefix string, src map[string]*torch.Tensor) error {
	var problems []string
	want := map[string]*torch.Tensor{}
	for _, nt := range e.store.NamedTensors() {
		if name, ok := strings.CutPrefix(nt.Name, prefix); ok {
			want[name] = nt.Tensor
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t, ok := src[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%q missing", name))
		case t.DType() != want[name].DType() || !slices.Equal(t.Shape(), want[name].Shape()):
			problems = append(problems, fmt.Sprintf("%q is %s %v, want %s %v", name, t.DType(), t.Shape(), want[name].DType(), want[name].Shape()))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(src)) {
		if _, ok := want[name]; !ok {
			problems = append(problems, fmt.Sprintf("%q unexpected", name))
		}
	}
	if len(problems) > 0 {
		if len(problems) > 4 {
			problems = append(problems[:4], fmt.Sprintf("and %d more", len(problems)-4))
		}
		return fmt.Errorf("%w: %s", nn.ErrMismatch, strings.Join(problems, ", "))
	}
	torch.NoGrad(func() {
		for name, t := range want {
			t.CopyFrom(src[name])
		}
	})
	return nil
}

// Forward checks that x is a batch of faces and returns the weighted mean
// of the members' predictions.
func (e *ensemble) Forward(x *torch.Tensor) *torch.Tensor {
	if s := x.Shape(); len(s) != 4 || s[1] != 1 || s[2] != dataset.ImageSize || s[3] != dataset.ImageSize {
		panic(&torch.Error{Op: "models." + EnsembleArch, Msg: fmt.Sprintf(
			"want faces [N, 1, %d, %d], got shape %v", dataset.ImageSize, dataset.ImageSize, s)})
	}
	var sum *torch.Tensor
	for i, net := range e.nets {
		y := net.Forward(x)
		if len(e.nets) == 1 {
			return y // a weight of exactly 1: the member itself, bit for bit
		}
		y = y.MulScalar(e.weights[i])
		if sum == nil {
			sum = y
		} else {
			sum = sum.Add(y)
		}
	}
	return sum
}

func (e *ensemble) Store() *nn.Store { return e.store }

// Spec returns Arch EnsembleArch with options "m1", "m2", ... holding the
// members' specs and "w1", "w2", ... their weights.
func (e *ensemble) Spec() Spec {
	s := Spec{Arch: EnsembleArch, Options: map[string]string{}}
	for i, spec := range e.specs {
		s.Options["m"+strconv.Itoa(i+1)] = spec.String()
		s.Options["w"+strconv.Itoa(i+1)] = strconv.FormatFloat(e.weights[i], 'g', 4, 64)
	}
	return s
}
