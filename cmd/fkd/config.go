package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/cmd/fkd/internal/flagconfig"
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

// configOutput is where commands say which config file they read.
var configOutput io.Writer = os.Stderr

// configNote is the line that says which config file the command read,
// or that it read none; configUsed is that file, absolute, or "" when none
// was read. A command prints the note when its work starts
// (flushConfigNote), so that a command refused at the start says one
// line, its error: every command when it read a file, and fkd train and
// fkd compare, whose settings come most from the file, also when it read
// none. fkd train and fkd compare print it as training starts, the other
// commands when they succeed; runCommand resets both.
var configNote, configUsed string

// flushConfigNote prints configNote on configOutput, once: always with
// evenNone, else only when a config file was read.
func flushConfigNote(evenNone bool) { flushConfigNoteTo(configOutput, evenNone) }

// flushConfigNoteTo is flushConfigNote onto w: a command's log, where its
// other progress lines go.
func flushConfigNoteTo(w io.Writer, evenNone bool) {
	if configNote != "" && (configUsed != "" || evenNone) {
		fmt.Fprintln(w, configNote)
	}
	configNote = ""
}

// errConfigPrinted ends a command run with --print-config: the settings
// are printed, nothing else is done, and the exit status is 0.
var errConfigPrinted = errors.New("settings printed")

// applyConfig sets the flags of fs that the command line left alone from
// the file at configPath: the data section's keys renamed by dataFlags
// (data key → flag name), then, for fkd compare, the train section's
// training settings (so that it trains each model exactly as fkd train
// would), then the command's own section; a later one wins, and the command line wins
// over all. explicit says whether the user named the file, which must
// then exist; --no-config reads none. It says on configOutput which file
// it read, or that it read none, and with --print-config prints the
// settings in effect with where each came from, and returns
// errConfigPrinted.
func applyConfig(fs *pflag.FlagSet, command, configPath string, explicit bool, dataFlags map[string]string) error {
	if noConfig, _ := fs.GetBool("no-config"); noConfig {
		if explicit {
			return usagef("--config and --no-config contradict each other")
		}
		configNote = "config: none (--no-config)"
		return printConfig(fs, nil)
	}
	file, err := configSchema.Read(configPath)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			configNote = fmt.Sprintf("config: none (no %s in %s; --config FILE names one)", configPath, workingDir())
			return printConfig(fs, nil)
		}
		return err
	}
	if dataFlags == nil {
		dataFlags = map[string]string{} // no data key applies
	}
	layers := []flagconfig.Layer{{Section: configSchema.Shared, Keys: dataFlags}}
	if command == "compare" {
		keys := map[string]string{}
		for _, name := range trainingFlagNames() {
			keys[name] = name
		}
		layers = append(layers, flagconfig.Layer{Section: "train", Keys: keys})
	}
	layers = append(layers, flagconfig.Layer{Section: command})
	sources, err := file.ApplyLayers(fs, command, layers...)
	if err != nil {
		return err
	}
	configUsed = configPath
	if abs, err := filepath.Abs(configPath); err == nil {
		configUsed = abs
	}
	configNote = fmt.Sprintf("config: %s (%d settings from it)", configUsed, len(sources))
	return printConfig(fs, sources)
}

func workingDir() string {
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "the working directory"
}

// printConfig, with --print-config, prints every setting of fs in effect
// and where it came from: the command line, the config file (sources),
// or the built-in default; then returns errConfigPrinted.
func printConfig(fs *pflag.FlagSet, sources flagconfig.Sources) error {
	if p, _ := fs.GetBool("print-config"); !p {
		return nil
	}
	byAlias := map[string]bool{} // flags the command line gave by an old name
	fs.Visit(func(f *pflag.Flag) {
		if to := flagconfig.AliasOf(f); to != "" {
			byAlias[to] = true
		}
	})
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "setting\tvalue\tfrom")
	fs.VisitAll(func(f *pflag.Flag) {
		switch f.Name {
		case "config", "no-config", "print-config", "help":
			return
		}
		if f.Hidden {
			return
		}
		from := "default"
		switch src, ok := sources[f.Name]; {
		case ok:
			from = src
		case f.Changed || byAlias[f.Name]:
			from = "command line"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", f.Name, f.Value.String(), from)
	})
	if err := w.Flush(); err != nil {
		return err
	}
	flushConfigNote(true)
	return errConfigPrinted
}

// commandLineFlags returns the names of the flags the command line set.
// Call it after parse and before applyConfig.
func commandLineFlags(fs *pflag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	return set
}

// addConfigFlag registers --config, --no-config and --print-config on
// fs.
func addConfigFlag(fs *pflag.FlagSet) *string {
	p := fs.String("config", defaultConfigFile, "YAML file of defaults for the flags (a missing "+defaultConfigFile+" in the working directory is fine)")
	fs.Bool("no-config", false, "read no config file: built-in defaults and the command line only")
	fs.Bool("print-config", false, "print every setting in effect and where it came from (default, config file and line, command line), then stop")
	markPaths(fs, "config")
	return p
}
