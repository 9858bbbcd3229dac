package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/cmd/libtorch-config/internal/libtorchcfg"
)

// TestWriteEnv sources what writeEnv prints with sh and reads the values
// back: quoting survives spaces and quotes, and the user's flags follow
// fkd's.
func TestWriteEnv(t *testing.T) {
	lt := &libtorchcfg.LibTorch{
		Kind: libtorchcfg.KindArchive, Root: "/opt/it's here", IncludeDir: "/opt/it's here/include",
		LibDir: "/opt/it's here/lib", Version: "2.6.0", Release: "2.6.0+cu124", CUDA: true, CXX11ABI: true,
	}
	var out bytes.Buffer
	writeEnv(&out, lt, "", "-L/mine")
	env := filepath.Join(t.TempDir(), "libtorch.env")
	if err := os.WriteFile(env, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("sh", "-c", `. "$1" && printf '%s\n' "$CGO_CXXFLAGS" "$CGO_LDFLAGS" "$FKD_LIBTORCH_CUDA" "$FKD_LIBTORCH_DESC"`, "sh", env).Output()
	if err != nil {
		t.Fatalf("sourcing %s: %v\n%s", env, err, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	want := []string{
		`"-I/opt/it's here/include" "-I/opt/it's here/include/torch/csrc/api/include" -O2 -g`,
		`"-L/opt/it's here/lib" "-Wl,-rpath,/opt/it's here/lib" -Wl,--allow-shlib-undefined -Wl,--no-as-needed -ltorch -ltorch_cuda -lc10_cuda -Wl,--as-needed -L/mine`,
		"1",
		lt.Describe(),
	}
	if len(lines) != len(want) {
		t.Fatalf("got %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}
