package train

import (
	"context"
	"testing"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/internal/fkdtest"
)

// TestRunMemoryFlat trains with everything that keeps state on the
// device beside the model (a moving average of the weights,
// pseudo-labels, augmentation), for many short epochs, each scored twice
// on the hold-out part and checkpointed, and checks that the process's
// resident memory does not grow from the settled step to the last: no
// step, evaluation or checkpoint may leave tensors behind. Leaking one
// batch's activations per step would add tens of MB here.
func TestRunMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for about 210 steps")
	}
	const (
		settled   = 50
		tolerance = 1.02
	)
	set := synth.Generate(64, 3, synth.Options{PartialFrac: 0.5})
	teacher := trainTeacher(t, set, "cnn3:width=4")
	c := smallConfig(t.TempDir())
	c.Epochs, c.Warmup = 30, 0
	c.EMA = 0.99
	c.PseudoLabels = []string{teacher}
	c.Augment = "default"
	var rssSettled, rssEnd int64
	res, err := Run(context.Background(), c, set, Options{AfterStep: func(s StepInfo) {
		switch {
		case s.GlobalStep == settled:
			rssSettled = fkdtest.ResidentBytes(t)
		case s.GlobalStep > settled:
			rssEnd = fkdtest.ResidentBytes(t)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	res.Model.Store().Free()
	steps := len(res.History) * stepsPerEpoch(res.Train.Len(), c.Batch)
	if rssSettled == 0 || rssEnd == 0 {
		t.Fatalf("test set-up: %d steps, none after step %d", steps, settled)
	}
	t.Logf("resident memory after step %d: %.1f MiB, after step %d: %.1f MiB (%+.1f%%)",
		settled, fkdtest.MiB(rssSettled), steps, fkdtest.MiB(rssEnd), 100*(float64(rssEnd)/float64(rssSettled)-1))
	if float64(rssEnd) > tolerance*float64(rssSettled) {
		t.Errorf("resident memory grew from %.1f MiB after step %d to %.1f MiB after step %d (limit %.0f%% growth)",
			fkdtest.MiB(rssSettled), settled, fkdtest.MiB(rssEnd), steps, 100*(tolerance-1))
	}
}
