package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
)

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

// withImages returns the keypoints of s with the images of f, copied back
// from the device; nil for nil.
func withImages(s *dataset.Set, f *faces) *dataset.Set {
	if s == nil {
		return nil
	}
	return &dataset.Set{Images: f.images.Uint8s(), Coords: s.Coords, Mask: s.Mask, IDs: s.IDs}
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
