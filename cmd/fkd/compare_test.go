package main

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/compare"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

// tinyCompareArgs are the flags of a quick CPU comparison of two small
// models on trainPath, writing to out.
func tinyCompareArgs(trainPath, out string) []string {
	return []string{
		"--archs", "cnn3:width=4,tinyresnet:width=4,dropout=0", "--epochs", "2", "--batch", "16",
		"--holdout", "0.2", "--device", "cpu", "--threads", "2", "--train", trainPath, "--out", out,
	}
}

// runCompareCmd runs "fkd compare" with args and returns its output,
// stdout and stderr together.
func runCompareCmd(t *testing.T, args ...string) string {
	t.Helper()
	var o compareOptions
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	if err := o.setup(fs, args); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := o.cmp.Run(context.Background(), &report.Env{Stdout: &out, Stderr: &out}); err != nil {
		t.Fatalf("compare: %v\n%s", err, out.String())
	}
	return out.String()
}

// checkReportPNG decodes a PNG of the report and checks its size.
func checkReportPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Width != w || cfg.Height != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, cfg.Width, cfg.Height, w, h)
	}
}

// tableRow returns the cells of the Markdown table row of the report at
// dir whose first cell is label.
func tableRow(t *testing.T, dir, label string) []string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(md), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		// The ensemble's row goes on with its weights: "ensemble of 2: ...".
		if len(cells) == len(report.Columns) && (cells[0] == label || strings.HasPrefix(cells[0], label+": ")) {
			return cells
		}
	}
	t.Fatalf("%s/README.md has no table row for %q:\n%s", dir, label, md)
	return nil
}

// checkRowMatchesHistory checks that the report's row of a run shows the
// numbers of the run's history.
func checkRowMatchesHistory(t *testing.T, reportDir, label, runDir string) {
	t.Helper()
	h, err := train.ReadHistory(filepath.Join(runDir, "model.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	var secs float64
	for _, e := range h.Epochs {
		secs += e.Seconds
	}
	want := map[string]string{
		"epochs":             strconv.Itoa(len(h.Epochs)),
		"best epoch":         strconv.Itoa(h.BestEpoch),
		"train time":         report.FormatSeconds(secs),
		"time per epoch":     report.FormatSeconds(secs / float64(len(h.Epochs))),
		"hold-out RMSE (px)": strconv.FormatFloat(*h.BestHoldoutRMSEPx, 'f', 3, 64),
	}
	row := tableRow(t, reportDir, label)
	for i, col := range report.Columns {
		if w, ok := want[col]; ok && row[i] != w {
			t.Errorf("%s: %s is %q, the history says %q", label, col, row[i], w)
		}
	}
	if tta, err := strconv.ParseFloat(row[len(row)-1], 64); err != nil || !(tta > 0) {
		t.Errorf("%s: RMSE with flip TTA %q is not a positive number", label, row[len(row)-1])
	}
}

func TestCompareTrainsReportsAndReuses(t *testing.T) {
	trainPath, _, _, _ := writeBaselineFiles(t)
	out := filepath.Join(t.TempDir(), "report")
	log := runCompareCmd(t, tinyCompareArgs(trainPath, out)...)

	runs := map[string]string{
		"cnn3:width=4":                 filepath.Join(out, "runs", "cnn3_width-4"),
		"tinyresnet:dropout=0,width=4": filepath.Join(out, "runs", "tinyresnet_dropout-0_width-4"),
	}
	for label, dir := range runs {
		checkRowMatchesHistory(t, out, label, dir)
	}
	for _, label := range []string{"ensemble of 2", "mean baseline", "patch search"} {
		row := tableRow(t, out, label)
		if v, err := strconv.ParseFloat(row[len(report.Columns)-2], 64); err != nil || !(v > 0) {
			t.Errorf("%s: hold-out RMSE %q is not a positive number", label, row[len(report.Columns)-2])
		}
	}
	for name, size := range map[string][2]int{
		"curves.png": {report.ChartWidth, report.ChartHeight}, "keypoints.png": {report.ChartWidth, report.ChartHeight}, "errors.png": {report.ChartWidth, report.ChartHeight},
		"landmarks.png": {report.LandmarksWidth, report.LandmarksHeight}, "curves-cnn3-width-4.png": {report.ChartWidth, report.ChartHeight},
		"curves-tinyresnet-dropout-0-width-4.png": {report.ChartWidth, report.ChartHeight},
	} {
		checkReportPNG(t, filepath.Join(out, name), size[0], size[1])
	}
	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<img src="curves.png"`, `<img src="landmarks.png"`, "<td>patch search</td>"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	// results.json holds the table's figures and the ensemble's weights.
	rf, err := os.Open(filepath.Join(out, report.ResultsName))
	if err != nil {
		t.Fatal(err)
	}
	res, err := report.ReadResults(rf)
	rf.Close()
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Ensemble; e == nil || len(e.Members) != 2 || math.Abs(e.Members[0].Weight+e.Members[1].Weight-1) > 1e-9 {
		t.Errorf("results.json's ensemble: %+v", res.Ensemble)
	}
	for _, row := range res.Rows() {
		if got := tableRow(t, out, row[0]); !slices.Equal(got, row) {
			t.Errorf("README.md's row %q, results.json's %q", got, row)
		}
	}
	if !strings.Contains(log, "models 2/2 done") {
		t.Errorf("no progress line saying both models are done:\n%s", log)
	}

	// Again with the same settings: nothing is trained, the histories and
	// models stay as they were, and the report is the same.
	type fileState struct {
		data []byte
		mod  int64
	}
	state := func() map[string]fileState {
		m := map[string]fileState{}
		for _, dir := range runs {
			for _, name := range []string{"model.history.json", "model.pt", "model.ckpt"} {
				p := filepath.Join(dir, name)
				info, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				m[p] = fileState{data, info.ModTime().UnixNano()}
			}
		}
		return m
	}
	before := state()
	mdBefore, _ := os.ReadFile(filepath.Join(out, "README.md"))
	// The device and thread count do not count as different settings.
	args := append(tinyCompareArgs(trainPath, out), "--threads", "1")
	log = runCompareCmd(t, args...)
	if strings.Count(log, ": reusing ") != 2 || strings.Contains(log, "epoch 1:") || strings.Contains(log, "models 1/") {
		t.Errorf("second compare trained again:\n%s", log)
	}
	for p, was := range before {
		now := state()[p]
		if !bytes.Equal(now.data, was.data) || now.mod != was.mod {
			t.Errorf("%s changed on reuse", p)
		}
	}
	mdAfter, _ := os.ReadFile(filepath.Join(out, "README.md"))
	// The same but for the command line it records ("Made by fkd ...").
	madeBy := regexp.MustCompile("(?m)^Made by fkd.*$")
	if !bytes.Equal(madeBy.ReplaceAll(mdBefore, nil), madeBy.ReplaceAll(mdAfter, nil)) {
		t.Errorf("the report changed on reuse:\n%s\nthen\n%s", mdBefore, mdAfter)
	}

	// "fkd report" rebuilds the same table from the run directories.
	again := filepath.Join(t.TempDir(), "again")
	env := &report.Env{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
	set := mustReadTraining(t, trainPath)
	dirs := []string{runs["cnn3:width=4"], runs["tinyresnet:dropout=0,width=4"]}
	if err := env.Build(set, filepath.Base(trainPath), report.Runs(dirs...), again, torch.CPU); err != nil {
		t.Fatal(err)
	}
	for label, dir := range runs {
		checkRowMatchesHistory(t, again, label, dir)
		if a, b := tableRow(t, out, label), tableRow(t, again, label); !slices.Equal(a, b) {
			t.Errorf("report row %q, compare's %q", b, a)
		}
	}

	// What a changed setting, --force or changed data make compare do.
	var o compareOptions
	if err := o.setup(pflag.NewFlagSet("compare", pflag.ContinueOnError), tinyCompareArgs(trainPath, out)); err != nil {
		t.Fatal(err)
	}
	cfg := o.cmp.RunConfig("cnn3:width=4")
	trainIdx, holdIdx := dataset.Split(set, 0.2, cfg.Seed)
	trainFaces, holdFaces := len(trainIdx), len(holdIdx)
	tests := []struct {
		name       string
		change     func(o *compareOptions, c *train.Config, faces *int)
		want       compare.Plan
		whyContain string
	}{
		{"same", func(*compareOptions, *train.Config, *int) {}, compare.Reuse, "same settings"},
		{"more epochs", func(_ *compareOptions, c *train.Config, _ *int) { c.Epochs = 3 }, compare.Train, "epochs 2, now 3"},
		{"other lr", func(_ *compareOptions, c *train.Config, _ *int) { c.LR = 0.01 }, compare.Train, "lr"},
		{"force", func(o *compareOptions, _ *train.Config, _ *int) { o.cmp.Force = true }, compare.Train, "--force"},
		{"other data", func(_ *compareOptions, _ *train.Config, f *int) { *f = 1000 }, compare.Train, "the data now gives 1000"},
		{"other device", func(_ *compareOptions, c *train.Config, _ *int) { c.Device = "cuda" }, compare.Reuse, "same settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o2, c, faces := o, cfg, trainFaces
			tt.change(&o2, &c, &faces)
			p, why := compare.PlanRun(c, o2.cmp.Force, faces, holdFaces)
			if p != tt.want || !strings.Contains(why, tt.whyContain) {
				t.Errorf("plan %d (%s), want %d with %q", p, why, tt.want, tt.whyContain)
			}
		})
	}
}

func TestCompareUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"argument", []string{"cnn3"}, "unexpected arguments"},
		{"no hold-out", []string{"--holdout", "0"}, "needs hold-out faces"},
		{"bad spec", []string{"--archs", "cnn3,,fpn"}, "empty model spec"},
		{"option first", []string{"--archs", "width=4,cnn3"}, "before any model"},
		{"twice", []string{"--archs", "cnn3,fpn,cnn3"}, "given twice"},
		{"bad loss", []string{"--loss", "l1"}, "--loss"},
		{"bad epochs", []string{"--epochs", "0"}, "epochs 0"},
		{"no such GPU", []string{"--devices", "cpu,cuda:64"}, `--devices: device "cuda:64"`},
		{"GPU twice", []string{"--devices", "cuda:0,cuda:1,cuda:0"}, "cuda:0 is named twice"},
		{"GPU twice by two names", []string{"--devices", "cuda,cuda:0"}, "cuda:0 is named twice"},
		{"empty device", []string{"--devices", "cpu,,cpu"}, "empty device"},
		{"unknown device", []string{"--devices", "gpu0"}, `device "gpu0": want cpu, cuda or cuda:N`},
		{"bad GPU number", []string{"--devices", "cuda:x"}, "want cuda:N"},
		{"shard past the last", []string{"--shard", "3/2"}, "no shard 3 of 2"},
		{"shard 0", []string{"--shard", "0/2"}, "no shard 0 of 2"},
		{"no shards", []string{"--shard", "1/0"}, "at least 1"},
		{"shard not I/N", []string{"--shard", "2"}, "want I/N"},
		{"shard not numbers", []string{"--shard", "a/b"}, "want I/N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append([]string{"compare"}, tt.args...), &stdout, &stderr)
			msg := stderr.String()
			if status != 2 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want 2 and one line containing %q", status, msg, tt.want)
			}
		})
	}
}

// reportTable returns the Markdown table rows of the report at dir, the
// time columns blanked (they measure the machine, not the runs).
func reportTable(t *testing.T, dir string) [][]string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(md), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != len(report.Columns) || cells[0] == report.Columns[0] || strings.HasPrefix(cells[1], "---") {
			continue
		}
		for i, col := range report.Columns {
			if col == "train time" || col == "time per epoch" {
				cells[i] = ""
			}
		}
		rows = append(rows, cells)
	}
	return rows
}

func TestCompareDevicesAndShards(t *testing.T) {
	trainPath, _, _, _ := writeBaselineFiles(t)
	tmp := t.TempDir()
	args := func(out string, more ...string) []string {
		return append([]string{
			"--archs", "cnn3:width=4,cnn3:width=6", "--epochs", "2", "--batch", "16",
			"--holdout", "0.2", "--train", trainPath, "--out", out,
		}, more...)
	}

	// Two CPU workers side by side, a thread each, in one comparison.
	whole := filepath.Join(tmp, "whole")
	log := runCompareCmd(t, args(whole, "--devices", "cpu,cpu", "--threads", "2")...)
	for _, want := range []string{"on 2 devices at once: cpu 1 (1 thread), cpu 2 (1 thread)", "models 2/2 done"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	for _, label := range []string{"cnn3:width=4", "cnn3:width=6"} {
		checkRowMatchesHistory(t, whole, label, filepath.Join(whole, "runs", strings.ReplaceAll(strings.ReplaceAll(label, ":", "_"), "=", "-")))
	}

	// The same comparison by two shards, one thread each, merged by fkd
	// report: the same table.
	sharded := filepath.Join(tmp, "sharded")
	for _, shard := range []string{"1/2", "2/2"} {
		log := runCompareCmd(t, args(sharded, "--shard", shard, "--device", "cpu", "--threads", "1")...)
		if !strings.Contains(log, "shard "+shard+" done: 1 of the 2 models") {
			t.Errorf("shard %s: no line saying it is done:\n%s", shard, log)
		}
	}
	if _, err := os.Stat(filepath.Join(sharded, "README.md")); err == nil {
		t.Errorf("a shard wrote a report")
	}
	if status, msg := runQuiet("report", sharded, "--device", "cpu", "--threads", "1"); status != 0 {
		t.Fatalf("fkd report: status %d: %s", status, msg)
	}
	if a, b := reportTable(t, whole), reportTable(t, sharded); !slices.EqualFunc(a, b, slices.Equal) {
		t.Errorf("the sharded report's table\n%q\ndiffers from the whole comparison's\n%q", b, a)
	}

	// A shard with other models in the same folder is refused.
	var o compareOptions
	if err := o.setup(pflag.NewFlagSet("compare", pflag.ContinueOnError), args(sharded, "--shard", "1/2", "--archs", "cnn3:width=5")); err != nil {
		t.Fatal(err)
	}
	if err := o.cmp.Run(context.Background(), &report.Env{Stdout: io.Discard, Stderr: io.Discard}); err == nil || !strings.Contains(err.Error(), "lists another comparison") {
		t.Errorf("a shard of another comparison: error %v", err)
	}

	// Shard 2 killed in its second epoch: a checkpoint, a history of one
	// epoch and no model. The report names it and reports the rest.
	killed := filepath.Join(sharded, "runs", "cnn3_width-6")
	h, err := train.ReadHistory(filepath.Join(killed, "model.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	h.Stopped, h.Epochs = "", h.Epochs[:1]
	if err := train.WriteHistory(filepath.Join(killed, "model.history.json"), h); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(killed, "model.pt")); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(tmp, "partial")
	status, msg := runReportCmd(t, sharded, "--out", partial, "--device", "cpu", "--threads", "1")
	want := "left out of the report: cnn3:width=6 (shard 2/2) in " + killed + ": unfinished history (1 of 2 epochs), no model (model.pt), a checkpoint"
	if status != 0 || !strings.Contains(msg, want) || strings.Count(msg, "left out of the report") != 1 {
		t.Errorf("fkd report with a killed shard: status %d, stderr\n%s\nwant status 0 and one line with %q", status, msg, want)
	}
	rows := reportTable(t, partial)
	if len(rows) != 3 || rows[0][0] != "cnn3:width=4" {
		t.Errorf("the partial report's table is %q, want cnn3:width=4 and the baselines", rows)
	}
	if md, _ := os.ReadFile(filepath.Join(partial, "README.md")); !strings.Contains(string(md), "Not in this report") {
		t.Errorf("the partial report does not name the missing run:\n%s", md)
	}
}
