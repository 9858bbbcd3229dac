package libtorchcfg

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree makes files (path → content) under a new temporary folder.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func versionH(major, minor, patch string) string {
	return "#pragma once\n#define TORCH_VERSION_MAJOR " + major + "\n#define TORCH_VERSION_MINOR " + minor +
		"\n#define TORCH_VERSION_PATCH " + patch + "\n"
}

// Layouts as LibTorch 1.13 (Debian), 2.6 (archive) and 2.14 (headers
// moved to torch/headeronly) ship them.
var (
	debian113 = map[string]string{
		"usr/include/ATen/ATen.h":                            "",
		"usr/include/torch/csrc/api/include/torch/version.h": versionH("1", "13", "0"),
		"usr/lib/x86_64-linux-gnu/libtorch.so":               "",
	}
	archive26CUDA = map[string]string{
		"include/ATen/ATen.h":                            "",
		"include/torch/csrc/api/include/torch/version.h": versionH("2", "6", "0"),
		"lib/libtorch.so":                                "",
		"lib/libtorch_cuda.so":                           "",
		"lib/libc10_cuda.so":                             "",
		"build-version":                                  "2.6.0+cu124\n",
		"share/cmake/Torch/TorchConfig.cmake":            `set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")`,
	}
	archive214CPU = map[string]string{
		"include/ATen/ATen.h":                            "",
		"include/torch/csrc/api/include/torch/version.h": "#include <torch/headeronly/version.h>\n",
		"include/torch/headeronly/version.h":             versionH("2", "14", "1"),
		"lib/libtorch.so":                                "",
		"build-version":                                  "2.14.1+cpu\n",
	}
	pip25CUDA = map[string]string{
		"__init__.py":         "",
		"version.py":          "__version__ = '2.5.1+cu124'\ndebug = False\ncuda: Optional[str] = '12.4'\n",
		"include/ATen/ATen.h": "",
		"include/torch/csrc/api/include/torch/version.h": versionH("2", "5", "1"),
		"lib/libtorch.so":                     "",
		"lib/libtorch_cuda.so":                "",
		"lib/libc10_cuda.so":                  "",
		"share/cmake/Torch/TorchConfig.cmake": `set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=0")`,
	}
)

func with(base map[string]string, changes map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range changes {
		if v == "<delete>" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func noPackages(string) string { return "" }

func TestFind(t *testing.T) {
	cudaLD := []string{"-Wl,--no-as-needed", "-ltorch", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"}
	tests := []struct {
		name     string
		files    map[string]string
		system   bool // look in the tree as /usr (spec ""), else name the tree
		pkgs     map[string]string
		kind     string
		version  string // from the headers
		display  string
		release  string
		cuda     bool
		cxx11    bool
		wantCXX  []string // with ROOT for the tree
		wantLD   []string
		describe []string // substrings of Describe
	}{
		{
			name: "debian 1.13", files: debian113, system: true,
			pkgs: map[string]string{"libtorch-dev": "1.13.1+dfsg-4"},
			kind: KindSystem, version: "1.13.0", display: "1.13.1", release: "Debian libtorch-dev 1.13.1+dfsg-4", cxx11: true,
			describe: []string{"LibTorch 1.13.1 (Debian libtorch-dev 1.13.1+dfsg-4)", "CUDA: no"},
		},
		{
			name: "debian cuda package", system: true,
			files: with(debian113, map[string]string{
				"usr/lib/x86_64-linux-gnu/libtorch_cuda.so": "", "usr/lib/x86_64-linux-gnu/libc10_cuda.so": "",
				"usr/include/torch/csrc/api/include/torch/version.h": versionH("2", "6", "0"),
			}),
			pkgs: map[string]string{"libtorch-cuda-dev": "2.6.0+dfsg-7"},
			kind: KindSystem, version: "2.6.0", display: "2.6.0", release: "Debian libtorch-cuda-dev 2.6.0+dfsg-7", cuda: true, cxx11: true,
			wantLD:   cudaLD,
			describe: []string{"CUDA: yes", "libtorch_cuda linked"},
		},
		{
			name: "official archive with CUDA", files: archive26CUDA,
			kind: KindArchive, version: "2.6.0", display: "2.6.0", release: "2.6.0+cu124", cuda: true, cxx11: true,
			wantCXX:  []string{"-IROOT/include", "-IROOT/include/torch/csrc/api/include"},
			wantLD:   append([]string{"-LROOT/lib", "-Wl,-rpath,ROOT/lib", "-Wl,--allow-shlib-undefined"}, cudaLD...),
			describe: []string{"LibTorch 2.6.0 (archive 2.6.0+cu124) in ROOT", "CUDA: yes"},
		},
		{
			name: "archive 2.14, headers only in headeronly/", files: archive214CPU,
			kind: KindArchive, version: "2.14.1", display: "2.14.1", release: "2.14.1+cpu", cxx11: true,
			wantCXX:  []string{"-IROOT/include", "-IROOT/include/torch/csrc/api/include"},
			wantLD:   []string{"-LROOT/lib", "-Wl,-rpath,ROOT/lib", "-Wl,--allow-shlib-undefined"},
			describe: []string{"LibTorch 2.14.1", "CUDA: no"},
		},
		{
			name: "pip wheel, old ABI", files: pip25CUDA,
			kind: KindPip, version: "2.5.1", display: "2.5.1", release: "2.5.1+cu124", cuda: true, cxx11: false,
			wantCXX:  []string{"-IROOT/include", "-IROOT/include/torch/csrc/api/include", "-D_GLIBCXX_USE_CXX11_ABI=0"},
			wantLD:   append([]string{"-LROOT/lib", "-Wl,-rpath,ROOT/lib", "-Wl,--allow-shlib-undefined"}, cudaLD...),
			describe: []string{"PyTorch 2.5.1+cu124 from pip", "old C++ ABI", "CUDA: yes (12.4)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files)
			opt := Options{SysRoot: root, PackageVersion: func(p string) string { return tt.pkgs[p] }}
			spec := root
			if tt.system {
				spec = ""
			}
			lt, err := Find(spec, opt)
			if err != nil {
				t.Fatal(err)
			}
			if lt.Kind != tt.kind || lt.Version != tt.version || lt.DisplayVersion() != tt.display ||
				lt.Release != tt.release || lt.CUDA != tt.cuda || lt.CXX11ABI != tt.cxx11 {
				t.Errorf("got kind %s version %s display %s release %q cuda %v cxx11 %v",
					lt.Kind, lt.Version, lt.DisplayVersion(), lt.Release, lt.CUDA, lt.CXX11ABI)
			}
			expand := func(fs []string) []string {
				var out []string
				for _, f := range fs {
					out = append(out, strings.ReplaceAll(f, "ROOT", root))
				}
				return out
			}
			f := lt.Flags()
			if !slices.Equal(f.CXXFlags, expand(tt.wantCXX)) {
				t.Errorf("CXXFlags = %q, want %q", f.CXXFlags, expand(tt.wantCXX))
			}
			if !slices.Equal(f.LDFlags, expand(tt.wantLD)) {
				t.Errorf("LDFlags = %q, want %q", f.LDFlags, expand(tt.wantLD))
			}
			d := lt.Describe()
			for _, want := range expand(tt.describe) {
				if !strings.Contains(d, want) {
					t.Errorf("Describe() = %q, want it to contain %q", d, want)
				}
			}
		})
	}
}

// fakePython writes a python3 stand-in that prints dir, or fails as
// Python does when torch is not installed.
func fakePython(t *testing.T, dir string) string {
	t.Helper()
	script := "#!/bin/sh\necho '" + dir + "'\n"
	if dir == "" {
		script = "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n"
	}
	p := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindPython(t *testing.T) {
	site := tree(t, pip25CUDA)
	lt, err := Find("python", Options{Python: fakePython(t, site), PackageVersion: noPackages})
	if err != nil {
		t.Fatal(err)
	}
	if lt.Kind != KindPip || lt.Root != site || !lt.CUDA {
		t.Errorf("python: got %+v, want the pip folder %s with CUDA", lt, site)
	}
	// PYTHON names the interpreter when Options does not.
	t.Setenv("PYTHON", fakePython(t, site))
	if lt, err := Find("pip", Options{PackageVersion: noPackages}); err != nil || lt.Root != site {
		t.Errorf("PYTHON: got %+v, %v", lt, err)
	}
}

func TestFindErrors(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		spec   string // "ROOT" for the tree, "" for the system layout in the tree
		python string // "none": an interpreter without torch
		want   string
	}{
		{"no lib/libtorch.so", with(archive26CUDA, map[string]string{"lib/libtorch.so": "<delete>"}), "ROOT", "", "has no lib/libtorch.so: unpack an official LibTorch"},
		{"parent of the archive", map[string]string{"libtorch/lib/libtorch.so": ""}, "ROOT", "", "did you mean LIBTORCH=ROOT/libtorch?"},
		{"no headers", map[string]string{"lib/libtorch.so": ""}, "ROOT", "", "no include/ATen/ATen.h"},
		{"too old", with(archive214CPU, map[string]string{"include/torch/headeronly/version.h": versionH("1", "12", "1")}), "ROOT", "", "LibTorch 1.12.1 in ROOT is older than 1.13"},
		{"no version", with(archive214CPU, map[string]string{"include/torch/headeronly/version.h": "<delete>"}), "ROOT", "", "no LibTorch version in ROOT/include"},
		{"cuda half there", with(archive26CUDA, map[string]string{"lib/libc10_cuda.so": "<delete>"}), "ROOT", "", "no libc10_cuda.so"},
		{"not a folder", map[string]string{}, "ROOT/missing", "", "is not a folder"},
		{"system without LibTorch", map[string]string{}, "", "", "LibTorch not found"},
		{"system headers without library", with(debian113, map[string]string{"usr/lib/x86_64-linux-gnu/libtorch.so": "<delete>"}), "", "", "libtorch.so is in none of"},
		{"python without torch", map[string]string{}, "python", "none", "cannot import torch (ModuleNotFoundError: No module named 'torch')"},
		{"pip folder without CUDA pieces", with(pip25CUDA, map[string]string{"lib/libc10_cuda.so": "<delete>"}), "python", "", "the PyTorch that"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files)
			opt := Options{SysRoot: root, PackageVersion: noPackages}
			switch tt.python {
			case "none":
				opt.Python = fakePython(t, "")
			case "":
				opt.Python = fakePython(t, root)
			}
			_, err := Find(strings.ReplaceAll(tt.spec, "ROOT", root), opt)
			want := strings.ReplaceAll(tt.want, "ROOT", root)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to contain %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestOlder(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"1.12.1", true}, {"1.13.0", false}, {"2.0.0", false}, {"0.4.1", true}, {"2", true}, {"x.y.z", true},
	}
	for _, tt := range tests {
		if got := older(tt.v, [2]int{1, 13}); got != tt.want {
			t.Errorf("older(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
