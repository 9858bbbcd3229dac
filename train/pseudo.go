package train

import (
	"fmt"
	"math"
	"strconv"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// Pseudo-labels (Config.PseudoLabels) fill the coordinates that the
// training part's faces lack with the average flip-TTA prediction of one
// or more teacher models, computed once before training. A filled
// coordinate weighs Config.PseudoWeight in the loss, a true label 1 (see
// MaskedLoss); the hold-out part is never touched, so it keeps scoring
// true labels only. The predictions are kept in the checkpoint, so a
// resumed run uses the very same labels without its teachers.
//
// A teacher must not have trained on this run's hold-out faces, or the
// student would learn them through its labels. A model file that Run
// saved records the fingerprint of its data and its hold-out fraction
// and seed (eval.Provenance's Data and Holdout), which give its split
// exactly: a teacher is accepted when it was trained on the same data and
// every face of this run's hold-out part was in its own hold-out part
// (the same split, or a larger hold-out fraction with the same seed,
// whose hold-out part contains this one's). Anything else is refused
// with a *TeacherError.

// DefaultPseudoWeight is the weight of a pseudo-labelled coordinate when
// Config.PseudoWeight is 0.
const DefaultPseudoWeight = 0.5

// pseudoWeight is the weight of a pseudo-labelled coordinate in the loss;
// 0 without teachers.
func (c *Config) pseudoWeight() float64 {
	switch {
	case len(c.PseudoLabels) == 0:
		return 0
	case c.PseudoWeight == 0:
		return DefaultPseudoWeight
	}
	return c.PseudoWeight
}

// TeacherError is returned by Run for a pseudo-label teacher it refuses.
type TeacherError struct {
	Path   string
	Reason string
}

func (e *TeacherError) Error() string {
	return fmt.Sprintf("pseudo-label teacher %s: %s", e.Path, e.Reason)
}

// PseudoLabelStats is what the pseudo-labels of a run filled in, as its
// history records it.
type PseudoLabelStats struct {
	Teachers []string `json:"teachers"`
	Weight   float64  `json:"weight"` // of a filled coordinate in the loss; a true label weighs 1
	Faces    int      `json:"faces"`  // training faces with at least one coordinate filled
	Coords   int      `json:"coords"` // coordinates filled
}

// checkTeacher returns a *TeacherError unless the teacher whose model
// metadata is meta was trained on none of the faces at holdRows of data,
// this run's hold-out part (fingerprint dataID).
func checkTeacher(path string, meta models.Meta, data *dataset.Set, dataID string, holdRows []int) error {
	if len(holdRows) == 0 {
		return nil // no hold-out part to protect
	}
	refuse := func(format string, args ...any) error {
		return &TeacherError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	prov := eval.ReadProvenance(meta)
	switch {
	case prov.Data == "":
		// A model saved by an older fkd records only how many faces each
		// part of its split held: they must add up to this run's data.
		if prov.TrainFaces < 0 || prov.HoldoutFaces < 0 || prov.TrainFaces+prov.HoldoutFaces != data.Len() {
			return refuse("its file records no fingerprint of its training data (a model saved by an older fkd), " +
				"nor as many faces as this run's data, so nothing shows that it did not train on this run's hold-out faces; train it again")
		}
	case prov.Data != dataID:
		return refuse("it was trained on other data (fingerprint %s; this run's data %s), "+
			"so nothing shows that it did not train on this run's hold-out faces", prov.Data, dataID)
	}
	if prov.Holdout == nil {
		return refuse("its file records no valid hold-out fraction and seed")
	}
	frac, seed := prov.Holdout.Fraction, prov.Holdout.Seed
	heldByTeacher := map[int]bool{}
	if frac > 0 {
		_, ho := dataset.Split(data, frac, seed)
		for _, i := range ho {
			heldByTeacher[i] = true
		}
	}
	seen := 0
	for _, i := range holdRows {
		if !heldByTeacher[i] {
			seen++
		}
	}
	if seen > 0 {
		return refuse("it was trained on %d of this run's %d hold-out faces (its hold-out fraction %g, seed %d); "+
			"train it with this run's hold-out fraction and seed", seen, len(holdRows), frac, seed)
	}
	return nil
}

// pseudoLabels loads the teachers of r.cfg on the training device,
// checks each against the hold-out part, and returns their average
// flip-TTA predictions, in pixels, for the coordinates the training
// part's faces lack (0 where a face has its true label), with how many
// faces and coordinates they fill. It needs the training part's images,
// and draws from LibTorch's generator (building each teacher): call it
// before the model is initialised.
func (r *runner) pseudoLabels(data *dataset.Set) (pred []float32, err error) {
	s := r.trainSet
	sum := make([]float64, len(s.Coords))
	for _, path := range r.cfg.PseudoLabels {
		m, meta, err := models.Load(path, r.dev)
		if err != nil {
			return nil, &TeacherError{Path: path, Reason: err.Error()}
		}
		if err := checkTeacher(path, meta, data, r.dataID, r.holdRows); err != nil {
			m.Store().Free()
			return nil, err
		}
		var p []float32
		err = torch.Catch(func() { p = models.Predict(eval.WithTTA(m, eval.FlipTTA), s.Images, eval.EvalBatch, r.dev) })
		m.Store().Free()
		if err != nil {
			return nil, fmt.Errorf("pseudo-label teacher %s: %w", path, err)
		}
		for i, v := range p {
			sum[i] += float64(v)
		}
		fmt.Fprintf(r.log, "pseudo-labels: teacher %s (%s, hold-out RMSE %s px)\n", path, meta.Spec, teacherRMSE(meta))
	}
	pred = make([]float32, len(sum))
	n := float64(len(r.cfg.PseudoLabels))
	for i, v := range sum {
		if !s.Mask[i] {
			pred[i] = float32(v / n)
		}
	}
	for i, v := range pred {
		if !s.Mask[i] && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
			return nil, fmt.Errorf("pseudo-labels: the teachers predict a non-finite coordinate for training face %d", i/dataset.NumCoords+1)
		}
	}
	return pred, nil
}

// teacherRMSE is the hold-out RMSE a teacher's file records, or "unknown".
func teacherRMSE(meta models.Meta) string {
	if v := eval.ReadProvenance(meta).BestRMSE; !math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return "unknown"
}

// pseudoStats counts what pred fills in s.
func pseudoStats(c *Config, s *dataset.Set) *PseudoLabelStats {
	st := &PseudoLabelStats{Teachers: c.PseudoLabels, Weight: c.pseudoWeight()}
	for i := range s.Len() {
		_, mask := s.Keypoints(i)
		filled := 0
		for _, ok := range mask {
			if !ok {
				filled++
			}
		}
		st.Coords += filled
		if filled > 0 {
			st.Faces++
		}
	}
	return st
}
