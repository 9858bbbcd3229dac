package dataset

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
)

// Column roles in a parsed header: 0..NumCoords-1 are coordinate columns.
const (
	roleImage   = NumCoords
	roleImageID = NumCoords + 1
)

const (
	imageColumn   = "Image"
	imageIDColumn = "ImageId"
)

// minChunk is the smallest piece of input worth a goroutine of its own.
const minChunk = 1 << 20

var utf8BOM = []byte("\xef\xbb\xbf")

// parseCSV parses a whole training or test file held in data.
func parseCSV(data []byte, name string, kind fileKind, opt ReadOptions) (*Set, *Report, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if err := checkText(data, name); err != nil {
		return nil, nil, err
	}
	header, body := cutLine(data)
	if len(header) == 0 && len(body) == 0 {
		return nil, nil, fmt.Errorf("%s: empty file, want a header line", name)
	}
	roles, err := parseHeader(header, name, kind)
	if err != nil {
		return nil, nil, err
	}
	p := &parser{name: name, roles: roles, kind: kind}
	chunks := splitChunks(body, workers(opt.Workers, len(body)))

	// Pass 1: count the lines of each chunk so that every line gets a
	// fixed slot (and line number) before parsing starts.
	bases := make([]int, len(chunks)+1)
	parallel(len(chunks), func(c int) {
		bases[c+1] = countLines(chunks[c])
	})
	for c := range chunks {
		bases[c+1] += bases[c]
	}
	n := bases[len(chunks)]
	s := &Set{Images: make([]uint8, n*PixelCount), IDs: make([]int, n), Lines: make([]int, n)}
	if kind == trainingKind {
		s.Coords = make([]float32, n*NumCoords)
		s.Mask = make([]bool, n*NumCoords)
	}
	status := make([]rowStatus, n)

	// Pass 2: parse each chunk's lines into their slots.
	errs := make([][]*RowError, len(chunks))
	parallel(len(chunks), func(c int) {
		errs[c] = p.parseChunk(chunks[c], bases[c], s, status, opt.SkipBad)
	})
	var all []*RowError
	for _, e := range errs {
		all = append(all, e...)
	}
	if kind == testKind {
		all = append(all, checkDuplicateIDs(s, status, name)...)
	}
	rep := &Report{Source: name, Bytes: int64(len(data))}
	if len(all) > 0 {
		if !opt.SkipBad {
			return nil, nil, firstError(all)
		}
		rep.Skipped = len(all)
		for _, e := range sortedErrors(all) {
			if len(rep.SkipReasons) == MaxSkipReasons {
				break
			}
			rep.SkipReasons = append(rep.SkipReasons, e.Error())
		}
	}
	for i, st := range status {
		s.Lines[i] = i + 2 // the header is line 1
		if st != rowBlank {
			rep.Rows++
			if kind == trainingKind {
				s.IDs[i] = rep.Rows // data row number, blank lines aside
			}
		}
	}
	s = compact(s, status)
	if s.Len() == 0 {
		if rep.Skipped > 0 {
			return nil, nil, fmt.Errorf("no faces in %s: all %d rows are bad, the first: %s", name, rep.Skipped, rep.SkipReasons[0])
		}
		return nil, nil, fmt.Errorf("no faces in %s: it has a header but no data rows", name)
	}
	rep.Read = s.Len()
	rep.fillStats(s)
	return s, rep, nil
}

// rowStatus records what pass 2 made of one line.
type rowStatus uint8

const (
	rowOK rowStatus = iota
	rowBlank
	rowBad
)

type parser struct {
	name  string
	kind  fileKind
	roles []int // role of each field, by position
}

// cutLine splits off the first line, dropping its line end.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return trimCR(b), nil
	}
	return trimCR(b[:i]), b[i+1:]
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// unquote removes one pair of surrounding double quotes, which some CSV
// writers put around every field.
func unquote(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}

// parseHeader maps each header field to its role. Columns may come in any
// order, but each expected column must appear exactly once and no other.
func parseHeader(header []byte, name string, kind fileKind) ([]int, error) {
	fields := bytes.Split(header, []byte{','})
	want := NumCoords + 1
	if kind == testKind {
		want = 2
	}
	roles := make([]int, len(fields))
	seen := make(map[int]bool, len(fields))
	for i, f := range fields {
		col := string(bytes.TrimSpace(unquote(bytes.TrimSpace(f))))
		role, ok := -1, false
		switch {
		case col == imageColumn:
			role, ok = roleImage, true
		case kind == testKind && col == imageIDColumn:
			role, ok = roleImageID, true
		case kind == trainingKind:
			role, ok = CoordIndex(col)
		}
		if !ok {
			return nil, &RowError{File: name, Line: 1, Column: col, Err: fmt.Errorf("unexpected column in %s header", kind)}
		}
		if seen[role] {
			return nil, &RowError{File: name, Line: 1, Column: col, Err: errors.New("column appears twice")}
		}
		seen[role] = true
		roles[i] = role
	}
	if len(fields) != want {
		missing := imageColumn
		if kind == testKind && !seen[roleImageID] {
			missing = imageIDColumn
		}
		if kind == trainingKind {
			for i, n := range coordNames {
				if !seen[i] {
					missing = n
					break
				}
			}
		}
		return nil, &RowError{File: name, Line: 1, Column: missing, Err: fmt.Errorf("column missing from header (got %d columns, want %d)", len(fields), want)}
	}
	return roles, nil
}

// workers returns how many goroutines to use for size bytes of input.
func workers(requested, size int) int {
	w := requested
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if most := size/minChunk + 1; w > most {
		w = most
	}
	return w
}

// splitChunks cuts b into about n pieces, each ending at a line end.
func splitChunks(b []byte, n int) [][]byte {
	chunks := make([][]byte, 0, n)
	start := 0
	for i := 1; i <= n && start < len(b); i++ {
		end := len(b)
		if i < n {
			end = len(b) * i / n
			if end < start {
				end = start
			}
			if j := bytes.IndexByte(b[end:], '\n'); j >= 0 {
				end += j + 1
			} else {
				end = len(b)
			}
		}
		chunks = append(chunks, b[start:end])
		start = end
	}
	return chunks
}

// countLines counts lines in b, including a last line without a line end.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// parallel runs f(0..n-1) on n goroutines and waits for all of them.
func parallel(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// parseChunk parses the lines of chunk into slots base, base+1, ... of s.
// Unless skipBad is set it stops at the chunk's first bad row.
func (p *parser) parseChunk(chunk []byte, base int, s *Set, status []rowStatus, skipBad bool) []*RowError {
	var errs []*RowError
	slot := base
	for len(chunk) > 0 {
		var line []byte
		line, chunk = cutLine(chunk)
		if len(bytes.TrimSpace(line)) == 0 {
			status[slot] = rowBlank
			slot++
			continue
		}
		if err := p.parseRow(line, slot, s); err != nil {
			err.File, err.Line = p.name, slot+2
			errs = append(errs, err)
			status[slot] = rowBad
			if !skipBad {
				break
			}
		}
		slot++
	}
	return errs
}

// parseRow parses one data line into slot i of s.
func (p *parser) parseRow(line []byte, i int, s *Set) *RowError {
	if got := bytes.Count(line, []byte{','}) + 1; got != len(p.roles) {
		return &RowError{Err: fmt.Errorf("got %d fields, want %d", got, len(p.roles))}
	}
	var coords []float32
	var mask []bool
	if p.kind == trainingKind {
		coords, mask = s.Keypoints(i)
	}
	for _, role := range p.roles {
		var field []byte
		if j := bytes.IndexByte(line, ','); j >= 0 {
			field, line = line[:j], line[j+1:]
		} else {
			field, line = line, nil
		}
		field = unquote(field)
		switch role {
		case roleImage:
			if err := parsePixels(s.Image(i), field); err != nil {
				return &RowError{Column: imageColumn, Err: err}
			}
		case roleImageID:
			id, err := parseID(field)
			if err != nil {
				return &RowError{Column: imageIDColumn, Err: err}
			}
			s.IDs[i] = id
		default:
			if len(field) == 0 {
				continue // missing keypoint: mask stays false
			}
			v, err := parseCoord(field)
			if err != nil {
				return &RowError{Column: coordNames[role], Err: err}
			}
			coords[role], mask[role] = v, true
		}
	}
	return nil
}

// parseCoord parses a keypoint coordinate, which must lie in the image.
func parseCoord(b []byte) (float32, error) {
	v, err := strconv.ParseFloat(string(b), 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", clip(b))
	}
	if !(v >= 0 && v <= ImageSize) {
		return 0, fmt.Errorf("coordinate %s outside the image [0,%d]", b, ImageSize)
	}
	return float32(v), nil
}

// maxID bounds image ids so that they fit any int.
const maxID = 1<<31 - 1

// parseID parses a positive decimal image id.
func parseID(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("empty ImageId")
	}
	id := 0
	for _, c := range b {
		d := int(c) - '0'
		if d < 0 || d > 9 || id > maxID/10 {
			return 0, fmt.Errorf("%q is not a positive integer ImageId", clip(b))
		}
		id = id*10 + d
	}
	if id < 1 || id > maxID {
		return 0, fmt.Errorf("%q is not a positive integer ImageId", clip(b))
	}
	return id, nil
}

// parsePixels parses space-separated grey levels into dst, which must
// receive exactly len(dst) of them. This is the hot loop of reading.
func parsePixels(dst []uint8, b []byte) error {
	// Fast path for the usual text, grey levels of one to three digits one
	// space apart, four bytes at a time; anything else (the last value,
	// extra spaces, a bad value) is left to the careful loop, which goes on
	// from where this stopped and reports errors.
	n, i := 0, 0
	for n < len(dst) && i+4 <= len(b) {
		c0 := b[i] - '0'
		if c0 > 9 {
			break
		}
		c1 := b[i+1] - '0'
		if c1 > 9 {
			if b[i+1] != ' ' {
				break
			}
			dst[n] = c0
			n, i = n+1, i+2
			continue
		}
		c2 := b[i+2] - '0'
		if c2 > 9 {
			if b[i+2] != ' ' {
				break
			}
			dst[n] = c0*10 + c1
			n, i = n+1, i+3
			continue
		}
		v := uint(c0)*100 + uint(c1)*10 + uint(c2)
		if b[i+3] != ' ' || v > 255 {
			break
		}
		dst[n] = uint8(v)
		n, i = n+1, i+4
	}
	return parsePixelsFrom(dst, b, n, i)
}

// parsePixelsFrom parses b[i:] into dst[n:], the first n grey levels
// being parsed already.
func parsePixelsFrom(dst []uint8, b []byte, n, i int) error {
	for i < len(b) {
		if b[i] == ' ' {
			i++
			continue
		}
		start := i
		v := uint(0)
		for i < len(b) {
			d := uint(b[i]) - '0'
			if d > 9 {
				break
			}
			v = v*10 + d
			if v > 255 {
				v = 256 // saturate so long digit runs cannot overflow
			}
			i++
		}
		if i == start || (i < len(b) && b[i] != ' ') || v > 255 {
			end := i
			for end < len(b) && b[end] != ' ' {
				end++
			}
			return fmt.Errorf("pixel %d: %q is not a grey level 0..255", n+1, clip(b[start:end]))
		}
		if n < len(dst) {
			dst[n] = uint8(v)
		}
		n++
	}
	if n != len(dst) {
		return fmt.Errorf("got %d pixels, want %d", n, len(dst))
	}
	return nil
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	const most = 24
	if len(b) > most {
		return append(b[:most:most], "..."...)
	}
	return b
}

// checkDuplicateIDs marks every repeat of an ImageId after its first row
// as bad.
func checkDuplicateIDs(s *Set, status []rowStatus, name string) []*RowError {
	var errs []*RowError
	first := make(map[int]int, len(s.IDs))
	for i, id := range s.IDs {
		if status[i] != rowOK {
			continue
		}
		if j, dup := first[id]; dup {
			status[i] = rowBad
			errs = append(errs, &RowError{File: name, Line: i + 2, Column: imageIDColumn,
				Err: fmt.Errorf("ImageId %d repeats line %d", id, j+2)})
			continue
		}
		first[id] = i
	}
	return errs
}

// firstError returns the error on the earliest line.
func firstError(errs []*RowError) *RowError {
	first := errs[0]
	for _, e := range errs[1:] {
		if e.Line < first.Line {
			first = e
		}
	}
	return first
}

// sortedErrors orders errors by line.
func sortedErrors(errs []*RowError) []*RowError {
	out := append([]*RowError(nil), errs...)
	slices.SortFunc(out, func(a, b *RowError) int { return cmp.Compare(a.Line, b.Line) })
	return out
}

// compact drops blank and bad rows from s, keeping the rest in order.
func compact(s *Set, status []rowStatus) *Set {
	k := 0
	for i, st := range status {
		if st != rowOK {
			continue
		}
		if k != i {
			copy(s.Image(k), s.Image(i))
			s.IDs[k] = s.IDs[i]
			s.Lines[k] = s.Lines[i]
			if s.HasKeypoints() {
				c, m := s.Keypoints(k)
				ci, mi := s.Keypoints(i)
				copy(c, ci)
				copy(m, mi)
			}
		}
		k++
	}
	s.Images = s.Images[:k*PixelCount]
	s.IDs = s.IDs[:k]
	s.Lines = s.Lines[:k]
	if s.HasKeypoints() {
		s.Coords = s.Coords[:k*NumCoords]
		s.Mask = s.Mask[:k*NumCoords]
	}
	return s
}

// fillStats computes the per-column figures of a Report from s.
func (r *Report) fillStats(s *Set) {
	r.Present = [NumCoords]int{}
	r.Min = [NumCoords]float32{}
	r.Max = [NumCoords]float32{}
	r.Complete = 0
	if s.HasKeypoints() {
		for i := range s.Len() {
			c, m := s.Keypoints(i)
			complete := true
			for j := range NumCoords {
				if !m[j] {
					complete = false
					continue
				}
				if r.Present[j] == 0 || c[j] < r.Min[j] {
					r.Min[j] = c[j]
				}
				if r.Present[j] == 0 || c[j] > r.Max[j] {
					r.Max[j] = c[j]
				}
				r.Present[j]++
			}
			if complete {
				r.Complete++
			}
		}
	}
	r.PixelMin, r.PixelMax = 0, 0
	if len(s.Images) > 0 {
		lo, hi := s.Images[0], s.Images[0]
		for _, v := range s.Images {
			lo = min(lo, v)
			hi = max(hi, v)
		}
		r.PixelMin, r.PixelMax = lo, hi
	}
}
