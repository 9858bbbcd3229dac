package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/train"
)

// TestOutputsCheckedBeforeWork checks that commands refuse an output
// path they cannot write before any work: the training data named here
// does not exist, so an error about it means the work had begun.
func TestOutputsCheckedBeforeWork(t *testing.T) {
	t.Chdir(t.TempDir())
	_, test, lookup, _ := writeBaselineFiles(t)
	for _, d := range []string{"existing", "ro"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile("file", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-training.csv")
	trainArgs := func(extra ...string) []string {
		return append([]string{"train", "--train", missing, "--test", test, "--lookup", lookup, "--device", "cpu"}, extra...)
	}
	tests := []struct {
		name     string
		args     []string
		want     []string
		needUser bool // permissions bind only a user other than root
	}{
		{"train --out a directory", trainArgs("--out", "existing"), []string{"--out", "existing", "is a directory"}, false},
		{"train --out under a file", trainArgs("--out", "file/run/model.pt"), []string{"--out", "file is not a directory"}, false},
		{"train --checkpoint a directory", trainArgs("--out", "run/model.pt", "--checkpoint", "existing"), []string{"--checkpoint", "is a directory"}, false},
		{"train --submission a directory", trainArgs("--out", "run/model.pt", "--submission", "existing"), []string{"--submission", "is a directory"}, false},
		{"train --out -", trainArgs("--out", "-"), []string{"needs a file"}, false},
		{"train in a read-only folder", trainArgs("--out", "ro/model.pt"), []string{"--out", "permission denied"}, true},
		{"submit --out a directory", []string{"submit", "--model", "none.pt", "--out", "existing"}, []string{"--out", "is a directory"}, false},
		{"compare --out a file", []string{"compare", "--train", missing, "--archs", "cnn3", "--out", "file"}, []string{"report folder file", "not a directory"}, false},
		{"baseline --out a directory", []string{"baseline", "mean", "--train", missing, "--test", test, "--lookup", lookup, "--out", "existing"}, []string{"--out", "is a directory"}, false},
		{"augment-preview --out a directory", []string{"augment-preview", "--train", missing, "--out", "existing"}, []string{"--out", "is a directory"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needUser {
				if os.Geteuid() == 0 {
					t.Skip("root ignores permissions (atomicfile's TestCheck covers a read-only folder)")
				}
				if err := os.Chmod("ro", 0o555); err != nil {
					t.Fatal(err)
				}
				defer os.Chmod("ro", 0o755)
			}
			status, msg := runQuiet(tt.args...)
			if status == 0 || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q: want one line of error", status, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "no-such-training") {
				t.Errorf("the command read its data before checking its outputs: %q", msg)
			}
		})
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error(`a file named "-" was written`)
	}
}

// TestResumeCommandWorksVerbatim interrupts a run started with --train
// and runs the command it prints, word for word.
func TestResumeCommandWorksVerbatim(t *testing.T) {
	t.Chdir(t.TempDir())
	trainPath, test, lookup, _ := writeBaselineFiles(t)
	args := tinyTrainArgs(trainPath, test, lookup, filepath.Join("run", "model.pt"))
	o, err := parseTrain(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	o.stdout, o.stderr = &stdout, &stderr
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before its first step
	err = o.run(ctx)
	if err == nil {
		t.Fatal("the cancelled run did not stop")
	}
	_, command, ok := strings.Cut(err.Error(), "continue with: ")
	if !ok || strings.Contains(command, "--train") {
		t.Fatalf("error %q: want a resume command without --train", err)
	}
	words := strings.Fields(command)
	if words[0] != "fkd" {
		t.Fatalf("command %q does not start with fkd", command)
	}
	status, msg := runQuiet(words[1:]...)
	if status != 0 {
		t.Fatalf("%s: status %d: %s", command, status, msg)
	}
	ck, err := train.ReadCheckpoint(filepath.Join("run", "model.ckpt"))
	if err != nil || ck.Progress.Stopped == "" || ck.DataPaths.Train == "" {
		t.Errorf("after the resumed run: checkpoint %+v, %v; want a finished run that keeps its data paths", ck, err)
	}
	if _, err := os.Stat(filepath.Join("run", "submission.csv")); err != nil {
		t.Errorf("the resumed run wrote no submission from the kept test files: %v", err)
	}
}

// TestSubmitToStdout checks that --outfile - writes the submission, and
// nothing else, to standard output.
func TestSubmitToStdout(t *testing.T) {
	t.Chdir(t.TempDir())
	trainPath, test, lookup, rows := writeBaselineFiles(t)
	dir := trainTinyRun(t, trainPath, t.TempDir(), 0.1)
	out := filepath.Join(t.TempDir(), "stdout")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved, savedErr := os.Stdout, os.Stderr
	os.Stdout = f
	devNull, _ := os.Open(os.DevNull)
	os.Stderr = devNull
	status, msg := runQuiet("submit", "--model", filepath.Join(dir, "model.pt"), "--test", test, "--lookup", lookup,
		"--out", "-", "--device", "cpu", "--threads", "2")
	os.Stdout, os.Stderr = saved, savedErr
	devNull.Close()
	if status != 0 {
		t.Fatalf("status %d: %s", status, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "RowId,Location" || len(lines) != rows+1 {
		t.Errorf("standard output holds %d lines starting %q, want the header and %d rows", len(lines), lines[0], rows)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error(`a file named "-" was written`)
	}
}

// TestSubmitNamesMissingImageIDs: lookup rows for an image the test file
// lacks are filled with the training means, and the warning names it.
func TestSubmitNamesMissingImageIDs(t *testing.T) {
	trainPath, test, lookup, rows := writeBaselineFiles(t)
	dir := trainTinyRun(t, trainPath, t.TempDir(), 0.1)
	f, err := os.OpenFile(lookup, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strconv.Itoa(rows+1) + ",9999,left_eye_center_x,\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// submit warns on the process's standard error.
	errPath := filepath.Join(t.TempDir(), "stderr")
	ef, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = ef
	status, _ := runQuiet("submit", "--model", filepath.Join(dir, "model.pt"), "--test", test, "--lookup", lookup,
		"--out", filepath.Join(t.TempDir(), "s.csv"), "--device", "cpu", "--threads", "2")
	os.Stderr = saved
	ef.Close()
	b, err := os.ReadFile(errPath)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(b)
	if status != 0 {
		t.Fatalf("status %d: %s", status, msg)
	}
	if want := "1 ImageIds of the lookup table are not in the test file (9999)"; !strings.Contains(msg, want) {
		t.Errorf("stderr %q lacks %q", msg, want)
	}
}
