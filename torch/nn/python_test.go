package nn_test

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// pyReader is an independent safetensors reader and writer in Python
// (json, struct and numpy only), used to check that fkd's files are what
// other safetensors readers expect, and the other way round.
//
// "read PATH" prints {"metadata": {...}, "tensors": {name: {"dtype",
// "shape", "values"}}} with values as Python writes numbers: repr of a
// float ("nan", "-inf", "-0.0"), or an integer.
// "write PATH" writes a file the way a foreign writer might (entries in
// reverse name order, no padding, metadata last) and prints the same JSON
// for what it wrote.
const pyReader = `
import json, struct, sys
import numpy as np

NP = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "?"}

def values(code, raw, shape):
    if code == "BF16":
        arr = (np.frombuffer(raw, "<u2").astype("<u4") << 16).view("<f4")
    else:
        arr = np.frombuffer(raw, NP[code])
    arr = arr.reshape(shape).ravel()
    if code in ("I64", "I32", "U8", "BOOL"):
        return [str(int(v)) for v in arr]
    return [repr(float(v)) for v in arr]

def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    out = {"metadata": header.pop("__metadata__", {}), "tensors": {}}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out["tensors"][name] = {"dtype": e["dtype"], "shape": e["shape"],
                                "values": values(e["dtype"], data[b:end], e["shape"])}
    return out

def write(path):
    arrays = {
        "w.conv": ("F32", np.arange(24, dtype="<f4").reshape(2, 3, 4) / 7),
        "counts": ("I64", np.array([-5, 0, 2**40], dtype="<i8")),
        "flags": ("BOOL", np.array([[True, False], [False, True]])),
        "half": ("F16", np.array([0.5, -2, 65504], dtype="<f2")),
        "scalar": ("F64", np.array(3.25, dtype="<f8")),
    }
    header, chunks, offset = {}, [], 0
    for name in sorted(arrays, reverse=True):
        code, arr = arrays[name]
        raw = arr.tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"writer": "python"}
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    return read(path)

mode, path = sys.argv[1], sys.argv[2]
print(json.dumps(read(path) if mode == "read" else write(path)))
`

type pyFile struct {
	Metadata map[string]string `json:"metadata"`
	Tensors  map[string]struct {
		DType  string   `json:"dtype"`
		Shape  []int64  `json:"shape"`
		Values []string `json:"values"`
	} `json:"tensors"`
}

// runPython runs pyReader, skipping the test when Python with numpy is
// not installed.
func runPython(t *testing.T, mode, path string) pyFile {
	t.Helper()
	const python = "/usr/bin/python3"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := exec.CommandContext(ctx, python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy not available: %v", python, err)
	}
	out, err := exec.CommandContext(ctx, python, "-c", pyReader, mode, path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python %s: %v\n%s", mode, err, stderr)
	}
	var f pyFile
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatalf("python output: %v\n%s", err, out)
	}
	return f
}

// sameValues compares a tensor with the values Python decoded: floats bit
// for bit (any NaN matching any NaN), integers exactly.
func sameValues(t *testing.T, name string, got *torch.Tensor, want []string) {
	t.Helper()
	if got.Numel() != len(want) {
		t.Errorf("%s: %d values, want %d", name, got.Numel(), len(want))
		return
	}
	if got.DType().IsFloat() {
		for i, v := range got.Float64s() {
			w, err := strconv.ParseFloat(want[i], 64)
			if err != nil {
				t.Fatalf("%s: Python value %q: %v", name, want[i], err)
			}
			if math.Float64bits(v) != math.Float64bits(w) && !(math.IsNaN(v) && math.IsNaN(w)) {
				t.Errorf("%s: element %d is %g, Python read %s", name, i, v, want[i])
				return
			}
		}
		return
	}
	for i, v := range got.Int64s() {
		if w := strconv.FormatInt(v, 10); w != want[i] {
			t.Errorf("%s: element %d is %s, Python read %s", name, i, w, want[i])
			return
		}
	}
}

func TestPythonReadsFkdFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fkd.safetensors")
	tensors := allDTypes()
	metadata := map[string]string{"arch": "cnn", "note": "ünïcode"}
	if err := nn.Save(path, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	py := runPython(t, "read", path)
	if !maps.Equal(py.Metadata, metadata) {
		t.Errorf("Python read metadata %v, want %v", py.Metadata, metadata)
	}
	if len(py.Tensors) != len(tensors) {
		t.Errorf("Python read %d tensors, want %d", len(py.Tensors), len(tensors))
	}
	codes := map[torch.DType]string{
		torch.Float32: "F32", torch.Float64: "F64", torch.Float16: "F16", torch.BFloat16: "BF16",
		torch.Int64: "I64", torch.Int32: "I32", torch.Uint8: "U8", torch.Bool: "BOOL",
	}
	for name, want := range tensors {
		got, ok := py.Tensors[name]
		if !ok {
			t.Errorf("Python did not find %q", name)
			continue
		}
		if got.DType != codes[want.DType()] || !slices.Equal(got.Shape, want.Shape()) {
			t.Errorf("%q: Python read %s %v, want %s %v", name, got.DType, got.Shape, codes[want.DType()], want.Shape())
		}
		sameValues(t, name, want, got.Values)
	}
}

func TestReadPythonFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "py.safetensors")
	py := runPython(t, "write", path)
	tensors, metadata, err := nn.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(metadata, py.Metadata) {
		t.Errorf("metadata %v, want %v", metadata, py.Metadata)
	}
	if len(tensors) != len(py.Tensors) {
		t.Errorf("%d tensors, Python wrote %d", len(tensors), len(py.Tensors))
	}
	for name, want := range py.Tensors {
		got, ok := tensors[name]
		if !ok {
			t.Errorf("%q missing", name)
			continue
		}
		if !slices.Equal(got.Shape(), want.Shape) {
			t.Errorf("%q: shape %v, want %v", name, got.Shape(), want.Shape)
		}
		sameValues(t, name, got, want.Values)
	}
}
