package models

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/suggest"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// Model is a keypoint detector: Forward maps faces x, float32
// [N, 1, 96, 96] with pixels scaled to [0, 1], to float32 [N, 30], the
// Kaggle coordinates (x then y of each keypoint, in dataset.Keypoints
// order) normalised to [-1, 1] as (c - 48) / 48.
type Model interface {
	nn.Module
	// Store holds the parameters and buffers and the train/eval mode
	// (Store().Train(), Store().Eval()).
	Store() *nn.Store
	// Spec is the architecture with every option, defaults filled in.
	Spec() Spec
}

// Info describes one architecture of the registry.
type Info struct {
	Name     string
	Summary  string            // one line
	Defaults map[string]string // every option with its default value
}

// arch is an entry of the registry: build parses the options and makes the
// network under p, returning an error for a bad option value before it
// makes any tensor.
type arch struct {
	summary  string
	defaults map[string]string
	build    func(b *builder, p nn.Path, o *options) (nn.Module, error)
}

var registry = map[string]arch{
	"cnn3":       cnn3Arch,
	"tinyresnet": tinyResNetArch,
	"fpn":        fpnArch,
	"fpnheat":    fpnHeatArch,
}

// List returns the registered architectures, sorted by name.
func List() []Info {
	var infos []Info
	for _, name := range slices.Sorted(maps.Keys(registry)) {
		a := registry[name]
		infos = append(infos, Info{Name: name, Summary: a.summary, Defaults: maps.Clone(a.defaults)})
	}
	return infos
}

func archNames() string { return strings.Join(slices.Sorted(maps.Keys(registry)), ", ") }

// New builds the model spec describes on dev, with freshly initialised
// parameters, in training mode. Call torch.ManualSeed first for a
// repeatable initialisation. Build models outside any torch.Scope.
func New(spec Spec, dev torch.Device) (Model, error) {
	m := &model{store: nn.NewStore(dev), trace: &tracer{}}
	net, full, err := build(spec, m.store.Root(), m.trace)
	if err != nil {
		m.store.Free()
		return nil, err
	}
	m.net, m.spec = net, full
	return m, nil
}

// build makes the network spec describes under p, its multiply-adds
// reported to trace, and returns it with the spec's every option filled
// in.
func build(spec Spec, p nn.Path, trace *tracer) (nn.Module, Spec, error) {
	a, ok := registry[spec.Arch]
	if !ok {
		return nil, Spec{}, fmt.Errorf("unknown model architecture %q%s (known: %s)",
			spec.Arch, suggest.DidYouMean(spec.Arch, sortedKeys(registry)), archNames())
	}
	values := maps.Clone(a.defaults)
	for k, v := range spec.Options {
		if _, ok := a.defaults[k]; !ok {
			return nil, Spec{}, fmt.Errorf("%s has no option %q%s (options: %s)",
				spec.Arch, k, suggest.DidYouMean(k, sortedKeys(a.defaults)), strings.Join(sortedKeys(a.defaults), ", "))
		}
		values[k] = v
	}
	full := Spec{Arch: spec.Arch, Options: values}
	var net nn.Module
	var optErr error // a bad option value, found before any tensor is made
	err := torch.Catch(func() {
		net, optErr = a.build(&builder{trace: trace}, p, &options{arch: spec.Arch, values: values})
	})
	switch {
	case optErr != nil:
		err = optErr
	case err != nil: // LibTorch failed, e.g. out of memory
		err = fmt.Errorf("build %s: %w", full, err)
	}
	if err != nil {
		return nil, Spec{}, err
	}
	return net, full, nil
}

// model is the Model of every architecture: a network and its store.
type model struct {
	store *nn.Store
	spec  Spec
	net   nn.Module
	trace *tracer
}

// Forward checks that x is a batch of faces and runs the network.
func (m *model) Forward(x *torch.Tensor) *torch.Tensor {
	m.checkInput(x)
	return m.net.Forward(x)
}

// checkInput panics unless x is a batch of faces.
func (m *model) checkInput(x *torch.Tensor) {
	if s := x.Shape(); len(s) != 4 || s[1] != 1 || s[2] != dataset.ImageSize || s[3] != dataset.ImageSize {
		panic(&torch.Error{Op: "models." + m.spec.Arch, Msg: fmt.Sprintf(
			"want faces [N, 1, %d, %d], got shape %v", dataset.ImageSize, dataset.ImageSize, s)})
	}
}

func (m *model) Store() *nn.Store { return m.store }

// Spec returns a copy of the model's spec, every option filled in.
func (m *model) Spec() Spec { return Spec{Arch: m.spec.Arch, Options: maps.Clone(m.spec.Options)} }

// Count returns the number of parameters of m (Store().NumParams()) and
// the multiply-accumulates of one forward pass on one 1×96×96 face. The
// count covers the weights of the convolutions and linear layers (for a
// convolution, in/groups·k² per output element; for a linear layer, in per
// output); biases, batch normalisation, activations, pooling, upsampling
// and residual additions are left out. It runs one forward pass in
// evaluation mode, without recording gradients, and leaves the mode as it
// was. For a Model not made by this package it returns -1 multiply-adds.
func Count(m Model) (params int, macsPerFace int64) {
	params = m.Store().NumParams()
	switch mm := m.(type) {
	case *model:
		return params, countMACs(mm, mm.trace)
	case *ensemble:
		return params, countMACs(mm, mm.trace)
	}
	return params, -1
}

// countMACs runs m once on one face in evaluation mode, without
// recording gradients, with trace, to which m's layers report, counting.
func countMACs(m Model, trace *tracer) int64 {
	store := m.Store()
	wasTraining := store.Training()
	store.Eval()
	defer store.SetTraining(wasTraining)
	trace.on, trace.macs = true, 0
	defer func() { trace.on = false }()
	torch.NoGrad(func() {
		torch.WithScope(func() {
			x := torch.Zeros([]int64{1, 1, dataset.ImageSize, dataset.ImageSize}, torch.Float32, store.Device())
			m.Forward(x)
		})
	})
	return trace.macs
}
