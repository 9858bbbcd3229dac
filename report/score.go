package report

import (
	"fmt"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/plots"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

// Score is one row of the report: a trained model or a baseline,
// scored on the hold-out faces.
type Score struct {
	Label   string         // unique name in the report: "cnn3", "mean baseline"
	Spec    string         // a model's spec with every option: "cnn3:dropout=0.1,width=24"
	History *train.History // nil for a baseline
	Params  int            // -1 for a baseline
	MACs    int64          // multiply-adds per face; -1 when unknown
	// HoldoutRMSE is the history's best hold-out RMSE for a model, and
	// the measured one for a baseline; TTARMSE is with flip test-time
	// augmentation (NaN for a baseline).
	HoldoutRMSE, TTARMSE float64
	PerKeypoint          [dataset.NumKeypoints]float64
	Pred                 []float32 // hold-out predictions, pixels
	FaceErrors           []float64 // per-face RMSE on the hold-out faces
	Run                  string    // a model's run directory or model file, as given; "" for the others
	DataID               string    // fingerprint of the data a model was trained on, as its file records it
	Mix                  *Mix      // how the ensemble's row mixes the models; nil for the others
}

// Mix is how the report's ensemble mixes its models.
type Mix struct {
	// Weights holds one weight per model of the report, in order, fitted
	// on all the hold-out faces (ensemble.Weights): non-negative, summing
	// to 1.
	Weights []float64
	// EqualRMSE scores the mix with equal weights, FittedRMSE with
	// Weights on the faces they were fitted on.
	EqualRMSE, FittedRMSE float64
}

// TrainSeconds returns the wall time of training, the sum over epochs.
func (s *Score) TrainSeconds() float64 {
	var t float64
	for _, e := range s.History.Epochs {
		t += e.Seconds
	}
	return t
}

// ScoreRun loads a run's model, checks it was trained on r's split, and
// scores it on r's hold-out faces, with and without flip test-time
// augmentation.
func (e *Env) ScoreRun(modelPath string, h *train.History, r *Report, dev torch.Device) (*Score, error) {
	m, meta, err := LoadModel(modelPath, dev)
	if err != nil {
		return nil, err
	}
	defer m.Store().Free()
	prov := eval.ReadProvenance(meta)
	for _, c := range []struct {
		part      string
		got, want int
	}{{"training", prov.TrainFaces, r.TrainFaces}, {"hold-out", prov.HoldoutFaces, r.HoldFaces}} {
		if c.got >= 0 && c.got != c.want {
			return nil, fmt.Errorf("model %s records %d %s faces, but the split of %s gives %d: was it trained on other data?",
				modelPath, c.got, c.part, r.Data, c.want)
		}
	}
	start := time.Now()
	ev, err := eval.Evaluate(m, r.hold)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", modelPath, err)
	}
	tta, err := eval.Evaluate(eval.WithTTA(m, eval.FlipTTA), r.hold)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s with flip TTA: %w", modelPath, err)
	}
	params, macs := models.Count(m)
	s := &Score{
		Spec:        meta.Spec.String(),
		History:     h,
		Params:      params,
		MACs:        macs,
		HoldoutRMSE: orNaN(h.BestHoldoutRMSEPx),
		TTARMSE:     tta.RMSE,
		PerKeypoint: ev.PerKeypoint,
		Pred:        ev.Pred,
		FaceErrors:  FaceErrors(ev.Pred, r.hold),
		DataID:      prov.Data,
	}
	fmt.Fprintf(e.Stderr, "%s: hold-out RMSE %.4f px, %.4f px with flip TTA (%s)\n",
		meta.Spec, ev.RMSE, s.TTARMSE, time.Since(start).Round(time.Millisecond))
	// A run trained with --drop-outliers scored fewer hold-out faces
	// (checkScores says so).
	if math.Abs(ev.RMSE-s.HoldoutRMSE) > 0.01 && droppedHoldout(h) == 0 {
		e.Warn("%s scores %.4f px on the hold-out faces but its history says %.4f px: was it trained on other data?",
			modelPath, ev.RMSE, s.HoldoutRMSE)
	}
	return s, nil
}

// dataID returns the fingerprint of the data the models were trained
// on, as their files record it, or "" when none does; models trained on
// different data are warned of.
func (e *Env) dataID(ms []*Score) string {
	var first *Score
	for _, m := range ms {
		switch {
		case m.DataID == "":
		case first == nil:
			first = m
		case m.DataID != first.DataID:
			e.Warn("%s was trained on other data (fingerprint %s) than %s (%s)", m.Label, m.DataID, first.Label, first.DataID)
		}
	}
	if first == nil {
		return ""
	}
	return first.DataID
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// FaceErrors returns the RMSE of each face of s over its present
// coordinates; NaN for a face without any.
func FaceErrors(pred []float32, s *dataset.Set) []float64 {
	errs := make([]float64, s.Len())
	for i := range errs {
		coords, mask := s.Keypoints(i)
		errs[i] = dataset.RMSE(pred[i*dataset.NumCoords:(i+1)*dataset.NumCoords], coords, mask)
	}
	return errs
}

// ScoreBaselines fits the mean and patch-search baselines on the training
// faces and scores them on the hold-out faces.
func (e *Env) ScoreBaselines(trainSet, hold *dataset.Set) ([]*Score, error) {
	patch := baseline.NewPatch()
	var out []*Score
	for _, b := range []struct {
		label string
		model baseline.Model
	}{{meanBaseline, &baseline.Mean{}}, {"patch search", patch}} {
		start := time.Now()
		if err := b.model.Fit(trainSet); err != nil {
			return nil, fmt.Errorf("fit the %s: %w", b.label, err)
		}
		if b.model == patch {
			bar := progressbar.NewOptions(hold.Len(),
				progressbar.OptionSetWriter(e.Stderr),
				progressbar.OptionSetVisibility(e.Terminal),
				progressbar.OptionSetDescription("patch search on the hold-out faces"),
				progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
			patch.Progress = func(n int) { _ = bar.Add(n) }
			defer bar.Close()
		}
		pred, err := b.model.Predict(hold.Images)
		if err != nil {
			return nil, fmt.Errorf("the %s: %w", b.label, err)
		}
		s := &Score{
			Label: b.label, Params: -1, MACs: -1,
			HoldoutRMSE: dataset.RMSE(pred, hold.Coords, hold.Mask),
			TTARMSE:     math.NaN(),
			PerKeypoint: dataset.PerKeypointRMSE(pred, hold.Coords, hold.Mask),
			Pred:        pred,
			FaceErrors:  FaceErrors(pred, hold),
		}
		fmt.Fprintf(e.Stderr, "%s: hold-out RMSE %.4f px (%s)\n", b.label, s.HoldoutRMSE, time.Since(start).Round(time.Millisecond))
		out = append(out, s)
	}
	return out, nil
}

// PlotRun converts a run's history to the charts' form.
func PlotRun(label string, h *train.History) plots.Run {
	r := plots.Run{Name: label, BestEpoch: h.BestEpoch}
	for _, e := range h.Epochs {
		r.Epochs = append(r.Epochs, plots.Epoch{Epoch: e.Epoch, TrainRMSE: e.TrainRMSEPx, HoldoutRMSE: e.HoldoutRMSEPx})
	}
	return r
}

// LandmarkRows returns rows of the best, median and worst faces of hold
// by m's per-face error, n faces each, labelled with their ID and error,
// and "mislabelled" for the faces of hold that mislabelled holds (by
// index in hold; see MislabelledHeld), which would otherwise pass for the
// model's worst mistakes.
func LandmarkRows(m *Score, hold *dataset.Set, n int, mislabelled map[int]bool) []plots.FaceRow {
	best, median, worst := plots.PickByError(m.FaceErrors, n)
	var rows []plots.FaceRow
	for _, g := range []struct {
		title string
		idx   []int
	}{{"best", best}, {"median", median}, {"worst", worst}} {
		row := plots.FaceRow{Title: g.title}
		for _, i := range g.idx {
			coords, mask := hold.Keypoints(i)
			label := fmt.Sprintf("%.2f px", m.FaceErrors[i])
			if hold.IDs != nil {
				label = fmt.Sprintf("face %d: %.2f px", hold.IDs[i], m.FaceErrors[i])
			}
			if mislabelled[i] {
				label += ", mislabelled"
			}
			row.Faces = append(row.Faces, plots.Face{
				Image: hold.Image(i),
				Pred:  m.Pred[i*dataset.NumCoords : (i+1)*dataset.NumCoords],
				Truth: coords, Mask: mask, Label: label,
			})
		}
		rows = append(rows, row)
	}
	return rows
}

// MislabelledHeld returns the positions in holdIdx of the faces of set
// that dataset.Outliers finds mislabelled (fkd data check), as
// LandmarkRows takes them.
func MislabelledHeld(set *dataset.Set, holdIdx []int) map[int]bool {
	return positions(holdoutOutliers(set, holdIdx), holdIdx)
}

// positions returns the positions in holdIdx of the faces outliers names.
func positions(outliers []dataset.Outlier, holdIdx []int) map[int]bool {
	at := make(map[int]int, len(holdIdx))
	for pos, row := range holdIdx {
		at[row] = pos
	}
	out := map[int]bool{}
	for _, o := range outliers {
		out[at[o.Row]] = true
	}
	return out
}
