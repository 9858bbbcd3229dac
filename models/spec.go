package models

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Spec names an architecture and its options: everything needed to build
// a model of the same shape again.
type Spec struct {
	Arch string // registry name: "cnn3", "tinyresnet", "fpn"
	// Options are the architecture's options, such as "width": "32" or
	// "dropout": "0.1". Missing options take the architecture's defaults;
	// nil means all defaults. New rejects options the architecture does
	// not have.
	Options map[string]string
}

// ParseSpec reads a spec written as the architecture's name, optionally
// followed by a colon and comma-separated key=value options:
// "fpn" or "fpn:width=48,dropout=0.2". It checks the syntax only; New
// checks the names and values.
func ParseSpec(s string) (Spec, error) {
	name, opts, hasOpts := strings.Cut(strings.TrimSpace(s), ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return Spec{}, fmt.Errorf("model spec %q: no architecture name (want e.g. \"fpn\" or \"fpn:width=48\")", s)
	}
	if strings.ContainsAny(name, ",= \t") {
		return Spec{}, fmt.Errorf("model spec %q: bad architecture name %q (options follow a colon: \"fpn:width=48\")", s, name)
	}
	spec := Spec{Arch: name}
	if !hasOpts {
		return spec, nil
	}
	if strings.TrimSpace(opts) == "" {
		return Spec{}, fmt.Errorf("model spec %q: no options after the colon", s)
	}
	spec.Options = map[string]string{}
	for _, kv := range strings.Split(opts, ",") {
		key, value, ok := strings.Cut(kv, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case !ok:
			return Spec{}, fmt.Errorf("model spec %q: option %q is not key=value", s, strings.TrimSpace(kv))
		case key == "":
			return Spec{}, fmt.Errorf("model spec %q: option %q has no name", s, strings.TrimSpace(kv))
		case value == "":
			return Spec{}, fmt.Errorf("model spec %q: option %q has no value", s, key)
		}
		if _, dup := spec.Options[key]; dup {
			return Spec{}, fmt.Errorf("model spec %q: option %q given twice", s, key)
		}
		spec.Options[key] = value
	}
	return spec, nil
}

// String writes the spec in the form ParseSpec reads, options sorted by
// name: "fpn:dropout=0.2,width=48".
func (s Spec) String() string {
	if len(s.Options) == 0 {
		return s.Arch
	}
	var b strings.Builder
	b.WriteString(s.Arch)
	for i, k := range slices.Sorted(maps.Keys(s.Options)) {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + s.Options[k])
	}
	return b.String()
}

// options reads the option values of one architecture, keeping the first
// problem in err so that a constructor can read them all and check once.
type options struct {
	arch   string
	values map[string]string // every option of the architecture, defaults filled in
	err    error
}

func (o *options) fail(name, format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("%s option %s=%s: %s", o.arch, name, o.values[name], fmt.Sprintf(format, args...))
	}
}

// int reads an integer option in [lo, hi].
func (o *options) int(name string, lo, hi int64) int64 {
	v, err := strconv.ParseInt(o.values[name], 10, 64)
	switch {
	case err != nil:
		o.fail(name, "not an integer")
	case v < lo || v > hi:
		o.fail(name, "want %d to %d", lo, hi)
	}
	return v
}

// prob reads a probability option in [0, 1).
func (o *options) prob(name string) float64 {
	v, err := strconv.ParseFloat(o.values[name], 64)
	switch {
	case err != nil:
		o.fail(name, "not a number")
	case !(v >= 0 && v < 1):
		o.fail(name, "want a probability from 0 up to (not including) 1")
	}
	return v
}

// choice reads an option that takes one of the given words.
func (o *options) choice(name string, allowed ...string) string {
	v := o.values[name]
	if !slices.Contains(allowed, v) {
		o.fail(name, "want one of %s", strings.Join(allowed, ", "))
	}
	return v
}
