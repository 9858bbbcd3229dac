package train

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeptPath returns path made absolute, for a checkpoint to keep in its
// DataPaths; "" when it names no file that can be read again (standard
// input, a pipe, a device).
func KeptPath(path string) string {
	if path == "" || path == "-" {
		return ""
	}
	if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	return abs
}

// ResumeCommand returns the command that continues the run whose
// checkpoint is at checkpoint, as a user can type it: the checkpoint
// keeps the data files d, except one it could not (d.Train empty, the
// data read from trainGiven), which the command asks for.
func (d DataPaths) ResumeCommand(checkpoint, trainGiven string) string {
	cmd := "fkd train --resume --checkpoint " + ShellQuote(checkpoint)
	if d.Train == "" {
		cmd += fmt.Sprintf(" --train FILE (the training data came from %s, which cannot be read again: give the same data)", trainGiven)
	}
	return cmd
}

// ShellQuote quotes s for a POSIX shell when it needs quoting.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,:=+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FlagValue is the text of one flag of fkd train.
type FlagValue struct{ Flag, Value string }

// ResumeFlags returns the flags a resumed run takes from its checkpoint
// unless the command line gives them: every Kept setting, then the data
// files the checkpoint keeps (train, test, lookup; those it could not
// keep are left out).
func (ck *Checkpoint) ResumeFlags() []FlagValue {
	var fv []FlagValue
	for _, st := range Settings {
		if st.Kept {
			fv = append(fv, FlagValue{st.Flag, st.FlagValue(&ck.Config)})
		}
	}
	for _, d := range []FlagValue{{"train", ck.DataPaths.Train}, {"test", ck.DataPaths.Test}, {"lookup", ck.DataPaths.Lookup}} {
		if d.Value != "" {
			fv = append(fv, d)
		}
	}
	return fv
}

// SetFlags sets with set the flags a resumed run takes from its
// checkpoint (ResumeFlags), except those given holds: the flags of the
// command line, which win.
func (ck *Checkpoint) SetFlags(set func(flag, value string) error, given map[string]bool) error {
	for _, f := range ck.ResumeFlags() {
		if given[f.Flag] {
			continue
		}
		if err := set(f.Flag, f.Value); err != nil {
			return fmt.Errorf("checkpoint %s: setting %s=%q: %v", ck.Path, f.Flag, f.Value, err)
		}
	}
	return nil
}
