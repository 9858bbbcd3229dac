package dataset

import (
	"github.com/fkd-project/fkd/internal/atomicfile"

	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// The binary cache holds a parsed Set so that reading the same unchanged
// file again costs one file read instead of a parse. A cache file is
//
//	magic "FKDCACHE" | version uint32 | meta length uint32 | meta (JSON)
//	| images n*9216 bytes | coords n*30 float32 | mask n*30 bytes
//	| ids n int64 | lines n int64 | CRC-32C of everything before, uint32
//
// all little-endian. The meta names the source and its size and
// modification time; a cache whose meta does not match the source, or
// whose checksum fails, is ignored and rewritten.
const (
	cacheMagic   = "FKDCACHE"
	cacheVersion = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheMeta identifies the source a cache file was built from.
type cacheMeta struct {
	Source       string // absolute path
	Kind         string
	SkipBad      bool
	Size         int64
	ModTime      int64 // nanoseconds since 1970
	Rows         int
	HasKeypoints bool
	Report       *Report
}

// cacheDir returns the directory for cache files.
func cacheDir(opt ReadOptions) (string, error) {
	if opt.CacheDir != "" {
		return opt.CacheDir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "fkd"), nil
}

// cachePath names the cache file of one source read one way.
func cachePath(dir string, meta *cacheMeta) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%t", meta.Source, meta.Kind, meta.SkipBad))
	base := filepath.Base(meta.Source)
	return filepath.Join(dir, fmt.Sprintf("%s-%s-%s.fkdset", meta.Kind, base, hex.EncodeToString(h[:8])))
}

func readCached(path string, kind fileKind, opt ReadOptions) (*Set, *Report, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, nil, err
	}
	meta := &cacheMeta{
		Source:  abs,
		Kind:    kind.String(),
		SkipBad: opt.SkipBad,
		Size:    info.Size(),
		ModTime: info.ModTime().UnixNano(),
	}
	dir, dirErr := cacheDir(opt)
	var file string
	if dirErr == nil {
		file = cachePath(dir, meta)
		if s, rep, err := loadCache(file, meta); err == nil {
			rep.Cache = "hit"
			return s, rep, nil
		}
	}
	data, name, err := loadSource(path, kind)
	if err != nil {
		return nil, nil, err
	}
	s, rep, err := parseCSV(data, name, kind, opt)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case dirErr != nil:
		rep.Cache = "not written: " + dirErr.Error()
	default:
		rep.Cache = "written"
		if err := os.MkdirAll(dir, 0o755); err != nil {
			rep.Cache = "not written: " + err.Error()
		} else if err := saveCache(file, meta, s, rep); err != nil {
			rep.Cache = "not written: " + err.Error()
		}
	}
	return s, rep, nil
}

func saveCache(file string, meta *cacheMeta, s *Set, rep *Report) error {
	m := *meta
	m.Rows = s.Len()
	m.HasKeypoints = s.HasKeypoints()
	r := *rep
	r.Cache = ""
	m.Report = &r
	js, err := json.Marshal(&m)
	if err != nil {
		return err
	}
	return atomicfile.Write(file, func(w io.Writer) error {
		crc := crc32.New(castagnoli)
		mw := io.MultiWriter(w, crc)
		head := make([]byte, 0, 16+len(js))
		head = append(head, cacheMagic...)
		head = binary.LittleEndian.AppendUint32(head, cacheVersion)
		head = binary.LittleEndian.AppendUint32(head, uint32(len(js)))
		head = append(head, js...)
		if _, err := mw.Write(head); err != nil {
			return err
		}
		if _, err := mw.Write(s.Images); err != nil {
			return err
		}
		tail := make([]byte, 0, len(s.Coords)*5+len(s.IDs)*16)
		for _, v := range s.Coords {
			tail = binary.LittleEndian.AppendUint32(tail, math.Float32bits(v))
		}
		for _, ok := range s.Mask {
			tail = append(tail, boolByte(ok))
		}
		for _, id := range s.IDs {
			tail = binary.LittleEndian.AppendUint64(tail, uint64(id))
		}
		for i := range s.Len() {
			tail = binary.LittleEndian.AppendUint64(tail, uint64(s.Line(i)))
		}
		if _, err := mw.Write(tail); err != nil {
			return err
		}
		_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
		return err
	})
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

var errCacheStale = errors.New("cache does not match its source")

// loadCache returns the cached Set if file is intact and was built from
// the source described by want.
func loadCache(file string, want *cacheMeta) (*Set, *Report, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	const fixed = len(cacheMagic) + 8
	if len(data) < fixed+4 || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, nil, errors.New("not a cache file")
	}
	if v := binary.LittleEndian.Uint32(data[len(cacheMagic):]); v != cacheVersion {
		return nil, nil, fmt.Errorf("cache version %d, want %d", v, cacheVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, nil, errors.New("cache checksum mismatch")
	}
	metaLen := int(binary.LittleEndian.Uint32(data[len(cacheMagic)+4:]))
	if metaLen > len(body)-fixed {
		return nil, nil, errors.New("cache meta truncated")
	}
	var m cacheMeta
	if err := json.Unmarshal(body[fixed:fixed+metaLen], &m); err != nil {
		return nil, nil, err
	}
	if m.Source != want.Source || m.Kind != want.Kind || m.SkipBad != want.SkipBad ||
		m.Size != want.Size || m.ModTime != want.ModTime || m.Report == nil {
		return nil, nil, errCacheStale
	}
	n := m.Rows
	rest := body[fixed+metaLen:]
	size := n*PixelCount + n*16
	if m.HasKeypoints {
		size += n * NumCoords * 5
	}
	if n < 0 || len(rest) != size {
		return nil, nil, errors.New("cache size mismatch")
	}
	s := &Set{Images: rest[: n*PixelCount : n*PixelCount]}
	rest = rest[n*PixelCount:]
	if m.HasKeypoints {
		s.Coords = make([]float32, n*NumCoords)
		for i := range s.Coords {
			s.Coords[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
		}
		rest = rest[4*len(s.Coords):]
		s.Mask = make([]bool, n*NumCoords)
		for i := range s.Mask {
			s.Mask[i] = rest[i] != 0
		}
		rest = rest[len(s.Mask):]
	}
	s.IDs = make([]int, n)
	for i := range s.IDs {
		s.IDs[i] = int(int64(binary.LittleEndian.Uint64(rest[8*i:])))
	}
	rest = rest[8*n:]
	s.Lines = make([]int, n)
	for i := range s.Lines {
		s.Lines[i] = int(int64(binary.LittleEndian.Uint64(rest[8*i:])))
	}
	return s, m.Report, nil
}
