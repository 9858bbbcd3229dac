package train

import (
	"context"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/torch"
)

// TestNoReadPerStep counts the reads back from the training device (on a
// GPU, each is a synchronisation that empties the queue of work) during
// runs whose epochs have 2 and 6 steps: with the running loss read only at
// the end of an epoch, as a long ReadEvery leaves it, both runs read the
// same number of times. Gradient clipping is on, so the clip is counted
// too, and the loss scaler is off (it reads once per step by design).
func TestNoReadPerStep(t *testing.T) {
	reads := func(faces int) (reads uint64, steps int) {
		c := smallConfig(t.TempDir())
		c.Epochs = 2
		c.Holdout = 0.25
		set := synth.Generate(faces, 5, synth.Options{})
		var seen int
		before := torch.HostReads()
		_, err := Run(context.Background(), c, set, Options{
			ReadEvery: time.Hour,
			AfterStep: func(StepInfo) { seen++ },
		})
		if err != nil {
			t.Fatal(err)
		}
		return torch.HostReads() - before, seen
	}
	fewReads, fewSteps := reads(16)   // 12 training faces: 2 steps of 8 per epoch
	manyReads, manySteps := reads(64) // 48: 6 steps per epoch
	if manySteps <= fewSteps {
		t.Fatalf("%d and %d steps: the runs should differ in steps", fewSteps, manySteps)
	}
	if manyReads != fewReads {
		t.Errorf("%d reads in %d steps, %d reads in %d steps: some step reads from the device",
			fewReads, fewSteps, manyReads, manySteps)
	}
	t.Logf("%d reads for 2 epochs of %d steps, %d for 2 epochs of %d steps", fewReads, fewSteps/2, manyReads, manySteps/2)
}

// TestReadEvery: with ReadEvery shorter than a step, the running loss is
// read after every step and reaches AfterStep; a NaN is then noticed at the
// step it happens (covered by TestNonFiniteLossStops).
func TestReadEvery(t *testing.T) {
	c := smallConfig(t.TempDir())
	c.Epochs = 1
	c.Warmup = 0
	set := synth.Generate(40, 5, synth.Options{})
	var losses []float64
	_, err := Run(context.Background(), c, set, Options{
		ReadEvery: time.Nanosecond,
		AfterStep: func(s StepInfo) { losses = append(losses, s.Loss) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range losses {
		if !(l > 0) {
			t.Errorf("step %d: running loss %v, want a positive number read after the step", i+1, l)
		}
	}
}
