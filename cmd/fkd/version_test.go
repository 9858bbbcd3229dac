package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/torch"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := printVersion(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	cuda := "CUDA      no: this LibTorch is CPU-only"
	if torch.CUDACompiled() {
		cuda = "CUDA      yes: built with CUDA " + torch.CUDARuntimeVersion()
	}
	for _, want := range []string{
		"fkd       " + version,
		"Go        go1.",
		"LibTorch  " + torch.ReleaseVersion(),
		cuda,
		"cuDNN     ",
		"devices   cpu: ",
		"threads   ",
		"BLAS      ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("fkd version lacks %q:\n%s", want, text)
		}
	}
}

func TestConfigValue(t *testing.T) {
	config := "PyTorch built with:\n  - CPU capability usage: AVX2\n  - Build settings: BLAS_INFO=open, TORCH_VERSION=2.6.0\nATen parallel backend: OpenMP\n"
	tests := []struct{ key, want string }{
		{"CPU capability usage", "AVX2"},
		{"ATen parallel backend", "OpenMP"},
		{"missing", ""},
	}
	for _, tt := range tests {
		if got := configValue(config, tt.key); got != tt.want {
			t.Errorf("configValue(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
