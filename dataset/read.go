package dataset

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// ReadOptions controls how training and test files are read.
type ReadOptions struct {
	// SkipBad skips rows that fail validation and counts them in the
	// Report instead of failing on the first one.
	SkipBad bool
	// Workers is the number of goroutines parsing rows; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// Cache keeps a parsed binary copy of the source so that the next
	// read of the same, unchanged file skips parsing. Only ReadTraining
	// and ReadTest use it.
	Cache bool
	// CacheDir is where cached copies live; "" means the "fkd"
	// directory under os.UserCacheDir.
	CacheDir string
}

// MaxSkipReasons is how many skipped rows a Report describes in full.
const MaxSkipReasons = 10

// Report describes what a read found.
type Report struct {
	Source   string // file name, and the member name for zip input
	Rows     int    // data rows in the file, not counting the header and blank lines
	Read     int    // rows kept in the Set
	Skipped  int    // rows dropped because they failed validation (SkipBad)
	Complete int    // kept rows with all 30 coordinates (training data)
	Bytes    int64  // size of the CSV text, unzipped

	// SkipReasons holds the errors of the first MaxSkipReasons skipped rows.
	SkipReasons []string

	// Present counts the kept rows that have each coordinate column;
	// Min and Max are the column's smallest and largest present values
	// (both 0 for a column that is never present).
	Present  [NumCoords]int
	Min, Max [NumCoords]float32

	// PixelMin and PixelMax are the darkest and brightest grey levels
	// over all kept images.
	PixelMin, PixelMax uint8

	// Cache says how the binary cache was used: "" when caching was off,
	// "hit", "written", or why it could not be written.
	Cache string
}

// RowError is a validation error in one row of an input file. Its message
// names the file, the 1-based line (the header is line 1) and the column.
type RowError struct {
	File   string
	Line   int
	Column string // "" when the error concerns the whole row
	Err    error
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s line %d column %q: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// ReadTraining reads Kaggle training data from path: training.csv itself,
// a zip holding it (Kaggle's training.zip), or the competition's zip that
// holds training.zip or training.csv. Zip files are recognised by content,
// not by name.
func ReadTraining(path string, opt ReadOptions) (*Set, *Report, error) {
	return readFile(path, trainingKind, opt)
}

// ReadTest reads Kaggle test data (ImageId,Image) from path: test.csv, a
// zip holding it (test.zip), or the competition's zip.
func ReadTest(path string, opt ReadOptions) (*Set, *Report, error) {
	return readFile(path, testKind, opt)
}

// ReadAny reads training or test data from path, as ReadTraining and
// ReadTest do, the header deciding which: a header with an ImageId column
// and no keypoint column is test data, any other header training data,
// whose errors are reported as such. The result has keypoints exactly
// when the file is training data.
func ReadAny(path string, opt ReadOptions) (*Set, *Report, error) {
	kind, err := sniffKind(path)
	if err != nil {
		return nil, nil, err
	}
	return readFile(path, kind, opt)
}

// sniffKind reads the header of path, looking into zip files as
// loadSource does (preferring training data in a zip that holds both),
// and says which kind of file it is.
func sniffKind(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return trainingKind, err
	}
	defer f.Close()
	head := make([]byte, len(zipMagic))
	if n, _ := io.ReadFull(f, head); n < len(zipMagic) || !bytes.Equal(head, zipMagic) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return trainingKind, fmt.Errorf("read %s: %w", path, err)
		}
		return kindOfHeader(f), nil
	}
	// In a zip, only the start of the member loadSource would pick is
	// decompressed; a zip inside the zip is rare and unpacked in full.
	zr, err := zip.OpenReader(path)
	if err != nil {
		return trainingKind, fmt.Errorf("open zip %s: %w", path, err)
	}
	defer zr.Close()
	m, err := pickMember(&zr.Reader, trainingKind)
	if err != nil {
		return trainingKind, fmt.Errorf("%s: %w", path, err)
	}
	if strings.HasSuffix(strings.ToLower(m.Name), ".zip") {
		data, _, err := loadSource(path, trainingKind)
		if err != nil {
			return trainingKind, err
		}
		return kindOfHeader(bytes.NewReader(data)), nil
	}
	rc, err := m.Open()
	if err != nil {
		return trainingKind, fmt.Errorf("%s: %s: %w", path, m.Name, err)
	}
	defer rc.Close()
	return kindOfHeader(rc), nil
}

// maxHeaderLen bounds how much of a file kindOfHeader reads: the header
// of a training file is under 1 KB.
const maxHeaderLen = 64 << 10

// kindOfHeader says whether the first line of r is a test header
// (an ImageId column and no keypoint column) or not.
func kindOfHeader(r io.Reader) fileKind {
	b, _ := io.ReadAll(io.LimitReader(r, maxHeaderLen))
	header, _ := cutLine(bytes.TrimPrefix(b, utf8BOM))
	test := false
	for f := range bytes.SplitSeq(header, []byte{','}) {
		col := string(bytes.TrimSpace(unquote(bytes.TrimSpace(f))))
		if _, ok := CoordIndex(col); ok {
			return trainingKind
		}
		if col == imageIDColumn {
			test = true
		}
	}
	if test {
		return testKind
	}
	return trainingKind
}

// ParseTraining parses training CSV text from r. name is used in error
// messages. Caching does not apply.
func ParseTraining(r io.Reader, name string, opt ReadOptions) (*Set, *Report, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	return parseCSV(data, name, trainingKind, opt)
}

// ParseTest parses test CSV text (ImageId,Image) from r. name is used in
// error messages. Caching does not apply.
func ParseTest(r io.Reader, name string, opt ReadOptions) (*Set, *Report, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	return parseCSV(data, name, testKind, opt)
}

// fileKind says which of the two image files is being read.
type fileKind int

const (
	trainingKind fileKind = iota
	testKind
)

func (k fileKind) String() string {
	if k == testKind {
		return "test"
	}
	return "training"
}

func readFile(path string, kind fileKind, opt ReadOptions) (*Set, *Report, error) {
	if opt.Cache {
		return readCached(path, kind, opt)
	}
	data, name, err := loadSource(path, kind)
	if err != nil {
		return nil, nil, err
	}
	return parseCSV(data, name, kind, opt)
}

// loadSource returns the CSV bytes of path, unpacking zip files (nested
// ones too), and the name to use in messages.
func loadSource(file string, kind fileKind) ([]byte, string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	return unpack(data, file, kind, 0)
}

var zipMagic = []byte("PK\x03\x04")

// maxZipDepth bounds how deep zips inside zips are followed.
const maxZipDepth = 2

func unpack(data []byte, name string, kind fileKind, depth int) ([]byte, string, error) {
	if !bytes.HasPrefix(data, zipMagic) {
		return data, name, nil
	}
	if depth >= maxZipDepth {
		return nil, "", fmt.Errorf("%s: zip nested too deep", name)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, "", fmt.Errorf("open zip %s: %w", name, err)
	}
	f, err := pickMember(zr, kind)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	inner, err := readMember(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	return unpack(inner, name+":"+f.Name, kind, depth+1)
}

// pickMember chooses the zip member holding the wanted CSV: kind.csv,
// else kind.zip, else the only .csv member.
func pickMember(zr *zip.Reader, kind fileKind) (*zip.File, error) {
	var csvs []*zip.File
	var nested *zip.File
	for _, f := range zr.File {
		base := strings.ToLower(path.Base(f.Name))
		if strings.HasPrefix(path.Base(f.Name), "._") || strings.HasPrefix(f.Name, "__MACOSX/") {
			continue // macOS resource forks
		}
		switch base {
		case kind.String() + ".csv":
			return f, nil
		case kind.String() + ".zip":
			nested = f
		}
		if strings.HasSuffix(base, ".csv") {
			csvs = append(csvs, f)
		}
	}
	if nested != nil {
		return nested, nil
	}
	if len(csvs) == 1 {
		return csvs[0], nil
	}
	return nil, fmt.Errorf("no %s.csv or %s.zip in zip", kind, kind)
}

// maxMemberSize bounds the uncompressed size of a zip member we are
// willing to hold in memory (Kaggle's training.csv is 240 MB).
const maxMemberSize = 1 << 30

func readMember(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > maxMemberSize {
		return nil, fmt.Errorf("%s: %d bytes is too large", f.Name, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer rc.Close()
	// The header's size lets us read in one allocation; a lying header is
	// caught by the zip reader's size and checksum checks.
	buf := bytes.NewBuffer(make([]byte, 0, int(f.UncompressedSize64)+1))
	if _, err := io.Copy(buf, io.LimitReader(rc, maxMemberSize+1)); err != nil {
		return nil, fmt.Errorf("unzip %s: %w", f.Name, err)
	}
	if buf.Len() > maxMemberSize {
		return nil, fmt.Errorf("%s: too large", f.Name)
	}
	return buf.Bytes(), nil
}

// readAll is io.ReadAll that reads in one allocation when r can tell its
// remaining length, as *bytes.Reader, *strings.Reader and *os.File can.
func readAll(r io.Reader) ([]byte, error) {
	size := -1
	switch v := r.(type) {
	case interface{ Len() int }:
		size = v.Len()
	case *os.File:
		if info, err := v.Stat(); err == nil && info.Mode().IsRegular() {
			if off, err := v.Seek(0, io.SeekCurrent); err == nil {
				size = int(info.Size() - off)
			}
		}
	}
	if size < 0 {
		return io.ReadAll(r)
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return buf[:n], nil
	}
	if err != nil {
		return nil, err
	}
	rest, err := io.ReadAll(r) // the reader grew since we asked
	return append(buf, rest...), err
}
