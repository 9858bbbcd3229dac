package main

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

// The configuration file, config.yml, holds defaults for the commands'
// flags. It is a YAML mapping of sections:
//
//	data:            # the Kaggle files, for every command that reads them
//	  train: data/training.csv
//	  test: data/test.csv
//	  lookup: data/IdLookupTable.csv
//	train:           # flags of "fkd train", without the dashes
//	  epochs: 30
//	  weight-decay: 0.0001
//	submit:          # flags of "fkd submit"
//	  outfile: output/submission.csv
//
// A command reads the data section and its own; a flag given on the
// command line overrides both. Relative paths in the file are relative to
// the file's directory. The file named by --config must exist; the
// default, config.yml in the working directory, may be missing.

// defaultConfigFile is the configuration file read when --config is not
// given.
const defaultConfigFile = "config.yml"

// dataSection is the section shared by the commands that read the Kaggle
// files; its keys are the files.
const dataSection = "data"

var dataKeys = []string{"train", "test", "lookup"}

// pathAnnotation marks a flag whose value is a file path, which config
// values give relative to the config file.
const pathAnnotation = "fkd-path"

// markPaths records that the named flags of fs take file paths.
func markPaths(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		if err := fs.SetAnnotation(n, pathAnnotation, []string{"true"}); err != nil {
			panic("fkd: markPaths: " + err.Error())
		}
	}
}

// configEntry is one key: value of a section, with where it came from.
type configEntry struct {
	key, value string
	line       int
}

// configFile is a parsed configuration file.
type configFile struct {
	path     string
	sections map[string][]configEntry
}

// readConfigFile reads and checks the structure of the configuration file
// at path.
func readConfigFile(path string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(path, data)
}

// parseConfig parses a configuration file's content; path names it in
// errors and anchors its relative paths.
func parseConfig(path string, data []byte) (*configFile, error) {
	c := &configFile{path: path, sections: map[string][]configEntry{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %v", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(doc.Content) == 0 {
		return c, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s line %d: want a mapping of sections (data:, train:, ...)", path, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		name := k.Value
		if _, dup := c.sections[name]; dup {
			return nil, fmt.Errorf("config %s line %d: section %q appears twice", path, k.Line, name)
		}
		if _, ok := commands[name]; !ok && name != dataSection {
			return nil, fmt.Errorf("config %s line %d: unknown section %q (want %s or a command name)", path, k.Line, name, dataSection)
		}
		if v.Tag == "!!null" {
			c.sections[name] = nil
			continue
		}
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("config %s line %d: section %q: want key: value lines", path, v.Line, name)
		}
		var entries []configEntry
		for j := 0; j+1 < len(v.Content); j += 2 {
			kk, vv := v.Content[j], v.Content[j+1]
			if slices.ContainsFunc(entries, func(e configEntry) bool { return e.key == kk.Value }) {
				return nil, fmt.Errorf("config %s line %d: %s.%s appears twice", path, kk.Line, name, kk.Value)
			}
			if vv.Tag == "!!null" {
				continue // "key:" with no value sets nothing
			}
			if vv.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("config %s line %d: %s.%s: want a single value", path, vv.Line, name, kk.Value)
			}
			entries = append(entries, configEntry{key: kk.Value, value: vv.Value, line: vv.Line})
		}
		if name == dataSection {
			for _, e := range entries {
				if !slices.Contains(dataKeys, e.key) {
					return nil, fmt.Errorf("config %s line %d: unknown key %s.%s (want %s)",
						path, e.line, name, e.key, strings.Join(dataKeys, ", "))
				}
			}
		}
		c.sections[name] = entries
	}
	return c, nil
}

// applyConfig sets the flags of fs that the command line left alone from
// the configuration file: first from the data section, its keys renamed
// by dataFlags (data key → flag name; keys not listed do not apply to the
// command), then from the command's own section, whose keys must be flag
// names of fs. configPath is the file to read; explicit says whether the
// user named it, in which case it must exist.
func applyConfig(fs *pflag.FlagSet, command, configPath string, explicit bool, dataFlags map[string]string) error {
	c, err := readConfigFile(configPath)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return c.apply(fs, command, dataFlags)
}

func (c *configFile) apply(flags *pflag.FlagSet, command string, dataFlags map[string]string) error {
	set := func(e configEntry, section, name string) error {
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
		if _, isPath := f.Annotations[pathAnnotation]; isPath && v != "" && !filepath.IsAbs(v) {
			v = filepath.Join(filepath.Dir(c.path), v)
		}
		if err := flags.Set(name, v); err != nil {
			return fmt.Errorf("config %s line %d: %s.%s: %v", c.path, e.line, section, e.key, err)
		}
		return nil
	}
	for _, e := range c.sections[dataSection] {
		if name, ok := dataFlags[e.key]; ok {
			if err := set(e, dataSection, name); err != nil {
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

// commandLineFlags returns the names of the flags the command line set.
// Call it after parse and before applyConfig.
func commandLineFlags(fs *pflag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	return set
}

// addConfigFlag registers --config on fs.
func addConfigFlag(fs *pflag.FlagSet) *string {
	p := fs.String("config", defaultConfigFile, "YAML file of defaults for the flags (a missing "+defaultConfigFile+" is fine)")
	markPaths(fs, "config")
	return p
}
