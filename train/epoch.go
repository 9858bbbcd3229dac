package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

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

// writeHistory writes the run's history so far to Config.HistoryPath.
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
