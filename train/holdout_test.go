package train

import (
	"encoding/json"
	"testing"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/models"
)

func TestOwnHoldout(t *testing.T) {
	drop := DefaultConfig()
	drop.DropOutliers = true
	dropJSON, _ := json.Marshal(drop)
	keepJSON, _ := json.Marshal(DefaultConfig())
	tests := []struct {
		name     string
		extra    map[string]string
		fraction float64
		seed     int64
		drop, ok bool
	}{
		{"recorded", map[string]string{ExtraHoldout: "0.1", ExtraSeed: "7", ExtraConfig: string(keepJSON)}, 0.1, 7, false, true},
		{"dropped outliers", map[string]string{ExtraHoldout: "0.2", ExtraSeed: "1", ExtraConfig: string(dropJSON)}, 0.2, 1, true, true},
		{"no config", map[string]string{ExtraHoldout: "0.2", ExtraSeed: "1"}, 0.2, 1, false, true},
		{"no hold-out part", map[string]string{ExtraHoldout: "0", ExtraSeed: "1"}, 0, 0, false, false},
		{"no seed", map[string]string{ExtraHoldout: "0.1"}, 0, 0, false, false},
		{"nothing", nil, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, s, d, ok := OwnHoldout(models.Meta{Extra: tt.extra})
			if f != tt.fraction || s != tt.seed || d != tt.drop || ok != tt.ok {
				t.Errorf("got %v, %v, %v, %v; want %v, %v, %v, %v", f, s, d, ok, tt.fraction, tt.seed, tt.drop, tt.ok)
			}
		})
	}
}

func TestWithoutOutliers(t *testing.T) {
	set := synth.Generate(20, 3, synth.Options{})
	c, _ := set.Keypoints(5)
	c[22], c[23] = c[2]-5, c[3]-6 // mouth_left_corner above the right eye centre
	if n := len(dataset.Outliers(set)); n != 1 {
		t.Fatalf("%d outliers, want 1", n)
	}
	got := WithoutOutliers(set, []int{1, 5, 9, 12})
	if len(got) != 3 || got[0] != 1 || got[1] != 9 || got[2] != 12 {
		t.Errorf("got %v, want [1 9 12]", got)
	}
}
