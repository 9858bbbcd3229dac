package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/train"
)

// trainTinyRun trains a small cnn3 for two epochs on the faces of
// trainPath into dir, holding out the fraction holdout, and returns dir.
func trainTinyRun(t *testing.T, trainPath, dir string, holdout float64) string {
	t.Helper()
	c := train.DefaultConfig()
	c.Model, c.Epochs, c.Batch, c.Device, c.Threads = "cnn3:width=4", 2, 16, "cpu", 2
	c.Holdout = holdout
	c.Out = filepath.Join(dir, "model.pt")
	res, err := train.Run(context.Background(), c, mustReadTraining(t, trainPath), train.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	return dir
}

// runQuiet runs an fkd command line and returns its status and stderr.
func runQuiet(args ...string) (int, string) {
	var stdout, stderr bytes.Buffer
	status := run(args, &stdout, &stderr)
	return status, stderr.String()
}

func TestReportAndPlotCommands(t *testing.T) {
	trainPath, _, _, _ := writeBaselineFiles(t)
	tmp := t.TempDir()
	a := trainTinyRun(t, trainPath, filepath.Join(tmp, "a"), 0.2)
	b := trainTinyRun(t, trainPath, filepath.Join(tmp, "b"), 0.3)

	// An unfinished run: a's history as it was before the end.
	unfinished := filepath.Join(tmp, "unfinished")
	if err := os.MkdirAll(unfinished, 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := train.ReadHistory(filepath.Join(a, "model.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	h.Stopped, h.Epochs = "", h.Epochs[:1]
	if err := train.WriteHistory(filepath.Join(unfinished, "model.history.json"), h); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(tmp, "report")
	if status, msg := runQuiet("report", a, "--train", trainPath, "--out", out, "--device", "cpu"); status != 0 {
		t.Fatalf("fkd report: status %d: %s", status, msg)
	}
	checkRowMatchesHistory(t, out, "cnn3:width=4", a)
	checkReportPNG(t, filepath.Join(out, "landmarks.png"), report.LandmarksWidth, report.LandmarksHeight)

	// An unfinished run beside a finished one is left out, and named.
	status, msg := runReportCmd(t, a, unfinished, "--train", trainPath, "--out", filepath.Join(tmp, "part"), "--device", "cpu")
	if want := "left out of the report: run " + unfinished + " is unfinished (1 of 2 epochs)"; status != 0 || !strings.Contains(msg, want) {
		t.Errorf("fkd report with an unfinished run: status %d, stderr %q; want 0 and %q", status, msg, want)
	}
	checkRowMatchesHistory(t, filepath.Join(tmp, "part"), "cnn3:width=4", a)

	curves := filepath.Join(tmp, "curves.png")
	if status, msg := runQuiet("plot", "curves", unfinished, "--out", curves, "--width", "500", "--height", "300"); status != 0 {
		t.Fatalf("fkd plot curves: status %d: %s", status, msg)
	}
	checkReportPNG(t, curves, 500, 300)
	if status, msg := runQuiet("plot", "landmarks", filepath.Join(b, "model.pt"), "--train", trainPath, "--faces", "2", "--device", "cpu"); status != 0 {
		t.Fatalf("fkd plot landmarks: status %d: %s", status, msg)
	}
	checkReportPNG(t, filepath.Join(b, "landmarks.png"), report.LandmarksWidth, report.LandmarksHeight)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no runs", []string{"report", "--train", trainPath}, "at least one run"},
		{"missing run", []string{"report", filepath.Join(tmp, "nowhere"), "--train", trainPath}, "nowhere"},
		{"not a run", []string{"report", out, "--train", trainPath}, "has no history"},
		{"only unfinished", []string{"report", unfinished, "--train", trainPath}, "no finished run to report: run " + unfinished + " is unfinished (1 of 2 epochs)"},
		{"other split", []string{"report", a, b, "--train", trainPath}, "held out different faces"},
		{"plot what", []string{"plot", "bars", a}, "want curves or landmarks"},
		{"plot unfinished landmarks", []string{"plot", "landmarks", unfinished, "--train", trainPath}, "unfinished"},
		{"plot too many faces", []string{"plot", "landmarks", a, "--train", trainPath, "--faces", "30", "--device", "cpu"}, "do not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := runQuiet(tt.args...)
			if status == 0 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want one line containing %q", status, msg, tt.want)
			}
		})
	}
}

// runReportCmd runs "fkd report" with args and returns its status and
// output, stdout and stderr together.
func runReportCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var o reportOptions
	if err := o.setup(pflag.NewFlagSet("report", pflag.ContinueOnError), args); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := o.run(&report.Env{Stdout: &out, Stderr: &out}); err != nil {
		return 1, out.String() + err.Error() + "\n"
	}
	return 0, out.String()
}
