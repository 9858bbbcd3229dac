package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/internal/suggest"
)

func init() {
	register(&command{name: "completion", run: runCompletion,
		summary: "print a shell completion script (bash, zsh or fish)",
		usage:   "bash|zsh|fish"})
}

// completeCommand is the hidden command the completion scripts call:
// "fkd __complete WORD..." prints the candidates for the word after
// WORD..., one a line: the commands after "fkd", a command's flags after
// a word that starts with "-", and nothing where a file name goes (the
// shell completes those itself).
const completeCommand = "__complete"

// The scripts: each asks fkd for the words and falls back to file names.
var completionScripts = map[string]string{
	"bash": `# bash completion for fkd
_fkd() {
	local cur="${COMP_WORDS[COMP_CWORD]}"
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$(fkd __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _fkd fkd
`,
	"zsh": `#compdef fkd
# zsh completion for fkd
_fkd() {
	local -a words_
	words_=("${(@f)$(fkd __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
	if (( ${#words_} )) && [[ -n "${words_[1]}" ]]; then
		compadd -a words_
	else
		_files
	fi
}
compdef _fkd fkd
`,
	"fish": `# fish completion for fkd
function __fkd_complete
	set -l words (commandline -opc) (commandline -ct)
	fkd __complete $words[2..-1] 2>/dev/null
end
complete -c fkd -a '(__fkd_complete)'
`,
}

func runCompletion(fs *pflag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	shells := slices.Sorted(maps.Keys(completionScripts))
	if fs.NArg() != 1 {
		return usagef("want one shell: %s", strings.Join(shells, ", "))
	}
	script, ok := completionScripts[fs.Arg(0)]
	if !ok {
		return usagef("no completion for shell %q%s (have: %s)", fs.Arg(0),
			suggest.DidYouMean(fs.Arg(0), shells), strings.Join(shells, ", "))
	}
	_, err := io.WriteString(os.Stdout, script)
	return err
}

// complete writes to w the completions of the last of words, the words
// before it being those typed after "fkd".
func complete(w io.Writer, words []string) {
	if len(words) == 0 {
		return
	}
	cur := words[len(words)-1]
	if len(words) == 1 {
		for _, n := range slices.Sorted(maps.Keys(commands)) {
			if strings.HasPrefix(n, cur) {
				fmt.Fprintln(w, n)
			}
		}
		return
	}
	c, ok := commands[words[0]]
	if !ok || !strings.HasPrefix(cur, "-") {
		return
	}
	fs := commandFlags(c)
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && strings.HasPrefix("--"+f.Name, cur) {
			fmt.Fprintln(w, "--"+f.Name)
		}
	})
}

// commandFlags returns c's flags: the flag set its run function fills
// when asked for --help, which returns before any work.
func commandFlags(c *command) *pflag.FlagSet {
	fs := pflag.NewFlagSet("fkd "+c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	func() {
		defer func() { recover() }() // a command that panics has no flags to offer
		c.run(fs, []string{"--help"})
	}()
	return fs
}

// flagSuggestion returns " (did you mean --X?)" for a parse error about
// an unknown flag when fs has one of a close name, else "".
func flagSuggestion(fs *pflag.FlagSet, err error) string {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return ""
	}
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if best, ok := suggest.Closest(name, names); ok {
		return fmt.Sprintf(" (did you mean --%s?)", best)
	}
	return ""
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
