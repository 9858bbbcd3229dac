package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/fkd-project/fkd/augment"

	"github.com/schollz/progressbar/v3"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
	"github.com/fkd-project/fkd/torch/optim"
)

// Options say how a run reports as it goes. The zero value reports
// nothing.
type Options struct {
	// Log receives a line per epoch and notices (a resumed run, an
	// improvement, early stopping); nil discards them.
	Log io.Writer
	// Progress receives a progress bar per epoch with the running loss
	// and the time left; nil shows none.
	Progress io.Writer
	// AfterStep, when set, is called after every optimiser step.
	AfterStep func(StepInfo)
	// ReadEvery is how often the epoch's running loss is read back from
	// the training device, for the progress display and to notice a NaN
	// or infinite loss; 0 means every 250 ms. Steps themselves never wait
	// for the device.
	ReadEvery time.Duration
	// Data names the files the data was read from, kept in the checkpoint
	// so that a resumed run can read them again without being told; an
	// empty path is one that could not be kept (standard input).
	Data DataPaths

	// afterStep, for tests in this package, is called after every step
	// with the runner.
	afterStep func(*runner)
}

// StepInfo describes an optimiser step just taken.
type StepInfo struct {
	Epoch      int     // from 1
	Step       int     // within the epoch, from 1
	Steps      int     // steps per epoch
	GlobalStep int     // steps of the whole run, this one included
	Loss       float64 // the epoch's mean loss as last read (see Options.ReadEvery); NaN before the first read
	LR         float64 // the learning rate the step used
}

// Result is a finished run.
type Result struct {
	// Model holds the weights of the best epoch by hold-out RMSE (the
	// last epoch's without a hold-out part), in evaluation mode; it has
	// been saved to Config.Out with Meta. With Config.EMA they are the
	// epoch's weights or their moving average, whichever scored better
	// (BestWeights); without a hold-out part, the average. The caller
	// owns it.
	Model             models.Model
	Meta              models.Meta
	History           []EpochStats
	BestEpoch         int     // from 1; 0 without a hold-out part
	BestHoldoutRMSEPx float64 // NaN without a hold-out part
	BestWeights       string  // WeightsRaw or WeightsEMA: which weights Model holds
	Stopped           string  // why training ended
	// Train and Holdout are the two parts of the data (Holdout nil
	// without one), their images copied back from the device at the end.
	Train, Holdout *dataset.Set
	// MeanHoldoutRMSEPx is the hold-out RMSE of the mean baseline (the
	// training part's mean keypoints for every face); NaN without a
	// hold-out part. A model worse than it has not learnt.
	MeanHoldoutRMSEPx float64
	// Dropped are the faces Config.DropOutliers left out.
	Dropped []DroppedFace
}

// DroppedFace is a face that Config.DropOutliers left out of a run.
type DroppedFace struct {
	Row     int    `json:"row"`     // index of the face in the data given to Run, from 0
	Line    int    `json:"line"`    // its line in the file it was read from; 0 when unknown
	Reason  string `json:"reason"`  // why dataset.Outliers took it for a labelling mistake
	Holdout bool   `json:"holdout"` // whether the split put it in the hold-out part
}

// InterruptedError is returned by Run when its context is cancelled: the
// step under way was finished and a checkpoint written, from which a run
// with Config.Resume continues exactly.
type InterruptedError struct {
	Checkpoint  string
	Epoch, Step int // the epoch (from 1) and the steps of it done
	Steps       int // steps per epoch
	// Model is Config.Out when the best model so far was saved there;
	// OlderModel is Config.Out when it was not and a file of an older
	// run is there.
	Model, OlderModel string
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted in epoch %d after step %d of %d; checkpoint saved to %s",
		e.Epoch, e.Step, e.Steps, e.Checkpoint)
}

// NonFiniteLossError is returned by Run when a batch's loss is NaN or
// infinite. The run notices it at the next read of the running loss
// (Options.ReadEvery), at the latest at the end of the epoch, and stops
// before it writes another checkpoint: the last one is left as it was.
type NonFiniteLossError struct {
	Loss        float64
	Epoch, Step int    // from 1
	Checkpoint  string // the last good checkpoint; "" when none was written
}

func (e *NonFiniteLossError) Error() string {
	what := "NaN"
	if math.IsInf(e.Loss, 0) {
		what = "infinite"
	}
	last := "none was written yet"
	if e.Checkpoint != "" {
		last = e.Checkpoint
	}
	return fmt.Sprintf("loss became %s at epoch %d step %d; last good checkpoint: %s; try a lower --lr",
		what, e.Epoch, e.Step, last)
}

// NonFiniteModelError is returned by Run when, at the end of an epoch or
// at an interruption, a tensor of the model (a BatchNorm running
// variance, typically) holds a NaN or an infinity although the loss
// stayed finite. Like a non-finite loss it stops the run before another
// checkpoint is written: the last one is left as it was.
type NonFiniteModelError struct {
	Tensor     string // the first such tensor, by name
	Epoch      int    // from 1
	Checkpoint string // the last good checkpoint; "" when none was written
}

func (e *NonFiniteModelError) Error() string {
	last := "none was written yet"
	if e.Checkpoint != "" {
		last = e.Checkpoint
	}
	return fmt.Sprintf("the model's %s holds NaN or infinite values in epoch %d; last good checkpoint: %s; try a lower --lr",
		e.Tensor, e.Epoch, last)
}

// Which weights a model holds: those trained, or their exponential moving
// average (Config.EMA).
const (
	WeightsRaw = "raw"
	WeightsEMA = "ema"
)

// Run trains the model cfg describes on the faces of data, which must
// carry keypoints. It holds out cfg.Holdout of them (dataset.Split with
// cfg.Seed), trains on the rest, scores the hold-out part after every
// epoch, and saves the best model by hold-out RMSE to cfg.Out with
// models.Save, its history to cfg.HistoryPath after every epoch, and a
// checkpoint to cfg.CheckpointPath after every epoch.
//
// Every random choice derives from cfg.Seed: the split, the initial
// weights, each epoch's order of faces and each step's dropout masks (the
// generator is reseeded per step). On the CPU a run that is interrupted
// and resumed with the same cfg.Threads therefore ends with the same
// weights, bit for bit, as one that was not.
//
// When ctx is cancelled, Run finishes the step under way, writes a
// checkpoint and returns an *InterruptedError. A NaN or infinite loss
// stops it with a *NonFiniteLossError. With cfg.Resume it continues the
// run of the checkpoint at cfg.CheckpointPath, which must have been made
// on the same data with the same settings, except for the device,
// threads, mixed precision, patience and output paths. Resuming a run
// that had finished saves its model again and trains no further.
//
// Run holds the run's lock (LockRun) from before it touches the run's
// files until it returns: a run another live trainer holds gives a
// *HeldError; a dead trainer's lock is broken with a note to o.Log.
func Run(ctx context.Context, cfg Config, data *dataset.Set, o Options) (*Result, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Fail before any work when an output cannot be written.
	if err := cfg.CheckOutputs(); err != nil {
		return nil, err
	}
	// One trainer at a time in a run's files (lock.go).
	lock, err := LockRun(&cfg, o.Log)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
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
	// One OS thread for the whole run: glibc gives each thread its own
	// malloc arena, and a goroutine hopping between threads would spread
	// the step's large blocks over several of them.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	torch.SetNumThreads(cfg.Threads)

	r := &runner{cfg: cfg, opts: o, dev: dev, ckptPath: cfg.CheckpointPath()}
	if r.augment, err = cfg.augmentation(); err != nil {
		return nil, err
	}
	if o.Log != nil {
		r.log = o.Log
	} else {
		r.log = io.Discard
	}
	r.removeStale(start)
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

	torch.ManualSeed(initSeed(cfg.Seed))
	if r.model, err = models.New(spec, dev); err != nil {
		return nil, err
	}
	defer r.free()
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
	r.train = newFaces(r.trainSet, dev, r.pseudo, float32(r.cfg.pseudoWeight()))
	if r.holdSet != nil {
		r.hold = newFaces(r.holdSet, dev, nil, 0)
	}
	r.dropImages()
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
	params, macs := models.Count(r.model)
	r.logDropped()
	fmt.Fprintf(r.log, "training %s (%d parameters, %.1f MMAC per face) on %s: %d faces, %d held out; %d steps of %d per epoch\n",
		r.model.Spec(), params, float64(macs)/1e6, dev, r.train.n, r.holdLen(), r.steps, cfg.Batch)
	if p := r.pseudoStats; p != nil {
		fmt.Fprintf(r.log, "pseudo-labels from %d teacher(s): %d coordinates of %d training faces, weight %g\n",
			len(p.Teachers), p.Coords, p.Faces, p.Weight)
	}
	if r.ema != nil {
		fmt.Fprintf(r.log, "keeping an exponential moving average of the weights, decay %g; each epoch scores both\n", cfg.EMA)
	}

	if err := r.loop(ctx); err != nil {
		return nil, err
	}
	return r.finish()
}

// runner is the state of one training run.
type runner struct {
	cfg      Config
	opts     Options
	log      io.Writer
	dev      torch.Device
	ckptPath string
	dataID   string
	ampNote  string
	amp      *mixedPrecision // nil: float32 throughout
	augment  augment.Options

	// trainSet and holdSet are the two parts' keypoints. Their images go
	// once train and hold hold the faces (see dropImages): Len is 0.
	trainSet, holdSet *dataset.Set
	train, hold       *faces
	model             models.Model
	ema               *weightAverage // nil without Config.EMA
	opt               optim.Optimizer
	sched             schedule
	steps             int       // per epoch
	best              *nn.Store // snapshot of the best epoch's weights; nil until one is scored
	ckptWritten       bool      // whether ckptPath holds a checkpoint of this run
	handedOver        bool      // whether the model went to the caller in a Result
	meanRMSE          float64   // hold-out RMSE of the mean baseline, px; NaN without a hold-out part
	dropped           []DroppedFace
	holdRows          []int             // the hold-out part's faces, by row of the data given to Run
	pseudo            []float32         // pseudo-labels of the training part, px, 0 where a true label is; nil without
	pseudoStats       *PseudoLabelStats // nil without pseudo-labels

	// The epoch's running sums on the device (sums.go), and when and at
	// how many faces they were last read.
	sums      *torch.Tensor
	lastRead  time.Time
	readFaces int

	// Progress, as checkpoints record it.
	epoch, step, global int
	top                 bestSoFar
	running             Running
	history             []EpochStats
	stopped             string
}

func (r *runner) holdLen() int {
	if r.hold == nil {
		return 0
	}
	return r.hold.n
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

// withImages returns the keypoints of s with the images of f, copied back
// from the device; nil for nil.
func withImages(s *dataset.Set, f *faces) *dataset.Set {
	if s == nil {
		return nil
	}
	return &dataset.Set{Images: f.images.Uint8s(), Coords: s.Coords, Mask: s.Mask, IDs: s.IDs}
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

// loop runs the epochs left.
func (r *runner) loop(ctx context.Context) error {
	for r.stopped == "" && r.epoch < r.cfg.Epochs {
		start := time.Now()
		order := epochOrder(r.cfg.Seed, r.epoch, r.train.n)
		bar := r.newBar()
		r.model.Store().Train()
		r.startSums()
		for r.step < r.steps {
			if ctx.Err() != nil {
				closeBar(bar)
				return r.interrupt(start)
			}
			lo := r.step * r.cfg.Batch
			idx := order[lo:min(lo+r.cfg.Batch, len(order))]
			lr := r.sched.lr.LR(r.global)
			err := r.trainStep(idx)
			if err == nil {
				err = r.readSumsEvery()
			}
			if err != nil {
				closeBar(bar)
				return err
			}
			r.step++
			r.global++
			if bar != nil {
				desc := fmt.Sprintf("epoch %d/%d", r.epoch+1, r.cfg.Epochs)
				if l := r.runningLoss(); !math.IsNaN(l) {
					desc += fmt.Sprintf(" loss %.4g", l)
				}
				bar.Describe(desc)
				_ = bar.Add(1)
			}
			if r.opts.afterStep != nil {
				r.opts.afterStep(r)
			}
			if r.opts.AfterStep != nil {
				r.opts.AfterStep(StepInfo{Epoch: r.epoch + 1, Step: r.step, Steps: r.steps, GlobalStep: r.global, Loss: r.runningLoss(), LR: lr})
			}
		}
		closeBar(bar)
		if err := r.readSums(); err != nil {
			return err
		}
		if err := r.endEpoch(start); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) newBar() *progressbar.ProgressBar {
	if r.opts.Progress == nil {
		return nil
	}
	bar := progressbar.NewOptions(r.steps,
		progressbar.OptionSetWriter(r.opts.Progress),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", r.epoch+1, r.cfg.Epochs)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("steps"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	if r.step > 0 {
		_ = bar.Set(r.step)
	}
	return bar
}

func closeBar(bar *progressbar.ProgressBar) {
	if bar != nil {
		_ = bar.Close()
	}
}

// trainStep runs one optimiser step on the faces at idx and adds its
// figures to the epoch's running sums.
// forward runs the model on a training batch, under autocast when mixed
// precision is on, and returns float32 predictions, and with
// Config.HeatmapLoss the heatmaps they were read from (else nil).
func (r *runner) forward(x *torch.Tensor) (pred, maps *torch.Tensor) {
	run := func() {
		if r.cfg.HeatmapLoss > 0 {
			pred, maps, _ = models.Heatmaps(r.model, x)
		} else {
			pred = r.model.Forward(x)
		}
	}
	if r.amp == nil {
		run()
		return pred, maps
	}
	torch.Autocast(r.dev, r.amp.dtype, run)
	if maps != nil {
		maps = maps.ToDType(torch.Float32)
	}
	return pred.ToDType(torch.Float32), maps
}

func (r *runner) trainStep(idx []int64) error {
	err := torch.Catch(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.ManualSeed(stepSeed(r.cfg.Seed, r.global))
		x, y, mask := r.train.batch(idx)
		if !r.augment.IsZero() {
			x, y, mask = augment.Apply(x, y, mask, r.augment)
		}
		pred, maps := r.forward(x)
		loss := MaskedLoss(r.cfg.Loss, pred, y, mask)
		if maps != nil {
			loss = loss.Add(HeatmapLoss(maps, y, mask).MulScalar(r.cfg.HeatmapLoss))
		}
		// The training RMSE is over the true labels, which weigh 1;
		// pseudo-labels weigh less.
		labelled := mask
		if r.pseudo != nil {
			labelled = mask.EqScalar(1).ToDType(torch.Float32)
		}
		sse := pred.Detach().Sub(y).Square().Mul(labelled).Sum()
		r.addStep(loss, sse, labelled.Sum(), len(idx), r.step+1)
		if err := r.sched.apply(r.opt, r.global); err != nil {
			panic(&torch.Error{Op: "schedule", Msg: err.Error()})
		}
		if r.amp != nil && r.amp.scaler != nil {
			loss.MulScalar(r.amp.scaler.scale).Backward()
			if !r.amp.scaler.unscale(r.opt.Params()) {
				// An overflow: skip this update; the scale was lowered.
				r.opt.ZeroGrad()
				return
			}
		} else {
			loss.Backward()
		}
		if r.cfg.ClipNorm > 0 {
			torch.ClipGradNormTensor(r.opt.Params(), r.cfg.ClipNorm)
		}
		r.opt.Step()
		r.opt.ZeroGrad()
		if r.ema != nil {
			r.ema.update(r.global)
		}
	})
	if err != nil {
		return fmt.Errorf("epoch %d step %d: %w", r.epoch+1, r.step+1, err)
	}
	r.running.Faces += len(idx)
	return nil
}

// interrupt checkpoints the run mid-epoch, then saves the best model so
// far to Config.Out, or says that a model file already there is an older
// run's.
func (r *runner) interrupt(start time.Time) error {
	if err := r.readSums(); err != nil {
		return err
	}
	if err := r.checkFinite(); err != nil {
		return err
	}
	r.running.Seconds += time.Since(start).Seconds()
	if err := r.writeCheckpoint(); err != nil {
		return fmt.Errorf("interrupted, and the checkpoint could not be saved: %w", err)
	}
	ie := &InterruptedError{Checkpoint: r.ckptPath, Epoch: r.epoch + 1, Step: r.step, Steps: r.steps}
	switch {
	case r.best != nil:
		// The run ends here: the model may take the best weights.
		stopped := fmt.Sprintf("interrupted in epoch %d; the best model so far", r.epoch+1)
		if _, err := r.saveModel(stopped); err != nil {
			fmt.Fprintf(r.log, "warning: the best model so far could not be saved: %v\n", err)
			break
		}
		ie.Model = r.cfg.Out
		fmt.Fprintf(r.log, "saved the best model so far (epoch %d, hold-out RMSE %.4f px) to %s\n", r.top.epoch, r.top.rmse, r.cfg.Out)
	default:
		if _, err := os.Stat(r.cfg.Out); err == nil {
			ie.OlderModel = r.cfg.Out
			fmt.Fprintf(r.log, "note: %s is from an older run, not this one: this run has no model to save yet\n", r.cfg.Out)
		}
	}
	return ie
}

// checkFinite reports a NaN or an infinity in the model's tensors (a
// BatchNorm running variance can overflow while the loss stays finite)
// as a *NonFiniteModelError.
func (r *runner) checkFinite() error {
	named := r.model.Store().NamedTensors()
	var ok []bool
	err := torch.Catch(func() {
		torch.WithScope(func() {
			all := make([]*torch.Tensor, len(named))
			for i, nt := range named {
				all[i] = nt.Tensor.Detach().IsFinite().All()
			}
			ok = torch.Stack(all, 0).Bools()
		})
	})
	if err != nil {
		return fmt.Errorf("epoch %d: check the model for NaN: %w", r.epoch+1, err)
	}
	for i, fine := range ok {
		if !fine {
			e := &NonFiniteModelError{Tensor: named[i].Name, Epoch: r.epoch + 1}
			if r.ckptWritten {
				e.Checkpoint = r.ckptPath
			}
			return e
		}
	}
	return nil
}

// endEpoch scores the epoch, keeps the best model, decides on early
// stopping, and writes the history and a checkpoint.
func (r *runner) endEpoch(start time.Time) error {
	if err := r.checkFinite(); err != nil {
		return err
	}
	holdLoss, holdRMSE, err := r.evaluate(r.model)
	if err != nil {
		return fmt.Errorf("epoch %d: hold-out evaluation: %w", r.epoch+1, err)
	}
	emaLoss, emaRMSE := math.NaN(), math.NaN()
	if r.ema != nil {
		if emaLoss, emaRMSE, err = r.evaluate(r.ema.model); err != nil {
			return fmt.Errorf("epoch %d: hold-out evaluation of the weights' average: %w", r.epoch+1, err)
		}
	}
	e := EpochStats{
		Epoch:            r.epoch + 1,
		TrainLoss:        r.running.LossSum / float64(r.running.Faces),
		TrainRMSEPx:      math.Sqrt(r.running.SSE/math.Max(r.running.Coords, 1)) * CoordScale,
		HoldoutLoss:      holdLoss,
		HoldoutRMSEPx:    holdRMSE,
		EMAHoldoutLoss:   emaLoss,
		EMAHoldoutRMSEPx: emaRMSE,
		LR:               r.sched.lr.LR(r.global - 1),
		Seconds:          r.running.Seconds + time.Since(start).Seconds(),
	}
	r.history = append(r.history, e)
	r.epoch++
	r.step = 0
	r.running = Running{}

	note := ""
	if r.hold != nil {
		// The epoch's better weights, raw or averaged, compete for best.
		rmse, weights, useEMA := holdRMSE, r.model.Store(), false
		if r.ema != nil && !math.IsNaN(emaRMSE) && (math.IsNaN(holdRMSE) || emaRMSE < holdRMSE) {
			rmse, weights, useEMA = emaRMSE, r.ema.model.Store(), true
		}
		if r.top.observe(e.Epoch, rmse) {
			r.top.ema = useEMA
			note = " (best)"
			if useEMA {
				note = " (best: the average)"
			}
			if r.best == nil {
				r.best = weights.Clone(r.dev)
			} else if err := r.best.CopyFrom(weights); err != nil {
				return fmt.Errorf("keep the best model: %w", err)
			}
		}
	}
	fmt.Fprintf(r.log, "%v%s\n", e, note)
	switch {
	case r.top.patienceSpent(r.cfg.Patience):
		r.stopped = fmt.Sprintf("early stopping after epoch %d: no better hold-out RMSE in %d epochs; best %.4f px at epoch %d",
			e.Epoch, r.top.since, r.top.rmse, r.top.epoch)
	case r.epoch == r.cfg.Epochs:
		r.stopped = fmt.Sprintf("completed %d epochs", r.epoch)
	}
	if r.stopped != "" {
		fmt.Fprintln(r.log, r.stopped)
	}
	if err := r.writeHistory(); err != nil {
		return err
	}
	if err := r.writeCheckpoint(); err != nil {
		return err
	}
	r.ckptWritten = true
	return nil
}

// evaluate returns the loss and the RMSE in pixels of m over the hold-out
// part, in evaluation mode; NaN for both without one.
func (r *runner) evaluate(m models.Model) (loss, rmsePx float64, err error) {
	if r.hold == nil {
		return math.NaN(), math.NaN(), nil
	}
	store := m.Store()
	wasTraining := store.Training()
	store.Eval()
	defer store.SetTraining(wasTraining)
	n := r.hold.n
	batch := max(r.cfg.Batch, 128)
	var pred []float32
	var lossSum, coords float64
	// The batches' predictions and loss sums stay on the device until the
	// last batch: two reads per evaluation, not two per batch.
	err = torch.Catch(func() {
		torch.NoGrad(func() {
			torch.WithScope(func() {
				sums := torch.Zeros([]int64{2}, torch.Float64, r.dev)
				var preds []*torch.Tensor
				for lo := 0; lo < n; lo += batch {
					torch.WithScope(func() {
						x, y, mask := r.hold.batch(span(lo, min(batch, n-lo)))
						p := m.Forward(x)
						l := MaskedLoss(r.cfg.Loss, p, y, mask)
						c := mask.Sum()
						sums.AddInPlace(torch.Stack([]*torch.Tensor{l.Mul(c), c}, 0).ToDType(torch.Float64))
						preds = append(preds, torch.Keep(p.ToDType(torch.Float32)))
					})
				}
				pred = torch.Cat(preds, 0).Float32s()
				v := sums.Float64s()
				lossSum, coords = v[0], v[1]
			})
		})
	})
	if err != nil {
		return 0, 0, err
	}
	toPixels(pred)
	return lossSum / math.Max(coords, 1), dataset.RMSE(pred, r.holdSet.Coords, r.holdSet.Mask), nil
}

// toPixels turns normalised coordinates into pixels in place.
func toPixels(c []float32) {
	for i, v := range c {
		c[i] = v*CoordScale + CoordCentre
	}
}

func (r *runner) writeHistory() error {
	h := &History{
		Config: r.cfg, BestEpoch: r.top.epoch, Stopped: r.stopped, Epochs: r.history,
		MeanHoldoutRMSEPx: finite(r.meanRMSE), DroppedOutliers: r.dropped, PseudoLabels: r.pseudoStats,
	}
	if r.top.epoch > 0 {
		h.BestHoldoutRMSEPx = finite(r.top.rmse)
		h.BestWeights = r.top.weights()
	}
	if err := os.MkdirAll(filepath.Dir(r.cfg.HistoryPath()), 0o755); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	if err := WriteHistory(r.cfg.HistoryPath(), h); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// finish puts the best weights into the model, saves it and returns the
// result.
func (r *runner) finish() (*Result, error) {
	meta, err := r.saveModel(r.stopped)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Model: r.model, Meta: meta, History: r.history,
		BestEpoch: r.top.epoch, BestHoldoutRMSEPx: math.NaN(), BestWeights: r.savedWeights(), Stopped: r.stopped,
		Train: withImages(r.trainSet, r.train), Holdout: withImages(r.holdSet, r.hold),
		MeanHoldoutRMSEPx: r.meanRMSE, Dropped: r.dropped,
	}
	if r.top.epoch > 0 {
		res.BestHoldoutRMSEPx = r.top.rmse
		if r.top.rmse > r.meanRMSE {
			fmt.Fprintf(r.log, "warning: the model's hold-out RMSE, %.4g px, is worse than the mean keypoints' %.4g px: "+
				"training diverged (try a lower --lr) or was too short\n", r.top.rmse, r.meanRMSE)
		}
	}
	r.handedOver = true
	return res, nil
}

// savedWeights says which weights saveModel saves: the best epoch's raw
// or averaged weights; without a hold-out part to choose by, the last
// epoch's average when there is one (it was asked for), else its raw
// weights.
func (r *runner) savedWeights() string {
	switch {
	case r.best != nil:
		return r.top.weights()
	case r.ema != nil:
		return WeightsEMA
	}
	return WeightsRaw
}

// saveModel puts the best weights into the model, in evaluation mode, and
// saves it to Config.Out with stopped as the reason training ended.
func (r *runner) saveModel(stopped string) (models.Meta, error) {
	switch {
	case r.best != nil:
		if err := r.model.Store().CopyFrom(r.best); err != nil {
			return models.Meta{}, fmt.Errorf("restore the best model: %w", err)
		}
	case r.ema != nil:
		if err := r.model.Store().CopyFrom(r.ema.model.Store()); err != nil {
			return models.Meta{}, fmt.Errorf("take the weights' average: %w", err)
		}
	}
	r.model.Store().Eval()
	cfgJSON, err := json.Marshal(r.cfg)
	if err != nil {
		return models.Meta{}, err
	}
	names := dataset.CoordNames()
	meta := models.Meta{
		Spec:      r.model.Spec(),
		Keypoints: names[:],
		Means:     dataset.Means(r.trainSet),
		Input:     models.Input,
		Output:    models.Output,
	}
	split := r.holdout()
	prov := eval.Provenance{
		Config:       string(cfgJSON),
		Holdout:      &split,
		BestEpoch:    r.top.epoch,
		BestRMSE:     math.NaN(),
		Epochs:       r.epoch,
		TrainFaces:   r.train.n,
		HoldoutFaces: r.holdLen(),
		Stopped:      stopped,
		AMP:          r.ampNote,
		Dropped:      -1,
		Data:         r.dataID,
		Weights:      r.savedWeights(),
		PseudoCoords: -1,
	}
	if r.cfg.DropOutliers {
		prov.Dropped = len(r.dropped)
	}
	if r.pseudoStats != nil {
		prov.PseudoCoords = r.pseudoStats.Coords
	}
	if r.top.epoch > 0 {
		prov.BestRMSE = r.top.rmse
	}
	meta.Extra = prov.Extra()
	if err := os.MkdirAll(filepath.Dir(r.cfg.Out), 0o755); err != nil {
		return models.Meta{}, fmt.Errorf("save model: %w", err)
	}
	if err := models.Save(r.cfg.Out, r.model, meta); err != nil {
		return models.Meta{}, fmt.Errorf("save model: %w", err)
	}
	return meta, nil
}

// bestSoFar tracks the best hold-out RMSE of a run, for keeping the best
// model and for early stopping.
type bestSoFar struct {
	epoch int     // from 1; 0 before any epoch was scored
	rmse  float64 // meaningful when epoch > 0
	since int     // epochs scored since the best one
	ema   bool    // whether the best were the weights' moving average (Config.EMA)
}

// weights is WeightsEMA or WeightsRaw: the kind of the best weights.
func (b *bestSoFar) weights() string {
	if b.ema {
		return WeightsEMA
	}
	return WeightsRaw
}

// observe records the hold-out RMSE of an epoch and reports whether it is
// the best so far. NaN is never the best.
func (b *bestSoFar) observe(epoch int, rmse float64) bool {
	if b.epoch == 0 && !math.IsNaN(rmse) || rmse < b.rmse {
		b.epoch, b.rmse, b.since = epoch, rmse, 0
		return true
	}
	b.since++
	return false
}

// patienceSpent reports whether patience epochs (> 0) have passed without
// a better RMSE.
func (b *bestSoFar) patienceSpent(patience int) bool {
	return patience > 0 && b.since >= patience
}
