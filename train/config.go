package train

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fkd-project/fkd/augment"
	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/torch"
)

// Config is everything that decides a training run. It is stored, as
// JSON, in every checkpoint and in the saved model, so a run can be
// resumed and a model traced back to how it was made.
type Config struct {
	Model       string  `json:"model"`        // model spec for models.ParseSpec: "cnn3", "fpn:width=48"
	Epochs      int     `json:"epochs"`       // passes over the training part
	Batch       int     `json:"batch"`        // faces per optimiser step
	LR          float64 `json:"lr"`           // base (peak, for onecycle) learning rate
	Optimizer   string  `json:"optimizer"`    // "adamw", "adam" or "sgd" (Nesterov momentum 0.9)
	WeightDecay float64 `json:"weight_decay"` // decoupled for adamw, an L2 term for adam and sgd
	Schedule    string  `json:"schedule"`     // "cosine", "step", "onecycle" or "none"
	Warmup      int     `json:"warmup"`       // epochs of linear warm-up before cosine, step or none
	StepSize    int     `json:"step_size"`    // step: epochs between decays; 0 means a third of Epochs
	StepGamma   float64 `json:"step_gamma"`   // step: factor applied at each decay
	Loss        Loss    `json:"loss"`         // MSE, Huber or Wing
	Patience    int     `json:"patience"`     // stop after this many epochs without a better hold-out RMSE; 0: never
	Seed        int64   `json:"seed"`         // decides the split (unless SplitSeed), initial weights, batch order and dropout
	Device      string  `json:"device"`       // for torch.ParseDevice: "auto", "cpu", "cuda", "cuda:N"
	Threads     int     `json:"threads"`      // LibTorch CPU threads; 0: one per core
	AMP         string  `json:"amp"`          // "", "bf16" or "fp16": mixed precision, CUDA only
	// MemoryFormat lays the model's convolution weights, and so its
	// activations, out in memory: "channels-last" (NHWC), "contiguous"
	// (NCHW), or "auto" or "": channels last on the CPU, where LibTorch's
	// convolutions run faster that way, contiguous on CUDA.
	// The arithmetic differs in rounding only.
	MemoryFormat string  `json:"memory_format,omitempty"`
	ClipNorm     float64 `json:"clip_norm"` // clip the gradients' joint L2 norm to this; 0: no clipping
	Augment      string  `json:"augment"`   // augmentation of training batches, for augment.ParseRecipe; "" or "none": off
	Holdout      float64 `json:"holdout"`   // fraction of faces held out for validation, in [0, 1)
	// SplitSeed, when not 0, decides the split instead of Seed, so that
	// runs of different seeds can share one hold-out part (as the members
	// of an ensemble must). HoldoutSeed says which seed splits.
	SplitSeed int64 `json:"split_seed,omitempty"`
	// DropOutliers leaves the faces dataset.Outliers finds out of
	// training and out of the hold-out score.
	DropOutliers bool `json:"drop_outliers,omitempty"`
	// EMA is the decay of an exponential moving average of the weights
	// (and of the BatchNorm statistics) kept beside them, in [0, 1); 0:
	// none. Every epoch scores the average on the hold-out part as well,
	// and the saved model is whichever of the two scored best (see
	// ema.go).
	EMA float64 `json:"ema,omitempty"`
	// PseudoLabels are teacher models (files of models.Save) whose
	// flip-TTA predictions, averaged over the teachers, fill the missing
	// coordinates of the training part's faces before training; never a
	// hold-out face's, never a true label. A teacher trained on any of
	// this run's hold-out faces is refused (see pseudo.go).
	PseudoLabels []string `json:"pseudo_labels,omitempty"`
	// PseudoWeight is the weight of a pseudo-labelled coordinate in the
	// loss, in (0, 1), below a true label's 1; 0 means DefaultPseudoWeight.
	// Without PseudoLabels it is ignored.
	PseudoWeight float64 `json:"pseudo_weight,omitempty"`
	// HeatmapLoss is the weight of a loss on the heatmaps of a model
	// that reads its keypoints off them (HeatmapLoss in loss.go) added to
	// the coordinate loss; 0: none. The training loss in the history
	// includes it; the hold-out loss does not.
	HeatmapLoss float64 `json:"heatmap_loss,omitempty"`
	Checkpoint  string  `json:"checkpoint"` // checkpoint file; "" means beside Out (see CheckpointPath)
	Out         string  `json:"out"`        // the trained model's file
	// ConfigFile is the config file whose settings the run was given
	// (absolute), "" when none was read: a record of where the settings
	// came from, which changes nothing the run learns.
	ConfigFile string `json:"config_file,omitempty"`
	// Resume continues the run whose checkpoint is at CheckpointPath
	// instead of starting afresh. Settings that shape the trajectory must
	// match the checkpoint's (see Run).
	Resume bool `json:"-"`
}

// DefaultConfig returns the defaults of "fkd train".
func DefaultConfig() Config {
	return Config{
		Model:       "cnn3",
		Epochs:      30,
		Batch:       64,
		LR:          1e-3,
		Optimizer:   "adamw",
		WeightDecay: 1e-4,
		Schedule:    "cosine",
		StepGamma:   0.1,
		Loss:        MSE,
		Seed:        1,
		Device:      "auto",
		Holdout:     0.1,
		Out:         "output/model.pt",
	}
}

// Optimisers and schedules by name.
var (
	optimizers = []string{"adamw", "adam", "sgd"}
	schedules  = []string{"cosine", "step", "onecycle", "none"}
	ampModes   = []string{"", "bf16", "fp16"}
	// memoryFormats are the values of MemoryFormat.
	memoryFormats = []string{"", "auto", "channels-last", "contiguous"}
)

// SGDMomentum is the Nesterov momentum of the "sgd" optimiser.
const SGDMomentum = 0.9

// WarmupStartFactor is the fraction of the base learning rate that a
// warm-up starts from.
const WarmupStartFactor = 0.1

// Validate checks the settings on their own, without touching data or
// devices, and names the first one that is wrong.
func (c *Config) Validate() error {
	_, lossErr := ParseLoss(string(c.Loss))
	_, augErr := c.augmentation()
	switch {
	case strings.TrimSpace(c.Model) == "":
		return fmt.Errorf("no model spec")
	case c.Epochs <= 0:
		return fmt.Errorf("epochs %d: want at least 1", c.Epochs)
	case c.Batch < 2:
		return fmt.Errorf("batch %d: want at least 2 (batch normalisation needs two faces)", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate %g: want a positive number", c.LR)
	case !oneOf(c.Optimizer, optimizers):
		return fmt.Errorf("optimizer %q: want %s", c.Optimizer, strings.Join(optimizers, ", "))
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("weight decay %g: want >= 0", c.WeightDecay)
	case !oneOf(c.Schedule, schedules):
		return fmt.Errorf("schedule %q: want %s", c.Schedule, strings.Join(schedules, ", "))
	case c.Warmup < 0 || c.Warmup >= c.Epochs:
		return fmt.Errorf("warm-up of %d epochs: want at least 0 and fewer than the %d epochs", c.Warmup, c.Epochs)
	case c.Warmup > 0 && c.Schedule == "onecycle":
		return fmt.Errorf("warm-up with the onecycle schedule: onecycle warms up by itself; set warm-up to 0")
	case c.StepSize < 0:
		return fmt.Errorf("step size %d: want >= 0", c.StepSize)
	case !(c.StepGamma >= 0):
		return fmt.Errorf("step gamma %g: want >= 0", c.StepGamma)
	case lossErr != nil:
		return lossErr
	case c.Patience < 0:
		return fmt.Errorf("patience %d: want >= 0", c.Patience)
	case c.Patience > 0 && c.Holdout == 0:
		return fmt.Errorf("patience %d needs a hold-out part to watch; set a hold-out fraction", c.Patience)
	case c.Threads < 0:
		return fmt.Errorf("threads %d: want >= 0", c.Threads)
	case !oneOf(c.AMP, ampModes):
		return fmt.Errorf("amp %q: want bf16 or fp16, or nothing", c.AMP)
	case !oneOf(c.MemoryFormat, memoryFormats):
		return fmt.Errorf("memory format %q: want auto, channels-last or contiguous", c.MemoryFormat)
	case !(c.ClipNorm >= 0):
		return fmt.Errorf("clip norm %g: want >= 0", c.ClipNorm)
	case augErr != nil:
		return augErr
	case !(c.Holdout >= 0 && c.Holdout < 1):
		return fmt.Errorf("hold-out fraction %g: want it in [0, 1)", c.Holdout)
	case !(c.EMA >= 0 && c.EMA < 1):
		return fmt.Errorf("EMA decay %g: want it in [0, 1) (0: no average)", c.EMA)
	case !(c.PseudoWeight >= 0 && c.PseudoWeight < 1):
		return fmt.Errorf("pseudo-label weight %g: want it in (0, 1), below a true label's 1 (0: the default, %g)",
			c.PseudoWeight, DefaultPseudoWeight)
	case slices.Contains(c.PseudoLabels, ""):
		return fmt.Errorf("pseudo-label teachers %q: an empty path", c.PseudoLabels)
	case !(c.HeatmapLoss >= 0) || math.IsInf(c.HeatmapLoss, 0):
		return fmt.Errorf("heatmap loss weight %g: want a number >= 0 (0: none)", c.HeatmapLoss)
	case c.Out == "":
		return fmt.Errorf("no output model path")
	case atomicfile.IsStdout(c.Out):
		return fmt.Errorf("output model %q: the model needs a file (its history and checkpoint go beside it)", c.Out)
	case c.CheckpointPath() == c.Out:
		return fmt.Errorf("checkpoint %q is the model file too: give them different names", c.Out)
	case atomicfile.IsStdout(c.CheckpointPath()):
		return fmt.Errorf("checkpoint %q: a checkpoint needs a file, to resume from", c.CheckpointPath())
	}
	return nil
}

// ChannelsLast reports whether a run on dev lays its model out channels
// last (see MemoryFormat).
func (c *Config) ChannelsLast(dev torch.Device) bool {
	switch c.MemoryFormat {
	case "channels-last":
		return true
	case "contiguous":
		return false
	}
	return !dev.IsCUDA()
}

// memoryFormat is MemoryFormat in its canonical form, for comparing runs.
func (c *Config) memoryFormat() string {
	if c.MemoryFormat == "" {
		return "auto"
	}
	return c.MemoryFormat
}

// OutputPaths returns the files a run writes: the model, its checkpoint
// and its history.
func (c *Config) OutputPaths() []string {
	return []string{c.Out, c.CheckpointPath(), c.HistoryPath()}
}

// CheckOutputs checks, with atomicfile.Check, that every file a run
// writes can be written (none is a directory, their directories exist or
// can be made and take new files), so that a run fails before its first
// epoch rather than after its last.
func (c *Config) CheckOutputs() error {
	for _, p := range c.OutputPaths() {
		if err := atomicfile.Check(p); err != nil {
			return err
		}
	}
	return nil
}

// augmentation parses Augment.
func (c *Config) augmentation() (augment.Options, error) {
	if strings.TrimSpace(c.Augment) == "" {
		return augment.Options{}, nil
	}
	return augment.ParseRecipe(c.Augment)
}

// augmentString is Augment in its canonical form, for comparing runs.
func (c *Config) augmentString() string {
	o, err := c.augmentation()
	if err != nil {
		return c.Augment
	}
	return o.String()
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// CheckpointPath returns where the run's checkpoint lives: Checkpoint when
// set, else Out with its extension replaced by ".ckpt"
// (output/model.pt → output/model.ckpt).
func (c *Config) CheckpointPath() string {
	if c.Checkpoint != "" {
		return c.Checkpoint
	}
	return strings.TrimSuffix(c.Out, filepath.Ext(c.Out)) + ".ckpt"
}

// HistoryPath returns the file that holds the run's per-epoch history:
// Out with its extension replaced by ".history.json".
func (c *Config) HistoryPath() string {
	return strings.TrimSuffix(c.Out, filepath.Ext(c.Out)) + ".history.json"
}

// stepSize returns the epochs between the step schedule's decays.
func (c *Config) stepSize() int {
	if c.StepSize > 0 {
		return c.StepSize
	}
	return max(c.Epochs/3, 1)
}

// trajectoryMismatch names the first Learnt setting (see Settings) in
// which c differs from the configuration a checkpoint was made with; ""
// when they agree. Tunable and Placement settings may change on resuming.
func (c *Config) trajectoryMismatch(ck *Config) string {
	for _, s := range Settings {
		if s.Kind != Learnt {
			continue
		}
		if have, was := s.Value(c), s.Value(ck); have != was {
			return fmt.Sprintf("%s %v (the checkpoint's run has %v)", strings.ReplaceAll(s.Key, "_", " "), have, was)
		}
	}
	return ""
}

// HoldoutSeed returns the seed of the run's split of the faces into
// training and hold-out parts: SplitSeed, or Seed when SplitSeed is 0.
func (c *Config) HoldoutSeed() int64 {
	if c.SplitSeed != 0 {
		return c.SplitSeed
	}
	return c.Seed
}
