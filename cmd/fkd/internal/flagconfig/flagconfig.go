// Package flagconfig sets a command's flags from a YAML file of defaults:
// a mapping of sections, one shared by the commands that read the same
// files and one per command, each a mapping of flag names (without the
// dashes) to values. A flag given on the command line wins over the file;
// a relative path in the file is relative to the file's directory.
package flagconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// PathAnnotation marks a flag whose value is a file path, which a file
// gives relative to itself.
const PathAnnotation = "fkd-path"

// MarkPaths records that the named flags of fs take file paths. A name
// that is not a flag of fs is a programmer's error: it panics.
func MarkPaths(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		if err := fs.SetAnnotation(n, PathAnnotation, []string{"true"}); err != nil {
			panic("flagconfig: MarkPaths: " + err.Error())
		}
	}
}

// Schema says what a file may hold.
type Schema struct {
	Shared     string                 // the section shared by commands: "data"
	SharedKeys []string               // the keys it may hold
	IsCommand  func(name string) bool // whether a section names a command
}

// entry is one key: value of a section, with its line.
type entry struct {
	key, value string
	line       int
}

// File is a parsed configuration file.
type File struct {
	path     string
	shared   string
	sections map[string][]entry
}

// Read reads and checks the structure of the file at path. A missing
// file gives an error that wraps os.ErrNotExist.
func (s Schema) Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return s.Parse(path, data)
}

// Parse parses a file's content; path names it in errors and anchors its
// relative paths.
func (s Schema) Parse(path string, data []byte) (*File, error) {
	c := &File{path: path, shared: s.Shared, sections: map[string][]entry{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %v", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	// A second document ("---" and more) would be ignored: refuse it.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("config %s: after the first document: %v", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	default:
		return nil, fmt.Errorf("config %s line %d: a second YAML document; put every section in one document", path, documentLine(data, &next))
	}
	if len(doc.Content) == 0 {
		return c, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return c, nil // a document marker alone
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s line %d: want a mapping of sections (%s:, train:, ...)", path, root.Line, s.Shared)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		name := k.Value
		if _, dup := c.sections[name]; dup {
			return nil, fmt.Errorf("config %s line %d: section %q appears twice", path, k.Line, name)
		}
		if name != s.Shared && (s.IsCommand == nil || !s.IsCommand(name)) {
			return nil, fmt.Errorf("config %s line %d: unknown section %q (want %s or a command name)", path, k.Line, name, s.Shared)
		}
		if v.Tag == "!!null" {
			c.sections[name] = nil
			continue
		}
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("config %s line %d: section %q: want key: value lines", path, v.Line, name)
		}
		var entries []entry
		for j := 0; j+1 < len(v.Content); j += 2 {
			kk, vv := v.Content[j], v.Content[j+1]
			if slices.ContainsFunc(entries, func(e entry) bool { return e.key == kk.Value }) {
				return nil, fmt.Errorf("config %s line %d: %s.%s appears twice", path, kk.Line, name, kk.Value)
			}
			if vv.Tag == "!!null" {
				continue // "key:" with no value sets nothing
			}
			if vv.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("config %s line %d: %s.%s: want a single value", path, vv.Line, name, kk.Value)
			}
			entries = append(entries, entry{key: kk.Value, value: vv.Value, line: vv.Line})
		}
		for _, e := range entries {
			if name == s.Shared && !slices.Contains(s.SharedKeys, e.key) {
				return nil, fmt.Errorf("config %s line %d: unknown key %s.%s (want %s)",
					path, e.line, name, e.key, strings.Join(s.SharedKeys, ", "))
			}
		}
		c.sections[name] = entries
	}
	return c, nil
}

// AliasAnnotation marks a hidden flag that is an old spelling of
// another; its value is the other flag's name. A file's key that names
// an alias sets the flag it stands for.
const AliasAnnotation = "fkd-alias-of"

// A Layer is a section of the file that sets flags of a command.
type Layer struct {
	Section string
	// Keys maps the section's keys that apply to the command to its flag
	// names; the others are left to the commands they belong to. With
	// Keys nil every key of the section must name a flag of the command.
	Keys map[string]string
}

// Sources says where each flag set from a file came from: flag name →
// "config.yml line 12 (train.warmup)".
type Sources map[string]string

// Apply sets the flags of fs that the command line left alone from the
// file at path: first from the shared section, its keys renamed by
// sharedFlags (key → flag name; keys not listed do not apply to the
// command), then from the command's own section, whose keys must be flag
// names of fs. explicit says whether the user named the file, in which
// case it must exist.
func (s Schema) Apply(fs *pflag.FlagSet, command, path string, explicit bool, sharedFlags map[string]string) error {
	c, err := s.Read(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	_, err = c.Apply(fs, command, sharedFlags)
	return err
}

// Apply sets the flags of fs that the command line left alone, as
// Schema.Apply does, and says where each came from.
func (c *File) Apply(flags *pflag.FlagSet, command string, sharedFlags map[string]string) (Sources, error) {
	if sharedFlags == nil {
		sharedFlags = map[string]string{} // no shared key applies
	}
	return c.ApplyLayers(flags, command, Layer{Section: c.shared, Keys: sharedFlags}, Layer{Section: command})
}

// Path returns the file's path.
func (c *File) Path() string { return c.path }

// ApplyLayers sets the flags of fs that the command line left alone from
// the layers in turn, a later layer's value replacing an earlier one's,
// and says where each came from. command names the command in errors.
// A flag the command line set keeps its value.
func (c *File) ApplyLayers(flags *pflag.FlagSet, command string, layers ...Layer) (Sources, error) {
	fromLine := map[string]bool{}
	flags.Visit(func(f *pflag.Flag) {
		fromLine[f.Name] = true
		if to := AliasOf(f); to != "" {
			fromLine[to] = true
		}
	})
	sources := Sources{}
	set := func(e entry, section, name string) error {
		switch name {
		case "config":
			return fmt.Errorf("config %s line %d: %s.%s: a config file cannot name another", c.path, e.line, section, e.key)
		case "no-config", "print-config":
			return fmt.Errorf("config %s line %d: %s.%s: a command-line switch, not a setting a config file can hold", c.path, e.line, section, e.key)
		}
		f := flags.Lookup(name)
		if f == nil {
			return fmt.Errorf("config %s line %d: %s.%s: fkd %s has no flag --%s", c.path, e.line, section, e.key, command, name)
		}
		old := ""
		if to := AliasOf(f); to != "" {
			old, name, f = name, to, flags.Lookup(to)
		}
		if fromLine[name] {
			return nil
		}
		v := e.value
		if _, isPath := f.Annotations[PathAnnotation]; isPath && v != "" && !filepath.IsAbs(v) {
			v = filepath.Join(filepath.Dir(c.path), v)
		}
		if err := flags.Set(name, v); err != nil {
			return fmt.Errorf("config %s line %d: %s.%s: %v", c.path, e.line, section, e.key, err)
		}
		sources[name] = fmt.Sprintf("%s line %d (%s.%s)", c.path, e.line, section, e.key)
		if old != "" {
			sources[name] += fmt.Sprintf(", the old name of %s: rename the key", name)
		}
		return nil
	}
	for _, l := range layers {
		for _, e := range c.sections[l.Section] {
			name := e.key
			if l.Keys != nil {
				var ok bool
				if name, ok = l.Keys[e.key]; !ok {
					continue
				}
			}
			if err := set(e, l.Section, name); err != nil {
				return nil, err
			}
		}
	}
	return sources, nil
}

// AliasOf returns the name of the flag that f is an old spelling of
// (AliasAnnotation), or "" when f is no alias.
func AliasOf(f *pflag.Flag) string {
	if v := f.Annotations[AliasAnnotation]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// documentLine returns the line where the YAML document doc, the second
// of data, starts: its "---" marker, or failing that its first node.
func documentLine(data []byte, doc *yaml.Node) int {
	line := doc.Line
	if len(doc.Content) > 0 && doc.Content[0].Line > 0 {
		line = doc.Content[0].Line
	}
	// The marker is the last "---" line at or before the content.
	lines := strings.Split(string(data), "\n")
	for i := min(line, len(lines)) - 1; i >= 0; i-- {
		if l := strings.TrimRight(lines[i], " \t\r"); l == "---" || strings.HasPrefix(l, "--- ") {
			return i + 1
		}
	}
	return line
}
