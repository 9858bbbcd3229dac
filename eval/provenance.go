package eval

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/fkd-project/fkd/models"
)

// Provenance is what a model file records of the run of fkd train that
// made it, in the Extra metadata of the file (models.Meta). Write it with
// Extra and read it with ReadProvenance, the one reader: the keys on
// disk are those every fkd has written, so files of older versions read
// the same.
type Provenance struct {
	Config string // the run's train.Config, as JSON
	// Holdout is the run's split; nil when the file records no valid
	// hold-out fraction and seed. A Fraction of 0: no hold-out part.
	Holdout      *Holdout
	BestEpoch    int     // epoch of the saved weights; 0 before any was scored
	BestRMSE     float64 // their hold-out RMSE, pixels; NaN when not recorded
	Epochs       int     // epochs run
	TrainFaces   int     // faces trained on; -1 when not recorded
	HoldoutFaces int     // faces held out; -1 when not recorded
	Stopped      string  // why training ended
	AMP          string  // mixed precision asked for, and what came of it; "" without
	Dropped      int     // faces left out as outliers; -1 when the run kept them
	Data         string  // fingerprint of the data the run was given (before its split); "" in older files
	Weights      string  // which weights were saved: "raw" or "ema" (train.WeightsRaw, WeightsEMA)
	PseudoCoords int     // coordinates pseudo-labelled; -1 without pseudo-labels
}

// The Extra keys of a Provenance on disk.
const (
	keyConfig     = "train.config"
	keyHoldout    = "train.holdout"
	keySeed       = "train.seed"
	keyBestEpoch  = "train.best_epoch"
	keyBestRMSE   = "train.best_holdout_rmse_px" // "" without a scored epoch
	keyEpochs     = "train.epochs_trained"
	keyTrainFaces = "train.faces"
	keyHoldFaces  = "train.holdout_faces"
	keyStopped    = "train.stopped"
	keyAMP        = "train.amp"
	keyDropped    = "train.dropped_outliers"
	keyData       = "train.data"
	keyWeights    = "train.best_weights"
	keyPseudo     = "train.pseudo_coords"
)

// Extra returns p as the Extra metadata of a model file. The split's
// fraction and seed, the counts and the strings are always written; the
// best RMSE is "" when it is NaN; the outliers left out, the
// pseudo-labelled coordinates and the mixed-precision note only when
// there are any to record (Dropped and PseudoCoords at least 0, AMP not
// "").
func (p Provenance) Extra() map[string]string {
	e := map[string]string{
		keyConfig:     p.Config,
		keyBestEpoch:  strconv.Itoa(p.BestEpoch),
		keyBestRMSE:   "",
		keyEpochs:     strconv.Itoa(p.Epochs),
		keyTrainFaces: strconv.Itoa(p.TrainFaces),
		keyHoldFaces:  strconv.Itoa(p.HoldoutFaces),
		keyStopped:    p.Stopped,
		keyData:       p.Data,
		keyWeights:    p.Weights,
	}
	if p.Holdout != nil {
		e[keyHoldout] = strconv.FormatFloat(p.Holdout.Fraction, 'g', -1, 64)
		e[keySeed] = strconv.FormatInt(p.Holdout.Seed, 10)
	}
	if !math.IsNaN(p.BestRMSE) {
		e[keyBestRMSE] = strconv.FormatFloat(p.BestRMSE, 'g', -1, 64)
	}
	if p.Dropped >= 0 {
		e[keyDropped] = strconv.Itoa(p.Dropped)
	}
	if p.PseudoCoords >= 0 {
		e[keyPseudo] = strconv.Itoa(p.PseudoCoords)
	}
	if p.AMP != "" {
		e[keyAMP] = p.AMP
	}
	return e
}

// ReadProvenance reads what the model file with meta records of its run.
// What the file does not record (a file of another kind, or of an older
// fkd) reads as the zero value, or as -1 or NaN where a field says so.
// Holdout.DropOutliers comes from the run's Config.
func ReadProvenance(meta models.Meta) Provenance {
	x := meta.Extra
	count := func(key string) int {
		n, err := strconv.Atoi(x[key])
		if err != nil {
			return -1
		}
		return n
	}
	p := Provenance{
		Config:       x[keyConfig],
		BestEpoch:    max(count(keyBestEpoch), 0),
		BestRMSE:     math.NaN(),
		Epochs:       max(count(keyEpochs), 0),
		TrainFaces:   count(keyTrainFaces),
		HoldoutFaces: count(keyHoldFaces),
		Stopped:      x[keyStopped],
		AMP:          x[keyAMP],
		Dropped:      count(keyDropped),
		Data:         x[keyData],
		Weights:      x[keyWeights],
		PseudoCoords: count(keyPseudo),
	}
	if v, err := strconv.ParseFloat(x[keyBestRMSE], 64); err == nil {
		p.BestRMSE = v
	}
	h, herr := strconv.ParseFloat(x[keyHoldout], 64)
	s, serr := strconv.ParseInt(x[keySeed], 10, 64)
	if herr == nil && serr == nil && h >= 0 && h < 1 {
		var cfg struct {
			DropOutliers bool `json:"drop_outliers"`
		}
		drop := json.Unmarshal([]byte(p.Config), &cfg) == nil && cfg.DropOutliers
		p.Holdout = &Holdout{Fraction: h, Seed: s, DropOutliers: drop}
	}
	return p
}

// OwnHoldout returns the hold-out part the model file with meta records,
// as fkd train split the data; ok is false when it records none (a run
// with no hold-out part, or a file of another kind).
func OwnHoldout(meta models.Meta) (h Holdout, ok bool) {
	p := ReadProvenance(meta)
	if p.Holdout == nil || !(p.Holdout.Fraction > 0) {
		return Holdout{}, false
	}
	return *p.Holdout, true
}
