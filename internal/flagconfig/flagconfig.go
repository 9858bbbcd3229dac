// Package flagconfig sets a command's flags from a YAML file of defaults:
// a mapping of sections, one shared by the commands that read the same
// files and one per command, each a mapping of flag names (without the
// dashes) to values. A flag given on the command line wins over the file;
// a relative path in the file is relative to the file's directory.
package flagconfig

import (
	"errors"
	"fmt"
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
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %v", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(doc.Content) == 0 {
		return c, nil // empty file
	}
	root := doc.Content[0]
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
	return c.Apply(fs, command, sharedFlags)
}

// Apply sets the flags of fs that the command line left alone, as
// Schema.Apply does.
func (c *File) Apply(flags *pflag.FlagSet, command string, sharedFlags map[string]string) error {
	set := func(e entry, section, name string) error {
		f := flags.Lookup(name)
		if name == "config" {
			return fmt.Errorf("config %s line %d: %s.%s: a config file cannot name another", c.path, e.line, section, e.key)
		}
		if f == nil {
			return fmt.Errorf("config %s line %d: %s.%s: fkd %s has no flag --%s", c.path, e.line, section, e.key, command, name)
		}
		if f.Changed {
			return nil
		}
		v := e.value
		if _, isPath := f.Annotations[PathAnnotation]; isPath && v != "" && !filepath.IsAbs(v) {
			v = filepath.Join(filepath.Dir(c.path), v)
		}
		if err := flags.Set(name, v); err != nil {
			return fmt.Errorf("config %s line %d: %s.%s: %v", c.path, e.line, section, e.key, err)
		}
		return nil
	}
	for _, e := range c.sections[c.shared] {
		if name, ok := sharedFlags[e.key]; ok {
			if err := set(e, c.shared, name); err != nil {
				return err
			}
		}
	}
	for _, e := range c.sections[command] {
		if err := set(e, command, e.key); err != nil {
			return err
		}
	}
	return nil
}
