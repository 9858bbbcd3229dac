package train

import (
	"fmt"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

// trainStep runs one optimiser step on the faces at idx and adds its
// figures to the epoch's running sums.
func (r *runner) trainStep(idx []int64) error {
	err := torch.Catch(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.ManualSeed(stepSeed(r.cfg.Seed, r.global))
		x, y, mask := r.train.batch(idx)
		if !r.augment.IsZero() {
			x, y, mask = augment.Apply(x, y, mask, r.augment)
		}
		pred, maps := r.forward(x)
		loss := MaskedLoss(r.cfg.Loss, pred, y, mask)
		if maps != nil {
			loss = loss.Add(HeatmapLoss(maps, y, mask).MulScalar(r.cfg.HeatmapLoss))
		}
		// The training RMSE is over the true labels, which weigh 1;
		// pseudo-labels weigh less.
		labelled := mask
		if r.pseudo != nil {
			labelled = mask.EqScalar(1).ToDType(torch.Float32)
		}
		sse := pred.Detach().Sub(y).Square().Mul(labelled).Sum()
		r.addStep(loss, sse, labelled.Sum(), len(idx), r.step+1)
		if err := r.sched.apply(r.opt, r.global); err != nil {
			panic(&torch.Error{Op: "schedule", Msg: err.Error()})
		}
		if r.amp != nil && r.amp.scaler != nil {
			loss.MulScalar(r.amp.scaler.scale).Backward()
			if !r.amp.scaler.unscale(r.opt.Params()) {
				// An overflow: skip this update; the scale was lowered.
				r.opt.ZeroGrad()
				return
			}
		} else {
			loss.Backward()
		}
		if r.cfg.ClipNorm > 0 {
			torch.ClipGradNormTensor(r.opt.Params(), r.cfg.ClipNorm)
		}
		r.opt.Step()
		r.opt.ZeroGrad()
		if r.ema != nil {
			r.ema.update(r.global)
		}
	})
	if err != nil {
		return fmt.Errorf("epoch %d step %d: %w", r.epoch+1, r.step+1, err)
	}
	r.running.Faces += len(idx)
	return nil
}

// forward runs the model on a training batch, under autocast when mixed
// precision is on, and returns float32 predictions, and with
// Config.HeatmapLoss the heatmaps they were read from (else nil).
func (r *runner) forward(x *torch.Tensor) (pred, maps *torch.Tensor) {
	run := func() {
		if r.cfg.HeatmapLoss > 0 {
			pred, maps, _ = models.Heatmaps(r.model, x)
		} else {
			pred = r.model.Forward(x)
		}
	}
	if r.amp == nil {
		run()
		return pred, maps
	}
	torch.Autocast(r.dev, r.amp.dtype, run)
	if maps != nil {
		maps = maps.ToDType(torch.Float32)
	}
	return pred.ToDType(torch.Float32), maps
}
