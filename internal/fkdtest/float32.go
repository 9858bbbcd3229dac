package fkdtest

import (
	"encoding/binary"
	"math"
)

// Float32Bytes returns x as little-endian IEEE 754 bytes, the layout of
// the raw float32 files tests hand to other runtimes (ONNX Runtime,
// PyTorch, OpenCV).
func Float32Bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// Float32s reads little-endian IEEE 754 bytes back, the inverse of
// Float32Bytes; a trailing partial value is ignored.
func Float32s(b []byte) []float32 {
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}
