package plots

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// HistogramBins is the number of bins ErrorHistogram divides its range
// into.
const HistogramBins = 40

// ErrorHistogram draws the distribution of per-face errors (pixels) of
// each series as a step outline, the share of the series' faces per bin,
// with all series on the same bins, and writes the chart to path as a w×h
// PNG. The bins span 0 to the 99th percentile of all the errors; larger
// errors are counted in the last bin, which the axis label says. NaN
// errors are left out.
func ErrorHistogram(path string, series []Series, w, h int) error {
	if err := checkSize(w, h); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if len(series) == 0 {
		return fmt.Errorf("plot %s: no series", path)
	}
	var all []float64
	clean := make([][]float64, len(series))
	for i, s := range series {
		for _, v := range s.Values {
			switch {
			case math.IsNaN(v):
			case math.IsInf(v, 0) || v < 0:
				return fmt.Errorf("plot %s: series %q has error %v", path, s.Name, v)
			default:
				clean[i] = append(clean[i], v)
			}
		}
		if len(clean[i]) == 0 {
			return fmt.Errorf("plot %s: series %q has no errors", path, s.Name)
		}
		all = append(all, clean[i]...)
	}
	slices.Sort(all)
	top := all[int(math.Ceil(0.99*float64(len(all))))-1]
	if top <= 0 {
		top = max(all[len(all)-1], 1)
	}
	width := top / HistogramBins
	xLabel := "per-face RMSE (px)"
	if all[len(all)-1] > top {
		xLabel = fmt.Sprintf("per-face RMSE (px); the last bin also holds the faces above %.2f px", top)
	}
	p := newPlot("Per-face error on the hold-out faces", xLabel, "share of faces (%)")
	peak := 0.0
	for i, s := range series {
		var counts [HistogramBins]int
		for _, v := range clean[i] {
			counts[min(int(v/width), HistogramBins-1)]++
		}
		pts := make(plotter.XYs, 0, 2*HistogramBins+2)
		pts = append(pts, plotter.XY{X: 0, Y: 0})
		for b, n := range counts {
			share := 100 * float64(n) / float64(len(clean[i]))
			peak = max(peak, share)
			pts = append(pts, plotter.XY{X: float64(b) * width, Y: share}, plotter.XY{X: float64(b+1) * width, Y: share})
		}
		pts = append(pts, plotter.XY{X: top, Y: 0})
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot %s: series %q: %w", path, s.Name, err)
		}
		l.Color = seriesColor(i)
		l.Width = vg.Points(2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (median %.2f px)", s.Name, median(clean[i])), l)
	}
	p.X.Min, p.X.Max = 0, top
	p.Y.Min, p.Y.Max = 0, peak*1.15
	p.X.Tick.Marker = niceTicks{target: 10}
	p.Y.Tick.Marker = niceTicks{target: 8}
	return savePlot(path, p, w, h)
}

// median returns the median of vs, which it sorts.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}
