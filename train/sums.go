package train

import (
	"math"
	"time"

	"github.com/fkd-project/fkd/torch"
)

// An epoch's running sums stay on the training device, so that a step
// never waits for the device to report its loss: on a GPU, where the ops
// of a step over small faces are queued far faster than they run, one read
// per step would stall the queue every step. The sums are read back when
// the progress display or the NaN watch needs them (every
// Options.ReadEvery), at the end of the epoch and before a checkpoint.

// defaultReadEvery is how often the running sums are read by default.
const defaultReadEvery = 250 * time.Millisecond

// Slots of the sums tensor, float64 on the training device.
const (
	sumLoss      = iota // batch loss times batch size
	sumSSE              // squared error over present coordinates, normalised units
	sumCoords           // present coordinates
	sumNonFinite        // steps whose loss was NaN or infinite
	sumFirstBad         // the first such step of the epoch (from 1), else 0
	sumFirstLoss        // its loss
	numSums
)

// deviceSums are the epoch's running sums on the device, and when and at
// how many faces they were last read.
type deviceSums struct {
	sums      *torch.Tensor
	lastRead  time.Time
	readFaces int
}

// startSums puts the epoch's sums so far (zero, or a resumed epoch's) on
// the device.
func (r *runner) startSums() {
	vals := make([]float64, numSums)
	vals[sumLoss], vals[sumSSE], vals[sumCoords] = r.running.LossSum, r.running.SSE, r.running.Coords
	host := torch.FromFloat64(vals, numSums)
	defer host.Free()
	if r.sums == nil {
		r.sums = host.ToDevice(r.dev).Clone()
	} else {
		r.sums.CopyFrom(host)
	}
	r.readFaces = r.running.Faces
	r.lastRead = time.Now()
}

// addStep adds a training step's figures to the sums, on the device. loss
// is the batch's mean loss, sse and coords float32 scalars; step counts
// from 1 within the epoch.
func (r *runner) addStep(loss, sse, coords *torch.Tensor, faces, step int) {
	loss64 := loss.Detach().ToDType(torch.Float64)
	bad := loss64.IsFinite().LogicalNot()
	first := bad.LogicalAnd(r.sums.Narrow(0, sumNonFinite, 1).Squeeze(0).EqScalar(0))
	zero := torch.Zeros(nil, torch.Float64, r.dev)
	stepT := torch.Full(nil, float64(step), torch.Float64, r.dev)
	r.sums.AddInPlace(torch.Stack([]*torch.Tensor{
		loss64.MulScalar(float64(faces)),
		sse.ToDType(torch.Float64),
		coords.ToDType(torch.Float64),
		bad.ToDType(torch.Float64),
		torch.Where(first, stepT, zero),
		torch.Where(first, loss64, zero),
	}, 0))
}

// readSums reads the sums back into r.running, and reports a NaN or
// infinite loss since the last read as a *NonFiniteLossError.
func (r *runner) readSums() error {
	vals := r.sums.Float64s()
	r.running.LossSum, r.running.SSE, r.running.Coords = vals[sumLoss], vals[sumSSE], vals[sumCoords]
	r.readFaces = r.running.Faces
	r.lastRead = time.Now()
	if vals[sumNonFinite] > 0 {
		e := &NonFiniteLossError{Loss: vals[sumFirstLoss], Epoch: r.epoch + 1, Step: int(vals[sumFirstBad])}
		if r.ckptWritten {
			e.Checkpoint = r.ckptPath
		}
		return e
	}
	return nil
}

// readSumsEvery reads the sums when Options.ReadEvery has passed since the
// last read.
func (r *runner) readSumsEvery() error {
	every := r.opts.ReadEvery
	if every == 0 {
		every = defaultReadEvery
	}
	if time.Since(r.lastRead) < every {
		return nil
	}
	return r.readSums()
}

// runningLoss is the epoch's mean training loss as last read; NaN before
// the epoch's first read.
func (r *runner) runningLoss() float64 {
	if r.readFaces == 0 {
		return math.NaN()
	}
	return r.running.LossSum / float64(r.readFaces)
}
