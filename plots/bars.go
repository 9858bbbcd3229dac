package plots

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/fkd-project/fkd/dataset"
)

// PerKeypointBars draws each series' RMSE per keypoint as grouped bars,
// one colour per series and one group per keypoint, named along the
// horizontal axis in short form (see ShortKeypointName), and writes the
// chart to path as a w×h PNG. Each series holds dataset.NumKeypoints
// values in dataset.Keypoints order; a NaN (a keypoint never present)
// draws no bar.
func PerKeypointBars(path string, series []Series, w, h int) error {
	if err := checkSize(w, h); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if len(series) == 0 {
		return fmt.Errorf("plot %s: no series", path)
	}
	p := newPlot("Hold-out RMSE per keypoint", "", "RMSE (px)")
	// The bars of a keypoint share 80% of the width the axis gives it.
	plotW := vg.Length(w)*72/DPI - vg.Points(70)
	groupW := plotW / dataset.NumKeypoints * 0.8
	barW := groupW / vg.Length(len(series))
	top := 0.0
	for i, s := range series {
		if len(s.Values) != dataset.NumKeypoints {
			return fmt.Errorf("plot %s: series %q has %d values, want %d", path, s.Name, len(s.Values), dataset.NumKeypoints)
		}
		vals := make(plotter.Values, len(s.Values))
		for k, v := range s.Values {
			switch {
			case math.IsNaN(v):
				vals[k] = 0
			case !finite(v) || v < 0:
				return fmt.Errorf("plot %s: series %q: %s has RMSE %v", path, s.Name, dataset.Keypoints[k], v)
			default:
				vals[k] = v
				top = max(top, v)
			}
		}
		b, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return fmt.Errorf("plot %s: series %q: %w", path, s.Name, err)
		}
		b.Color = seriesColor(i)
		b.LineStyle.Width = 0
		b.Offset = barW*vg.Length(i) - groupW/2 + barW/2
		p.Add(b)
		p.Legend.Add(s.Name, b)
	}
	names := make([]string, dataset.NumKeypoints)
	for k, n := range dataset.Keypoints {
		names[k] = ShortKeypointName(n)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 5
	p.X.Tick.Label.XAlign = -1 // right end of the label at the tick
	p.X.Tick.Label.YAlign = -0.5
	p.X.Tick.Label.Font = fontOf(10)
	p.Y.Min = 0
	p.Y.Max = top * 1.22 // room for the legend
	if top == 0 {
		p.Y.Max = 1
	}
	p.Y.Tick.Marker = niceTicks{target: 8}
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(6)
	return savePlot(path, p, w, h)
}

// shortWords abbreviates the words of keypoint names.
var shortWords = map[string]string{
	"left":   "L",
	"right":  "R",
	"center": "",
	"inner":  "in",
	"outer":  "out",
	"corner": "",
	"end":    "",
}

// ShortKeypointName abbreviates a Kaggle keypoint name for an axis:
// "left_eye_center" becomes "L eye", "left_eye_inner_corner" "L eye in"
// and "mouth_center_top_lip" "mouth top lip". The 15 short names differ.
func ShortKeypointName(name string) string {
	var out []string
	for _, word := range strings.Split(name, "_") {
		if s, ok := shortWords[word]; ok {
			word = s
		}
		if word != "" {
			out = append(out, word)
		}
	}
	return strings.Join(out, " ")
}
