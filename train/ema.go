package train

import (
	"fmt"

	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// An exponential moving average of the weights (Config.EMA) is a second
// model of the same architecture on the training device, in evaluation
// mode, that follows the trained one: after every optimiser step t
// (counted from 0) each of its tensors becomes
//
//	avg = d·avg + (1-d)·w,  d = min(Config.EMA, (1+t)/(10+t)),
//
// in two foreach kernels over all tensors (torch.EMAUpdate). The ramp of
// d, as in TensorFlow's ExponentialMovingAverage with num_updates, lets
// the average forget the random initial weights within a few dozen steps
// rather than some 1/(1-EMA) of them, and makes it average over roughly
// the last ninth of the steps so far until that reaches 1/(1-EMA); with
// EMA 0 the average is the weights exactly.
//
// BatchNorm's running means and variances are averaged with the same
// decay as the weights, not copied. The running statistics describe the
// activations of the weights they were gathered under; copying the raw
// model's would pair weights averaged over the last ~1/(1-d) steps with
// statistics of the last ~10 (BatchNorm's momentum is 0.1). A layer's
// output is linear in its weights, so for the first layer the mean
// activation under the averaged weights is exactly the average of the
// means under each step's weights, which is what averaging the running
// means gives (up to their own lag); deeper layers and the variances
// follow approximately, closely when the weights move little over the
// window, which is when an average helps. Recomputing the statistics
// exactly would take a pass over the training part per evaluation.
// Integer buffers (num_batches_tracked, unused with a fixed momentum)
// are copied.
type weightAverage struct {
	decay    float64
	model    models.Model    // the average, in evaluation mode
	avg, src []*torch.Tensor // the average's tensors and the trained model's, by name in the same order
}

// emaRampSteps shapes the ramp of the decay: (1+t)/(emaRampSteps+t).
const emaRampSteps = 10

// newWeightAverage returns an average of m's tensors starting at their
// values now. It builds a model of m's spec on dev, which draws from
// LibTorch's generator: call it where that does not matter (every
// training step reseeds it).
func newWeightAverage(m models.Model, decay float64, dev torch.Device) (*weightAverage, error) {
	avg, err := models.New(m.Spec(), dev)
	if err != nil {
		return nil, fmt.Errorf("EMA: %w", err)
	}
	a := &weightAverage{decay: decay, model: avg}
	if channelsLast(m.Store()) {
		avg.Store().ToChannelsLast()
	}
	if err := avg.Store().CopyFrom(m.Store()); err != nil {
		avg.Store().Free()
		return nil, fmt.Errorf("EMA: %w", err)
	}
	avg.Store().Eval()
	byName := m.Store().StateDict()
	for _, nt := range avg.Store().NamedTensors() {
		a.avg = append(a.avg, nt.Tensor)
		a.src = append(a.src, byName[nt.Name])
	}
	return a, nil
}

// decayAt is the decay applied after optimiser step t (from 0).
func (a *weightAverage) decayAt(t int) float64 {
	return min(a.decay, float64(1+t)/float64(emaRampSteps+t))
}

// update moves the average towards the trained model's tensors after
// optimiser step t (from 0).
func (a *weightAverage) update(t int) {
	torch.EMAUpdate(a.avg, a.src, a.decayAt(t))
}

// Free releases the average's tensors.
func (a *weightAverage) Free() {
	if a != nil {
		a.model.Store().Free()
	}
}

// channelsLast reports whether any tensor of s is laid out channels last.
func channelsLast(s *nn.Store) bool {
	for _, t := range s.Params() {
		if t.IsChannelsLast() {
			return true
		}
	}
	return false
}
