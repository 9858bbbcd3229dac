package report

import (
	"math"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/train"
)

func TestReportFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{FormatCount(91712), "91.7 k"},
		{FormatCount(2837840), "2.84 M"},
		{FormatCount(512), "512"},
		{formatMACs(-1), "–"},
		{FormatSeconds(2.58), "2.6 s"},
		{FormatSeconds(103.02), "1m43s"},
		{FormatSeconds(3725), "1h02m"},
		{FormatRMSE(1.97054), "1.971"},
		{FormatRMSE(math.NaN()), "–"},
		{FileSafe("fpn:width=48,dropout=0.2"), "fpn-width-48-dropout-0.2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSettingsLine(t *testing.T) {
	c := train.DefaultConfig()
	c.Out, c.Device, c.Threads = "/somewhere/model.pt", "cuda", 4
	got := Settings(c)
	for _, want := range []string{"model cnn3", "epochs 30", "lr 0.001", "loss mse", "holdout 0.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("settings %q lack %q", got, want)
		}
	}
	for _, unwanted := range []string{"somewhere", "cuda", "threads", "amp"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("settings %q show %q", got, unwanted)
		}
	}
}
