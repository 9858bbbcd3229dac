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
// pixel column c spans [c, c+1).
type Keypoint struct {
	Name string  `json:"name"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
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
	return json.Marshal(struct {
		Name string `json:"name"`
		X    any    `json:"x"`
		Y    any    `json:"y"`
	}{k.Name, coord(k.X), coord(k.Y)})
}

// Face is one face found in an image.
type Face struct {
	// Box is the detector's box of the face (or the --crop box, or the
	// whole image): X, Y, W, H in pixels from the top left.
	Box [4]int `json:"box"`
	// Score is the detector's; 0 (left out) when no detector looked.
	Score float64 `json:"score,omitempty"`
	// Crop is the square the keypoints were found on: X, Y, W, H.
	Crop      [4]int     `json:"crop"`
	Keypoints []Keypoint `json:"keypoints"`
}

// NewFace makes the Face of a detection and the pipeline's result for it,
// its coordinates rounded to hundredths of a pixel.
func NewFace(d detect.Face, r Result) Face {
	f := Face{Box: xywh(d.Box), Score: d.Score, Crop: xywh(r.Crop), Keypoints: make([]Keypoint, dataset.NumKeypoints)}
	for k, name := range dataset.Keypoints {
		f.Keypoints[k] = Keypoint{Name: name, X: math.Round(r.Keypoints[2*k]*100) / 100, Y: math.Round(r.Keypoints[2*k+1]*100) / 100}
	}
	return f
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

// Record is one face of a photo or of a video's frame.
type Record struct {
	Source string `json:"source"`
	// Frame is the video frame's index, from 0; nil for a photo.
	Frame *int `json:"frame,omitempty"`
	// Width and Height are the photo's as displayed, or the frame's.
	Width  int `json:"width"`
	Height int `json:"height"`
	Face
}

// WriteJSON writes the records as an indented JSON array.
func WriteJSON(w io.Writer, records []Record) error {
	if records == nil {
		records = []Record{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(records)
}

// CSVHeader is the first row WriteCSV writes: the source, the frame
// (empty for a photo), the face's box, the detector's score (empty when
// none looked), then x and y of each keypoint.
func CSVHeader() []string {
	names := dataset.CoordNames()
	return append([]string{"source", "frame", "box_x", "box_y", "box_w", "box_h", "score"}, names[:]...)
}

// WriteCSV writes the records as CSV, a row per face, keypoints in
// hundredths of a pixel.
func WriteCSV(w io.Writer, records []Record) error {
	cw := csv.NewWriter(w)
	header := CSVHeader()
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for _, r := range records {
		row[0], row[1] = r.Source, ""
		if r.Frame != nil {
			row[1] = strconv.Itoa(*r.Frame)
		}
		for i, v := range r.Box {
			row[2+i] = strconv.Itoa(v)
		}
		row[6] = ""
		if r.Score != 0 {
			row[6] = strconv.FormatFloat(r.Score, 'g', -1, 64)
		}
		for k, p := range r.Keypoints {
			row[7+2*k] = strconv.FormatFloat(p.X, 'f', 2, 64)
			row[8+2*k] = strconv.FormatFloat(p.Y, 'f', 2, 64)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
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
