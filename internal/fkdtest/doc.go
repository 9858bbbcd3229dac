// Package fkdtest is fkd's test support: the helpers that the tests of
// several packages share, kept once here instead of copied into each.
//
//   - Device gives the device a CUDA test compares with the CPU: a GPU when
//     LibTorch sees one, else the CPU itself (FKD_REQUIRE_CUDA=1 fails the
//     test instead).
//   - ResidentBytes reads the process's resident memory, for tests that
//     bound its growth.
//   - TensorBytes reads a safetensors file's tensors as raw bytes by name,
//     for tests that compare weights bit for bit.
//   - SaveRandom, Faces and SpreadPx make model files with random weights
//     and test faces, for the tests of the readers of fkd's models outside
//     Go (package onnx, python/fkd_torch.py).
//   - NewModel makes a model of a spec with seeded weights.
//   - WritePhoto and WritePNG write images as photo files, and
//     SizeDetector is a detector that finds faces only in images of one
//     size.
//   - ReadPNG reads a PNG file; PNGHeader makes the header of a huge one.
//   - SyncBuffer is a log that goroutines write while the test reads it;
//     Do sends an HTTP request and reads the answer; MiB formats memory.
//
// # Imports
//
// Only _test.go files import fkdtest; no program links it. It is the one
// package under internal/ that imports fkd's own packages, and it may import
// only these: torch, torch/nn, dataset, dataset/synth, models, photo and
// detect (never train, a command or anything else built on them). A test
// inside one of those packages that uses fkdtest is therefore an external
// test (package torch_test, models_test, photo_test), or Go reports an
// import cycle; the packages above them may use it from any test. TestRule in package internal checks
// both sides.
package fkdtest
