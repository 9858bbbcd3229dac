package nn_test

import (
	"bytes"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestStoreToChannelsLast(t *testing.T) {
	store, net, x, before := evalTestNet()
	var saved bytes.Buffer
	if err := store.Write(&saved, nil); err != nil {
		t.Fatal(err)
	}

	store.ToChannelsLast()
	w, _ := store.Get("features.4.weight")
	if !w.IsChannelsLast() {
		t.Fatalf("features.4.weight is not channels last after ToChannelsLast")
	}
	if !w.RequiresGrad() {
		t.Errorf("features.4.weight no longer requires grad")
	}
	if b, _ := store.Get("head.weight"); b.IsChannelsLast() {
		t.Errorf("a 2-D tensor became channels last")
	}
	closeTo(t, "output, channels last", net.Forward(x).Float64s(), before, 1e-5)

	// Files hold the values in row-major order whatever the layout.
	var again bytes.Buffer
	if err := store.Write(&again, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved.Bytes(), again.Bytes()) {
		t.Errorf("the store writes other bytes once channels last")
	}

	c := store.Clone(torch.CPU)
	defer c.Free()
	if cw, _ := c.Get("features.4.weight"); !cw.IsChannelsLast() {
		t.Errorf("Clone of a channels-last store is not channels last")
	} else {
		sameBits(t, "clone", cw, w)
	}

	// Loading a file copies into the channels-last tensors, keeping them so.
	if _, err := store.Read(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	if !w.IsChannelsLast() {
		t.Errorf("Read changed the layout")
	}
	closeTo(t, "output after Read", net.Forward(x).Float64s(), before, 1e-5)
}
