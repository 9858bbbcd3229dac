package compare

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

func TestComparisonRuns(t *testing.T) {
	c := &Comparison{Config: train.DefaultConfig(), Specs: []string{"cnn3", "fpn:width=48", "tinyresnet", "cnn3:width=4"}, Out: "rep"}
	c.Config.Checkpoint = "ignored.ckpt"
	if got, want := c.RunDir("fpn:dropout=0.2,width=48"), filepath.Join("rep", "runs", "fpn_dropout-0.2_width-48"); got != want {
		t.Errorf("RunDir = %q, want %q", got, want)
	}
	cfg := c.RunConfig("fpn:width=48")
	if cfg.Model != "fpn:width=48" || cfg.Out != filepath.Join("rep", "runs", "fpn_width-48", "model.pt") || cfg.Checkpoint != "" || cfg.Device != c.Config.Device {
		t.Errorf("RunConfig: model %q, out %q, checkpoint %q, device %q", cfg.Model, cfg.Out, cfg.Checkpoint, cfg.Device)
	}
	c.Devices = []torch.Device{torch.CPU}
	if cfg := c.RunConfig("cnn3"); cfg.Device != "cpu" {
		t.Errorf("one device: RunConfig's device %q, want cpu", cfg.Device)
	}
	tests := []struct {
		shard, shards int
		want          []string
	}{
		{0, 0, c.Specs},
		{1, 2, []string{"cnn3", "tinyresnet"}},
		{2, 2, []string{"fpn:width=48", "cnn3:width=4"}},
		{3, 3, []string{"tinyresnet"}},
		{2, 5, []string{"fpn:width=48"}},
		{5, 5, nil},
	}
	for _, tt := range tests {
		c.Shard, c.Shards = tt.shard, tt.shards
		if got := c.Mine(); !slices.Equal(got, tt.want) {
			t.Errorf("shard %d/%d: %q, want %q", tt.shard, tt.shards, got, tt.want)
		}
	}
}

func TestComparisonChecks(t *testing.T) {
	dir := t.TempDir()
	c := &Comparison{Config: train.DefaultConfig(), Specs: []string{"cnn3", "tinyresnet"}, Out: filepath.Join(dir, "rep")}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := c.CheckOutputs(); err != nil {
		t.Errorf("CheckOutputs: %v", err)
	}
	c.Config.Epochs = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "epochs 0") {
		t.Errorf("Validate with no epochs: %v", err)
	}
	// A directory where the second run's model goes.
	c.Config.Epochs = 1
	if err := os.MkdirAll(filepath.Join(c.RunDir("tinyresnet"), "model.pt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckOutputs(); err == nil || !strings.HasPrefix(err.Error(), "run tinyresnet: ") {
		t.Errorf("CheckOutputs with a directory for a model: %v", err)
	}
	c.Shard, c.Shards = 1, 2 // the other shard's run is not this one's to check
	if err := c.CheckOutputs(); err != nil {
		t.Errorf("CheckOutputs of shard 1/2: %v", err)
	}
	c.Out = filepath.Join(dir, "file")
	if err := os.WriteFile(c.Out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckOutputs(); err == nil || !strings.HasPrefix(err.Error(), "report folder ") {
		t.Errorf("CheckOutputs with a file for the report's folder: %v", err)
	}
}

// TestProgress drives the display of a parallel compare without a
// terminal: each device's log lines and results, one per line.
func TestProgress(t *testing.T) {
	var w bytes.Buffer
	p := newProgress(&report.Env{Stderr: &w}, []string{"cuda:0", "cuda:1"}, 2, 5)
	p.begin(0, "cnn3", 3, 0, 4)
	p.begin(1, "fpn", 2, 1, 1)
	p.step(0, Event{Kind: "step", Epoch: 1, Steps: 10, Step: 5})
	p.log(1, "epoch 2: train loss 0.1")
	rmse := 1.25
	p.end(0, &Event{Kind: "done", BestEpoch: 3, BestRMSE: &rmse}, 90*time.Second)
	p.end(1, nil, 0)
	p.close()
	want := []string{
		"cuda:0: training cnn3 (epochs 1 to 3, 4 threads)",
		"cuda:1: training fpn (epochs 2 to 2, 1 thread)",
		"[cuda:1] fpn: epoch 2: train loss 0.1",
		"models 1/2 done: cnn3 on cuda:0, hold-out RMSE 1.250 px at epoch 3 (1m30s); about ",
	}
	lines := strings.Split(strings.TrimRight(w.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), w.String())
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
	if strings.Contains(w.String(), "\x1b[") {
		t.Error("terminal codes without a terminal")
	}
}

// TestProgressTerminal checks the display redrawn in place on a
// terminal: one line for the models done, one per device.
func TestProgressTerminal(t *testing.T) {
	var w bytes.Buffer
	p := newProgress(&report.Env{Stderr: &w, Terminal: true}, []string{"cpu 1", "cpu 2"}, 1, 2)
	p.begin(0, "cnn3", 2, 0, 1)
	if want := "models 0/1 done; time left unknown yet\n  cpu 1    cnn3: starting epoch 1/2\n  cpu 2    idle\n"; w.String() != want {
		t.Errorf("first drawing %q, want %q", w.String(), want)
	}
	w.Reset()
	p.log(0, "not shown on a terminal")
	p.end(0, &Event{Kind: "done", BestEpoch: 2}, time.Second)
	p.close()
	out := w.String()
	if !strings.HasPrefix(out, "\x1b[3F\x1b[J") || !strings.Contains(out, "models 1/1 done: cnn3 on cpu 1, hold-out RMSE – px at epoch 2 (1.0 s); done\n") ||
		strings.Contains(out, "not shown") || !strings.HasSuffix(out, "\x1b[3F\x1b[J") {
		t.Errorf("after the model: %q", out)
	}
}

func TestWorkerRefusesBadJSON(t *testing.T) {
	if _, _, err := Worker("{not json"); err == nil || !strings.HasPrefix(err.Error(), "--worker-job: ") {
		t.Errorf("bad JSON: %v", err)
	}
	// Worker with a good job is not called here: it takes descriptor 3,
	// which in a test process is not a parent's pipe, and closes it when
	// the file is collected.
}
