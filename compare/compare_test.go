package compare

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/train"
)

func TestSplitModelSpecs(t *testing.T) {
	tests := []struct {
		list string
		want []string
	}{
		{"cnn3,tinyresnet,fpn", []string{"cnn3", "tinyresnet", "fpn"}},
		{" cnn3 , fpn:width=48,dropout=0.2, tinyresnet", []string{"cnn3", "fpn:dropout=0.2,width=48", "tinyresnet"}},
		{"cnn3:width=4", []string{"cnn3:width=4"}},
	}
	for _, tt := range tests {
		got, err := SplitSpecs(tt.list)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitSpecs(%q) = %q, %v; want %q", tt.list, got, err, tt.want)
		}
	}
}

func TestSplitSpecsRefusesBadSpecs(t *testing.T) {
	tests := []struct {
		list, wantErr string
	}{
		{"cnn3,tinyresnt", "did you mean tinyresnet?"},
		{"cnn3,tinyresnet:widht=8", "did you mean width?"},
		{"fpn:width=0", "want"},
		{"cnn3,,fpn", "empty model spec"},
		{"cnn3,cnn3", "given twice"},
	}
	for _, tt := range tests {
		start := time.Now()
		_, err := SplitSpecs(tt.list)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("SplitSpecs(%q): error %v, want one containing %q", tt.list, err, tt.wantErr)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("SplitSpecs(%q) took %v, want the check under a second", tt.list, d)
		}
	}
}

func TestSettingsDiffer(t *testing.T) {
	base := train.DefaultConfig()
	tests := []struct {
		name   string
		change func(c *train.Config)
		want   string
	}{
		{"same", func(*train.Config) {}, ""},
		{"paths, device and threads do not count", func(c *train.Config) {
			c.Out, c.Checkpoint, c.Device, c.Threads = "x/model.pt", "x/model.ckpt", "cuda", 3
		}, ""},
		{"epochs", func(c *train.Config) { c.Epochs = 7 }, "epochs 30, now 7"},
		{"model", func(c *train.Config) { c.Model = "fpn" }, `model "cnn3", now "fpn"`},
		{"patience", func(c *train.Config) { c.Patience = 2 }, "patience 0, now 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			if got := SettingsDiffer(base, c); got != tt.want {
				t.Errorf("settingsDiffer = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDevicesAndShardParsing(t *testing.T) {
	if got := ThreadShares(5, 2); !slices.Equal(got, []int{3, 2}) {
		t.Errorf("ThreadShares(5, 2) = %v", got)
	}
	if got := ThreadShares(1, 3); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("ThreadShares(1, 3) = %v", got)
	}
	devs, err := ParseDevices(" CPU ,cpu")
	if err != nil || !slices.Equal(DeviceLabels(devs), []string{"cpu 1", "cpu 2"}) {
		t.Errorf("ParseDevices(cpu,cpu) = %v, %v", devs, err)
	}
	tests := []struct {
		spec string
		i, n int
	}{{"1/1", 1, 1}, {"2/3", 2, 3}, {" 3 / 3 ", 3, 3}}
	for _, tt := range tests {
		if i, n, err := ParseShard(tt.spec); i != tt.i || n != tt.n || err != nil {
			t.Errorf("ParseShard(%q) = %d, %d, %v", tt.spec, i, n, err)
		}
	}
	var got []int
	for k := range 5 {
		got = append(got, report.ShardOf(k, 2))
	}
	if !slices.Equal(got, []int{1, 2, 1, 2, 1}) {
		t.Errorf("shards of 5 models over 2: %v", got)
	}
}
