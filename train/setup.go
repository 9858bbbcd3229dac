package train

import (
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"strings"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// newRunner sets a run up, in this order: the split of data into the
// training and hold-out parts (eval.Holdout), the checkpoint to resume,
// the pseudo-labels, the model, its moving average, the optimiser and
// the schedule, the faces on the device, the resumed checkpoint's
// weights and progress, and mixed precision. The caller frees the
// runner; on an error newRunner frees what it made.
func newRunner(cfg Config, data *dataset.Set, o Options, start time.Time) (_ *runner, err error) {
	if !data.HasKeypoints() {
		return nil, fmt.Errorf("the data has no keypoints (test data?)")
	}
	dev, err := torch.ParseDevice(cfg.Device)
	if err != nil {
		return nil, err
	}
	if cfg.AMP != "" && !dev.IsCUDA() {
		return nil, fmt.Errorf("mixed precision (amp %s) needs a CUDA device; the device is %s", cfg.AMP, dev)
	}
	spec, err := models.ParseSpec(cfg.Model)
	if err != nil {
		return nil, err
	}
	torch.SetNumThreads(cfg.Threads)

	r := &runner{cfg: cfg, opts: o, dev: dev, ckptPath: cfg.CheckpointPath()}
	defer func() {
		if err != nil {
			r.free()
		}
	}()
	if r.augment, err = cfg.augmentation(); err != nil {
		return nil, err
	}
	if o.Log != nil {
		r.log = o.Log
	} else {
		r.log = io.Discard
	}
	r.removeStale(start)

	// The data.
	if err := r.split(data); err != nil {
		return nil, err
	}
	r.dataID = fingerprint(data)
	r.meanRMSE = meanBaselineRMSE(r.trainSet, r.holdSet)
	var ck *Checkpoint
	if cfg.Resume {
		if ck, err = r.checkResume(); err != nil {
			return nil, err
		}
	} else if old, err := ReadCheckpoint(r.ckptPath); err == nil && old.Progress.Stopped == "" {
		fmt.Fprintf(r.log, "note: starting afresh; the unfinished run's checkpoint %s will be replaced (resume it instead to continue)\n", r.ckptPath)
	}
	if len(cfg.PseudoLabels) > 0 {
		// Before the model is initialised: loading a teacher draws from
		// LibTorch's generator.
		if ck != nil {
			r.pseudo, err = readPseudo(ck.Path, len(r.trainSet.Coords))
		} else {
			r.pseudo, err = r.pseudoLabels(data)
		}
		if err != nil {
			return nil, err
		}
		r.pseudoStats = pseudoStats(&r.cfg, r.trainSet)
	}

	// The model, its moving average, the optimiser and the schedule.
	torch.ManualSeed(initSeed(cfg.Seed))
	if r.model, err = models.New(spec, dev); err != nil {
		return nil, err
	}
	if cfg.ChannelsLast(dev) {
		r.model.Store().ToChannelsLast()
	}
	if cfg.EMA > 0 {
		if r.ema, err = newWeightAverage(r.model, cfg.EMA, dev); err != nil {
			return nil, err
		}
	}
	if r.opt, err = newOptimizer(&r.cfg, r.model.Store().Trainable()); err != nil {
		return nil, err
	}
	if cfg.HeatmapLoss > 0 && !models.HasHeatmaps(r.model) {
		return nil, fmt.Errorf("a heatmap loss needs a model that reads its keypoints off heatmaps (fpnheat, fpn:head=heatmap); %s has none", spec)
	}
	r.steps = stepsPerEpoch(r.trainSet.Len(), cfg.Batch)
	if r.sched, err = newSchedule(&r.cfg, r.steps); err != nil {
		return nil, err
	}

	// The faces on the device.
	r.train = newFaces(r.trainSet, dev, r.pseudo, float32(r.cfg.pseudoWeight()))
	if r.holdSet != nil {
		r.hold = newFaces(r.holdSet, dev, nil, 0)
	}
	r.dropImages()

	// Where a resumed run stands.
	if ck != nil {
		if ck.Progress.Step > r.steps {
			return nil, fmt.Errorf("resume: checkpoint %s is at step %d of an epoch of %d steps", ck.Path, ck.Progress.Step, r.steps)
		}
		if err := r.restore(ck); err != nil {
			return nil, err
		}
		if r.stopped != "" {
			fmt.Fprintf(r.log, "the run of %s had finished (%s); saving its model again\n", ck.Path, r.stopped)
		} else {
			fmt.Fprintf(r.log, "resuming %s from %s: epoch %d, step %d of %d\n", spec, ck.Path, r.epoch+1, r.step, r.steps)
		}
	}

	switch cfg.AMP {
	case "bf16":
		r.amp = &mixedPrecision{dtype: torch.BFloat16}
	case "fp16":
		// float16's narrow range needs the loss scaled up before backward
		// and the gradients scaled back down, as PyTorch's GradScaler does.
		r.amp = &mixedPrecision{dtype: torch.Float16, scaler: newLossScaler()}
	}
	if r.amp != nil {
		r.ampNote = cfg.AMP + " autocast"
		fmt.Fprintf(r.log, "mixed precision: forward passes under %s autocast\n", cfg.AMP)
	}
	r.logSetup()
	return r, nil
}

// logSetup says what the run trains, on what, and how.
func (r *runner) logSetup() {
	params, macs := models.Count(r.model)
	r.logDropped()
	fmt.Fprintf(r.log, "training %s (%d parameters, %.1f MMAC per face) on %s: %d faces, %d held out; %d steps of %d per epoch\n",
		r.model.Spec(), params, float64(macs)/1e6, r.dev, r.train.n, r.holdLen(), r.steps, r.cfg.Batch)
	if p := r.pseudoStats; p != nil {
		fmt.Fprintf(r.log, "pseudo-labels from %d teacher(s): %d coordinates of %d training faces, weight %g\n",
			len(p.Teachers), p.Coords, p.Faces, p.Weight)
	}
	if r.ema != nil {
		fmt.Fprintf(r.log, "keeping an exponential moving average of the weights, decay %g; each epoch scores both\n", r.cfg.EMA)
	}
}

// split divides data into the training and hold-out parts by the one
// rule of eval.Holdout: with Config.DropOutliers the outliers are left
// out of both after the split, so that the hold-out part is the same
// faces as without, less those.
func (r *runner) split(data *dataset.Set) error {
	parts, err := r.holdout().Split(data)
	if err != nil {
		return err
	}
	for _, o := range parts.Outliers {
		r.dropped = append(r.dropped, DroppedFace{Row: o.Row, Line: o.Line, Reason: o.Reason, Holdout: o.Held})
	}
	switch {
	case r.cfg.Holdout == 0 && len(parts.Outliers) == 0:
		r.trainSet = data
	case r.cfg.Holdout == 0:
		r.trainSet = data.Subset(parts.Train)
	default:
		r.trainSet, r.holdSet = data.Subset(parts.Train), data.Subset(parts.Held)
		r.holdRows = parts.Held
	}
	if r.trainSet.Len() < 2 {
		return fmt.Errorf("%d faces to train on: want at least 2", r.trainSet.Len())
	}
	return nil
}

// holdout is the run's split, as eval.Holdout.
func (r *runner) holdout() eval.Holdout {
	return eval.Holdout{Fraction: r.cfg.Holdout, Seed: r.cfg.HoldoutSeed(), DropOutliers: r.cfg.DropOutliers}
}

// meanBaselineRMSE returns the hold-out RMSE in pixels of predicting the
// training part's mean keypoints for every hold-out face; NaN without a
// hold-out part.
func meanBaselineRMSE(train, hold *dataset.Set) float64 {
	if hold == nil || hold.Len() == 0 {
		return math.NaN()
	}
	means := dataset.Means(train)
	pred := make([]float32, 0, len(hold.Coords))
	for range hold.Len() {
		pred = append(pred, means[:]...)
	}
	return dataset.RMSE(pred, hold.Coords, hold.Mask)
}

// removeStale removes the temporary files that an interrupted process
// left beside the run's outputs, as atomicfile.RemoveStale does: only
// those of the outputs' own names, older than the run.
func (r *runner) removeStale(start time.Time) {
	for _, p := range r.cfg.OutputPaths() {
		removed, err := atomicfile.RemoveStale(p, start)
		for _, name := range removed {
			fmt.Fprintf(r.log, "removed %s, a temporary file an interrupted run left\n", name)
		}
		if err != nil {
			fmt.Fprintf(r.log, "warning: %v\n", err)
		}
	}
}

// checkResume reads the checkpoint to resume and checks that it belongs
// to this run.
func (r *runner) checkResume() (*Checkpoint, error) {
	ck, err := ReadCheckpoint(r.ckptPath)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if d := r.cfg.trajectoryMismatch(&ck.Config); d != "" {
		return nil, fmt.Errorf("resume from %s: this run has %s; resume with the checkpoint's settings, or start afresh", ck.Path, d)
	}
	if ck.Data != r.dataID {
		return nil, fmt.Errorf("resume from %s: the training data differs from the data the run started on", ck.Path)
	}
	r.ckptWritten = true
	return ck, nil
}

// dropImages lets the parts' images go once the faces are on the device,
// as uint8 (each batch becomes float32 there, when it is built), and
// hands the memory that reading and splitting the data used back to the
// operating system: what the run holds for its whole length is then the
// faces once, about 9.4 KB each, and not also the Go copies and the CSV
// text they were parsed from.
func (r *runner) dropImages() {
	r.trainSet, r.holdSet = keypointsOnly(r.trainSet), keypointsOnly(r.holdSet)
	debug.FreeOSMemory()
}

// keypointsOnly returns s without its images; nil for nil.
func keypointsOnly(s *dataset.Set) *dataset.Set {
	if s == nil {
		return nil
	}
	return &dataset.Set{Coords: s.Coords, Mask: s.Mask, IDs: s.IDs}
}

// logDropped says which faces Config.DropOutliers left out.
func (r *runner) logDropped() {
	if !r.cfg.DropOutliers {
		return
	}
	if len(r.dropped) == 0 {
		fmt.Fprintln(r.log, "drop outliers: no face looks mislabelled; none left out")
		return
	}
	held := 0
	where := make([]string, len(r.dropped))
	for k, d := range r.dropped {
		if d.Holdout {
			held++
		}
		where[k] = faceName(d)
	}
	fmt.Fprintf(r.log, "drop outliers: left out %d faces that look mislabelled (%d of them from the hold-out part): %s\n",
		len(r.dropped), held, strings.Join(where, ", "))
	const shown = 20
	for _, d := range r.dropped[:min(len(r.dropped), shown)] {
		fmt.Fprintf(r.log, "  %s: %s\n", faceName(d), d.Reason)
	}
	if len(r.dropped) > shown {
		fmt.Fprintf(r.log, "  ... and %d more (all in the history)\n", len(r.dropped)-shown)
	}
}

// faceName names a dropped face by its file line, or by its row when the
// line is unknown.
func faceName(d DroppedFace) string {
	if d.Line > 0 {
		return fmt.Sprintf("line %d", d.Line)
	}
	return fmt.Sprintf("row %d", d.Row+1)
}

// holdLen is the number of hold-out faces; 0 without a hold-out part.
func (r *runner) holdLen() int {
	if r.hold == nil {
		return 0
	}
	return r.hold.n
}

// free releases what the runner holds, the model too unless it went to
// the caller in a Result.
func (r *runner) free() {
	if r.train != nil {
		r.train.Free()
	}
	if r.hold != nil {
		r.hold.Free()
	}
	if r.opt != nil {
		r.opt.Free()
	}
	if r.best != nil {
		r.best.Free()
	}
	r.ema.Free()
	r.sums.Free()
	if r.model != nil && !r.handedOver {
		r.model.Store().Free()
	}
}
