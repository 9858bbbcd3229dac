package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// Conventions a model file records, so that a reader knows how to feed
// the model and read its output.
const (
	Format = "fkd-model/1" // value of the "fkd.format" metadata key
	Input  = "pixel/255"   // input pixels are grey levels divided by 255
	Output = "(c-48)/48"   // outputs are pixel coordinates c as (c - 48) / 48
)

// Metadata keys of a model file.
const (
	keyFormat    = "fkd.format"
	keyArch      = "fkd.arch"
	keyOptions   = "fkd.options"   // JSON object of strings
	keyKeypoints = "fkd.keypoints" // JSON list of the 30 coordinate names
	keyMeans     = "fkd.means"     // JSON list of 30 numbers
	keyInput     = "fkd.input"
	keyOutput    = "fkd.output"
	keyExtra     = "fkd.extra." // prefix of the free-form entries
)

// Meta is what a model file says about its model besides the weights.
type Meta struct {
	Spec      Spec                       // the architecture; Save takes it from the model
	Keypoints []string                   // the 30 output names, dataset.CoordNames() order
	Means     [dataset.NumCoords]float32 // training keypoint means in pixels, to fill gaps
	Input     string                     // the Input convention, "pixel/255"
	Output    string                     // the Output convention, "(c-48)/48"
	Extra     map[string]string          // free-form: training settings, hold-out RMSE, ...
}

// ErrNotModel is wrapped by the errors of Load for a file that is not an
// fkd model: not safetensors at all, or safetensors without fkd's
// metadata.
var ErrNotModel = errors.New("not an fkd model file")

// Save writes m's weights and buffers with meta to path in the safetensors
// format of package torch/nn, atomically: a crash leaves the old file or
// the new one, never half of one. The spec recorded is m.Spec(), whatever
// meta.Spec holds. Empty Keypoints, Input and Output take the defaults
// (dataset.CoordNames(), Input, Output); other values are refused, since
// Load and Predict know only these.
func Save(path string, m Model, meta Meta) error {
	md, err := encodeMeta(m.Spec(), meta)
	if err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	return m.Store().Save(path, md)
}

func encodeMeta(spec Spec, meta Meta) (map[string]string, error) {
	names := dataset.CoordNames()
	if meta.Keypoints != nil && !slices.Equal(meta.Keypoints, names[:]) {
		return nil, fmt.Errorf("keypoints %q are not the Kaggle coordinates in order", meta.Keypoints)
	}
	if meta.Input != "" && meta.Input != Input {
		return nil, fmt.Errorf("input convention %q: fkd models take %q", meta.Input, Input)
	}
	if meta.Output != "" && meta.Output != Output {
		return nil, fmt.Errorf("output convention %q: fkd models give %q", meta.Output, Output)
	}
	options, err := json.Marshal(spec.Options)
	if err != nil {
		return nil, err
	}
	keypoints, err := json.Marshal(names[:])
	if err != nil {
		return nil, err
	}
	means, err := json.Marshal(meta.Means[:])
	if err != nil {
		return nil, fmt.Errorf("means: %w", err) // NaN or infinity
	}
	md := map[string]string{
		keyFormat:    Format,
		keyArch:      spec.Arch,
		keyOptions:   string(options),
		keyKeypoints: string(keypoints),
		keyMeans:     string(means),
		keyInput:     Input,
		keyOutput:    Output,
	}
	for k, v := range meta.Extra {
		if k == "" {
			return nil, errors.New("extra metadata with an empty key")
		}
		md[keyExtra+k] = v
	}
	return md, nil
}

// Load reads a model file written by Save: it rebuilds the architecture
// the metadata names on dev, loads the weights and buffers, and puts the
// model in evaluation mode. On the CPU the model is laid out channels last
// (nn.Store.ToChannelsLast), which LibTorch's CPU convolutions run faster. Any problem, from a file that is not a model
// (such as a PyTorch .pt checkpoint), which wraps ErrNotModel, to weights
// that do not fit the architecture, which wraps nn.ErrMismatch, is an error
// naming the file.
func Load(path string, dev torch.Device) (Model, Meta, error) {
	md, err := nn.LoadMetadata(path)
	if err != nil {
		if errors.Is(err, nn.ErrFormat) {
			// nn's error reads "load PATH: CAUSE"; say what the file is
			// not before the cause.
			if cause := errors.Unwrap(err); cause != nil {
				err = cause
			}
			return nil, Meta{}, fmt.Errorf("load %s: %w: %w", path, ErrNotModel, err)
		}
		return nil, Meta{}, err
	}
	meta, err := decodeMeta(md)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("load %s: %w", path, err)
	}
	m, err := New(meta.Spec, dev)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("load %s: %w", path, err)
	}
	if !dev.IsCUDA() {
		m.Store().ToChannelsLast()
	}
	if _, err := m.Store().Load(path); err != nil {
		m.Store().Free()
		if errors.Is(err, nn.ErrMismatch) {
			return nil, Meta{}, fmt.Errorf("%w (the weights are not those of %s)", err, meta.Spec)
		}
		return nil, Meta{}, err
	}
	m.Store().Eval()
	FoldBatchNorm(m)
	meta.Spec = m.Spec() // options the file left out have their defaults
	return m, meta, nil
}

// decodeMeta checks and decodes a model file's metadata.
func decodeMeta(md map[string]string) (Meta, error) {
	switch f, ok := md[keyFormat]; {
	case !ok:
		return Meta{}, fmt.Errorf("%w: no %q metadata (a PyTorch .pt? fkd reads only its own safetensors files)",
			ErrNotModel, keyFormat)
	case f != Format:
		return Meta{}, fmt.Errorf("%w: format %q, want %q", ErrNotModel, f, Format)
	}
	var meta Meta
	meta.Spec.Arch = md[keyArch]
	if meta.Spec.Arch == "" {
		return Meta{}, fmt.Errorf("no %q metadata", keyArch)
	}
	if err := decodeJSON(md, keyOptions, &meta.Spec.Options); err != nil {
		return Meta{}, err
	}
	if err := decodeJSON(md, keyKeypoints, &meta.Keypoints); err != nil {
		return Meta{}, err
	}
	if names := dataset.CoordNames(); !slices.Equal(meta.Keypoints, names[:]) {
		return Meta{}, fmt.Errorf("the model's keypoints %q are not the Kaggle coordinates in order", meta.Keypoints)
	}
	var means []float32
	if err := decodeJSON(md, keyMeans, &means); err != nil {
		return Meta{}, err
	}
	if len(means) != dataset.NumCoords {
		return Meta{}, fmt.Errorf("%q has %d numbers, want %d", keyMeans, len(means), dataset.NumCoords)
	}
	copy(meta.Means[:], means)
	meta.Input, meta.Output = md[keyInput], md[keyOutput]
	if meta.Input != Input {
		return Meta{}, fmt.Errorf("input convention %q: fkd models take %q", meta.Input, Input)
	}
	if meta.Output != Output {
		return Meta{}, fmt.Errorf("output convention %q: fkd models give %q", meta.Output, Output)
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if name, ok := strings.CutPrefix(k, keyExtra); ok {
			if meta.Extra == nil {
				meta.Extra = map[string]string{}
			}
			meta.Extra[name] = md[k]
		}
	}
	return meta, nil
}

func decodeJSON(md map[string]string, key string, v any) error {
	s, ok := md[key]
	if !ok {
		return fmt.Errorf("no %q metadata", key)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("metadata %q: %w", key, err)
	}
	return nil
}
