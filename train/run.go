package train

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/dataset"
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
// carry keypoints. It holds out cfg.Holdout of them (eval.Holdout, with
// cfg.HoldoutSeed), trains on the rest, scores the hold-out part after every
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
	// One OS thread for the whole run: glibc gives each thread its own
	// malloc arena, and a goroutine hopping between threads would spread
	// the step's large blocks over several of them.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	r, err := newRunner(cfg, data, o, start)
	if err != nil {
		return nil, err
	}
	defer r.free()
	if err := r.loop(ctx); err != nil {
		return nil, err
	}
	return r.finish()
}

// runner is the state of one training run, grouped by the phase that
// sets it.
type runner struct {
	// What the run was given, fixed at setup (setup.go).
	cfg      Config
	opts     Options
	log      io.Writer // Options.Log, or io.Discard
	dev      torch.Device
	ckptPath string
	dataID   string // fingerprint of the data given to Run

	// The data (setup.go). trainSet and holdSet are the two parts'
	// keypoints. Their images go once train and hold hold the faces (see
	// dropImages): Len is 0.
	trainSet, holdSet *dataset.Set
	train, hold       *faces
	holdRows          []int // the hold-out part's faces, by row of the data given to Run
	dropped           []DroppedFace
	meanRMSE          float64           // hold-out RMSE of the mean baseline, px; NaN without a hold-out part
	pseudo            []float32         // pseudo-labels of the training part, px, 0 where a true label is; nil without
	pseudoStats       *PseudoLabelStats // nil without pseudo-labels

	// What a step works with (step.go).
	model      models.Model
	ema        *weightAverage // nil without Config.EMA
	opt        optim.Optimizer
	sched      schedule
	steps      int // per epoch
	augment    augment.Options
	amp        *mixedPrecision // nil: float32 throughout
	ampNote    string          // mixed precision as the model file records it; "" without
	deviceSums                 // the epoch's running loss and RMSE, on the device (sums.go)

	// Where the run stands (checkpoint.go), moved on by each step and
	// each epoch's end (epoch.go), and the best epoch's weights.
	position
	best *nn.Store // snapshot of the best epoch's weights; nil until one is scored

	// What was saved (save.go, checkpoint.go).
	ckptWritten bool // whether ckptPath holds a checkpoint of this run
	handedOver  bool // whether the model went to the caller in a Result
}

// position is where a run stands, as checkpoints record it (Progress).
type position struct {
	epoch, step, global int // epochs done, steps of the epoch under way done, steps of the run done
	top                 bestSoFar
	running             Running
	history             []EpochStats
	stopped             string // why training ended; "" while it goes on
}

// loop runs the epochs left: the steps of each (step.go), then its end
// (epoch.go). A cancelled ctx ends it between two steps with a checkpoint
// (save.go).
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
			r.reportStep(bar, lr)
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

// reportStep shows the step just taken, which used the learning rate lr,
// on the progress bar and hands it to the callbacks of Options.
func (r *runner) reportStep(bar *progressbar.ProgressBar, lr float64) {
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

// newBar returns the epoch's progress bar, at the steps already done;
// nil without Options.Progress.
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

// closeBar closes bar; nil is none.
func closeBar(bar *progressbar.ProgressBar) {
	if bar != nil {
		_ = bar.Close()
	}
}
