package dataset

import (
	"github.com/fkd-project/fkd/internal/atomicfile"

	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Prediction holds a model's answer for one test image: coordinates in
// pixels, and a mask of the ones the model can answer. A model trained on
// the four common keypoints, for instance, leaves the other 22 false.
type Prediction struct {
	Coords [NumCoords]float32
	Mask   [NumCoords]bool
}

// Predictions maps a test ImageId to its prediction.
type Predictions map[int]Prediction

// NewPredictions builds Predictions from rows of 30 coordinates laid out
// as in Set: image ids[i] gets coords[i*30:(i+1)*30]. mask has the same
// layout; nil means every coordinate is answered.
func NewPredictions(ids []int, coords []float32, mask []bool) Predictions {
	if len(coords) != len(ids)*NumCoords || (mask != nil && len(mask) != len(coords)) {
		panic("dataset: NewPredictions needs 30 coordinates (and mask entries) per id")
	}
	p := make(Predictions, len(ids))
	for i, id := range ids {
		var pr Prediction
		copy(pr.Coords[:], coords[i*NumCoords:])
		for j := range pr.Mask {
			pr.Mask[j] = mask == nil || mask[i*NumCoords+j]
		}
		p[id] = pr
	}
	return p
}

// SubmissionReport counts what went into a submission file.
type SubmissionReport struct {
	Rows         int // rows written, one per lookup row
	Filled       int // rows the predictions could not answer, written with the fill value
	FilledImages int // distinct images with at least one filled row
	Invalid      int // predictions that were NaN or infinite (counted in Filled too)
	Clipped      int // values moved into [0, ImageSize]

	// Missing counts the distinct ImageIds the lookup asks for that have
	// no prediction at all (absent from the test file); MissingIDs holds
	// the first MaxMissingIDs of them, in lookup order, for a warning.
	Missing    int
	MissingIDs []int
}

// MaxMissingIDs is how many absent ImageIds a SubmissionReport names.
const MaxMissingIDs = 5

// MissingWarning returns a one-line warning naming the ImageIds that the
// lookup asked for and the predictions lack, or "" when there are none.
func (r SubmissionReport) MissingWarning() string {
	if r.Missing == 0 {
		return ""
	}
	ids := make([]string, len(r.MissingIDs))
	for i, id := range r.MissingIDs {
		ids[i] = strconv.Itoa(id)
	}
	list := strings.Join(ids, ", ")
	if r.Missing > len(r.MissingIDs) {
		list += ", ..."
	}
	return fmt.Sprintf("warning: %d ImageIds of the lookup table are not in the test file (%s); their rows hold the training means", r.Missing, list)
}

// WriteSubmission writes a Kaggle submission, "RowId,Location" with one
// line per lookup row in the order given, to path atomically. Each row's
// Location is the predicted coordinate clipped to [0, ImageSize]. Rows
// whose image is missing from pred, whose coordinate is masked out, or
// whose value is not finite get fill[coordinate] instead and are counted
// in the report; callers should say so when Filled is not zero.
func WriteSubmission(path string, rows []LookupRow, pred Predictions, fill [NumCoords]float32) (SubmissionReport, error) {
	var rep SubmissionReport
	err := atomicfile.Write(path, func(w io.Writer) error {
		var err error
		rep, err = EncodeSubmission(w, rows, pred, fill)
		return err
	})
	return rep, err
}

// WriteSubmissionLong is WriteSubmission for the competition's older
// format, "RowId,ImageId,FeatureName,Location".
func WriteSubmissionLong(path string, rows []LookupRow, pred Predictions, fill [NumCoords]float32) (SubmissionReport, error) {
	var rep SubmissionReport
	err := atomicfile.Write(path, func(w io.Writer) error {
		var err error
		rep, err = EncodeSubmissionLong(w, rows, pred, fill)
		return err
	})
	return rep, err
}

// EncodeSubmission writes what WriteSubmission writes, to w.
func EncodeSubmission(w io.Writer, rows []LookupRow, pred Predictions, fill [NumCoords]float32) (SubmissionReport, error) {
	return encodeSubmission(w, rows, pred, fill, false)
}

// EncodeSubmissionLong writes what WriteSubmissionLong writes, to w.
func EncodeSubmissionLong(w io.Writer, rows []LookupRow, pred Predictions, fill [NumCoords]float32) (SubmissionReport, error) {
	return encodeSubmission(w, rows, pred, fill, true)
}

func encodeSubmission(w io.Writer, rows []LookupRow, pred Predictions, fill [NumCoords]float32, long bool) (SubmissionReport, error) {
	var rep SubmissionReport
	for j, v := range fill {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return rep, fmt.Errorf("fill value for %s is %v", coordNames[j], v)
		}
	}
	b := []byte("RowId,Location\n")
	if long {
		b = []byte("RowId,ImageId,FeatureName,Location\n")
	}
	filledImages := map[int]bool{}
	for _, r := range rows {
		if r.Coord < 0 || r.Coord >= NumCoords {
			return rep, fmt.Errorf("lookup RowId %d: coordinate index %d out of range", r.RowID, r.Coord)
		}
		v, ok := fill[r.Coord], false
		if p, found := pred[r.ImageID]; found && p.Mask[r.Coord] {
			pv := float64(p.Coords[r.Coord])
			if math.IsNaN(pv) || math.IsInf(pv, 0) {
				rep.Invalid++
			} else {
				v, ok = p.Coords[r.Coord], true
			}
		}
		if !ok {
			rep.Filled++
			if !filledImages[r.ImageID] {
				filledImages[r.ImageID] = true
				if _, found := pred[r.ImageID]; !found {
					rep.Missing++
					if len(rep.MissingIDs) < MaxMissingIDs {
						rep.MissingIDs = append(rep.MissingIDs, r.ImageID)
					}
				}
			}
		}
		if c := min(max(v, 0), ImageSize); c != v {
			v = c
			rep.Clipped++
		}
		b = strconv.AppendInt(b, int64(r.RowID), 10)
		b = append(b, ',')
		if long {
			b = strconv.AppendInt(b, int64(r.ImageID), 10)
			b = append(b, ',')
			b = append(b, coordNames[r.Coord]...)
			b = append(b, ',')
		}
		b = appendCoord(b, v)
		b = append(b, '\n')
		rep.Rows++
		if len(b) > 1<<15 {
			if _, err := w.Write(b); err != nil {
				return rep, err
			}
			b = b[:0]
		}
	}
	rep.FilledImages = len(filledImages)
	_, err := w.Write(b)
	return rep, err
}
