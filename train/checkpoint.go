package train

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/torch"
	"github.com/fkd-project/fkd/torch/nn"
)

// A checkpoint is one safetensors file (see package torch/nn) holding
// everything a run needs to continue exactly where it stopped:
//
//   - tensors "model.<name>": the model's parameters and buffers now;
//   - tensors "best.<name>": the best model so far by hold-out RMSE, when
//     one has been scored (the raw weights or their average);
//   - tensors "ema.<name>": the moving average of the model's tensors,
//     with Config.EMA;
//   - tensor "pseudo.coords": the pseudo-labels of the training part,
//     float32 [faces, 30] in pixels, 0 where a face has its true label,
//     with Config.PseudoLabels;
//   - tensors "optim.<buffer>.<i>" and metadata "optim.*": the optimiser's
//     state (optim.Optimizer.StateDict);
//   - metadata "fkd.format" (CheckpointFormat), "fkd.config" (the Config
//     as JSON), "fkd.progress" (where the run stands: epochs done, steps
//     done in the current epoch, the global step, the best epoch and its
//     RMSE, epochs since it, the running sums of the epoch so far and the
//     history, as JSON), "fkd.data" (a fingerprint of the training
//     data) and "fkd.data_paths" (the data files, as DataPaths in JSON;
//     absent when unknown).
//
// Checkpoints are written atomically at the end of every epoch and when a
// run is interrupted; a run that fails (a non-finite loss) leaves the last
// one as it was.

// CheckpointFormat names the layout of checkpoints; files of another
// layout are refused.
const CheckpointFormat = "fkd-train-checkpoint/1"

const (
	metaFormat   = "fkd.format"
	metaConfig   = "fkd.config"
	metaProgress = "fkd.progress"
	metaData     = "fkd.data"
	metaPaths    = "fkd.data_paths"

	modelPrefix  = "model."
	bestPrefix   = "best."
	emaPrefix    = "ema."
	pseudoTensor = "pseudo.coords"
)

// Progress is where a run stands, as a checkpoint records it.
type Progress struct {
	Epoch      int          `json:"epoch"`       // epochs completed
	Step       int          `json:"step"`        // steps completed in the epoch after those
	GlobalStep int          `json:"global_step"` // optimiser steps in all
	BestEpoch  int          `json:"best_epoch"`  // epoch (from 1) of the best hold-out RMSE; 0 for none yet
	BestRMSE   *float64     `json:"best_holdout_rmse_px"`
	SinceBest  int          `json:"epochs_since_best"`  // epochs completed since the best one
	BestEMA    bool         `json:"best_ema,omitempty"` // whether the best were the weights' moving average
	Running    Running      `json:"running"`            // the current epoch so far
	History    []EpochStats `json:"history"`            // the completed epochs
	Stopped    string       `json:"stopped,omitempty"`  // why the run ended; empty while it can go on
}

// Running holds the sums of an epoch's training steps so far, from which
// its training loss and RMSE are computed when it ends.
type Running struct {
	LossSum float64 `json:"loss_sum"` // batch loss times batch size
	SSE     float64 `json:"sse"`      // squared error over present coordinates, normalised units
	Coords  float64 `json:"coords"`   // present coordinates
	Faces   int     `json:"faces"`
	Seconds float64 `json:"seconds"` // wall time spent on the epoch before an interruption
}

// DataPaths are the files a run read its data from, as absolute paths,
// so that a resumed run can read them again without being told. An empty
// path is one not known or that could not be kept (standard input, a
// pipe): a resumed run must then be given it.
type DataPaths struct {
	Train  string `json:"train,omitempty"`
	Test   string `json:"test,omitempty"`
	Lookup string `json:"lookup,omitempty"`
}

// Checkpoint is the metadata of a checkpoint file.
type Checkpoint struct {
	Path      string
	Config    Config
	Progress  Progress
	Data      string    // fingerprint of the training data
	DataPaths DataPaths // where the data came from; the fingerprint decides whether it is the same
}

// ReadCheckpoint reads the metadata of the checkpoint at path, without
// its tensors.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	meta, err := nn.LoadMetadata(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return parseCheckpointMeta(path, meta)
}

func parseCheckpointMeta(path string, meta map[string]string) (*Checkpoint, error) {
	if f := meta[metaFormat]; f != CheckpointFormat {
		if f == "" {
			return nil, fmt.Errorf("read checkpoint %s: not an fkd training checkpoint (no %s metadata)", path, metaFormat)
		}
		return nil, fmt.Errorf("read checkpoint %s: format %q, want %q", path, f, CheckpointFormat)
	}
	ck := &Checkpoint{Path: path, Data: meta[metaData]}
	if err := json.Unmarshal([]byte(meta[metaConfig]), &ck.Config); err != nil {
		return nil, fmt.Errorf("read checkpoint %s: metadata %s: %w", path, metaConfig, err)
	}
	if err := json.Unmarshal([]byte(meta[metaProgress]), &ck.Progress); err != nil {
		return nil, fmt.Errorf("read checkpoint %s: metadata %s: %w", path, metaProgress, err)
	}
	if p, ok := meta[metaPaths]; ok {
		if err := json.Unmarshal([]byte(p), &ck.DataPaths); err != nil {
			return nil, fmt.Errorf("read checkpoint %s: metadata %s: %w", path, metaPaths, err)
		}
	}
	p := &ck.Progress
	if p.Epoch < 0 || p.Step < 0 || p.GlobalStep < 0 || p.Epoch > ck.Config.Epochs || len(p.History) != p.Epoch ||
		p.BestEpoch < 0 || p.BestEpoch > p.Epoch || (p.BestEpoch > 0) != (p.BestRMSE != nil) {
		return nil, fmt.Errorf("read checkpoint %s: inconsistent progress (epoch %d, step %d, %d epochs of history, best epoch %d)",
			path, p.Epoch, p.Step, len(p.History), p.BestEpoch)
	}
	return ck, nil
}

// writeCheckpoint saves the run's state to its checkpoint file.
func (r *runner) writeCheckpoint() error {
	tensors := map[string]*torch.Tensor{}
	for _, nt := range r.model.Store().NamedTensors() {
		tensors[modelPrefix+nt.Name] = nt.Tensor
	}
	if r.best != nil {
		for _, nt := range r.best.NamedTensors() {
			tensors[bestPrefix+nt.Name] = nt.Tensor
		}
	}
	if r.ema != nil {
		for _, nt := range r.ema.model.Store().NamedTensors() {
			tensors[emaPrefix+nt.Name] = nt.Tensor
		}
	}
	if r.pseudo != nil {
		t := torch.FromFloat32(r.pseudo, int64(len(r.pseudo)/dataset.NumCoords), dataset.NumCoords)
		defer t.Free()
		tensors[pseudoTensor] = t
	}
	ot, om := r.opt.StateDict()
	maps.Copy(tensors, ot)
	meta := maps.Clone(om)
	cfg, err := json.Marshal(r.cfg)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	prog, err := json.Marshal(r.progress())
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	meta[metaFormat] = CheckpointFormat
	meta[metaConfig] = string(cfg)
	meta[metaProgress] = string(prog)
	meta[metaData] = r.dataID
	if r.opts.Data != (DataPaths{}) {
		paths, err := json.Marshal(r.opts.Data)
		if err != nil {
			return fmt.Errorf("write checkpoint: %w", err)
		}
		meta[metaPaths] = string(paths)
	}
	if err := os.MkdirAll(filepath.Dir(r.ckptPath), 0o755); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := nn.Save(r.ckptPath, tensors, meta); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// progress returns where the run stands.
func (r *runner) progress() Progress {
	p := Progress{
		Epoch: r.epoch, Step: r.step, GlobalStep: r.global,
		BestEpoch: r.top.epoch, SinceBest: r.top.since, BestEMA: r.top.ema,
		Running: r.running, History: r.history, Stopped: r.stopped,
	}
	if r.top.epoch > 0 {
		p.BestRMSE = &r.top.rmse
	}
	return p
}

// restore loads the checkpoint's tensors into the run's model, best
// snapshot and optimiser, and takes up its progress.
func (r *runner) restore(ck *Checkpoint) error {
	tensors, meta, err := nn.Load(ck.Path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	defer func() {
		for _, t := range tensors {
			t.Free()
		}
	}()
	if _, err := parseCheckpointMeta(ck.Path, meta); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := loadInto(r.model.Store(), tensors, modelPrefix); err != nil {
		return fmt.Errorf("resume from %s: model: %w", ck.Path, err)
	}
	if ck.Progress.BestEpoch > 0 && r.hold != nil {
		r.best = r.model.Store().Clone(r.model.Store().Device())
		if err := loadInto(r.best, tensors, bestPrefix); err != nil {
			return fmt.Errorf("resume from %s: best model: %w", ck.Path, err)
		}
	}
	if r.ema != nil {
		if err := loadInto(r.ema.model.Store(), tensors, emaPrefix); err != nil {
			return fmt.Errorf("resume from %s: moving average of the weights: %w", ck.Path, err)
		}
	}
	if err := r.opt.LoadStateDict(tensors, meta); err != nil {
		return fmt.Errorf("resume from %s: optimiser: %w", ck.Path, err)
	}
	p := ck.Progress
	r.epoch, r.step, r.global = p.Epoch, p.Step, p.GlobalStep
	r.top = bestSoFar{epoch: p.BestEpoch, since: p.SinceBest, ema: p.BestEMA}
	if p.BestRMSE != nil {
		r.top.rmse = *p.BestRMSE
	}
	r.running, r.history, r.stopped = p.Running, p.History, p.Stopped
	return nil
}

// loadInto copies the tensors named prefix+name into dst's tensors of the
// same name; the names, shapes and dtypes must match exactly.
func loadInto(dst *nn.Store, tensors map[string]*torch.Tensor, prefix string) error {
	src := nn.NewStore(torch.CPU)
	err := torch.Catch(func() {
		for name, t := range tensors {
			rest, ok := strings.CutPrefix(name, prefix)
			if !ok {
				continue
			}
			parts := strings.Split(rest, ".")
			p := src.Root()
			for _, part := range parts[:len(parts)-1] {
				p = p.Sub(part)
			}
			p.Buffer(parts[len(parts)-1], t)
		}
	})
	if err != nil {
		return err
	}
	return dst.CopyFrom(src)
}

// readPseudo reads the pseudo-labels, n coordinates, from the checkpoint
// at path.
func readPseudo(path string, n int) ([]float32, error) {
	tensors, _, err := nn.Load(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	defer func() {
		for _, t := range tensors {
			t.Free()
		}
	}()
	t, ok := tensors[pseudoTensor]
	if !ok {
		return nil, fmt.Errorf("resume from %s: the checkpoint holds no pseudo-labels", path)
	}
	if t.DType() != torch.Float32 || t.Numel() != n {
		return nil, fmt.Errorf("resume from %s: pseudo-labels %v %s, want %d float32 coordinates", path, t.Shape(), t.DType(), n)
	}
	return t.Float32s(), nil
}
