package report

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/train"
)

// WriteEvaluation writes the table of fkd evaluate and fkd baseline: the
// RMSE of each keypoint and of all, with how many faces have each.
func WriteEvaluation(w io.Writer, ev train.Evaluation) error {
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
	// records one (train.OwnHoldout), less the outliers when the model
	// was trained without them.
	Own bool
	// DropOutliers leaves out the faces that dataset.Outliers finds
	// mislabelled, also when the model's run kept them in its hold-out
	// score.
	DropOutliers bool
}

// EvaluateModel scores the model at modelPath, on dev and with
// test-time augmentation tta, on the faces of the labelled file at
// dataPath that f picks, and writes on stdout what it scored and the RMSE
// table (WriteEvaluation).
func (e *Env) EvaluateModel(modelPath, dataPath string, dev torch.Device, tta train.TTA, f Faces) error {
	m, meta, err := LoadModel(modelPath, dev)
	if err != nil {
		return err
	}
	defer m.Store().Free()
	set, rep, err := dataset.ReadTraining(dataPath, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "read %s: %d faces, %d with all keypoints\n", rep.Source, rep.Read, rep.Complete)
	set, what, err := f.Pick(set, meta)
	if err != nil {
		return err
	}
	ev, err := train.Evaluate(train.WithTTA(m, tta), set)
	if err != nil {
		return err
	}
	if tta != train.NoTTA {
		what += ", test-time augmentation " + tta.String()
	}
	fmt.Fprintf(e.Stdout, "%s on %d faces of %s, %s\n\n", meta.Spec, ev.Faces, dataPath, what)
	return WriteEvaluation(e.Stdout, ev)
}

// Pick returns the faces of set that f picks for the model with meta, and
// says which they are.
func (f Faces) Pick(set *dataset.Set, meta models.Meta) (*dataset.Set, string, error) {
	holdout, seed, trainedWithout := f.Holdout, f.Seed, false
	if f.Own {
		if h, s, d, ok := train.OwnHoldout(meta); ok {
			holdout, seed, trainedWithout = h, s, d
		}
	}
	drop := trainedWithout || f.DropOutliers
	var idx []int
	what := "all faces (including any the model was trained on)"
	if holdout == 0 {
		if !drop {
			return set, what, nil
		}
		idx = make([]int, set.Len())
		for i := range idx {
			idx[i] = i
		}
	} else {
		_, idx = dataset.Split(set, holdout, seed)
		if len(idx) == 0 {
			return nil, "", fmt.Errorf("a hold-out fraction of %v of %d faces holds out none", holdout, set.Len())
		}
		what = fmt.Sprintf("the hold-out part (fraction %v, seed %d)", holdout, seed)
	}
	if drop {
		n := len(idx)
		idx = train.WithoutOutliers(set, idx)
		what += fmt.Sprintf(" less its %d outliers", n-len(idx))
		if trainedWithout {
			what += ", as the model was trained (--drop-outliers)"
		} else {
			what += " (--drop-outliers)"
		}
		if len(idx) == 0 {
			return nil, "", fmt.Errorf("every face to score is an outlier")
		}
	}
	return set.Subset(idx), what, nil
}
