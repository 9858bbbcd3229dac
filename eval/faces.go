package eval

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
)

// WriteTable writes the table of fkd evaluate and fkd baseline: the RMSE
// of each keypoint and of all, with how many faces have each.
func (ev Evaluation) WriteTable(w io.Writer) error {
	// Names are padded by hand so that they stay left-aligned while the
	// numbers align right.
	width := len("all keypoints")
	for _, name := range dataset.Keypoints {
		width = max(width, len(name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tfaces\tRMSE\t\n", width, "keypoint")
	for k, name := range dataset.Keypoints {
		fmt.Fprintf(tw, "%-*s\t%d\t%.3f\t\n", width, name, ev.Present[k], ev.PerKeypoint[k])
	}
	fmt.Fprintf(tw, "%-*s\t%d\t%.3f\t\n", width, "all keypoints", ev.Faces, ev.RMSE)
	return tw.Flush()
}

// Faces says which faces of a labelled file fkd evaluate scores a model
// on.
type Faces struct {
	Holdout float64 // the hold-out part of the split of this fraction; 0: all faces
	Seed    int64   // the split's seed
	// Own takes the model's own hold-out part instead, when its file
	// records one (OwnHoldout), less the outliers when the model
	// was trained without them.
	Own bool
	// DropOutliers leaves out the faces that dataset.Outliers finds
	// mislabelled, also when the model's run kept them in its hold-out
	// score.
	DropOutliers bool
}

// Pick returns the faces of set that f picks for the model with meta, and
// says which they are.
func (f Faces) Pick(set *dataset.Set, meta models.Meta) (*dataset.Set, string, error) {
	h := Holdout{Fraction: f.Holdout, Seed: f.Seed}
	if f.Own {
		if own, ok := OwnHoldout(meta); ok {
			h = own
		}
	}
	trainedWithout := h.DropOutliers
	h.DropOutliers = h.DropOutliers || f.DropOutliers
	what := "all faces (including any the model was trained on)"
	if h.Fraction == 0 && !h.DropOutliers {
		return set, what, nil
	}
	idx, outliers, err := h.Faces(set)
	if err != nil {
		return nil, "", err
	}
	if h.Fraction > 0 {
		what = fmt.Sprintf("the hold-out part (fraction %v, seed %d)", h.Fraction, h.Seed)
	}
	if h.DropOutliers {
		what += fmt.Sprintf(" less its %d outliers", outliers)
		if trainedWithout {
			what += ", as the model was trained (--drop-outliers)"
		} else {
			what += " (--drop-outliers)"
		}
	}
	return set.Subset(idx), what, nil
}
