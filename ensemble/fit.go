package ensemble

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// Weights returns the weights, non-negative and summing to 1, of the mix
// of the members' predictions closest to the truth: the mix minimising
// the squared error summed over the coordinates where mask is true. preds
// holds one slice per member, each as long as truth and mask (n faces ·
// 30 coordinates, in pixels).
//
// As the weights sum to 1, the mix's error is the same mix of the
// members' errors, so the squared error is wᵀGw with G the Gram matrix of
// the errors (not of the predictions: those share a common part tens of
// pixels large, beside which the members' differences are too small for
// gradient descent to resolve). Weights minimises wᵀGw on the simplex by
// projected gradient descent with Nesterov's momentum and step 1/(2λ),
// λ G's largest eigenvalue.
func Weights(preds [][]float32, truth []float32, mask []bool) []float64 {
	k := len(preds)
	gram := make([]float64, k*k) // Σ e_i·e_j over the masked coordinates, e = p − y
	errs := make([]float64, k)
	for c, ok := range mask {
		if !ok {
			continue
		}
		y := float64(truth[c])
		for i := range k {
			errs[i] = float64(preds[i][c]) - y
		}
		for i := range k {
			for j := i; j < k; j++ {
				gram[i*k+j] += errs[i] * errs[j]
			}
		}
	}
	for i := range k {
		for j := range i {
			gram[i*k+j] = gram[j*k+i]
		}
	}
	w := make([]float64, k)
	for i := range w {
		w[i] = 1 / float64(k)
	}
	lambda := largestEigenvalue(gram, k)
	if k == 1 || !(lambda > 0) {
		return w
	}
	step := 1 / (2 * lambda)
	prev := slices.Clone(w)
	look := make([]float64, k) // the point the momentum looks ahead to
	next := make([]float64, k)
	for it := range 200000 {
		beta := float64(it) / float64(it+3)
		for i := range k {
			look[i] = w[i] + beta*(w[i]-prev[i])
		}
		for i := range k {
			g := 0.0
			for j := range k {
				g += gram[i*k+j] * look[j]
			}
			next[i] = look[i] - step*2*g
		}
		projectSimplex(next)
		moved := 0.0
		for i := range k {
			moved = math.Max(moved, math.Abs(next[i]-w[i]))
		}
		copy(prev, w)
		copy(w, next)
		if moved < 1e-13 {
			break
		}
	}
	return w
}

// largestEigenvalue returns the largest eigenvalue of the symmetric
// positive semi-definite k×k matrix m, by power iteration, rounded up a
// little so that a gradient step of 1/(2λ) stays stable.
func largestEigenvalue(m []float64, k int) float64 {
	v := make([]float64, k)
	for i := range v {
		v[i] = 1 / math.Sqrt(float64(k)) * (1 + float64(i)/float64(4*k)) // not orthogonal to the top eigenvector
	}
	next := make([]float64, k)
	lambda := 0.0
	for range 1000 {
		norm := 0.0
		for i := range k {
			next[i] = 0
			for j := range k {
				next[i] += m[i*k+j] * v[j]
			}
			norm += next[i] * next[i]
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			return 0
		}
		for i := range k {
			v[i] = next[i] / norm
		}
		if math.Abs(norm-lambda) <= 1e-12*norm {
			lambda = norm
			break
		}
		lambda = norm
	}
	return lambda * 1.01
}

// projectSimplex replaces v by its Euclidean projection on the simplex
// {w : w ≥ 0, Σw = 1}.
func projectSimplex(v []float64) {
	u := slices.Clone(v)
	slices.Sort(u)
	slices.Reverse(u)
	sum, theta := 0.0, 0.0
	for i, x := range u {
		sum += x
		if t := (sum - 1) / float64(i+1); x-t > 0 {
			theta = t
		}
	}
	for i := range v {
		v[i] = math.Max(v[i]-theta, 0)
	}
}

// Mix returns the mix of preds with weights w, coordinate by coordinate.
func Mix(preds [][]float32, w []float64) []float32 {
	if len(preds) == 0 {
		return nil
	}
	out := make([]float32, len(preds[0]))
	for c := range out {
		out[c] = float32(mixAt(preds, w, c))
	}
	return out
}

// mixAt is coordinate c of the mix of preds with weights w.
func mixAt(preds [][]float32, w []float64, c int) float64 {
	p := 0.0
	for i := range preds {
		p += w[i] * float64(preds[i][c])
	}
	return p
}

// RMSE returns the root mean squared error in pixels, over the masked
// coordinates, of the mix of preds with weights w.
func RMSE(preds [][]float32, w []float64, truth []float32, mask []bool) float64 {
	sum, n := 0.0, 0
	for c, ok := range mask {
		if !ok {
			continue
		}
		d := mixAt(preds, w, c) - float64(truth[c])
		sum += d * d
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Sqrt(sum / float64(n))
}

// FitOptions says how Fit works.
type FitOptions struct {
	TTA    eval.TTA
	Device torch.Device
	// DropOutliers leaves the hold-out faces that dataset.Outliers finds
	// mislabelled out of the fit and the scores, also when the members'
	// runs kept them (members trained with --drop-outliers always leave
	// them out). One such face can outweigh hundreds of others in a
	// squared error and pull the weights towards whichever member
	// happens to be nearest its wrong label.
	DropOutliers bool
	Log          io.Writer // progress lines; nil: none
}

// Fitted is what Fit found.
type Fitted struct {
	File       File      // the ensemble, weights fitted, member paths as given
	Faces      int       // hold-out faces scored
	MemberRMSE []float64 // each member alone, pixels
	EqualRMSE  float64   // the members with equal weights
	FittedRMSE float64   // the fitted weights, on the faces they were fitted on
	// CrossRMSE is the fitted ensemble's RMSE when each half of the
	// hold-out faces is scored with weights fitted on the other half: an
	// estimate that does not flatter the weights.
	CrossRMSE float64
}

// Fit loads each member in turn, predicts the hold-out faces of set that
// all members share (CheckSplit) with test-time augmentation o.TTA, and
// fits the members' weights on them (Weights).
func Fit(paths []string, set *dataset.Set, o FitOptions) (Fitted, error) {
	if len(paths) == 0 {
		return Fitted{}, errors.New("an ensemble needs at least one model")
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	var (
		metas    []models.Meta
		preds    [][]float32
		hold     *dataset.Set
		outliers int
	)
	for _, path := range paths {
		if err := CheckMember(path); err != nil {
			return Fitted{}, fmt.Errorf("ensemble member %w", err)
		}
	}
	for i, path := range paths {
		m, meta, err := models.Load(path, o.Device)
		if err != nil {
			return Fitted{}, err
		}
		metas = append(metas, meta)
		if err := CheckSplit(paths[:i+1], metas); err != nil {
			m.Store().Free()
			return Fitted{}, err
		}
		if hold == nil {
			if hold, outliers, err = HoldoutFaces(set, meta, o.DropOutliers); err != nil {
				m.Store().Free()
				return Fitted{}, err
			}
		}
		fmt.Fprintf(log, "predicting %d hold-out faces with %s (%s)\n", hold.Len(), path, meta.Spec)
		var p []float32
		err = torch.Catch(func() {
			p = models.Predict(eval.WithTTA(m, o.TTA), hold.Images, eval.EvalBatch, o.Device)
		})
		m.Store().Free()
		if err != nil {
			return Fitted{}, fmt.Errorf("predict with %s: %w", path, err)
		}
		preds = append(preds, p)
	}
	f := Fitted{Faces: hold.Len()}
	for i := range preds {
		f.MemberRMSE = append(f.MemberRMSE, RMSE(preds[i:i+1], []float64{1}, hold.Coords, hold.Mask))
	}
	equal, _ := models.NormaliseWeights(nil, len(preds))
	f.EqualRMSE = RMSE(preds, equal, hold.Coords, hold.Mask)
	w := Weights(preds, hold.Coords, hold.Mask)
	f.FittedRMSE = RMSE(preds, w, hold.Coords, hold.Mask)
	f.CrossRMSE = CrossRMSE(preds, hold.Coords, hold.Mask)
	f.File = File{Format: Format, TTA: o.TTA.String(), HoldoutRMSE: f.FittedRMSE, HoldoutOutliersLeftOut: outliers}
	for i, p := range paths {
		f.File.Members = append(f.File.Members, Member{Model: p, Weight: w[i]})
	}
	return f, nil
}

// HoldoutFaces returns the hold-out part of set that the model with meta
// left out of its training (eval.OwnHoldout), less the outliers when the
// model's run left them out or dropOutliers asks, and how many outliers
// it left out.
func HoldoutFaces(set *dataset.Set, meta models.Meta, dropOutliers bool) (*dataset.Set, int, error) {
	h, ok := eval.OwnHoldout(meta)
	if !ok {
		return nil, 0, errors.New("its file records no hold-out part")
	}
	h.DropOutliers = h.DropOutliers || dropOutliers
	idx, outliers, err := h.Faces(set)
	if err != nil {
		return nil, 0, err
	}
	return set.Subset(idx), outliers, nil
}

// CrossRMSE scores each half of the faces (alternate faces) with weights
// fitted on the other half, and returns the RMSE over both.
func CrossRMSE(preds [][]float32, truth []float32, mask []bool) float64 {
	half := func(parity int) []bool {
		m := make([]bool, len(mask))
		for c := range mask {
			m[c] = mask[c] && (c/dataset.NumCoords)%2 == parity
		}
		return m
	}
	even, odd := half(0), half(1)
	sq := func(w []float64, m []bool) (float64, int) {
		r := RMSE(preds, w, truth, m)
		n := 0
		for _, ok := range m {
			if ok {
				n++
			}
		}
		if n == 0 {
			return 0, 0
		}
		return r * r * float64(n), n
	}
	s1, n1 := sq(Weights(preds, truth, odd), even)
	s2, n2 := sq(Weights(preds, truth, even), odd)
	if n1+n2 == 0 {
		return math.NaN()
	}
	return math.Sqrt((s1 + s2) / float64(n1+n2))
}

// WriteTable writes what Fit found as a table: each member's hold-out
// RMSE and fitted weight, then the ensemble with equal and with fitted
// weights, and the cross-fitted estimate.
func (f Fitted) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "member\tweight\thold-out RMSE (px)\t\n")
	for i, m := range f.File.Members {
		fmt.Fprintf(tw, "%s\t%.3f\t%.4f\t\n", m.Model, m.Weight, f.MemberRMSE[i])
	}
	fmt.Fprintf(tw, "ensemble, equal weights\t\t%.4f\t\n", f.EqualRMSE)
	fmt.Fprintf(tw, "ensemble, fitted weights\t\t%.4f\t\n", f.FittedRMSE)
	fmt.Fprintf(tw, "  the same, each half scored with weights fitted on the other\t\t%.4f\t\n", f.CrossRMSE)
	return tw.Flush()
}
