package train

import (
	"strconv"
	"strings"
)

// SettingKind says what a training setting changes.
type SettingKind int

const (
	// Learnt settings decide the weights a run produces: a resumed run
	// must keep them, and two runs that differ in one are different runs.
	Learnt SettingKind = iota
	// Tunable settings change the result too (mixed precision changes
	// the arithmetic, patience when the run stops), but a resumed run may
	// change them: a run started on the CPU may go on in bf16 on a GPU.
	Tunable
	// Placement settings say where a run computes and where its files go;
	// they change nothing it learns, and reports leave them out.
	Placement
)

// Setting describes one field of Config.
type Setting struct {
	Key  string // the JSON key in histories, checkpoints and model files
	Flag string // the fkd train flag that sets it
	Kind SettingKind
	// Kept settings are taken over from the checkpoint by a resumed run
	// unless the command line gives them.
	Kept bool
	// Value is the setting as runs are compared by: canonical where two
	// spellings mean the same (augmentation recipes, the step schedule's
	// default step size).
	Value func(*Config) any
	// FlagValue is the setting as the text of its flag.
	FlagValue func(*Config) string
}

// Settings classifies every field of Config once; a test checks that none
// is missing. Resuming, fkd compare's reuse of finished runs and reports
// all derive what matters from it.
var Settings = []Setting{
	{"model", "arch", Learnt, true, func(c *Config) any { return c.Model }, func(c *Config) string { return c.Model }},
	{"epochs", "epochs", Learnt, true, func(c *Config) any { return c.Epochs }, func(c *Config) string { return strconv.Itoa(c.Epochs) }},
	{"batch", "batch", Learnt, true, func(c *Config) any { return c.Batch }, func(c *Config) string { return strconv.Itoa(c.Batch) }},
	{"lr", "lr", Learnt, true, func(c *Config) any { return c.LR }, func(c *Config) string { return formatFloat(c.LR) }},
	{"optimizer", "optimizer", Learnt, true, func(c *Config) any { return c.Optimizer }, func(c *Config) string { return c.Optimizer }},
	{"weight_decay", "weight-decay", Learnt, true, func(c *Config) any { return c.WeightDecay }, func(c *Config) string { return formatFloat(c.WeightDecay) }},
	{"schedule", "schedule", Learnt, true, func(c *Config) any { return c.Schedule }, func(c *Config) string { return c.Schedule }},
	{"warmup", "warmup", Learnt, true, func(c *Config) any { return c.Warmup }, func(c *Config) string { return strconv.Itoa(c.Warmup) }},
	{"step_size", "step-size", Learnt, true, func(c *Config) any { return c.stepSize() }, func(c *Config) string { return strconv.Itoa(c.StepSize) }},
	{"step_gamma", "step-gamma", Learnt, true, func(c *Config) any { return c.StepGamma }, func(c *Config) string { return formatFloat(c.StepGamma) }},
	{"loss", "loss", Learnt, true, func(c *Config) any { return c.Loss }, func(c *Config) string { return string(c.Loss) }},
	{"patience", "patience", Tunable, true, func(c *Config) any { return c.Patience }, func(c *Config) string { return strconv.Itoa(c.Patience) }},
	{"seed", "seed", Learnt, true, func(c *Config) any { return c.Seed }, func(c *Config) string { return strconv.FormatInt(c.Seed, 10) }},
	{"split_seed", "split-seed", Learnt, true, func(c *Config) any { return c.HoldoutSeed() }, func(c *Config) string { return strconv.FormatInt(c.SplitSeed, 10) }},
	{"device", "device", Placement, false, func(c *Config) any { return c.Device }, func(c *Config) string { return c.Device }},
	{"threads", "threads", Placement, false, func(c *Config) any { return c.Threads }, func(c *Config) string { return strconv.Itoa(c.Threads) }},
	{"amp", "amp", Tunable, true, func(c *Config) any { return c.AMP }, func(c *Config) string { return c.AMP }},
	{"memory_format", "memory-format", Tunable, true, func(c *Config) any { return c.memoryFormat() }, func(c *Config) string { return c.MemoryFormat }},
	{"clip_norm", "clip", Learnt, true, func(c *Config) any { return c.ClipNorm }, func(c *Config) string { return formatFloat(c.ClipNorm) }},
	{"augment", "augment", Learnt, true, func(c *Config) any { return c.augmentString() }, func(c *Config) string { return c.Augment }},
	{"holdout", "holdout", Learnt, true, func(c *Config) any { return c.Holdout }, func(c *Config) string { return formatFloat(c.Holdout) }},
	{"drop_outliers", "drop-outliers", Learnt, true, func(c *Config) any { return c.DropOutliers }, func(c *Config) string { return strconv.FormatBool(c.DropOutliers) }},
	{"ema", "ema", Learnt, true, func(c *Config) any { return c.EMA }, func(c *Config) string { return formatFloat(c.EMA) }},
	{"pseudo_labels", "pseudo-labels", Learnt, true, func(c *Config) any { return strings.Join(c.PseudoLabels, ",") },
		func(c *Config) string { return strings.Join(c.PseudoLabels, ",") }},
	// Without teachers the weight is no setting at all.
	{"pseudo_weight", "pseudo-weight", Learnt, true, func(c *Config) any { return c.pseudoWeight() }, func(c *Config) string { return formatFloat(c.PseudoWeight) }},
	{"heatmap_loss", "heatmap-loss", Learnt, true, func(c *Config) any { return c.HeatmapLoss }, func(c *Config) string { return formatFloat(c.HeatmapLoss) }},
	{"checkpoint", "checkpoint", Placement, false, func(c *Config) any { return c.Checkpoint }, func(c *Config) string { return c.Checkpoint }},
	// A resumed run writes its model where the interrupted one would have.
	{"out", "out", Placement, true, func(c *Config) any { return c.Out }, func(c *Config) string { return c.Out }},
	{"config_file", "config", Placement, false, func(c *Config) any { return c.ConfigFile }, func(c *Config) string { return c.ConfigFile }},
}

// IsPlacement reports whether the setting with JSON key key changes
// nothing a run learns (device, threads, file paths).
func IsPlacement(key string) bool {
	for _, s := range Settings {
		if s.Key == key {
			return s.Kind == Placement
		}
	}
	return false
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
