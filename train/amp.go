package train

import (
	"github.com/fkd-project/fkd/torch"
)

// mixedPrecision is the --amp setting of a run.
type mixedPrecision struct {
	dtype  torch.DType // Float16 or BFloat16
	scaler *lossScaler // float16 only
}

// lossScaler keeps float16 gradients inside float16's range: the loss is
// multiplied by scale before backward and the gradients divided by it
// after. A step whose gradients overflow is skipped and the scale halved;
// after lossScalerGrowth clean steps in a row it doubles. These are the
// defaults of PyTorch's GradScaler. The scaler's state is not in the
// checkpoint: a resumed fp16 run starts again from the initial scale.
type lossScaler struct {
	scale float64
	clean int // steps since the last overflow or growth
}

const (
	lossScalerInit   = 1 << 16
	lossScalerGrowth = 2000
)

func newLossScaler() *lossScaler { return &lossScaler{scale: lossScalerInit} }

// unscale divides the gradients of params by the scale and reports whether
// they are all finite, updating the scale. It checks every gradient in one
// call, with one read back from the device.
func (s *lossScaler) unscale(params []*torch.Tensor) bool {
	if torch.UnscaleGrads(params, 1/s.scale) {
		s.scale /= 2
		s.clean = 0
		return false
	}
	if s.clean++; s.clean >= lossScalerGrowth {
		s.scale *= 2
		s.clean = 0
	}
	return true
}
