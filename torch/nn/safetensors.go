package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/torch"
)

// ErrFormat is wrapped by every error that Read and Load return for data
// that is not a valid safetensors file.
var ErrFormat = errors.New("invalid safetensors data")

// ErrMismatch is wrapped by the errors of Store.Load, Store.Read and
// Store.CopyFrom when the tensors offered do not match the store's names,
// shapes or element types.
var ErrMismatch = errors.New("tensors do not match the model")

// MaxHeaderSize is the largest JSON header Read accepts, the same limit as
// the reference safetensors implementation.
const MaxHeaderSize = 100_000_000

const metadataKey = "__metadata__"

// dtypeCodes maps element types to their safetensors names.
var dtypeCodes = map[torch.DType]string{
	torch.Float32:  "F32",
	torch.Float64:  "F64",
	torch.Float16:  "F16",
	torch.BFloat16: "BF16",
	torch.Int64:    "I64",
	torch.Int32:    "I32",
	torch.Uint8:    "U8",
	torch.Bool:     "BOOL",
}

// dtypeByCode is the inverse of dtypeCodes.
var dtypeByCode = func() map[string]torch.DType {
	m := map[string]torch.DType{}
	for dt, code := range dtypeCodes {
		m[code] = dt
	}
	return m
}()

// otherCodes are safetensors element types that LibTorch 1.13 or fkd's
// binding cannot hold; a file using them is valid but not loadable here.
var otherCodes = map[string]bool{
	"I8": true, "I16": true, "U16": true, "U32": true, "U64": true,
	"F8_E4M3": true, "F8_E5M2": true, "C64": true,
}

var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Save writes tensors and metadata to path in the safetensors format. The
// file appears whole or not at all: it is written to a temporary file in
// the same directory and renamed into place.
func Save(path string, tensors map[string]*torch.Tensor, metadata map[string]string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, tensors, metadata) })
}

// Write encodes tensors and metadata to w in the safetensors format, each
// tensor copied from its device as little-endian bytes. As the reference
// writer does, it orders the data by element size, largest first, then by
// name, so that every tensor is aligned to its element size. Names must be
// non-empty and not "__metadata__".
func Write(w io.Writer, tensors map[string]*torch.Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if name == "" || name == metadataKey {
			return fmt.Errorf("safetensors: bad tensor name %q", name)
		}
		if t == nil {
			return fmt.Errorf("safetensors: tensor %q is nil", name)
		}
		names = append(names, name)
	}
	elemSize := make(map[string]int, len(names))
	for _, name := range names {
		elemSize[name] = tensors[name].DType().Size()
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := elemSize[b] - elemSize[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})

	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		h.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	sizes := make([]int, len(names))
	offset := 0
	for i, name := range names {
		t := tensors[name]
		dt := t.DType()
		code, ok := dtypeCodes[dt]
		if !ok {
			return fmt.Errorf("safetensors: tensor %q: element type %s has no safetensors code", name, dt)
		}
		shape := t.Shape()
		sizes[i] = t.Numel() * dt.Size()
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, name)
		fmt.Fprintf(&h, `:{"dtype":%q,"shape":[`, code)
		for j, d := range shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.FormatInt(d, 10))
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, offset+sizes[i])
		offset += sizes[i]
	}
	h.WriteByte('}')
	// Pad with spaces so that the data starts 8-byte aligned, as the
	// reference writer does.
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	for i, name := range names {
		t := tensors[name]
		b := t.Bytes()
		if len(b) != sizes[i] {
			return fmt.Errorf("safetensors: tensor %q gave %d bytes, want %d", name, len(b), sizes[i])
		}
		toLittleEndian(b, t.DType().Size())
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, err := json.Marshal(s)
	if err != nil { // a Go string always marshals
		panic(err)
	}
	b.Write(enc)
}

// Load reads the safetensors file at path and returns its tensors, on the
// CPU, and its metadata (empty, not nil, when it has none). The header is
// checked in full, against the file's size too, before any data is read.
// An error names the file and what is wrong with it, and wraps ErrFormat
// when the content is at fault; tensors made before it are freed. Load
// allocates no more than the file's size, whatever the header claims.
//
// The tensors are created in the calling goroutine's open Scope, if any;
// free them (or close the scope) when done.
func Load(path string) (map[string]*torch.Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	tensors, metadata, err := read(f, size, true)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return tensors, metadata, nil
}

// LoadMetadata reads and checks only the header of the safetensors file at
// path and returns its metadata, such as the model architecture a
// checkpoint was saved from.
func LoadMetadata(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	h, err := readHeader(f, size)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return h.metadata, nil
}

// Read decodes safetensors data from r, consuming exactly the bytes the
// header describes, and returns the tensors (on the CPU) and metadata. As
// with Load, nothing is allocated beyond what r actually delivers.
func Read(r io.Reader) (map[string]*torch.Tensor, map[string]string, error) {
	return read(r, -1, false)
}

// tensorInfo is one tensor's entry in the header.
type tensorInfo struct {
	name       string
	dtype      torch.DType
	shape      []int64
	begin, end int64 // byte range within the data section
}

type header struct {
	tensors  []tensorInfo // by begin offset
	metadata map[string]string
	size     int64 // length of the JSON header
	dataSize int64 // length of the data section
}

// formatError returns an error wrapping ErrFormat.
func formatError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// read decodes a whole safetensors stream. size is the stream's length
// when known (a file), else -1; with whole set, bytes after the data are
// an error.
func read(r io.Reader, size int64, whole bool) (map[string]*torch.Tensor, map[string]string, error) {
	h, err := readHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	tensors := make(map[string]*torch.Tensor, len(h.tensors))
	ok := false
	defer func() {
		if !ok {
			freeAll(tensors)
		}
	}()
	for _, ti := range h.tensors {
		data, err := readN(r, ti.end-ti.begin, size >= 0)
		if err != nil {
			return nil, nil, formatError("data of tensor %q (bytes %d to %d of the data section): %v",
				ti.name, ti.begin, ti.end, err)
		}
		if ti.dtype == torch.Bool {
			for j, c := range data {
				if c > 1 {
					return nil, nil, formatError("bool tensor %q holds byte %d at element %d, want 0 or 1",
						ti.name, c, j)
				}
			}
		}
		fromLittleEndian(data, ti.dtype.Size())
		var t *torch.Tensor
		if err := torch.Catch(func() { t = torch.FromBytes(data, ti.dtype, ti.shape...) }); err != nil {
			return nil, nil, fmt.Errorf("tensor %q of shape %v: %w", ti.name, ti.shape, err)
		}
		tensors[ti.name] = t
	}
	if whole {
		var one [1]byte
		if n, _ := io.ReadFull(r, one[:]); n > 0 {
			extra := "more"
			if size >= 0 {
				extra = strconv.FormatInt(size-8-h.size-h.dataSize, 10)
			}
			return nil, nil, formatError("%s bytes after the %d bytes of tensor data", extra, h.dataSize)
		}
	}
	ok = true
	return tensors, h.metadata, nil
}

// readHeader reads the header length and the JSON header and checks every
// entry, so that the data can then be read without further checks.
func readHeader(r io.Reader, size int64) (*header, error) {
	if size == 0 {
		return nil, formatError("empty file")
	}
	var prefix [8]byte
	n, err := io.ReadFull(r, prefix[:])
	switch {
	case n == 0 && err == io.EOF:
		return nil, formatError("empty input")
	case err == io.ErrUnexpectedEOF:
		return nil, formatError("%d bytes, too short for the 8-byte header length", n)
	case err != nil:
		return nil, err
	}
	hlen := binary.LittleEndian.Uint64(prefix[:])
	if hlen > MaxHeaderSize || (size >= 0 && hlen > uint64(size-8)) {
		limit := fmt.Sprintf("the limit of %d", MaxHeaderSize)
		if size >= 0 && uint64(size-8) < MaxHeaderSize {
			limit = fmt.Sprintf("the %d bytes that follow it", size-8)
		}
		return nil, formatError("header length %d exceeds %s%s", hlen, limit, foreignHint(prefix[:]))
	}
	if hlen < 2 {
		return nil, formatError("header length %d is too short for a JSON object%s", hlen, foreignHint(prefix[:]))
	}
	hdr, err := readN(r, int64(hlen), size >= 0)
	if err != nil {
		return nil, formatError("header of %d bytes: %v", hlen, err)
	}
	if hdr[0] != '{' {
		return nil, formatError("header does not start with '{'%s", foreignHint(prefix[:]))
	}
	h, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	h.size = int64(hlen)
	if size >= 0 {
		if have := size - 8 - h.size; have < h.dataSize {
			return nil, formatError("truncated: the header describes %d bytes of tensor data, the file holds %d",
				h.dataSize, have)
		}
	}
	return h, nil
}

// foreignHint says what a file that is not safetensors looks like, from
// its first bytes.
func foreignHint(prefix []byte) string {
	switch {
	case bytes.HasPrefix(prefix, []byte("PK\x03\x04")):
		return " (this looks like a zip archive, such as a PyTorch .pt checkpoint made by torch.save; " +
			"save with safetensors.torch.save_file instead)"
	case prefix[0] == 0x80 && prefix[1] >= 2 && prefix[1] <= 5:
		return " (this looks like a Python pickle, such as an old-style PyTorch checkpoint)"
	}
	return ""
}

// rawEntry is a tensor's entry as it appears in the JSON header.
type rawEntry struct {
	DType   string  `json:"dtype"`
	Shape   []int64 `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// parseHeader decodes the JSON header, rejecting duplicate names, and
// checks each entry and the layout of the data section.
func parseHeader(hdr []byte) (*header, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, formatError("header is not a JSON object")
	}
	h := &header{metadata: map[string]string{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, formatError("%s", jsonProblem(err))
		}
		name, ok := tok.(string)
		if !ok {
			return nil, formatError("header JSON: unexpected %v", tok)
		}
		if seen[name] {
			return nil, formatError("header names %q twice", name)
		}
		seen[name] = true
		if name == metadataKey {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, formatError("__metadata__ is not an object of strings: %v", jsonProblem(err))
			}
			if md != nil {
				h.metadata = md
			}
			continue
		}
		var e rawEntry
		if err := dec.Decode(&e); err != nil {
			return nil, formatError("tensor %q: %v", name, jsonProblem(err))
		}
		ti, err := checkEntry(name, e)
		if err != nil {
			return nil, err
		}
		h.tensors = append(h.tensors, ti)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, formatError("%s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, formatError("header JSON has content after its closing brace")
	}

	// The tensors must tile the data section exactly: sorted by offset,
	// each begins where the one before ends.
	sort.SliceStable(h.tensors, func(i, j int) bool {
		a, b := h.tensors[i], h.tensors[j]
		return a.begin < b.begin || (a.begin == b.begin && a.end < b.end)
	})
	var end int64
	for i, ti := range h.tensors {
		switch {
		case ti.begin < end:
			return nil, formatError("tensor %q (bytes %d to %d) overlaps tensor %q",
				ti.name, ti.begin, ti.end, h.tensors[i-1].name)
		case ti.begin > end:
			return nil, formatError("gap of %d bytes before tensor %q (bytes %d to %d)",
				ti.begin-end, ti.name, ti.begin, ti.end)
		}
		end = ti.end
	}
	h.dataSize = end
	return h, nil
}

// jsonProblem shortens encoding/json's messages, which name Go types.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s: JSON %s where %s was expected", field, te.Value, goTypeDesc(te.Type.String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("bad header JSON at byte %d: %v", se.Offset, se)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "header JSON ends early"
	}
	return err.Error()
}

func goTypeDesc(t string) string {
	switch t {
	case "string":
		return "a string"
	case "int64":
		return "an integer"
	case "[]int64":
		return "a list of integers"
	case "map[string]string", "nn.rawEntry":
		return "an object"
	}
	return t
}

// checkEntry validates one tensor entry: a known element type, a shape
// whose size fits in memory arithmetic, and a byte range that matches it.
func checkEntry(name string, e rawEntry) (tensorInfo, error) {
	if name == "" {
		return tensorInfo{}, formatError("a tensor has an empty name")
	}
	dt, ok := dtypeByCode[e.DType]
	switch {
	case e.DType == "":
		return tensorInfo{}, formatError("tensor %q has no dtype", name)
	case !ok && otherCodes[e.DType]:
		return tensorInfo{}, formatError("tensor %q has dtype %s, which fkd does not support", name, e.DType)
	case !ok:
		return tensorInfo{}, formatError("tensor %q has unknown dtype %q", name, e.DType)
	}
	if e.Shape == nil {
		return tensorInfo{}, formatError("tensor %q has no shape", name)
	}
	if len(e.Offsets) != 2 {
		return tensorInfo{}, formatError("tensor %q: data_offsets has %d numbers, want 2", name, len(e.Offsets))
	}
	begin, end := e.Offsets[0], e.Offsets[1]
	if begin < 0 || end < begin {
		return tensorInfo{}, formatError("tensor %q has bad data_offsets [%d, %d]", name, begin, end)
	}
	// Both the element count and the product of the non-zero dimensions
	// (which LibTorch's strides reach) must fit in an int64.
	numel, span := uint64(1), uint64(1)
	overflow := false
	for _, d := range e.Shape {
		if d < 0 {
			return tensorInfo{}, formatError("tensor %q has negative dimension in shape %v", name, e.Shape)
		}
		hi, lo := bits.Mul64(numel, uint64(d))
		overflow = overflow || hi != 0 || lo > math.MaxInt64
		numel = lo
		if d > 0 {
			hi, lo = bits.Mul64(span, uint64(d))
			overflow = overflow || hi != 0 || lo > math.MaxInt64
			span = lo
		}
	}
	hi, nbytes := bits.Mul64(numel, uint64(dt.Size()))
	if overflow || hi != 0 || nbytes > math.MaxInt64 {
		return tensorInfo{}, formatError("tensor %q: shape %v is too large", name, e.Shape)
	}
	if uint64(end-begin) != nbytes {
		return tensorInfo{}, formatError("tensor %q: data_offsets [%d, %d] span %d bytes, but %s %v needs %d",
			name, begin, end, end-begin, e.DType, e.Shape, nbytes)
	}
	return tensorInfo{name: name, dtype: dt, shape: e.Shape, begin: begin, end: end}, nil
}

// readN reads exactly n bytes. When the stream's length has not been
// checked against n (sized false), it reads in chunks, so that a header
// claiming a huge tensor costs no more memory than the bytes that arrive.
func readN(r io.Reader, n int64, sized bool) ([]byte, error) {
	const chunk = 1 << 20
	if sized || n <= chunk {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, shortRead(err, n)
		}
		return b, nil
	}
	var buf bytes.Buffer
	for int64(buf.Len()) < n {
		if _, err := io.CopyN(&buf, r, min(chunk, n-int64(buf.Len()))); err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("truncated: %d of %d bytes present", int64(buf.Len()), n)
			}
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func shortRead(err error, n int64) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated: fewer than %d bytes present", n)
	}
	return err
}

// toLittleEndian converts elements of the given size from host order to
// little-endian, in place; fromLittleEndian is its inverse. Both do nothing
// on little-endian hosts.
func toLittleEndian(b []byte, size int) { swapIfBigEndian(b, size) }

func fromLittleEndian(b []byte, size int) { swapIfBigEndian(b, size) }

func swapIfBigEndian(b []byte, size int) {
	if littleEndianHost || size == 1 {
		return
	}
	for i := 0; i+size <= len(b); i += size {
		slices.Reverse(b[i : i+size])
	}
}
