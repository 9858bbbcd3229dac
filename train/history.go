package train

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/fkd-project/fkd/internal/atomicfile"
)

// EpochStats is what one epoch of training measured. Losses are in the
// loss's own units on normalised coordinates; RMSEs are in pixels, the
// competition's metric. Without a hold-out part the hold-out figures are
// NaN (null in JSON).
type EpochStats struct {
	Epoch         int     // counted from 1
	TrainLoss     float64 // mean loss of the epoch's batches, weighted by batch size
	TrainRMSEPx   float64 // RMSE of the epoch's batch predictions, in training mode
	HoldoutLoss   float64 // loss over the hold-out part, in evaluation mode
	HoldoutRMSEPx float64 // RMSE over the hold-out part, in evaluation mode
	// The same for the moving average of the weights (Config.EMA); NaN,
	// and absent from JSON, without one.
	EMAHoldoutLoss   float64
	EMAHoldoutRMSEPx float64
	LR               float64 // learning rate of the epoch's last step
	Seconds          float64 // wall time of the epoch, evaluation included
}

type epochJSON struct {
	Epoch         int      `json:"epoch"`
	TrainLoss     *float64 `json:"train_loss"`
	TrainRMSEPx   *float64 `json:"train_rmse_px"`
	HoldoutLoss   *float64 `json:"holdout_loss"`
	HoldoutRMSEPx *float64 `json:"holdout_rmse_px"`
	EMALoss       *float64 `json:"ema_holdout_loss,omitempty"`
	EMARMSEPx     *float64 `json:"ema_holdout_rmse_px,omitempty"`
	LR            float64  `json:"lr"`
	Seconds       float64  `json:"seconds"`
}

// finite returns &x, or nil for NaN and infinities, which JSON lacks.
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes the stats with snake_case keys and null for NaN.
func (e EpochStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(epochJSON{
		Epoch: e.Epoch, TrainLoss: finite(e.TrainLoss), TrainRMSEPx: finite(e.TrainRMSEPx),
		HoldoutLoss: finite(e.HoldoutLoss), HoldoutRMSEPx: finite(e.HoldoutRMSEPx),
		EMALoss: finite(e.EMAHoldoutLoss), EMARMSEPx: finite(e.EMAHoldoutRMSEPx),
		LR: e.LR, Seconds: e.Seconds,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *EpochStats) UnmarshalJSON(b []byte) error {
	var j epochJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = EpochStats{
		Epoch: j.Epoch, TrainLoss: orNaN(j.TrainLoss), TrainRMSEPx: orNaN(j.TrainRMSEPx),
		HoldoutLoss: orNaN(j.HoldoutLoss), HoldoutRMSEPx: orNaN(j.HoldoutRMSEPx),
		EMAHoldoutLoss: orNaN(j.EMALoss), EMAHoldoutRMSEPx: orNaN(j.EMARMSEPx),
		LR: j.LR, Seconds: j.Seconds,
	}
	return nil
}

// History is the record of a run that WriteHistory writes beside the
// model after every epoch.
type History struct {
	Config            Config       `json:"config"`
	BestEpoch         int          `json:"best_epoch"` // 0 until an epoch has been scored
	BestHoldoutRMSEPx *float64     `json:"best_holdout_rmse_px"`
	BestWeights       string       `json:"best_weights,omitempty"` // the saved weights: WeightsRaw, or WeightsEMA (Config.EMA); "" until scored
	Stopped           string       `json:"stopped,omitempty"`      // why training ended; empty while it runs
	Epochs            []EpochStats `json:"epochs"`
	// MeanHoldoutRMSEPx is the hold-out RMSE of the mean baseline (the
	// training part's mean keypoints for every face), the score a model
	// must beat; null without a hold-out part.
	MeanHoldoutRMSEPx *float64 `json:"mean_baseline_holdout_rmse_px,omitempty"`
	// DroppedOutliers are the faces Config.DropOutliers left out.
	DroppedOutliers []DroppedFace `json:"dropped_outliers,omitempty"`
	// PseudoLabels is what Config.PseudoLabels filled in.
	PseudoLabels *PseudoLabelStats `json:"pseudo_labels,omitempty"`
}

// WriteHistory writes h as indented JSON to path, atomically.
func WriteHistory(path string, h *History) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(h)
	})
}

// String formats the epoch as one line of a training log.
func (e EpochStats) String() string {
	s := fmt.Sprintf("epoch %d: train loss %.5g, RMSE %.3f px", e.Epoch, e.TrainLoss, e.TrainRMSEPx)
	if !math.IsNaN(e.HoldoutRMSEPx) {
		s += fmt.Sprintf("; hold-out loss %.5g, RMSE %.3f px", e.HoldoutLoss, e.HoldoutRMSEPx)
	}
	if !math.IsNaN(e.EMAHoldoutRMSEPx) {
		s += fmt.Sprintf(" (average %.3f px)", e.EMAHoldoutRMSEPx)
	}
	return s + fmt.Sprintf("; lr %.3g; %.1fs", e.LR, e.Seconds)
}
