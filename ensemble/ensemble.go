// Package ensemble combines trained models into one. An ensemble file
// lists member model files with their weights; the ensemble predicts the
// weighted mean of the members' keypoints (models.LoadEnsemble). Fit
// chooses the weights on the hold-out faces that every member left out
// of its training, which is why the members must share one hold-out
// split (CheckSplit): a member scored on faces it was trained on would
// look better than it is and take too much weight.
package ensemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// Format is the value of an ensemble file's "format" field.
const Format = "fkd-ensemble/1"

// File is an ensemble file, JSON:
//
//	{"format": "fkd-ensemble/1", "tta": "flip",
//	 "members": [{"model": "runs/a/model.pt", "weight": 0.6}, ...]}
type File struct {
	Format string `json:"format"`
	// TTA is the test-time augmentation the weights were fitted with
	// (eval.ParseTTA reads it), the one to predict with; "" means none.
	TTA     string   `json:"tta,omitempty"`
	Members []Member `json:"members"`
	// HoldoutRMSE is the ensemble's RMSE in pixels on the members' shared
	// hold-out part when the weights were fitted; 0 when unknown.
	HoldoutRMSE float64 `json:"holdout_rmse_px,omitempty"`
	// HoldoutOutliersLeftOut counts the hold-out faces, found mislabelled
	// by dataset.Outliers, that the fit and HoldoutRMSE left out.
	HoldoutOutliersLeftOut int `json:"holdout_outliers_left_out,omitempty"`
}

// Member is one model of an ensemble.
type Member struct {
	// Model is the member's model file; a relative path is relative to
	// the folder of the ensemble file.
	Model  string  `json:"model"`
	Weight float64 `json:"weight"`
}

// Read reads and checks the ensemble file at path. Member paths come back
// as written in the file; Paths resolves them.
func Read(path string) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("read ensemble: %w", err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("read ensemble %s: %w", path, err)
	}
	if err := f.check(); err != nil {
		return File{}, fmt.Errorf("read ensemble %s: %w", path, err)
	}
	return f, nil
}

func (f File) check() error {
	if f.Format != Format {
		return fmt.Errorf("format %q, want %q", f.Format, Format)
	}
	if len(f.Members) == 0 {
		return errors.New("no members")
	}
	if f.TTA != "" {
		if _, err := eval.ParseTTA(f.TTA); err != nil {
			return err
		}
	}
	for i, m := range f.Members {
		if m.Model == "" {
			return fmt.Errorf("member %d names no model", i+1)
		}
	}
	_, err := models.NormaliseWeights(f.Weights(), len(f.Members))
	return err
}

// Weights returns the members' weights in order.
func (f File) Weights() []float64 {
	w := make([]float64, len(f.Members))
	for i, m := range f.Members {
		w[i] = m.Weight
	}
	return w
}

// Paths returns the members' model files, relative paths taken relative
// to dir, the folder of the ensemble file.
func (f File) Paths(dir string) []string {
	p := make([]string, len(f.Members))
	for i, m := range f.Members {
		p[i] = m.Model
		if !filepath.IsAbs(p[i]) {
			p[i] = filepath.Join(dir, p[i])
		}
	}
	return p
}

// Write writes f to path, atomically. Member paths are written relative
// to path's folder where they can be, so that the ensemble and its members
// can move together.
func Write(path string, f File) error {
	f.Format = Format
	if err := f.check(); err != nil {
		return fmt.Errorf("write ensemble %s: %w", path, err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write ensemble %s: %w", path, err)
	}
	f.Members = append([]Member(nil), f.Members...)
	for i, m := range f.Members {
		if abs, err := filepath.Abs(m.Model); err == nil {
			if rel, err := filepath.Rel(dir, abs); err == nil {
				f.Members[i].Model = filepath.ToSlash(rel)
			}
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	})
}

// IsFile reports whether the file at path looks like an ensemble file (a
// JSON object) rather than a model file, without reading all of it.
func IsFile(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(fh, head)
	trimmed := bytes.TrimLeft(head[:n], " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && !bytes.HasPrefix(trimmed, []byte(`{"__metadata__"`))
}

// Load reads what a --model flag names onto dev: one model file, several
// separated by commas (an ensemble of equal weights), or an ensemble file.
// tta is the ensemble file's test-time augmentation, "" otherwise. A
// single model comes back as models.Load returns it; several as
// models.LoadEnsemble does, with the ensemble's Meta.
func Load(spec string, dev torch.Device) (m models.Model, meta models.Meta, tta string, err error) {
	var paths []string
	var weights []float64
	switch {
	case strings.Contains(spec, ","):
		if paths, err = SplitList(spec); err != nil {
			return nil, models.Meta{}, "", err
		}
	case IsFile(spec):
		f, err := Read(spec)
		if err != nil {
			return nil, models.Meta{}, "", err
		}
		paths, weights, tta = f.Paths(filepath.Dir(spec)), f.Weights(), f.TTA
	default:
		if err := CheckMember(spec); err != nil {
			return nil, models.Meta{}, "", fmt.Errorf("load %w", err)
		}
		m, meta, err := models.Load(spec, dev)
		return m, meta, "", err
	}
	for _, p := range paths {
		if err := CheckMember(p); err != nil {
			return nil, models.Meta{}, "", fmt.Errorf("ensemble %s: member %w", spec, err)
		}
	}
	w, err := models.NormaliseWeights(weights, len(paths))
	if err != nil {
		return nil, models.Meta{}, "", fmt.Errorf("ensemble %s: %w", spec, err)
	}
	m, metas, err := models.LoadEnsemble(paths, w, dev)
	if err != nil {
		return nil, models.Meta{}, "", err
	}
	return m, models.EnsembleMeta(m, metas, w), tta, nil
}

// CheckSplit checks that the members (model files paths, with metas
// metas) were trained with one and the same hold-out split of the same
// data, so that none was trained on a face the others held out: the
// same data fingerprint (or, for files that record none, the same number
// of faces in each part), hold-out fraction (above 0), split seed and
// outlier setting. The error names the first member that differs.
func CheckSplit(paths []string, metas []models.Meta) error {
	type split struct{ params, data, counts string }
	read := func(m models.Meta) (split, error) {
		h, ok := eval.OwnHoldout(m)
		if !ok {
			return split{}, errors.New("its file records no hold-out part")
		}
		p := eval.ReadProvenance(m)
		return split{
			params: fmt.Sprintf("hold-out fraction %v, seed %d, drop outliers %v", h.Fraction, h.Seed, h.DropOutliers),
			data:   p.Data, // "" in files from before fkd recorded it
			counts: fmt.Sprintf("%d+%d faces", p.TrainFaces, p.HoldoutFaces),
		}, nil
	}
	var first split
	for i, m := range metas {
		got, err := read(m)
		if err != nil {
			return fmt.Errorf("ensemble member %s: %w: fitting weights needs the hold-out faces no member trained on", paths[i], err)
		}
		if i == 0 {
			first = got
			continue
		}
		// The data's fingerprint where both files have one; else at least
		// as many faces in each part.
		a, b := first.data, got.data
		if a == "" || b == "" {
			a, b = first.counts, got.counts
		}
		if got.params != first.params || a != b {
			return fmt.Errorf("ensemble member %s was split with %s (data %s), but %s with %s (data %s): the members must share one hold-out split (the same --holdout, data and --split-seed, or --seed without one), or one would be weighted on faces it was trained on",
				paths[i], got.params, b, paths[0], first.params, a)
		}
	}
	return nil
}
