package nn_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// rawFile assembles a safetensors stream from a header text and data.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// le32 returns float32 values as little-endian bytes.
func le32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// allDTypes returns one tensor of every element type fkd stores, with
// awkward values: NaN payloads, signed zeros, infinities, extremes, and
// scalar and empty shapes.
func allDTypes() map[string]*torch.Tensor {
	f32 := []float32{
		float32(math.NaN()), math.Float32frombits(0x7fc00123), float32(math.Inf(-1)),
		float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32, 1.5, -2,
	}
	f64 := []float64{math.Float64frombits(0x7ff8000000000abc), math.Inf(1), math.Copysign(0, -1), 1e-310, math.Pi, -7}
	half := []byte{0x00, 0x7e, 0x01, 0x7c, 0x00, 0x80, 0xff, 0x7b, 0x00, 0x3c, 0x55, 0x35} // F16 bit patterns
	bf16 := []byte{0xc1, 0x7f, 0x80, 0xff, 0x80, 0x3f, 0x49, 0x40}                         // BF16 bit patterns
	return map[string]*torch.Tensor{
		"f32":             torch.FromFloat32(f32, 2, 4),
		"f64":             torch.FromFloat64(f64, 3, 1, 2),
		"f16":             torch.FromBytes(half, torch.Float16, 2, 3),
		"bf16":            torch.FromBytes(bf16, torch.BFloat16, 4),
		"i64":             torch.FromInt64([]int64{math.MinInt64, -1, 0, math.MaxInt64}, 4),
		"i32":             torch.FromBytes([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80, 1, 2, 3, 4}, torch.Int32, 3),
		"u8":              torch.FromUint8([]uint8{0, 1, 127, 128, 255}, 5),
		"bool":            torch.FromBool([]bool{true, false, true}, 3),
		"scalar":          torch.Full(nil, 42, torch.Int64, torch.CPU),
		"empty":           torch.Zeros([]int64{0, 3}, torch.Float32, torch.CPU),
		"deep.er.name":    torch.Arange(0, 24, 1, torch.Float32, torch.CPU).Reshape(2, 3, 4),
		"unicode ✓ \"q\"": torch.FromUint8([]uint8{9}, 1),
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	tensors := allDTypes()
	metadata := map[string]string{"format": "pt", "model": "fkd-cnn", "note": "ünïcode \"quoted\"\n{}"}
	var buf bytes.Buffer
	if err := nn.Write(&buf, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	encoded := slices.Clone(buf.Bytes())
	got, gotMeta, err := nn.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("Read left %d bytes unread", buf.Len())
	}
	if !maps.Equal(gotMeta, metadata) {
		t.Errorf("metadata %v, want %v", gotMeta, metadata)
	}
	if len(got) != len(tensors) {
		t.Errorf("%d tensors, want %d", len(got), len(tensors))
	}
	for name, want := range tensors {
		g, ok := got[name]
		if !ok {
			t.Errorf("%q missing", name)
			continue
		}
		if g.Device() != torch.CPU {
			t.Errorf("%q on %v", name, g.Device())
		}
		sameBits(t, name, g, want)
	}

	// Writing what was read gives the same bytes.
	var again bytes.Buffer
	if err := nn.Write(&again, got, gotMeta); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), encoded) {
		t.Error("re-encoding the decoded tensors changed the bytes")
	}
}

func TestWriteLayout(t *testing.T) {
	tensors := map[string]*torch.Tensor{
		"b": torch.FromFloat32([]float32{1, 2}, 2),
		"a": torch.FromUint8([]uint8{7, 8, 9}, 3),
		"c": torch.FromFloat32([]float32{-1}, 1, 1),
		"n": torch.Full(nil, 5, torch.Int64, torch.CPU),
	}
	var buf bytes.Buffer
	if err := nn.Write(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	// Widest elements first, then by name: n (8 bytes), b, c (4), a (1).
	header := `{"__metadata__":{"format":"pt"},` +
		`"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},` +
		`"c":{"dtype":"F32","shape":[1,1],"data_offsets":[16,20]},` +
		`"a":{"dtype":"U8","shape":[3],"data_offsets":[20,23]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	data := binary.LittleEndian.AppendUint64(nil, 5)
	data = append(data, le32(1, 2, -1)...)
	data = append(data, 7, 8, 9)
	if want := rawFile(header, data); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("encoded\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors map[string]*torch.Tensor
		want    string
	}{
		{"empty name", map[string]*torch.Tensor{"": torch.Zeros([]int64{1}, torch.Float32, torch.CPU)}, "bad tensor name"},
		{"reserved name", map[string]*torch.Tensor{"__metadata__": torch.Zeros([]int64{1}, torch.Float32, torch.CPU)}, "bad tensor name"},
		{"nil tensor", map[string]*torch.Tensor{"x": nil}, `"x" is nil`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := nn.Write(&buf, tt.tensors, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestSaveLoadModel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	torch.ManualSeed(1)
	store := nn.NewStore(torch.CPU)
	net := newTestNet(store.Root())
	net.Forward(randn(8, 1, 12, 12)) // moves the batch-norm statistics
	metadata := map[string]string{"arch": "test-net", "epoch": "3"}
	if err := store.Save(path, metadata); err != nil {
		t.Fatal(err)
	}

	torch.ManualSeed(2)
	fresh := nn.NewStore(torch.CPU)
	freshNet := newTestNet(fresh.Root())
	x := randn(3, 1, 12, 12)
	store.Eval()
	fresh.Eval()
	if slices.Equal(freshNet.Forward(x).Bytes(), net.Forward(x).Bytes()) {
		t.Fatal("differently seeded models agree before loading")
	}
	gotMeta, err := fresh.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(gotMeta, metadata) {
		t.Errorf("Load metadata %v, want %v", gotMeta, metadata)
	}
	for _, nt := range store.NamedTensors() {
		loaded, _ := fresh.Get(nt.Name)
		sameBits(t, nt.Name, loaded, nt.Tensor)
	}
	if !slices.Equal(freshNet.Forward(x).Bytes(), net.Forward(x).Bytes()) {
		t.Error("loaded model's output differs from the saved model's")
	}
	for _, p := range fresh.Params() {
		if !p.RequiresGrad() {
			t.Error("loading turned off requires grad")
		}
	}

	if md, err := nn.LoadMetadata(path); err != nil || !maps.Equal(md, metadata) {
		t.Errorf("LoadMetadata = %v, %v; want %v", md, err, metadata)
	}
	tensors, _, err := nn.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tensors) != store.Len() {
		t.Errorf("Load gave %d tensors, want %d", len(tensors), store.Len())
	}

	// The same through a reader.
	var buf bytes.Buffer
	if err := store.Write(&buf, nil); err != nil {
		t.Fatal(err)
	}
	other := nn.NewStore(torch.CPU)
	newTestNet(other.Root())
	md, err := other.Read(&buf)
	if err != nil || len(md) != 0 {
		t.Fatalf("Store.Read = %v, %v", md, err)
	}
	for _, nt := range store.NamedTensors() {
		loaded, _ := other.Get(nt.Name)
		sameBits(t, nt.Name, loaded, nt.Tensor)
	}
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	good := map[string]*torch.Tensor{"w": torch.FromFloat32([]float32{1, 2, 3}, 3)}
	if err := nn.Save(path, good, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := map[string]*torch.Tensor{"w": torch.FromFloat32([]float32{4}, 1), "x": nil}
	if err := nn.Save(path, bad, nil); err == nil {
		t.Fatal("Save of a nil tensor succeeded")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a failed Save changed the existing file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed Save, want 1", len(entries))
	}
	if err := nn.Save(filepath.Join(path, "under", "a", "file.safetensors"), good, nil); err == nil {
		t.Error("Save under a regular file succeeded")
	}
}

// zipCheckpoint returns a small zip archive laid out like torch.save's.
func zipCheckpoint(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("archive/data.pkl")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\x80\x02}q\x00X\x06\x00\x00\x00weightq\x01s."))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// corruptCases are inputs that are not valid safetensors, each with a
// phrase its error must contain.
func corruptCases(t testing.TB) []struct {
	name string
	data []byte
	want string
} {
	f32x2 := le32(1, 2)
	junk := make([]byte, 64)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	return []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"shorter than the length", []byte{1, 2, 3}, "too short for the 8-byte header length"},
		{"random bytes", junk, "header length"},
		{"zip checkpoint", zipCheckpoint(t), "zip archive"},
		{"pickle", []byte("\x80\x02}q\x00.\x00\x00\x00\x00"), "pickle"},
		{"header past the end", binary.LittleEndian.AppendUint64(nil, 1000), "header of 1000 bytes: truncated"},
		{"header over the limit", binary.LittleEndian.AppendUint64(nil, nn.MaxHeaderSize+1), "exceeds the limit"},
		{"header length 0", binary.LittleEndian.AppendUint64(nil, 0), "too short for a JSON object"},
		{"not an object", rawFile(`[1, 2]`, nil), "does not start with '{'"},
		{"bad JSON", rawFile(`{"a": {"dtype": "F32",`, nil), "ends early"},
		{"bad JSON syntax", rawFile(`{"a" 1}`, nil), "bad header JSON at byte"},
		{"bad JSON value", rawFile(`{"a":{"dtype":F32}}`, nil), "bad header JSON at byte"},
		{"content after the object", rawFile(`{} {}`, nil), "content after its closing brace"},
		{"duplicate name", rawFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},`+
			`"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, f32x2), `"a" twice`},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, f32x2), `unknown dtype "F33"`},
		{"unsupported dtype", rawFile(`{"a":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}}`, f32x2), "I8, which fkd does not support"},
		{"no dtype", rawFile(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, f32x2), "no dtype"},
		{"no shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, f32x2), "no shape"},
		{"shape not a list", rawFile(`{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}`, f32x2),
			"JSON string where a list of integers was expected"},
		{"entry not an object", rawFile(`{"a":7}`, nil), `tensor "a"`},
		{"no offsets", rawFile(`{"a":{"dtype":"F32","shape":[2]}}`, f32x2), "data_offsets has 0 numbers"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, f32x2), "has 3 numbers"},
		{"negative dimension", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32x2), "negative dimension"},
		{"fractional dimension", rawFile(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, f32x2), "shape"},
		{"offsets backwards", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, f32x2), "bad data_offsets [8, 0]"},
		{"negative offset", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}`, nil), "bad data_offsets"},
		{"offsets disagree with shape", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f32x2),
			"span 4 bytes, but F32 [2] needs 8"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
			`"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, le32(1, 2, 3)), "overlaps"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},`+
			`"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, le32(1, 2, 3)), "gap of 4 bytes"},
		{"data not at the start", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2), "gap of 4 bytes"},
		{"shape overflows", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}`, nil),
			"too large"},
		{"bytes overflow", rawFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil),
			"too large"},
		{"zero-size dims overflow", rawFile(`{"a":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}`, nil),
			"too large"},
		{"huge tensor, little data", rawFile(`{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`, f32x2),
			"truncated"},
		{"metadata not strings", rawFile(`{"__metadata__":{"epoch":3}}`, nil), "__metadata__ is not an object of strings"},
		{"metadata a list", rawFile(`{"__metadata__":["a"]}`, nil), "__metadata__ is not an object of strings"},
		{"empty name", rawFile(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), "empty name"},
		{"data cut short", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`, f32x2), "truncated"},
		{"bool not 0 or 1", rawFile(`{"a":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}`, []byte{1, 0, 2}),
			"holds byte 2 at element 2"},
	}
}

func TestReadCorrupt(t *testing.T) {
	for _, tt := range corruptCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			tensors, md, err := nn.Read(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("no error; got %d tensors, metadata %v", len(tensors), md)
			}
			if !errors.Is(err, nn.ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadCorrupt(t *testing.T) {
	dir := t.TempDir()
	load := func(t *testing.T, name string, data []byte) (string, error) {
		t.Helper()
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := nn.Load(path)
		if err == nil {
			t.Fatal("no error")
		}
		if !errors.Is(err, nn.ErrFormat) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not wrap ErrFormat or name the file", err)
		}
		return path, err
	}
	// Files are checked against their size first, so some messages differ
	// from Read's; every input must still fail with ErrFormat.
	for _, tt := range corruptCases(t) {
		t.Run(tt.name, func(t *testing.T) { load(t, tt.name, tt.data) })
	}
	valid := rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, le32(1, 2))
	sized := []struct {
		name string
		data []byte
		want string
	}{
		{"trailing bytes", append(slices.Clone(valid), 0, 0, 0), "3 bytes after the 8 bytes of tensor data"},
		{"header longer than the file", binary.LittleEndian.AppendUint64(nil, 1000), "exceeds the 0 bytes that follow it"},
		{"huge tensor, small file", rawFile(`{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`, nil),
			"the header describes 4398046511104 bytes of tensor data, the file holds 0"},
		{"empty file", nil, "empty file"},
	}
	for _, tt := range sized {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := load(t, tt.name, tt.data); !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if _, _, err := nn.Load(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want ErrNotExist", err)
	}
	if _, err := nn.LoadMetadata(filepath.Join(dir, "empty_file.safetensors")); !errors.Is(err, nn.ErrFormat) {
		t.Errorf("LoadMetadata of an empty file: %v, want ErrFormat", err)
	}
}

// TestReadAllocatesLittle checks that a header claiming terabytes costs
// only what the input holds.
func TestReadAllocatesLittle(t *testing.T) {
	data := rawFile(`{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`,
		make([]byte, 3<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := nn.Read(bytes.NewReader(data))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v, want truncated", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("reading 3 MiB allocated %d MiB", grew>>20)
	}
}

func TestStoreLoadStrict(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	src := nn.NewStore(torch.CPU)
	newTestNet(src.Root())
	if err := src.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		build func(p nn.Path)
		want  []string
	}{
		{"missing in file", func(p nn.Path) {
			newTestNet(p)
			p.Sub("extra").Param("weight", []int64{2}, nn.Zeros())
		}, []string{`"extra.weight" missing`}},
		{"unexpected in file", func(p nn.Path) {
			f := p.Sub("features")
			nn.NewConv2d(f.Sub("0"), 1, 4, 3, nn.Conv2dConfig{Padding: 1})
			nn.NewBatchNorm2d(f.Sub("1"), 4, nn.BatchNormConfig{})
			nn.NewConv2d(f.Sub("4"), 4, 8, 3, nn.Conv2dConfig{NoBias: true})
		}, []string{`unexpected "head.bias"`, `unexpected "head.weight"`}},
		{"shape", func(p nn.Path) {
			f := p.Sub("features")
			nn.NewConv2d(f.Sub("0"), 1, 4, 5, nn.Conv2dConfig{Padding: 1})
			nn.NewBatchNorm2d(f.Sub("1"), 4, nn.BatchNormConfig{})
			nn.NewConv2d(f.Sub("4"), 4, 8, 3, nn.Conv2dConfig{NoBias: true})
			nn.NewLinear(p.Sub("head"), 8, 30, nn.LinearConfig{})
		}, []string{`"features.0.weight" has shape [4 1 3 3], want [4 1 5 5]`}},
		{"every name differs", func(p nn.Path) { newTestNet(p.Sub("x")) }, []string{`"x.features.0.weight" missing`, "and 14 more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := nn.NewStore(torch.CPU)
			tt.build(dst.Root())
			before := map[string][]byte{}
			for _, nt := range dst.NamedTensors() {
				before[nt.Name] = nt.Tensor.Bytes()
			}
			_, err := dst.Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, nn.ErrMismatch) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not wrap ErrMismatch or name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			for _, nt := range dst.NamedTensors() {
				if !bytes.Equal(nt.Tensor.Bytes(), before[nt.Name]) {
					t.Errorf("failed Load changed %s", nt.Name)
				}
			}
		})
	}

	// An element type mismatch: num_batches_tracked saved as int32.
	sd := src.StateDict()
	sd["features.1.num_batches_tracked"] = torch.Zeros(nil, torch.Int32, torch.CPU)
	var buf bytes.Buffer
	if err := nn.Write(&buf, sd, nil); err != nil {
		t.Fatal(err)
	}
	dst := nn.NewStore(torch.CPU)
	newTestNet(dst.Root())
	_, err := dst.Read(&buf)
	if want := `"features.1.num_batches_tracked" has dtype int32, want int64`; err == nil ||
		!strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one mentioning %s", err, want)
	}
}
