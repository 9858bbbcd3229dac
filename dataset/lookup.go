package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// LookupRow is one line of Kaggle's IdLookupTable.csv: submission row
// RowID asks for coordinate Coord of test image ImageID.
type LookupRow struct {
	RowID   int
	ImageID int
	Coord   int // column index 0..29; see CoordNames
}

// FeatureName returns the coordinate's column name, such as "nose_tip_x".
func (r LookupRow) FeatureName() string { return coordNames[r.Coord] }

// ReadLookup reads an IdLookupTable.csv file (RowId,ImageId,FeatureName
// and an optional, ignored Location column).
func ReadLookup(path string) ([]LookupRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseLookup(f, path)
}

// ParseLookup parses IdLookupTable.csv text from r; name is used in error
// messages. Rows may omit a trailing Location field, as Kaggle's file
// does, but no row may have more fields than the header. RowIds must be
// positive and distinct, ImageIds positive, and every FeatureName one of
// CoordNames. A table without rows is an error.
func ParseLookup(r io.Reader, name string) ([]LookupRow, error) {
	t, err := newTable(r, name, "RowId", "ImageId", "FeatureName")
	if err != nil {
		return nil, err
	}
	var rows []LookupRow
	seen := map[int]int{}
	for {
		rec, line, err := t.next()
		if err == io.EOF {
			if len(rows) == 0 {
				return nil, fmt.Errorf("no rows in %s: it has a header but no data rows", name)
			}
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) > t.fields {
			return nil, &RowError{File: name, Line: line, Err: fmt.Errorf("got %d fields, want %d as in the header", len(rec), t.fields)}
		}
		var row LookupRow
		if row.RowID, err = t.positive(rec, 0, line); err != nil {
			return nil, err
		}
		if row.ImageID, err = t.positive(rec, 1, line); err != nil {
			return nil, err
		}
		feature := t.field(rec, 2)
		var ok bool
		if row.Coord, ok = CoordIndex(feature); !ok {
			return nil, t.errorf(line, 2, "unknown feature %q", feature)
		}
		if prev, dup := seen[row.RowID]; dup {
			return nil, t.errorf(line, 0, "RowId %d repeats line %d", row.RowID, prev)
		}
		seen[row.RowID] = line
		rows = append(rows, row)
	}
}

// table reads a small CSV file whose columns are found by header name.
type table struct {
	name   string
	r      *csv.Reader
	cols   []int    // position of each wanted column in a record; -1 if absent
	fields int      // number of columns in the header
	want   []string // wanted column names
}

// newTable reads the header and locates the wanted columns; a name
// ending in "?" is optional.
func newTable(r io.Reader, name string, want ...string) (*table, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(sniffLen)
	if err := checkText(bytes.TrimPrefix(head, utf8BOM), name); err != nil {
		return nil, err
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header line", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	t := &table{name: name, r: cr, cols: make([]int, len(want)), want: make([]string, len(want)), fields: len(header)}
	for i, w := range want {
		optional := strings.HasSuffix(w, "?")
		w = strings.TrimSuffix(w, "?")
		t.want[i] = w
		t.cols[i] = -1
		for j, h := range header {
			h = strings.TrimSpace(h)
			if j == 0 {
				h = strings.TrimPrefix(h, "\ufeff")
			}
			if h == w {
				t.cols[i] = j
			}
		}
		if t.cols[i] < 0 && !optional {
			return nil, &RowError{File: name, Line: 1, Column: w, Err: errors.New("column missing from header")}
		}
	}
	return t, nil
}

// next returns the next non-blank record and its line number.
func (t *table) next() ([]string, int, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	if err != nil {
		// FieldPos is only valid after a successful Read.
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, &RowError{File: t.name, Line: pe.Line, Err: pe.Err}
		}
		return nil, 0, fmt.Errorf("read %s: %w", t.name, err)
	}
	line, _ := t.r.FieldPos(0)
	return rec, line, nil
}

// has reports whether wanted column i is in the file.
func (t *table) has(i int) bool { return t.cols[i] >= 0 }

// field returns wanted column i of rec, or "" when the record is short.
func (t *table) field(rec []string, i int) string {
	if c := t.cols[i]; c >= 0 && c < len(rec) {
		return strings.TrimSpace(rec[c])
	}
	return ""
}

func (t *table) errorf(line, i int, format string, args ...any) error {
	return &RowError{File: t.name, Line: line, Column: t.want[i], Err: fmt.Errorf(format, args...)}
}

// positive parses wanted column i of rec as a positive integer.
func (t *table) positive(rec []string, i, line int) (int, error) {
	s := t.field(rec, i)
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, t.errorf(line, i, "%q is not a positive integer", s)
	}
	return v, nil
}

// WriteLookup writes rows as an IdLookupTable.csv:
// "RowId,ImageId,FeatureName,Location" with Location left empty and LF
// line ends.
func WriteLookup(w io.Writer, rows []LookupRow) error {
	b := []byte("RowId,ImageId,FeatureName,Location\n")
	for _, r := range rows {
		if r.Coord < 0 || r.Coord >= NumCoords {
			return fmt.Errorf("lookup RowId %d: coordinate index %d out of range", r.RowID, r.Coord)
		}
		b = strconv.AppendInt(b, int64(r.RowID), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.ImageID), 10)
		b = append(b, ',')
		b = append(b, coordNames[r.Coord]...)
		b = append(b, ",\n"...)
	}
	_, err := w.Write(b)
	return err
}
