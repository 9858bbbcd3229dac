package fkdtest

import (
	"testing"

	"github.com/fkd-project/fkd/torch/nn"
)

// TensorBytes loads the tensors of a safetensors file (a model or a
// checkpoint) and returns each one's raw bytes by name: two files hold the
// same weights bit for bit when their maps are equal.
func TensorBytes(t testing.TB, path string) map[string][]byte {
	t.Helper()
	ts, _, err := nn.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for name, x := range ts {
		out[name] = x.Bytes()
		x.Free()
	}
	return out
}
