package nn_test

import (
	"bytes"
	"errors"
	"maps"
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// FuzzRead feeds arbitrary bytes to Read. It must never panic; every
// failure must be a format error (a bytes.Reader has no I/O errors); and
// whatever it accepts must survive Write and Read unchanged.
//
//	go test -run '^$' -fuzz FuzzRead -fuzztime 60s ./torch/nn/
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	if err := nn.Write(&buf, allDTypes(), map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	store := nn.NewStore(torch.CPU)
	newTestNet(store.Root())
	buf.Reset()
	if err := store.Write(&buf, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, le32(1, 2)))
	f.Add(rawFile(`{"__metadata__":{"k":"v"},"z":{"dtype":"BOOL","shape":[0,4],"data_offsets":[0,0]}}`, nil))
	for _, c := range corruptCases(f) {
		f.Add(c.data)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, metadata, err := nn.Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, nn.ErrFormat) {
				t.Fatalf("error %q does not wrap ErrFormat", err)
			}
			return
		}
		defer func() {
			for _, t := range tensors {
				t.Free()
			}
		}()
		var again bytes.Buffer
		if err := nn.Write(&again, tensors, metadata); err != nil {
			t.Fatalf("re-encoding accepted input: %v", err)
		}
		back, backMeta, err := nn.Read(&again)
		if err != nil {
			t.Fatalf("reading re-encoded input: %v", err)
		}
		if !maps.Equal(metadata, backMeta) || len(back) != len(tensors) {
			t.Fatalf("round trip changed metadata or the tensor count")
		}
		for name, want := range tensors {
			got, ok := back[name]
			if !ok {
				t.Fatalf("round trip lost %q", name)
			}
			sameBits(t, name, got, want)
			got.Free()
		}
	})
}
