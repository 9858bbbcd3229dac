package main

import (
	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/internal/flagconfig"
)

// config.yml holds defaults for the commands' flags (see package
// flagconfig): a data section naming the Kaggle files (train, test,
// lookup) and a section per command ("train:", "submit:") of flags
// without their dashes. A command reads the data section and its own; a
// flag given on the command line wins. The file named by --config must
// exist; the default, config.yml in the working directory, may be
// missing.

// defaultConfigFile is the configuration file read when --config is not
// given.
const defaultConfigFile = "config.yml"

// configSchema: a data section of the Kaggle files, and one per command.
var configSchema = flagconfig.Schema{
	Shared: "data", SharedKeys: []string{"train", "test", "lookup"},
	IsCommand: func(name string) bool { return commands[name] != nil },
}

// markPaths records that the named flags of fs take file paths.
func markPaths(fs *pflag.FlagSet, names ...string) { flagconfig.MarkPaths(fs, names...) }

// applyConfig sets the flags of fs that the command line left alone from
// the file at configPath: the data section's keys renamed by dataFlags
// (data key → flag name), then the command's section. explicit says
// whether the user named the file, which must then exist.
func applyConfig(fs *pflag.FlagSet, command, configPath string, explicit bool, dataFlags map[string]string) error {
	return configSchema.Apply(fs, command, configPath, explicit, dataFlags)
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
