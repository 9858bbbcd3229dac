package nn

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/fkd-project/fkd/torch"
)

// Store owns the named parameters and buffers of a model, all on one
// device, and the model's training mode. Layers are built under a Path of
// the store, which names each tensor for them; the store then lists,
// saves, loads and copies the tensors by name.
//
// A Store belongs to one goroutine at a time, like the model built on it.
type Store struct {
	device   torch.Device
	entries  []*entry // in creation order
	byName   map[string]*entry
	training bool
	onFree   []func() // OnFree's
}

type entry struct {
	name   string
	tensor *torch.Tensor
	param  bool // a parameter (trained); otherwise a buffer (state)
}

// NamedTensor is a tensor with its state-dict name, such as
// "features.0.weight".
type NamedTensor struct {
	Name   string
	Tensor *torch.Tensor
}

// NewStore returns an empty store whose tensors will live on dev. It starts
// in training mode, as PyTorch modules do.
func NewStore(dev torch.Device) *Store {
	return &Store{device: dev, byName: map[string]*entry{}, training: true}
}

// Device returns the device holding the store's tensors.
func (s *Store) Device() torch.Device { return s.device }

// Root returns the path of the store's top level: tensors created directly
// under it have no prefix.
func (s *Store) Root() Path { return Path{store: s} }

// Train puts the model in training mode: dropout is active and batch
// normalisation uses, and updates, batch statistics.
func (s *Store) Train() { s.training = true }

// Eval puts the model in evaluation mode: dropout passes its input through
// and batch normalisation uses its running statistics.
func (s *Store) Eval() { s.training = false }

// SetTraining sets training mode on or off.
func (s *Store) SetTraining(on bool) { s.training = on }

// Training reports whether the model is in training mode.
func (s *Store) Training() bool { return s.training }

// Len returns the number of tensors in the store, parameters and buffers.
func (s *Store) Len() int { return len(s.entries) }

// NumParams returns the number of elements in all parameters (buffers are
// not counted), the usual "parameter count" of a model.
func (s *Store) NumParams() int {
	n := 0
	for _, e := range s.entries {
		if e.param {
			n += e.tensor.Numel()
		}
	}
	return n
}

// Params returns the parameters in creation order, which is stable for a
// given model definition.
func (s *Store) Params() []*torch.Tensor {
	var ps []*torch.Tensor
	for _, e := range s.entries {
		if e.param {
			ps = append(ps, e.tensor)
		}
	}
	return ps
}

// Trainable returns the parameters that require grad (those not frozen),
// in creation order.
func (s *Store) Trainable() []*torch.Tensor {
	var ps []*torch.Tensor
	for _, e := range s.entries {
		if e.param && e.tensor.RequiresGrad() {
			ps = append(ps, e.tensor)
		}
	}
	return ps
}

// NamedParams returns the parameters with their names, in creation order.
func (s *Store) NamedParams() []NamedTensor { return s.named(func(e *entry) bool { return e.param }) }

// NamedBuffers returns the buffers with their names, in creation order.
func (s *Store) NamedBuffers() []NamedTensor {
	return s.named(func(e *entry) bool { return !e.param })
}

// NamedTensors returns parameters and buffers with their names, in
// creation order: the model's state dict.
func (s *Store) NamedTensors() []NamedTensor { return s.named(func(*entry) bool { return true }) }

func (s *Store) named(keep func(*entry) bool) []NamedTensor {
	var out []NamedTensor
	for _, e := range s.entries {
		if keep(e) {
			out = append(out, NamedTensor{e.name, e.tensor})
		}
	}
	return out
}

// StateDict returns parameters and buffers by name. The tensors are the
// store's own, not copies.
func (s *Store) StateDict() map[string]*torch.Tensor {
	m := make(map[string]*torch.Tensor, len(s.entries))
	for _, e := range s.entries {
		m[e.name] = e.tensor
	}
	return m
}

// Get returns the tensor with the given full name.
func (s *Store) Get(name string) (*torch.Tensor, bool) {
	e, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return e.tensor, true
}

// Freeze stops gradient recording for the parameters under prefix (a
// dotted name such as "features" or "features.0"; "" for all) and returns
// how many it froze. Frozen parameters are left out of Trainable.
func (s *Store) Freeze(prefix string) int { return s.setRequiresGrad(prefix, false) }

// Unfreeze turns gradient recording back on for the parameters under
// prefix and returns how many it changed.
func (s *Store) Unfreeze(prefix string) int { return s.setRequiresGrad(prefix, true) }

func (s *Store) setRequiresGrad(prefix string, on bool) int {
	n := 0
	for _, e := range s.entries {
		if e.param && under(e.name, prefix) && e.tensor.RequiresGrad() != on {
			e.tensor.SetRequiresGrad(on)
			n++
		}
	}
	return n
}

// under reports whether the dotted name lies under prefix.
func under(name, prefix string) bool {
	return prefix == "" || name == prefix || strings.HasPrefix(name, prefix+".")
}

// ToDevice moves every tensor to dev in place: the *torch.Tensor values
// the layers hold stay valid and now live on dev. Gradients are dropped.
func (s *Store) ToDevice(dev torch.Device) {
	if dev == s.device {
		return
	}
	torch.ZeroGrad(s.Params())
	torch.NoGrad(func() {
		for _, e := range s.entries {
			moved := e.tensor.ToDevice(dev)
			e.tensor.SetData(moved)
			moved.Free()
		}
	})
	s.device = dev
}

// ToChannelsLast lays every 4-D tensor of the store out channels last, in
// place (see torch.Tensor.ChannelsLast): the convolutions of a model built
// on it then make channels-last activations, and on the CPU the whole
// forward and backward pass runs faster. Names, shapes and values stay,
// and so do saved files (Save writes values in row-major order). Clone
// keeps the layout; gradients are dropped.
func (s *Store) ToChannelsLast() {
	torch.ZeroGrad(s.Params())
	torch.NoGrad(func() {
		for _, e := range s.entries {
			if len(e.tensor.Shape()) != 4 || e.tensor.IsChannelsLast() {
				continue
			}
			cl := e.tensor.ChannelsLast()
			e.tensor.SetData(cl)
			cl.Free()
		}
	})
}

// OnFree has Free call f first: for tensors a model derives from the
// store's own and keeps beside them (not saved, not trained), so that
// freeing the store frees them too.
func (s *Store) OnFree(f func()) { s.onFree = append(s.onFree, f) }

// Free releases every tensor of the store at once, and what OnFree
// registered. The store is empty
// afterwards, and layers built on it must not be used again.
func (s *Store) Free() {
	for _, f := range s.onFree {
		f()
	}
	s.onFree = nil
	for _, e := range s.entries {
		e.tensor.Free()
	}
	s.entries = nil
	s.byName = map[string]*entry{}
}

// Clone returns a new store on dev holding copies of s's tensors under the
// same names, with no layers built on it: a snapshot, such as the best
// model seen so far during training, to be copied back with CopyFrom.
func (s *Store) Clone(dev torch.Device) *Store {
	c := NewStore(dev)
	c.training = s.training
	torch.NoGrad(func() {
		for _, e := range s.entries {
			t := torch.ZerosLike(e.tensor, dev)
			t.CopyFrom(e.tensor)
			if e.param {
				t.SetRequiresGrad(e.tensor.RequiresGrad())
			}
			c.add(e.name, t, e.param)
		}
	})
	return c
}

// CopyFrom copies the values of src's tensors into s's tensors of the same
// name (across devices if need be). The two stores must hold the same
// names with the same shapes and element types; otherwise CopyFrom changes
// nothing and returns an error wrapping ErrMismatch that names each
// difference.
func (s *Store) CopyFrom(src *Store) error {
	if err := s.assign(src.StateDict()); err != nil {
		return fmt.Errorf("copy store: %w", err)
	}
	return nil
}

// Save writes the store's tensors and the given metadata to path in the
// safetensors format (see the package documentation), atomically.
func (s *Store) Save(path string, metadata map[string]string) error {
	return Save(path, s.StateDict(), metadata)
}

// Write encodes the store's tensors and metadata to w in the safetensors
// format.
func (s *Store) Write(w io.Writer, metadata map[string]string) error {
	return Write(w, s.StateDict(), metadata)
}

// Load reads a safetensors file written by Save (or by any safetensors
// writer) into the store's tensors, by name, and returns the file's
// metadata. The file must hold exactly the store's names, with the same
// shapes and element types; otherwise Load changes nothing and returns an
// error naming the file and each difference.
func (s *Store) Load(path string) (map[string]string, error) {
	tensors, metadata, err := Load(path)
	if err != nil {
		return nil, err
	}
	defer freeAll(tensors)
	if err := s.assign(tensors); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return metadata, nil
}

// Read is Load from a reader.
func (s *Store) Read(r io.Reader) (map[string]string, error) {
	tensors, metadata, err := Read(r)
	if err != nil {
		return nil, err
	}
	defer freeAll(tensors)
	if err := s.assign(tensors); err != nil {
		return nil, err
	}
	return metadata, nil
}

func freeAll(tensors map[string]*torch.Tensor) {
	for _, t := range tensors {
		t.Free()
	}
}

// maxListed is how many differences a mismatch error spells out.
const maxListed = 6

// assign copies src into the store's tensors after checking that the names,
// shapes and element types agree exactly.
func (s *Store) assign(src map[string]*torch.Tensor) error {
	var problems []string
	for _, e := range s.entries {
		t, ok := src[e.name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%q missing", e.name))
			continue
		}
		if got, want := t.DType(), e.tensor.DType(); got != want {
			problems = append(problems, fmt.Sprintf("%q has dtype %s, want %s", e.name, got, want))
		}
		if got, want := t.Shape(), e.tensor.Shape(); !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("%q has shape %v, want %v", e.name, got, want))
		}
	}
	var unexpected []string
	for name := range src {
		if _, ok := s.byName[name]; !ok {
			unexpected = append(unexpected, name)
		}
	}
	slices.Sort(unexpected)
	for _, name := range unexpected {
		problems = append(problems, fmt.Sprintf("unexpected %q", name))
	}
	if len(problems) > 0 {
		more := ""
		if len(problems) > maxListed {
			more = fmt.Sprintf(" and %d more", len(problems)-maxListed)
			problems = problems[:maxListed]
		}
		return fmt.Errorf("%w: %s%s", ErrMismatch, strings.Join(problems, ", "), more)
	}
	torch.NoGrad(func() {
		for _, e := range s.entries {
			e.tensor.CopyFrom(src[e.name])
		}
	})
	return nil
}

// add registers t under name, which must be new.
func (s *Store) add(name string, t *torch.Tensor, param bool) {
	if _, dup := s.byName[name]; dup {
		panic(&torch.Error{Op: "nn", Msg: fmt.Sprintf("%q is already in the store", name)})
	}
	e := &entry{name: name, tensor: t, param: param}
	s.entries = append(s.entries, e)
	s.byName[name] = e
}

// Path is a place in a store's name hierarchy. Layers take a Path and
// create their tensors under it, so a model never spells out its tensors'
// full names: a Conv2d built at root.Sub("features").Sub("0") owns
// "features.0.weight" and "features.0.bias".
type Path struct {
	store  *Store
	prefix string // dotted, "" at the root
}

// Sub returns the path one level below p. name must be non-empty and must
// not contain a dot; layer indices are written as numbers ("0", "1", ...).
func (p Path) Sub(name string) Path {
	checkName("Sub", name)
	return Path{store: p.store, prefix: p.join(name)}
}

// Store returns the store the path belongs to.
func (p Path) Store() *Store { return p.store }

// Name returns the dotted name of p: "" at the root, "features.0" below.
func (p Path) Name() string { return p.prefix }

// Training reports whether the store is in training mode.
func (p Path) Training() bool { return p.store.training }

func (p Path) join(name string) string {
	if p.prefix == "" {
		return name
	}
	return p.prefix + "." + name
}

// Param creates a float32 parameter of the given shape on the store's
// device, fills it with init, turns gradient recording on, and registers it
// as p's name + "." + name. It panics if that name is taken.
func (p Path) Param(name string, shape []int64, init Init) *torch.Tensor {
	checkName("Param", name)
	full := p.join(name)
	if _, dup := p.store.byName[full]; dup {
		panic(&torch.Error{Op: "nn", Msg: fmt.Sprintf("%q is already in the store", full)})
	}
	t := torch.Zeros(shape, torch.Float32, p.store.device)
	init(t)
	t.SetRequiresGrad(true)
	p.store.add(full, t, true)
	return t
}

// Buffer registers t as a buffer named p's name + "." + name: state that
// is saved and loaded with the model but not trained, such as batch-norm
// running statistics. The store takes ownership of t; when t is on another
// device it is moved (and t freed), and Buffer returns the tensor the
// store holds. t must not require grad.
func (p Path) Buffer(name string, t *torch.Tensor) *torch.Tensor {
	checkName("Buffer", name)
	full := p.join(name)
	if _, dup := p.store.byName[full]; dup {
		panic(&torch.Error{Op: "nn", Msg: fmt.Sprintf("%q is already in the store", full)})
	}
	if t.RequiresGrad() {
		panic(&torch.Error{Op: "nn", Msg: fmt.Sprintf("buffer %q requires grad; buffers are not trained", full)})
	}
	if t.Device() != p.store.device {
		moved := t.ToDevice(p.store.device)
		t.Free()
		t = moved
	}
	p.store.add(full, t, false)
	return t
}

// checkName panics unless name can be one component of a dotted name.
func checkName(op, name string) {
	if name == "" || strings.Contains(name, ".") || name == metadataKey {
		panic(&torch.Error{Op: "nn", Msg: fmt.Sprintf("%s: bad name %q: want a non-empty name without dots", op, name)})
	}
}
