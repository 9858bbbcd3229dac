package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyFile copies src to dst, making dst's folder.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, b)
}

// writeFile writes b to path, making its folder.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot returns the bytes of the files at paths.
func snapshot(t *testing.T, paths ...string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[p] = b
	}
	return m
}

// checkSurvived reports a file of before whose bytes changed.
func checkSurvived(t *testing.T, before map[string][]byte) {
	t.Helper()
	for p, want := range before {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed: %d bytes, was %d", p, len(got), len(want))
		}
	}
}

// clashFiles lays out, in the working directory, the files the clash
// tests name: data in d/, stand-ins for models in m/ (the check comes
// before they are read), an ensemble file listing them, a run folder r/
// and a config file.
func clashFiles(t *testing.T) {
	t.Helper()
	trainPath, test, lookup, _ := writeBaselineFiles(t)
	copyFile(t, trainPath, "d/training.csv")
	copyFile(t, test, "d/test.csv")
	copyFile(t, lookup, "d/lookup.csv")
	copyFile(t, trainPath, "x/README.md")
	writeFile(t, "m/a.pt", []byte("model a"))
	writeFile(t, "m/b.pt", []byte("model b"))
	writeFile(t, "e.json", []byte(`{"format":"fkd-ensemble/1","members":[{"model":"m/a.pt","weight":1},{"model":"m/b.pt","weight":1}]}`))
	writeFile(t, "r/model.pt", []byte("run model"))
	writeFile(t, "r/model.history.json", []byte("{}"))
	writeFile(t, "cfg.yml", []byte("# no defaults\n"))
	if err := os.Symlink("d/lookup.csv", "link.csv"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, "s/training.csv", []byte("old synthetic training data"))
	if err := os.Symlink("training.csv", "s/test.csv"); err != nil {
		t.Fatal(err)
	}
}

// TestOutputSameAsInputRefused: an output that is an input of the same
// command, or another of its outputs, is refused before any work with
// one line naming both, status 1, and the input keeps every byte.
func TestOutputSameAsInputRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	clashFiles(t)
	data := []string{"--test", "d/test.csv", "--lookup", "d/lookup.csv"}
	submit := func(extra ...string) []string {
		return append(append([]string{"submit", "--model", "m/a.pt", "--device", "cpu"}, data...), extra...)
	}
	trainArgs := func(extra ...string) []string {
		return append(append([]string{"train", "--train", "d/training.csv", "--device", "cpu", "--epochs", "1"}, data...), extra...)
	}
	tests := []struct {
		name   string
		args   []string
		victim string
		want   []string
	}{
		{"submit over its model", submit("--out", "m/a.pt"), "m/a.pt", []string{"m/a.pt (--out)", "the model m/a.pt"}},
		{"submit over its lookup table", submit("--out", "d/lookup.csv"), "d/lookup.csv", []string{"d/lookup.csv (--out)", "the lookup table d/lookup.csv"}},
		{"submit over its test data", submit("--out", "d/test.csv"), "d/test.csv", []string{"the test data d/test.csv"}},
		{"submit through a link to its lookup table", submit("--out", "link.csv"), "d/lookup.csv", []string{"link.csv (--out)", "the lookup table d/lookup.csv"}},
		{"submit over a listed model", submit("--model", "m/a.pt,m/b.pt", "--out", "m/b.pt"), "m/b.pt", []string{"the model m/b.pt"}},
		{"submit over an ensemble's member", submit("--model", "e.json", "--out", "m/b.pt"), "m/b.pt", []string{"the ensemble e.json's member m/b.pt"}},
		{"submit over the ensemble file", submit("--model", "e.json", "--out", "e.json"), "e.json", []string{"the model e.json"}},
		{"submit over its config file", submit("--config", "cfg.yml", "--out", "cfg.yml"), "cfg.yml", []string{"the config file cfg.yml"}},
		{"ensemble over a member", []string{"ensemble", "--models", "m/a.pt,m/b.pt", "--train", "d/training.csv", "--out", "m/b.pt"}, "m/b.pt", []string{"m/b.pt (--out)", "the member m/b.pt"}},
		{"ensemble over its data", []string{"ensemble", "--models", "m/a.pt,m/b.pt", "--train", "d/training.csv", "--out", "d/training.csv"}, "d/training.csv", []string{"the data d/training.csv"}},
		{"train over its training data", trainArgs("--out", "d/training.csv"), "d/training.csv", []string{"d/training.csv (--out)", "the training data d/training.csv"}},
		{"train's submission over its test data", trainArgs("--out", "run/model.pt", "--submission", "d/test.csv"), "d/test.csv", []string{"d/test.csv (--submission)", "the test data d/test.csv"}},
		{"train's checkpoint over the lookup table", trainArgs("--out", "run/model.pt", "--checkpoint", "d/lookup.csv"), "d/lookup.csv", []string{"(--checkpoint)", "the lookup table d/lookup.csv"}},
		{"train over its teacher", trainArgs("--out", "m/a.pt", "--pseudo-labels", "m/a.pt"), "m/a.pt", []string{"m/a.pt (--out)", "the teacher m/a.pt"}},
		{"train's submission over its model", trainArgs("--out", "run/model.pt", "--submission", "run/model.pt"), "", []string{"run/model.pt (--submission)", "--out run/model.pt is the same file"}},
		{"baseline over its training data", []string{"baseline", "mean", "--train", "d/training.csv", "--test", "d/test.csv", "--lookup", "d/lookup.csv", "--out", "d/training.csv"}, "d/training.csv", []string{"the training data d/training.csv"}},
		{"augment-preview over its data", []string{"augment-preview", "--train", "d/training.csv", "--out", "d/training.csv"}, "d/training.csv", []string{"the training data d/training.csv"}},
		{"plot over the run's model", []string{"plot", "curves", "r", "--out", "r/model.pt"}, "r/model.pt", []string{"r/model.pt (--out)", "the run's model r/model.pt"}},
		{"plot over its data", []string{"plot", "landmarks", "r", "--train", "d/training.csv", "--out", "d/training.csv"}, "d/training.csv", []string{"the training data d/training.csv"}},
		{"report over its data", []string{"report", "r", "--train", "x/README.md", "--out", "x"}, "x/README.md", []string{"x/README.md (the report)", "the training data x/README.md"}},
		{"compare over its data", []string{"compare", "--archs", "cnn3", "--train", "x/README.md", "--out", "x"}, "x/README.md", []string{"x/README.md (the report)", "the training data x/README.md"}},
		{"synth over itself through a link", []string{"synth", "--out", "s", "--train-faces", "5", "--test-faces", "2"}, "s/training.csv", []string{"s/test.csv", "s/training.csv is the same file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before map[string][]byte
			if tt.victim != "" {
				before = snapshot(t, tt.victim)
			}
			status, msg := runQuiet(tt.args...)
			if status != 1 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "refusing to write") {
				t.Errorf("status %d, stderr %q; want 1 and one line refusing", status, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q lacks %q", msg, w)
				}
			}
			checkSurvived(t, before)
		})
	}
}

// runFiles lays out, in the working directory, the data of
// writeBaselineFiles in d/ and two finished runs in a/ and b/ that share
// a hold-out split, and returns the flags naming the test data.
func runFiles(t *testing.T) []string {
	t.Helper()
	trainPath, test, lookup, _ := writeBaselineFiles(t)
	copyFile(t, trainPath, "d/training.csv")
	copyFile(t, test, "d/test.csv")
	copyFile(t, lookup, "d/lookup.csv")
	trainTinyRun(t, "d/training.csv", "a", 0.2)
	trainTinyRun(t, "d/training.csv", "b", 0.2)
	trainTinyRun(t, "d/training.csv", "other", 0.3)
	return []string{"--test", "d/test.csv", "--lookup", "d/lookup.csv"}
}

// TestFailedCommandKeepsOutputs: a command that fails leaves the outputs
// of an earlier run as they were, byte for byte.
func TestFailedCommandKeepsOutputs(t *testing.T) {
	t.Chdir(t.TempDir())
	runFiles(t)
	for _, p := range []string{"old/s.csv", "old/e.json", "old/p.png", "rep/index.html", "rep/curves.png", "rep/README.md", "old/run/submission.csv"} {
		writeFile(t, p, []byte("earlier output "+p))
	}
	// A folder where the report wants a chart: the report fails while it
	// writes, after its first chart.
	if err := os.MkdirAll("rep2/keypoints.png", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, "rep2/curves.png", []byte("earlier chart"))
	writeFile(t, "rep2/index.html", []byte("earlier page"))
	tests := []struct {
		name string
		args []string
		kept []string
	}{
		{"submit with bad test data", []string{"submit", "--model", "a/model.pt", "--test", "d/training.csv", "--lookup", "d/lookup.csv", "--out", "old/s.csv", "--device", "cpu"}, []string{"old/s.csv"}},
		{"submit with a bad lookup table", []string{"submit", "--model", "a/model.pt", "--test", "d/test.csv", "--lookup", "d/test.csv", "--out", "old/s.csv", "--device", "cpu"}, []string{"old/s.csv"}},
		{"ensemble of other splits", []string{"ensemble", "--models", "a/model.pt,other/model.pt", "--train", "d/training.csv", "--out", "old/e.json", "--device", "cpu"}, []string{"old/e.json"}},
		{"baseline with bad test data", []string{"baseline", "mean", "--train", "d/training.csv", "--test", "d/lookup.csv", "--lookup", "d/lookup.csv", "--out", "old/s.csv"}, []string{"old/s.csv"}},
		{"augment-preview of a face too far", []string{"augment-preview", "--train", "d/training.csv", "--index", "100000", "--out", "old/p.png"}, []string{"old/p.png"}},
		{"plot of too many faces", []string{"plot", "landmarks", "a", "--train", "d/training.csv", "--faces", "30", "--out", "old/p.png", "--device", "cpu"}, []string{"old/p.png"}},
		{"report of other splits", []string{"report", "a", "other", "--train", "d/training.csv", "--out", "rep", "--device", "cpu"}, []string{"rep/index.html", "rep/curves.png", "rep/README.md"}},
		{"report with a folder in place of a chart", []string{"report", "a", "--train", "d/training.csv", "--out", "rep2", "--device", "cpu"}, []string{"rep2/curves.png", "rep2/index.html"}},
		{"train with bad test data", append(tinyTrainArgs("d/training.csv", "d/lookup.csv", "d/lookup.csv", "old/run/model.pt"), "--epochs", "1"), []string{"old/run/submission.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, tt.kept...)
			args := tt.args
			if tt.name == "train with bad test data" {
				args = append([]string{"train"}, args...)
			}
			status, msg := runQuiet(args...)
			if status != 1 || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want 1 and one line", status, msg)
			}
			checkSurvived(t, before)
			for _, p := range tt.kept {
				if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*.tmp-*")); len(tmp) > 0 {
					t.Errorf("temporary files left: %q", tmp)
				}
			}
		})
	}
}

// TestOutputFoldersMade: every command makes the missing folders of its
// outputs, and removes the temporary files a killed run left beside
// them (fkd's own names only, older than the run).
func TestOutputFoldersMade(t *testing.T) {
	t.Chdir(t.TempDir())
	data := runFiles(t)
	tests := []struct {
		name string
		args []string
		out  string // an output the command writes in a new folder
	}{
		{"submit", append([]string{"submit", "--model", "a/model.pt", "--out", "new/submit/a/s.csv", "--device", "cpu"}, data...), "new/submit/a/s.csv"},
		{"ensemble", []string{"ensemble", "--models", "a/model.pt,b/model.pt", "--train", "d/training.csv", "--out", "new/ensemble/a/e.json", "--device", "cpu"}, "new/ensemble/a/e.json"},
		{"baseline", append([]string{"baseline", "mean", "--train", "d/training.csv", "--out", "new/baseline/a/s.csv"}, data...), "new/baseline/a/s.csv"},
		{"augment-preview", []string{"augment-preview", "--synth", "--n", "2", "--out", "new/preview/a/p.png"}, "new/preview/a/p.png"},
		{"plot", []string{"plot", "curves", "a", "--out", "new/plot/a/c.png"}, "new/plot/a/c.png"},
		{"report", []string{"report", "a", "b", "--train", "d/training.csv", "--out", "new/report/a", "--device", "cpu"}, "new/report/a/index.html"},
		{"synth", []string{"synth", "--out", "new/synth/a", "--train-faces", "5", "--test-faces", "2"}, "new/synth/a/test.csv"},
		{"train", append(tinyTrainArgs("d/training.csv", "d/test.csv", "d/lookup.csv", "new/train/a/model.pt"), "--epochs", "1", "--submission", "new/train/s/s.csv"), "new/train/s/s.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.name == "train" {
				args = append([]string{"train"}, args...)
			}
			if status, msg := runQuiet(args...); status != 0 {
				t.Fatalf("status %d: %s", status, msg)
			}
			if _, err := os.Stat(tt.out); err != nil {
				t.Fatal(err)
			}
			// Again, with what a killed run leaves beside the output.
			dir, base := filepath.Split(tt.out)
			stale := filepath.Join(dir, "."+base+".tmp-123456")
			fresh := filepath.Join(dir, "."+base+".tmp-999999")
			other := filepath.Join(dir, "."+base+".tmp-backup")
			for _, p := range []string{stale, fresh, other} {
				writeFile(t, p, []byte("partial"))
			}
			old := time.Now().Add(-time.Hour)
			for _, p := range []string{stale, other} {
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chtimes(fresh, time.Now().Add(time.Hour), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if status, msg := runQuiet(args...); status != 0 {
				t.Fatalf("again: status %d: %s", status, msg)
			}
			if _, err := os.Stat(stale); err == nil {
				t.Errorf("%s, a killed run's temporary file, was left", stale)
			}
			for _, p := range []string{fresh, other} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s, not a stale temporary file of fkd's, was removed", p)
				}
			}
		})
	}
}

// TestModelListsAndMissingRuns: the smaller errors of model lists,
// ensembles and report arguments are one line saying what is wrong.
func TestModelListsAndMissingRuns(t *testing.T) {
	t.Chdir(t.TempDir())
	clashFiles(t)
	writeFile(t, "m/e2.json", []byte(`{"format":"fkd-ensemble/1","members":[{"model":"e2.json","weight":1},{"model":"a.pt","weight":1}]}`))
	tests := []struct {
		name   string
		args   []string
		status int
		want   string
	}{
		{"ensemble with an empty member", []string{"ensemble", "--models", "m/a.pt,", "--train", "d/training.csv", "--out", "o.json"}, 2, `--models: model list "m/a.pt," has an empty entry (number 2)`},
		{"ensemble with an ensemble member", []string{"ensemble", "--models", "e.json,m/a.pt", "--train", "d/training.csv", "--out", "o.json"}, 1, "ensemble member e.json: not an fkd model file: it is an ensemble file, and ensembles cannot be nested"},
		{"ensemble with a CSV member", []string{"ensemble", "--models", "d/test.csv,m/a.pt", "--train", "d/training.csv", "--out", "o.json"}, 1, `ensemble member d/test.csv: not an fkd model file: it is a text file starting "ImageId,Image"`},
		{"submit with an empty member", []string{"submit", "--model", "m/a.pt,", "--test", "d/test.csv", "--lookup", "d/lookup.csv", "--out", "o.csv"}, 1, "has an empty entry"},
		{"submit with an ensemble listing itself", []string{"submit", "--model", "m/e2.json", "--test", "d/test.csv", "--lookup", "d/lookup.csv", "--out", "o.csv"}, 1, "e2.json: not an fkd model file: it is an ensemble file, and ensembles cannot be nested"},
		{"report of a missing folder", []string{"report", "nowhere/run", "--train", "d/training.csv"}, 1, "run nowhere/run: no such folder or file"},
		{"report of a missing folder without data", []string{"report", "/nonexistent"}, 1, "run /nonexistent: no such folder or file"},
		{"plot of a missing run", []string{"plot", "curves", "nowhere/run"}, 1, "run nowhere/run: no such folder or file"},
		{"report without its data", []string{"report", "r", "--train", "d/none.csv"}, 1, "--train d/none.csv: no such file (give it with --train"},
		{"report of a folder that is not a run", []string{"report", "d", "--train", "d/training.csv"}, 1, "run d has no history"},
		{"ensemble without its data", []string{"ensemble", "--models", "m/a.pt,m/b.pt", "--train", "d/none.csv", "--out", "o.json"}, 1, "--train d/none.csv: no such file"},
		{"evaluate without its data", []string{"evaluate", "--model", "m/a.pt", "--train", "d/none.csv"}, 1, "--train d/none.csv: no such file"},
		{"plot without its data", []string{"plot", "landmarks", "r", "--train", "d/none.csv", "--out", "o.png"}, 1, "--train d/none.csv: no such file"},
		{"compare without its data", []string{"compare", "--archs", "cnn3", "--train", "d/none.csv", "--out", "cmp"}, 1, "--train d/none.csv: no such file"},
		{"augment-preview without its data", []string{"augment-preview", "--train", "d/none.csv", "--out", "o.png"}, 1, "--train d/none.csv: no such file"},
		{"a second YAML document", []string{"submit", "--config", "two.yml", "--model", "m/a.pt"}, 1, "config two.yml line 3: a second YAML document"},
	}
	writeFile(t, "two.yml", []byte("submit:\n  tta: flip\n---\nsubmit:\n  tta: none\n"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := runQuiet(tt.args...)
			if status != tt.status || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tt.want) {
				t.Errorf("status %d, stderr %q; want %d and one line containing %q", status, msg, tt.status, tt.want)
			}
			if strings.Contains(msg, "header length") || strings.Contains(msg, "load :") || strings.Contains(msg, "data/training.csv") {
				t.Errorf("stderr %q", msg)
			}
		})
	}
}

// TestDataLossRefused runs the data-loss cases on real models,
// which the commands would load and then overwrite: each is refused and
// the input keeps every byte.
func TestDataLossRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	data := runFiles(t)
	if status, msg := runQuiet("ensemble", "--models", "a/model.pt,b/model.pt", "--train", "d/training.csv", "--out", "e.json", "--device", "cpu"); status != 0 {
		t.Fatalf("ensemble: status %d: %s", status, msg)
	}
	tests := []struct {
		name   string
		args   []string
		victim string
	}{
		{"submit --out its model", append([]string{"submit", "--model", "a/model.pt", "--out", "a/model.pt", "--device", "cpu"}, data...), "a/model.pt"},
		{"submit --out its lookup table", append([]string{"submit", "--model", "a/model.pt", "--out", "d/lookup.csv", "--device", "cpu"}, data...), "d/lookup.csv"},
		{"submit --out a member of its ensemble", append([]string{"submit", "--model", "e.json", "--out", "b/model.pt", "--device", "cpu"}, data...), "b/model.pt"},
		{"ensemble --out a member", []string{"ensemble", "--models", "a/model.pt,b/model.pt", "--train", "d/training.csv", "--out", "b/model.pt", "--device", "cpu"}, "b/model.pt"},
		{"plot --out its model", []string{"plot", "landmarks", "a", "--train", "d/training.csv", "--out", "a/model.pt", "--device", "cpu"}, "a/model.pt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, tt.victim)
			status, msg := runQuiet(tt.args...)
			if status != 1 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "refusing to write "+tt.victim) {
				t.Errorf("status %d, stderr %q; want 1 and one line refusing to write %s", status, msg, tt.victim)
			}
			checkSurvived(t, before)
		})
	}
}
