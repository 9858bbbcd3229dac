package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSuggestionsAndVersion(t *testing.T) {
	tests := []struct {
		args       []string
		wantStatus int
		wantOut    string // in stdout
		wantErr    string // in stderr
	}{
		{[]string{"--version"}, 0, "fkd " + version, ""},
		{[]string{"-v"}, 0, "fkd " + version, ""},
		{[]string{"trian"}, 2, "", `unknown command "trian" (did you mean train?)`},
		{[]string{"comapre"}, 2, "", "(did you mean compare?)"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate" (run "fkd help" for the list)`},
		{[]string{"train", "--epoch", "3"}, 2, "", "unknown flag: --epoch (did you mean --epochs?)"},
		{[]string{"submit", "--zzzzzzzzz"}, 2, "", "unknown flag: --zzzzzzzzz (see"},
		{[]string{"completion", "bsh"}, 2, "", `no completion for shell "bsh" (did you mean bash?)`},
		{[]string{"completion", "--help"}, 0, "Examples:\n  # bash", ""},
		{[]string{completeCommand, "tr"}, 0, "train\n", ""},
		{[]string{completeCommand, "train", "--epo"}, 0, "--epochs\n", ""},
		{[]string{completeCommand, "train", "data/"}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(tt.args, &stdout, &stderr)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (stderr %q)", status, tt.wantStatus, stderr.String())
			}
			if tt.wantOut != "" && !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout %q, want it to contain %q", stdout.String(), tt.wantOut)
			}
			if tt.wantOut == "" && tt.wantStatus == 0 && stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if tt.wantErr != "" && !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

// TestEveryCommandHasExamples: each command's --help ends with examples.
func TestEveryCommandHasExamples(t *testing.T) {
	for name := range commands {
		if commandExamples[name] == "" {
			t.Errorf("fkd %s has no examples for its --help", name)
		}
	}
}

// TestBashCompletion runs the bash script in a real bash, with this test
// binary acting as fkd.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "fkd")); err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	script.WriteString(completionScripts["bash"])
	script.WriteString(`COMP_WORDS=(fkd train --ep); COMP_CWORD=2; _fkd; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(fkd comp); COMP_CWORD=1; _fkd; echo "2:${COMPREPLY[*]}"
`)
	cmd := exec.Command(bash, "-c", script.String())
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), testMainEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	for _, want := range []string{"1:--epochs\n", "2:compare completion\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bash completion printed %q, want %q in it", out, want)
		}
	}
}
