package plots

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LearningCurves draws the training and hold-out RMSE of run per epoch,
// with each reference as a dashed horizontal line, and writes the chart
// to path as a w×h PNG. The best epoch is ringed on the hold-out curve.
// When the first epoch's training RMSE dwarfs everything after it, the
// axis is cut below it so the later epochs stay readable.
func LearningCurves(path string, run Run, refs []Reference, w, h int) error {
	if len(run.Epochs) == 0 {
		return fmt.Errorf("plot %s: run %q has no epochs", path, run.Name)
	}
	title := "Learning curves"
	if run.Name != "" {
		title = run.Name + ": learning curves"
	}
	p := newPlot(title, "epoch", "RMSE (px)")
	var r yRange
	train, hold := curvePoints(run, &r, true), curvePoints(run, &r, false)
	if len(train) == 0 && len(hold) == 0 {
		return fmt.Errorf("plot %s: run %q has no finite RMSE", path, run.Name)
	}
	if err := addLine(p, train, "training", seriesColor(1), true); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	note, err := ringBest(p, run, seriesColor(0))
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := addLine(p, hold, "hold-out"+note, seriesColor(0), false); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	first, last := epochSpan(run)
	if err := addReferences(p, refs, first-0.5, last+0.5, &r); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	r.apply(p)
	setEpochAxis(p, first, last)
	return savePlot(path, p, w, h)
}

// CompareCurves draws the hold-out RMSE per epoch of each run, one line
// per model with its best epoch ringed, and each reference as a dashed
// horizontal line, and writes the chart to path as a w×h PNG.
func CompareCurves(path string, runs []Run, refs []Reference, w, h int) error {
	if len(runs) == 0 {
		return fmt.Errorf("plot %s: no runs", path)
	}
	p := newPlot("Hold-out RMSE per epoch", "epoch", "hold-out RMSE (px)")
	var r yRange
	first, last := math.Inf(1), math.Inf(-1)
	for i, run := range runs {
		pts := curvePoints(run, &r, false)
		if len(pts) == 0 {
			return fmt.Errorf("plot %s: run %q has no hold-out RMSE", path, run.Name)
		}
		note, err := ringBest(p, run, seriesColor(i))
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		if err := addLine(p, pts, run.Name+note, seriesColor(i), false); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		a, b := epochSpan(run)
		first, last = min(first, a), max(last, b)
	}
	if err := addReferences(p, refs, first-0.5, last+0.5, &r); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	r.apply(p)
	setEpochAxis(p, first, last)
	return savePlot(path, p, w, h)
}

// curvePoints returns the finite training or hold-out RMSEs of run as
// points, and widens r to hold them. The first epoch of a run of three or
// more counts only towards r's outlier bound.
func curvePoints(run Run, r *yRange, train bool) plotter.XYs {
	var pts plotter.XYs
	for i, e := range run.Epochs {
		v := e.HoldoutRMSE
		if train {
			v = e.TrainRMSE
		}
		if !finite(v) {
			continue
		}
		pts = append(pts, plotter.XY{X: float64(e.Epoch), Y: v})
		if i == 0 && len(run.Epochs) >= 3 {
			r.outlier(v)
		} else {
			r.add(v)
		}
	}
	return pts
}

// epochSpan returns the first and last epoch of run.
func epochSpan(run Run) (first, last float64) {
	return float64(run.Epochs[0].Epoch), float64(run.Epochs[len(run.Epochs)-1].Epoch)
}

// addLine adds pts as a line with small markers, labelled in the legend;
// it adds nothing for no points.
func addLine(p *plot.Plot, pts plotter.XYs, label string, c color.Color, dashed bool) error {
	if len(pts) == 0 {
		return nil
	}
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return fmt.Errorf("line %q: %w", label, err)
	}
	l.Color = c
	l.Width = vg.Points(2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	s.Color = c
	s.Shape = draw.CircleGlyph{}
	s.Radius = vg.Points(1.6)
	if len(pts) > 60 {
		s.Radius = 0
	}
	p.Add(l, s)
	p.Legend.Add(label, l)
	return nil
}

// ringBest rings run's best epoch on its hold-out curve and returns a
// note for the curve's legend entry, "" when the run has no best epoch.
func ringBest(p *plot.Plot, run Run, c color.Color) (string, error) {
	for _, e := range run.Epochs {
		if e.Epoch != run.BestEpoch || !finite(e.HoldoutRMSE) {
			continue
		}
		s, err := plotter.NewScatter(plotter.XYs{{X: float64(e.Epoch), Y: e.HoldoutRMSE}})
		if err != nil {
			return "", fmt.Errorf("best epoch of %q: %w", run.Name, err)
		}
		s.Color = c
		s.Shape = draw.RingGlyph{}
		s.Radius = vg.Points(5)
		p.Add(s)
		return fmt.Sprintf(" (best %.3f px, epoch %d)", e.HoldoutRMSE, e.Epoch), nil
	}
	return "", nil
}

// addReferences draws each finite reference as a dashed line from epoch
// x0 to x1, labelled in the legend with its value, and widens r to hold
// it.
func addReferences(p *plot.Plot, refs []Reference, x0, x1 float64, r *yRange) error {
	n := 0
	for _, ref := range refs {
		if !finite(ref.RMSE) {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: ref.RMSE}, {X: x1, Y: ref.RMSE}})
		if err != nil {
			return fmt.Errorf("reference %q: %w", ref.Label, err)
		}
		l.LineStyle = referenceStyles[n%len(referenceStyles)]
		n++
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s: %.3f px", ref.Label, ref.RMSE), l)
		r.add(ref.RMSE)
	}
	return nil
}

// setEpochAxis spans the epochs first to last with half an epoch to
// spare either side, and sets both axes' ticks.
func setEpochAxis(p *plot.Plot, first, last float64) {
	p.X.Min, p.X.Max = first-0.5, last+0.5
	p.X.Tick.Marker = niceTicks{target: 10, integer: true}
	p.Y.Tick.Marker = niceTicks{target: 8}
}

// yRange gathers the values a curve chart must show. Outliers (a run's
// first epoch) are shown only when they are not far above the rest.
type yRange struct {
	lo, hi, outlierHi float64
	any               bool
}

func (r *yRange) add(v float64) {
	if !r.any {
		r.lo, r.hi, r.any = v, v, true
		return
	}
	r.lo, r.hi = min(r.lo, v), max(r.hi, v)
}

func (r *yRange) outlier(v float64) { r.outlierHi = max(r.outlierHi, v) }

// apply sets p's vertical axis to the range with a margin: an outlier up
// to half as much again above the other values is shown whole; one
// further out is cut off.
func (r *yRange) apply(p *plot.Plot) {
	if !r.any {
		return
	}
	hi := r.hi
	if r.outlierHi > hi {
		hi = min(r.outlierHi, r.hi+0.5*(r.hi-r.lo)+0.5)
	}
	pad := 0.05 * (hi - r.lo)
	if pad == 0 {
		pad = 0.1 * max(math.Abs(hi), 1)
	}
	p.Y.Min, p.Y.Max = max(r.lo-pad, 0), hi+pad
}

// niceTicks labels multiples of a round step (1, 2, 2.5 or 5 times a
// power of ten) chosen to give about target labelled ticks between lo and
// hi, with an unlabelled tick halfway between each pair. With integer set
// the step is at least 1, for counts such as epochs.
type niceTicks struct {
	target  int
	integer bool
}

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return []plot.Tick{{Value: lo, Label: formatTick(lo, 1)}}
	}
	step := niceStep((hi - lo) / float64(max(t.target, 1)))
	if t.integer {
		step = max(math.Round(step), 1)
	}
	var ticks []plot.Tick
	half := step / 2
	if t.integer && step < 2 {
		half = 0
	}
	for i := math.Ceil(lo / step); i*step <= hi+step*1e-9; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: formatTick(v, step)})
		if half > 0 && v+half <= hi {
			ticks = append(ticks, plot.Tick{Value: v + half})
		}
	}
	if half > 0 && len(ticks) > 0 && ticks[0].Value-half >= lo {
		ticks = append(ticks, plot.Tick{Value: ticks[0].Value - half})
	}
	return ticks
}

// niceStep returns the smallest round number (1, 2, 2.5 or 5 times a
// power of ten) at least raw.
func niceStep(raw float64) float64 {
	if !(raw > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// formatTick writes v with as many decimals as step needs.
func formatTick(v, step float64) string {
	decimals := 0
	for s := step; decimals < 6 && math.Abs(s-math.Round(s)) > 1e-9*max(1, math.Abs(s)); s *= 10 {
		decimals++
	}
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}
