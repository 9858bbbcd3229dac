package predict

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/detect"
)

// Keypoint is a keypoint in an image's continuous pixel coordinates:
// pixel column c spans [c, c+1), so the centre of the top-left pixel is
// (0.5, 0.5) and floor(x), floor(y) is the pixel holding the point. (The
// Kaggle files put that centre at (1, 1), OpenCV and dlib at (0, 0).)
type Keypoint struct {
	Name string  `json:"name"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	// Confidence is how sure the model is of the keypoint, in [0, 1]:
	// the share of its heatmap's probability near the point
	// (models.PredictConfident). nil (JSON null) for a model that reads
	// no heatmaps, which has no such measure.
	Confidence *float64 `json:"confidence"`
}

// MarshalJSON writes a coordinate that is not a number (a model gone
// wrong) as null, which JSON has, rather than failing the whole file.
func (k Keypoint) MarshalJSON() ([]byte, error) {
	coord := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	var conf any
	if k.Confidence != nil {
		conf = coord(*k.Confidence)
	}
	return json.Marshal(struct {
		Name       string `json:"name"`
		X          any    `json:"x"`
		Y          any    `json:"y"`
		Confidence any    `json:"confidence"`
	}{k.Name, coord(k.X), coord(k.Y), conf})
}

// Face is one face found in an image.
type Face struct {
	// Box is the detector's box of the face (or the --crop box, or the
	// whole image): X, Y, W, H in pixels from the top left.
	Box [4]int `json:"box"`
	// Score is the detector's score of the face, in [0, 1], higher for
	// surer (detect.Face); 0 (left out) when no detector looked.
	Score float64 `json:"score,omitempty"`
	// Crop is the square the keypoints were found on: X, Y, W, H.
	Crop      [4]int     `json:"crop"`
	Keypoints []Keypoint `json:"keypoints"`
}

// NewFace makes the Face of a detection and the pipeline's result for it,
// its coordinates rounded to hundredths of a pixel and its score to
// thousandths. Its keypoints have no confidence; SetConfidence gives them
// one.
func NewFace(d detect.Face, r Result) Face {
	score := math.Round(d.Score*1000) / 1000
	if score == 0 {
		score = d.Score // not rounded away to "no detector looked"
	}
	f := Face{Box: xywh(d.Box), Score: score, Crop: xywh(r.Crop), Keypoints: make([]Keypoint, dataset.NumKeypoints)}
	for k, name := range dataset.Keypoints {
		f.Keypoints[k] = Keypoint{Name: name, X: math.Round(r.Keypoints[2*k]*100) / 100, Y: math.Round(r.Keypoints[2*k+1]*100) / 100}
	}
	return f
}

// SetConfidence gives the face's keypoints the confidences conf, one per
// keypoint in dataset.Keypoints order, rounded to thousandths; nil
// takes them away.
func (f *Face) SetConfidence(conf []float32) {
	for k := range f.Keypoints {
		f.Keypoints[k].Confidence = nil
		if conf != nil {
			c := math.Round(float64(conf[k])*1000) / 1000
			f.Keypoints[k].Confidence = &c
		}
	}
}

// Confidences returns the confidence of each keypoint, nil when the face
// has none.
func (f Face) Confidences() []float32 {
	var out []float32
	for k, p := range f.Keypoints {
		if p.Confidence == nil {
			return nil
		}
		if out == nil {
			out = make([]float32, len(f.Keypoints))
		}
		out[k] = float32(*p.Confidence)
	}
	return out
}

func xywh(r image.Rectangle) [4]int { return [4]int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} }

// Coords returns the face's 30 coordinates, x then y of each keypoint.
func (f Face) Coords() [dataset.NumCoords]float64 {
	var c [dataset.NumCoords]float64
	for k, p := range f.Keypoints {
		c[2*k], c[2*k+1] = p.X, p.Y
	}
	return c
}

// Record is what was found in one photo, or one frame of a video: its
// faces, none when no face was found, or why it could not be read. Every
// source given to Runner.Run gets at least one record.
type Record struct {
	Source string `json:"source"`
	// Frame is the video frame's index, from 0; nil for a photo, and for
	// a video that could not be opened.
	Frame *int `json:"frame,omitempty"`
	// Width and Height are the photo's as displayed, or the frame's; 0
	// (left out) when it could not be read.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Faces are the faces found, in the detector's order; empty when none
	// was found or the photo was skipped.
	Faces []Face `json:"faces"`
	// Error says why the photo, or a video from Frame on, was skipped;
	// "" when it was read.
	Error string `json:"error,omitempty"`
}

// The statuses of a record (Record.Status), as the CSV's status column
// writes them.
const (
	StatusFaces   = "face"    // read; a row per face
	StatusNoFace  = "no_face" // read, and no face found
	StatusSkipped = "skipped" // not read: Error says why
)

// Status returns StatusFaces, StatusNoFace or StatusSkipped.
func (r Record) Status() string {
	switch {
	case r.Error != "":
		return StatusSkipped
	case len(r.Faces) == 0:
		return StatusNoFace
	}
	return StatusFaces
}

// Formats are the formats NewWriter writes.
var Formats = []string{"csv", "json", "jsonl"}

// A Writer writes records in a format, one photo or frame at a time.
type Writer interface {
	// Write writes one record. A writer that streams (csv, jsonl)
	// writes it through to the underlying writer at once, and flushes
	// that when it has a Flush method (a bufio.Writer).
	Write(Record) error
	// Close writes what is still held (json: the whole document) and
	// flushes; it closes nothing.
	Close() error
}

// NewWriter returns a Writer of the records to w in format:
//
//   - csv: CSVHeader, then a row per face, or one row with empty box,
//     score and keypoint cells for a photo or frame without a face or
//     skipped; written as it goes.
//   - json: one indented array of the records, written at Close (a
//     document is whole only at its end: it cannot stream).
//   - jsonl: a line per record, each a JSON object written and flushed
//     as soon as its photo or frame is done.
func NewWriter(w io.Writer, format string) (Writer, error) {
	switch format {
	case "csv":
		return &csvWriter{w: csv.NewWriter(w), under: w}, nil
	case "json":
		return &jsonWriter{w: w, records: []Record{}}, nil
	case "jsonl":
		return &jsonlWriter{enc: json.NewEncoder(w), under: w}, nil
	}
	return nil, fmt.Errorf("format %q: want %s", format, strings.Join(Formats, ", "))
}

// flush flushes w when it buffers.
func flush(w io.Writer) error {
	if f, ok := w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

type jsonWriter struct {
	w       io.Writer
	records []Record
}

func (j *jsonWriter) Write(r Record) error {
	j.records = append(j.records, withFaces(r))
	return nil
}

func (j *jsonWriter) Close() error {
	enc := json.NewEncoder(j.w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(j.records); err != nil {
		return err
	}
	return flush(j.w)
}

// withFaces returns r with an empty list of faces rather than nil, which
// JSON would write as null.
func withFaces(r Record) Record {
	if r.Faces == nil {
		r.Faces = []Face{}
	}
	return r
}

type jsonlWriter struct {
	enc   *json.Encoder
	under io.Writer
}

func (j *jsonlWriter) Write(r Record) error {
	if err := j.enc.Encode(withFaces(r)); err != nil {
		return err
	}
	return flush(j.under)
}

func (j *jsonlWriter) Close() error { return flush(j.under) }

type csvWriter struct {
	w      *csv.Writer
	under  io.Writer
	header bool // written
	row    []string
}

func (c *csvWriter) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	h := CSVHeader()
	c.row = make([]string, len(h))
	return c.w.Write(h)
}

func (c *csvWriter) Write(r Record) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	faces := r.Faces
	if len(faces) == 0 {
		faces = []Face{{}} // one row, its face cells empty
	}
	for _, f := range faces {
		csvRow(c.row, r, f)
		if err := c.w.Write(c.row); err != nil {
			return err
		}
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return flush(c.under)
}

func (c *csvWriter) Close() error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return flush(c.under)
}

// The columns of CSVHeader: the source and frame, the box and score, the
// 30 coordinates, the 15 confidences, the status and the error.
const (
	colBox    = 2
	colScore  = colBox + 4
	colCoords = colScore + 1
	colConf   = colCoords + dataset.NumCoords
	colStatus = colConf + dataset.NumKeypoints
	colError  = colStatus + 1
)

// CSVHeader is the first row of the csv format: source, frame (empty
// for a photo), the face's box (box_x, box_y, box_w, box_h), the
// detector's score in [0, 1] (empty when none looked), x and y of each
// keypoint (as in the Kaggle files, left_eye_center_x...), the
// confidence of each (left_eye_center_confidence..., in [0, 1]; empty
// for a model without heatmaps), the record's status (StatusFaces,
// StatusNoFace, StatusSkipped) and the error of a skipped one.
func CSVHeader() []string {
	names := dataset.CoordNames()
	h := append([]string{"source", "frame", "box_x", "box_y", "box_w", "box_h", "score"}, names[:]...)
	for _, k := range dataset.Keypoints {
		h = append(h, k+"_confidence")
	}
	return append(h, "status", "error")
}

// csvRow fills row with face f of record r; a zero Face (no Keypoints)
// leaves the face's cells empty.
func csvRow(row []string, r Record, f Face) {
	clear(row)
	row[0] = r.Source
	if r.Frame != nil {
		row[1] = strconv.Itoa(*r.Frame)
	}
	row[colStatus], row[colError] = r.Status(), r.Error
	if f.Keypoints == nil {
		return
	}
	for i, v := range f.Box {
		row[colBox+i] = strconv.Itoa(v)
	}
	if f.Score != 0 {
		row[colScore] = strconv.FormatFloat(f.Score, 'g', -1, 64)
	}
	for k, p := range f.Keypoints {
		row[colCoords+2*k] = strconv.FormatFloat(p.X, 'f', 2, 64)
		row[colCoords+2*k+1] = strconv.FormatFloat(p.Y, 'f', 2, 64)
		if p.Confidence != nil {
			row[colConf+k] = strconv.FormatFloat(*p.Confidence, 'f', 3, 64)
		}
	}
}

// WriteJSON writes the records as an indented JSON array (the json
// format).
func WriteJSON(w io.Writer, records []Record) error { return writeAll(w, "json", records) }

// WriteCSV writes the records in the csv format, keypoints in hundredths
// of a pixel.
func WriteCSV(w io.Writer, records []Record) error { return writeAll(w, "csv", records) }

func writeAll(w io.Writer, format string, records []Record) error {
	out, err := NewWriter(w, format)
	if err != nil {
		return err
	}
	for _, r := range records {
		if err := out.Write(r); err != nil {
			return err
		}
	}
	return out.Close()
}

// ParseBox reads a box written X,Y,W,H: its top-left pixel, width and
// height. X and Y must not be negative, W and H must be positive, and the
// box's far corner, X+W and Y+H, must be a number of pixels that a photo
// could have: at most math.MaxInt32.
func ParseBox(s string) (image.Rectangle, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("%q is not X,Y,W,H", s)
	}
	var v [4]int64
	for i, p := range parts {
		p = strings.TrimSpace(p)
		n, err := strconv.ParseInt(p, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange) || err == nil && n > math.MaxInt32:
			return image.Rectangle{}, fmt.Errorf("%q: %s pixels is more than any photo has", s, p)
		case err != nil:
			return image.Rectangle{}, fmt.Errorf("%q: %q is not a whole number of pixels", s, p)
		}
		v[i] = n
	}
	if v[0] < 0 || v[1] < 0 {
		return image.Rectangle{}, fmt.Errorf("%q: X and Y must not be negative", s)
	}
	if v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("%q: the width and height must be positive", s)
	}
	if v[0]+v[2] > math.MaxInt32 || v[1]+v[3] > math.MaxInt32 {
		return image.Rectangle{}, fmt.Errorf("%q: the box ends past %d pixels, more than any photo has", s, math.MaxInt32)
	}
	return image.Rect(int(v[0]), int(v[1]), int(v[0]+v[2]), int(v[1]+v[3])), nil
}
