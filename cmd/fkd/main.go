// Command fkd trains, compares and ships facial keypoint detectors for the
// Kaggle "Facial Keypoints Detection" data.
//
// Usage:
//
//	fkd <command> [flags]
//
// Run "fkd help" for the list of commands and "fkd <command> --help" for
// the flags of one.
package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/internal/suggest"
)

// command is one fkd sub-command. Each lives in its own file and registers
// itself from an init function.
type command struct {
	name    string // as typed: "train", "baseline", "data"
	summary string // one line for "fkd help"
	usage   string // argument synopsis after the name, e.g. "mean|patch [flags]"
	// run parses args (everything after the command name) with fs and does
	// the work. Output goes to stdout; errors are returned, never printed.
	run func(fs *pflag.FlagSet, args []string) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("fkd: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError marks an error caused by how the command was called; main
// prints it with a hint to --help and exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one fkd invocation and returns the process exit status. A
// panic inside a command (a programmer error deep in a library, such as a
// tensor shape mismatch) becomes one line on stderr, never a stack trace,
// unless FKD_DEBUG is set.
func run(args []string, stdout, stderr io.Writer) (status int) {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return runCommand(c, []string{"--help"}, stdout, stderr)
			}
		}
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == completeCommand {
		complete(stdout, args[1:])
		return 0
	}
	if args[0] == "--version" || args[0] == "-v" {
		fmt.Fprintf(stdout, "fkd %s\n", version)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "fkd: unknown command %q%s (run \"fkd help\" for the list)\n",
			args[0], suggest.DidYouMean(args[0], slices.Sorted(maps.Keys(commands))))
		return 2
	}
	return runCommand(c, args[1:], stdout, stderr)
}

func runCommand(c *command, args []string, stdout, stderr io.Writer) (status int) {
	if os.Getenv("FKD_DEBUG") == "" {
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(stderr, "fkd %s: %v\n", c.name, r)
				status = 1
			}
		}()
	}
	fs := pflag.NewFlagSet("fkd "+c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors come back from parse and are printed once, below
	fs.SortFlags = false
	fs.Usage = func() {}
	configNote, configUsed = "", ""
	configOutput, deprecationOutput = stderr, stderr
	err := c.run(fs, args)
	switch {
	case err == nil:
		flushConfigNote(false)
		return 0
	case errors.Is(err, errConfigPrinted):
		return 0
	case errors.Is(err, pflag.ErrHelp):
		fmt.Fprintf(stdout, "Usage: fkd %s %s\n\n%s\n\nFlags:\n%s", c.name, c.usage, c.summary, fs.FlagUsages())
		if ex := commandExamples[c.name]; ex != "" {
			fmt.Fprintf(stdout, "\nExamples:\n%s\n", indent(strings.TrimSpace(ex), "  "))
		}
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "fkd %s: %v (see \"fkd %s --help\")\n", c.name, err, c.name)
		return 2
	}
	fmt.Fprintf(stderr, "fkd %s: %v\n", c.name, err)
	return 1
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "fkd trains, compares and ships facial keypoint detectors.")
	fmt.Fprintln(w, "\nUsage: fkd <command> [flags]\n\nCommands:")
	for _, n := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"fkd <command> --help\" for a command's flags and examples,")
	fmt.Fprintln(w, "\"fkd --version\" for the version, \"fkd completion bash|zsh|fish\" for shell completion.")
}

// parse parses args with fs and turns a flag error into a usage error.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{strings.TrimSpace(err.Error()) + flagSuggestion(fs, err)}
	}
	return checkAliases(fs)
}

// messages is where a command reports what it wrote: standard output,
// unless the file itself goes there.
func messages(out string) io.Writer {
	if atomicfile.IsStdout(out) {
		return os.Stderr
	}
	return os.Stdout
}
