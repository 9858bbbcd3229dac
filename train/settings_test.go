package train

import (
	"reflect"
	"strings"
	"testing"
)

// TestSettingsClassifyEveryField: every Config field with a JSON key is in
// Settings exactly once, and every setting names a real field; a field
// added later fails here until it is classified.
func TestSettingsClassifyEveryField(t *testing.T) {
	keys := map[string]int{}
	for _, s := range Settings {
		keys[s.Key]++
	}
	typ := reflect.TypeOf(Config{})
	fields := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if key == "-" || key == "" {
			continue
		}
		fields[key] = true
		if keys[key] != 1 {
			t.Errorf("Config.%s (%q) is in Settings %d times, want once", typ.Field(i).Name, key, keys[key])
		}
	}
	for key := range keys {
		if !fields[key] {
			t.Errorf("Settings names %q, which is no Config field", key)
		}
	}
}

// TestSettingsValues: a setting's Value and FlagValue read its own field,
// and Learnt settings make trajectoryMismatch name them.
func TestSettingsValues(t *testing.T) {
	base := DefaultConfig()
	// With a teacher, so that the pseudo-label weight counts.
	base.PseudoLabels = []string{"t.pt"}
	changed := Config{
		Model: "fpn", Epochs: 7, Batch: 5, LR: 0.5, Optimizer: "sgd", WeightDecay: 0.25, Schedule: "step",
		Warmup: 2, StepSize: 3, StepGamma: 0.5, Loss: Huber, Patience: 4, Seed: 9, Device: "cpu", Threads: 3,
		AMP: "bf16", MemoryFormat: "contiguous", ClipNorm: 2, Augment: "flip", Holdout: 0.3, SplitSeed: 5, DropOutliers: true, EMA: 0.99,
		PseudoLabels: []string{"u.pt", "v.pt"}, PseudoWeight: 0.25, HeatmapLoss: 0.1, Checkpoint: "c", Out: "o", ConfigFile: "/etc/fkd.yml",
	}
	for _, s := range Settings {
		if reflect.DeepEqual(s.Value(&base), s.Value(&changed)) || s.FlagValue(&base) == s.FlagValue(&changed) {
			t.Errorf("%s: Value or FlagValue does not follow the field (%v, %q)", s.Key, s.Value(&changed), s.FlagValue(&changed))
		}
		one := base
		field := reflect.ValueOf(&one).Elem().FieldByIndex(fieldIndex(t, s.Key))
		field.Set(reflect.ValueOf(changed).FieldByIndex(fieldIndex(t, s.Key)))
		got := one.trajectoryMismatch(&base)
		if want := s.Kind == Learnt; (got != "") != want {
			t.Errorf("%s (kind %d): trajectoryMismatch = %q", s.Key, s.Kind, got)
		}
	}
}

func fieldIndex(t *testing.T, key string) []int {
	t.Helper()
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		if k, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); k == key {
			return typ.Field(i).Index
		}
	}
	t.Fatalf("no field %q", key)
	return nil
}

// TestPseudoWeightWithoutTeachers: without teachers the pseudo-label
// weight is no setting (a run does not differ by it), and 0 is the
// default weight.
func TestPseudoWeightWithoutTeachers(t *testing.T) {
	tests := []struct {
		name     string
		a, b     Config
		mismatch bool
	}{
		{"no teachers", Config{PseudoWeight: 0.3}, Config{}, false},
		{"default", Config{PseudoLabels: []string{"t"}, PseudoWeight: DefaultPseudoWeight}, Config{PseudoLabels: []string{"t"}}, false},
		{"teachers", Config{PseudoLabels: []string{"t"}, PseudoWeight: 0.3}, Config{PseudoLabels: []string{"t"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := DefaultConfig(), DefaultConfig()
			a.PseudoLabels, a.PseudoWeight = tt.a.PseudoLabels, tt.a.PseudoWeight
			b.PseudoLabels, b.PseudoWeight = tt.b.PseudoLabels, tt.b.PseudoWeight
			if got := a.trajectoryMismatch(&b); (got != "") != tt.mismatch {
				t.Errorf("trajectoryMismatch = %q, want a mismatch: %v", got, tt.mismatch)
			}
		})
	}
}
