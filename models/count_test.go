package models

import (
	"testing"

	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// TestCountByHand checks Count on a small stack whose multiply-adds are
// worked out by hand.
func TestCountByHand(t *testing.T) {
	store := nn.NewStore(torch.CPU)
	defer store.Free()
	trace := &tracer{}
	b := &builder{trace: trace}
	p := store.Root()
	net := nn.NewSequential(
		b.convBNReLU(p.Sub("a"), 1, 4, 3, 2), // 96 → 48
		nn.MaxPool2d(2, 0, 0),                // 48 → 24
		b.conv(p.Sub("b"), 4, 6, 5, 1, true), // 24 → 24
		flattenGrid(2),                       // 6·2·2 = 24 features
		b.output(p.Sub("c"), 24, 10),
		b.output(p.Sub("d"), 10, 30),
	)
	m := &model{store: store, spec: Spec{Arch: "test"}, net: net, trace: trace}

	params, macs := Count(m)
	wantMACs := int64(48*48*4*(1*3*3) + // a: 4 output channels on 48×48, 1·3·3 each
		24*24*6*(4*5*5) + // b: 6 channels on 24×24, 4·5·5 each
		10*24 + // c
		30*10) // d
	wantParams := 4*9 + 2*4 + // a: conv without bias, BN scale and shift
		6*4*25 + 6 + // b
		24*10 + 10 + 10*30 + 30 // c, d
	if macs != wantMACs || params != wantParams {
		t.Errorf("Count = %d parameters, %d multiply-adds; want %d, %d", params, macs, wantParams, wantMACs)
	}
	// Count runs in evaluation mode: the batch-norm statistics stay put.
	n, _ := store.Get("a.bn.num_batches_tracked")
	if got := n.Item(); got != 0 {
		t.Errorf("Count ran %v training batches", got)
	}
	if trace.on {
		t.Error("tracing still on after Count")
	}
}
