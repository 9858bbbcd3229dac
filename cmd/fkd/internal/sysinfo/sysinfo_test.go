package sysinfo

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestWrite(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, "9.9.9-test"); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	cuda := "CUDA      no: this LibTorch is CPU-only"
	if torch.CUDACompiled() {
		cuda = "CUDA      yes: built with CUDA " + torch.CUDARuntimeVersion()
	}
	for _, want := range []string{
		"fkd       9.9.9-test",
		"Go        go1.",
		"LibTorch  " + torch.ReleaseVersion(),
		cuda,
		"cuDNN     ",
		"devices   cpu: ",
		"threads   ",
		"BLAS      ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestWithCommit(t *testing.T) {
	tests := []struct {
		name     string
		settings []debug.BuildSetting
		want     string
	}{
		{"no vcs", nil, "1.0"},
		{"commit", []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}}, "1.0, commit 0123456789ab"},
		{"short commit", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "1.0, commit abc"},
		{"all", []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2025-01-02T03:04:05Z"},
		}, "1.0, commit 0123456789ab with local changes of 2025-01-02T03:04:05Z"},
		{"clean", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}, "1.0, commit abc"},
		{"time without commit", []debug.BuildSetting{{Key: "vcs.time", Value: "2025-01-02T03:04:05Z"}}, "1.0"},
	}
	for _, tt := range tests {
		if got := withCommit("1.0", tt.settings); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestConfigValue(t *testing.T) {
	config := "PyTorch built with:\n  - CPU capability usage: AVX2\n  - Build settings: BLAS_INFO=open, TORCH_VERSION=2.6.0\nATen parallel backend: OpenMP\n"
	tests := []struct{ key, want string }{
		{"CPU capability usage", "AVX2"},
		{"ATen parallel backend", "OpenMP"},
		{"BLAS_INFO", ""}, // not at the start of a line
		{"missing", ""},
	}
	for _, tt := range tests {
		if got := ConfigValue(config, tt.key); got != tt.want {
			t.Errorf("ConfigValue(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
