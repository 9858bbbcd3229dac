package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/train"
)

// ResultsName is the file of a report, beside index.html, that holds
// every figure of the report for a script to read: Results as JSON.
const ResultsName = "results.json"

// ResultsFormat names the layout of results.json. It changes when a
// field changes its meaning; fields may be added without a change.
const ResultsFormat = "fkd-results/1"

// Results is the schema of results.json: every figure that index.html and
// README.md show, and what made them. RMSEs are in pixels, over the
// keypoints each face has (the competition's metric); times are wall
// seconds. A figure that cannot be had (an RMSE over no keypoint) is
// null.
type Results struct {
	Format  string      `json:"format"`      // ResultsFormat
	Version string      `json:"fkd_version"` // fkd's release and commit, as fkd version prints it; "" when unknown
	Command []string    `json:"command"`     // the command line that wrote the report, program name first
	Data    DataResults `json:"data"`
	// Keypoints names the entries of every per_keypoint_rmse_px list, in
	// Kaggle's column order.
	Keypoints []string          `json:"keypoints"`
	Models    []ModelResults    `json:"models"`             // the trained models, in the order given
	Ensemble  *EnsembleResults  `json:"ensemble,omitempty"` // their mix; absent with fewer than two models
	Baselines []BaselineResults `json:"baselines"`          // mean, then patch search
	// Missing names the runs left out of the report, each with what it
	// lacks (an unfinished or missing run of a comparison).
	Missing []string `json:"missing,omitempty"`
	// Warnings are what the report's Warnings section lists, as stderr
	// said them ("warning: ..."): a model no better than the mean
	// baseline, mislabelled hold-out faces, faces a run left out of its
	// score, anything the training warned of. The runs left out are in
	// Missing, not here.
	Warnings []string `json:"warnings,omitempty"`
}

// DataResults says what the models were compared on.
type DataResults struct {
	File string `json:"file"` // base name of the training data
	// Fingerprint is that of the faces the runs were trained on, as their
	// model files record it; "" when none records one.
	Fingerprint     string  `json:"fingerprint,omitempty"`
	HoldoutFraction float64 `json:"holdout_fraction"`
	SplitSeed       int64   `json:"split_seed"`
	TrainFaces      int     `json:"train_faces"`   // the models trained, and the baselines were fitted, on these
	HoldoutFaces    int     `json:"holdout_faces"` // everything is scored on these
	// HoldoutFaceIDs numbers the hold-out faces, in the order of every
	// per_face_rmse_px list: their rows in the data file, from 1.
	HoldoutFaceIDs []int `json:"holdout_face_ids,omitempty"`
}

// ModelResults is a trained model's row of the report, its learning
// curves and the settings of its run.
type ModelResults struct {
	Label  string `json:"label"` // its name in the report: the spec as given, with the run's directory where two share one
	Spec   string `json:"spec"`  // the architecture with every option: "cnn3:dropout=0.1,width=24"
	Run    string `json:"run"`   // the run's directory or model file, as given
	Params int    `json:"params"`
	// MACsPerFace is the multiply-adds of one prediction; null when
	// unknown.
	MACsPerFace  *int64  `json:"macs_per_face"`
	Epochs       int     `json:"epochs"`     // epochs trained
	BestEpoch    int     `json:"best_epoch"` // the epoch whose weights the model keeps
	Stopped      string  `json:"stopped"`    // why training ended
	TrainSeconds float64 `json:"train_seconds"`
	// HoldoutRMSE is the best epoch's hold-out RMSE, as its history
	// records it; FlipTTARMSE averages the predictions for each face and
	// its mirror image.
	HoldoutRMSE Float   `json:"holdout_rmse_px"`
	FlipTTARMSE Float   `json:"flip_tta_rmse_px"`
	PerKeypoint []Float `json:"per_keypoint_rmse_px"` // without TTA
	PerFace     []Float `json:"per_face_rmse_px"`     // without TTA, in the order of data.holdout_face_ids
	// Curve is the history's record of every epoch: losses, training and
	// hold-out RMSE, learning rate and wall time.
	Curve []train.EpochStats `json:"curve"`
	// Settings are the run's training settings, as its history records
	// them (fkd train's flags; device, threads and paths included).
	Settings train.Config `json:"settings"`
}

// EnsembleResults is the report's ensemble: the models' hold-out
// predictions mixed with weights fitted on the hold-out faces
// (ensemble.Weights: non-negative, summing to 1).
type EnsembleResults struct {
	Label   string          `json:"label"`
	Members []MemberResults `json:"members"` // every model, in the order of models
	// Params and MACsPerFace count the members whose weight is above 0:
	// those the mix runs.
	Params      int    `json:"params"`
	MACsPerFace *int64 `json:"macs_per_face"`
	// EqualRMSE mixes the members with equal weights; FittedRMSE with the
	// fitted weights, on the faces they were fitted on (it flatters);
	// CrossRMSE scores each half of the faces (alternate faces) with the
	// weights fitted on the other half: the report's table shows it.
	EqualRMSE   Float   `json:"equal_rmse_px"`
	FittedRMSE  Float   `json:"fitted_rmse_px"`
	CrossRMSE   Float   `json:"cross_fitted_rmse_px"`
	PerKeypoint []Float `json:"per_keypoint_rmse_px"` // of the fitted mix
	PerFace     []Float `json:"per_face_rmse_px"`     // of the fitted mix
}

// MemberResults is a model of the ensemble and its fitted weight; 0
// means that the best mix leaves it out.
type MemberResults struct {
	Label  string  `json:"label"` // as in models
	Weight float64 `json:"weight"`
}

// BaselineResults is a baseline's row of the report: fitted on the
// training faces, scored on the hold-out faces.
type BaselineResults struct {
	Label       string  `json:"label"` // "mean baseline", "patch search"
	HoldoutRMSE Float   `json:"holdout_rmse_px"`
	PerKeypoint []Float `json:"per_keypoint_rmse_px"`
	PerFace     []Float `json:"per_face_rmse_px"`
}

// Float is a float64 that JSON writes as null when it is NaN, and reads
// back from null as NaN.
type Float float64

func (f Float) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 64), nil
}

func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("a number or null: %w", err)
	}
	*f = Float(v)
	return nil
}

func floats(v []float64) []Float {
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// macs returns multiply-adds as results.json holds them: nil when
// unknown (negative).
func macs(n int64) *int64 {
	if n < 0 {
		return nil
	}
	return &n
}

// results returns the report's figures as results.json holds them.
func (r *Report) results() *Results {
	res := &Results{
		Format:  ResultsFormat,
		Version: r.Version,
		Command: r.Command,
		Data: DataResults{
			File: r.Data, Fingerprint: r.DataID,
			HoldoutFraction: r.Holdout, SplitSeed: r.Seed,
			TrainFaces: r.TrainFaces, HoldoutFaces: r.HoldFaces,
		},
		Keypoints: dataset.Keypoints[:],
		Missing:   r.Missing,
		Warnings:  r.Warnings,
	}
	if r.hold != nil {
		res.Data.HoldoutFaceIDs = r.hold.IDs
	}
	for _, m := range r.Models {
		res.Models = append(res.Models, ModelResults{
			Label: m.Label, Spec: m.Spec, Run: m.Run,
			Params: m.Params, MACsPerFace: macs(m.MACs),
			Epochs: len(m.History.Epochs), BestEpoch: m.History.BestEpoch, Stopped: m.History.Stopped,
			TrainSeconds: m.TrainSeconds(),
			HoldoutRMSE:  Float(m.HoldoutRMSE), FlipTTARMSE: Float(m.TTARMSE),
			PerKeypoint: floats(m.PerKeypoint[:]), PerFace: floats(m.FaceErrors),
			Curve:    m.History.Epochs,
			Settings: m.History.Config,
		})
	}
	if e := r.Ensemble; e != nil {
		er := &EnsembleResults{
			Label: e.Label, Params: e.Params, MACsPerFace: macs(e.MACs),
			EqualRMSE: Float(math.NaN()), FittedRMSE: Float(math.NaN()), CrossRMSE: Float(e.HoldoutRMSE),
			PerKeypoint: floats(e.PerKeypoint[:]), PerFace: floats(e.FaceErrors),
		}
		if e.Mix != nil {
			er.EqualRMSE, er.FittedRMSE = Float(e.Mix.EqualRMSE), Float(e.Mix.FittedRMSE)
			for i, m := range r.Models {
				er.Members = append(er.Members, MemberResults{Label: m.Label, Weight: e.Mix.Weights[i]})
			}
		}
		res.Ensemble = er
	}
	for _, b := range r.Baselines {
		res.Baselines = append(res.Baselines, BaselineResults{
			Label: b.Label, HoldoutRMSE: Float(b.HoldoutRMSE),
			PerKeypoint: floats(b.PerKeypoint[:]), PerFace: floats(b.FaceErrors),
		})
	}
	return res
}

// Rows returns the report's table as index.html and README.md show it
// (under Columns): the models in the order given, the ensemble, then the
// baselines.
func (res *Results) Rows() [][]string {
	const none = "–"
	var rows [][]string
	for _, m := range res.Models {
		rows = append(rows, []string{
			m.Label,
			FormatCount(float64(m.Params)),
			formatMACsOf(m.MACsPerFace),
			strconv.Itoa(m.Epochs),
			strconv.Itoa(m.BestEpoch),
			FormatSeconds(m.TrainSeconds),
			FormatSeconds(m.TrainSeconds / float64(m.Epochs)),
			FormatRMSE(float64(m.HoldoutRMSE)),
			FormatRMSE(float64(m.FlipTTARMSE)),
		})
	}
	if e := res.Ensemble; e != nil {
		rows = append(rows, []string{e.RowLabel(), FormatCount(float64(e.Params)), formatMACsOf(e.MACsPerFace),
			none, none, none, none, FormatRMSE(float64(e.CrossRMSE)), none})
	}
	for _, b := range res.Baselines {
		rows = append(rows, []string{b.Label, none, none, none, none, none, none, FormatRMSE(float64(b.HoldoutRMSE)), none})
	}
	return rows
}

func formatMACsOf(n *int64) string {
	if n == nil {
		return formatMACs(-1)
	}
	return formatMACs(*n)
}

// RowLabel is the ensemble's name in the report's table, with its
// members' weights: "ensemble of 2: cnn3 1, fpnheat 0".
func (e *EnsembleResults) RowLabel() string {
	if len(e.Members) == 0 {
		return e.Label
	}
	var parts []string
	for _, m := range e.Members {
		parts = append(parts, m.Label+" "+FormatWeight(m.Weight))
	}
	return e.Label + ": " + strings.Join(parts, ", ")
}

// FormatWeight writes an ensemble weight with three decimals, and 0 and
// 1 as such: "0.274", "0", "1". A weight that is not 0 but rounds to it
// is "<0.001".
func FormatWeight(w float64) string {
	switch {
	case w == 0:
		return "0"
	case w == 1:
		return "1"
	case w < 0.0005:
		return "<0.001"
	}
	return strconv.FormatFloat(w, 'f', 3, 64)
}

// Note returns the sentences that say how the ensemble was made and
// scored, and why a member may weigh 0; index.html and README.md show
// them under the table.
func (e *EnsembleResults) Note() string {
	var weights, zero []string
	for _, m := range e.Members {
		weights = append(weights, fmt.Sprintf("%s %s", m.Label, FormatWeight(m.Weight)))
		if m.Weight == 0 {
			zero = append(zero, m.Label)
		}
	}
	s := fmt.Sprintf("The %s mixes the models' hold-out predictions with weights fitted on the hold-out faces: %s. "+
		"With equal weights the mix scores %s px; with the fitted weights %s px on the faces they were fitted on; "+
		"scoring each half of the faces with the weights fitted on the other half, %s px (the table's figure).",
		e.Label, strings.Join(weights, ", "),
		FormatRMSE(float64(e.EqualRMSE)), FormatRMSE(float64(e.FittedRMSE)), FormatRMSE(float64(e.CrossRMSE)))
	if len(zero) > 0 {
		verb := "gets"
		if len(zero) > 1 {
			verb = "get"
		}
		s += fmt.Sprintf(" %s %s weight 0, which is allowed: the weights are non-negative and sum to 1, "+
			"and the best such mix gives none to a model whose predictions, mixed in, would only add to the others' error; "+
			"its parameters and multiply-adds are not counted.", strings.Join(zero, " and "), verb)
	}
	return s
}

// writeResults writes the report's results.json to path.
func (r *Report) writeResults(path string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return r.results().Write(w) })
}

// Write writes res as indented JSON.
func (res *Results) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}

// ReadResults reads a report's results.json.
func ReadResults(r io.Reader) (*Results, error) {
	var res Results
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return nil, fmt.Errorf("read %s: %w", ResultsName, err)
	}
	return &res, nil
}
