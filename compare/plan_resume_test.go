package compare

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/train"
)

// TestPlanRunResumesFirstEpoch: a run stopped in its first epoch (a
// scancel soon after the start) has a checkpoint and no history yet; the
// plan resumes it rather than starting afresh over its checkpoint.
func TestPlanRunResumesFirstEpoch(t *testing.T) {
	set := synth.Generate(40, 1, synth.Options{})
	cfg := train.DefaultConfig()
	cfg.Model, cfg.Epochs, cfg.Batch, cfg.Warmup = "cnn3:width=4", 2, 8, 0
	cfg.Device, cfg.Threads = "cpu", 1
	cfg.Out = filepath.Join(t.TempDir(), "model.pt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := train.Run(ctx, cfg, set, train.Options{AfterStep: func(s train.StepInfo) {
		if s.Step == 2 {
			cancel()
		}
	}})
	if ie := (*train.InterruptedError)(nil); !errors.As(err, &ie) {
		t.Fatalf("Run: %v, want an interruption", err)
	}
	if p, why := PlanRun(cfg, false, 0, 0); p != Resume || !strings.Contains(why, "epoch 1, after step 2") {
		t.Errorf("PlanRun = %v %q, want Resume in epoch 1 after step 2", p, why)
	}
	other := cfg
	other.Epochs = 3
	if p, _ := PlanRun(other, false, 0, 0); p != Train {
		t.Errorf("PlanRun with other settings = %v, want Train", p)
	}
}
