// Package libtorchcfg finds the LibTorch that fkd's torch package is built
// against and derives the cgo flags for it. It knows three layouts:
//
//   - a Debian or Ubuntu installation in /usr (libtorch-dev, or the CUDA
//     build libtorch-cuda-dev): headers in /usr/include, libraries in
//     /usr/lib/<multiarch>;
//   - an unpacked official LibTorch archive: a folder with include/, lib/
//     and share/cmake/Torch;
//   - the folder of a pip-installed PyTorch (site-packages/torch), which
//     holds include/ and lib/ in the same layout; "python" names the one
//     that python3 imports.
//
// A LibTorch whose lib/ has libtorch_cuda.so is linked with its CUDA
// libraries forced in (--no-as-needed): nothing of theirs is referenced by
// name, and without them the CUDA kernels would never register.
//
// It uses no cgo, so it runs before the torch package can be built.
package libtorchcfg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// MinVersion is the oldest LibTorch the shim supports.
var MinVersion = [2]int{1, 13}

// Kinds of LibTorch installation.
const (
	KindSystem  = "system"  // Debian/Ubuntu packages in /usr
	KindArchive = "archive" // an unpacked LibTorch archive
	KindPip     = "pip"     // a pip-installed PyTorch's folder
)

// LibTorch is one LibTorch installation.
type LibTorch struct {
	Kind       string // KindSystem, KindArchive or KindPip
	Root       string // the folder named: /usr, the archive or PyTorch's folder
	IncludeDir string // holds ATen/, c10/, torch/
	LibDir     string // holds libtorch.so
	Version    string // "2.6.0", from the headers
	Release    string // the distribution's own version, e.g. "1.13.1+dfsg-4" or "2.5.1+cu124"; may be ""
	CUDA       bool   // libtorch_cuda.so is there
	CUDAVer    string // CUDA version named by the installation, when it says; may be ""
	CXX11ABI   bool   // built with the C++11 string ABI (false for older pip wheels)
}

// Options tells Find where to look. The zero value is the real machine.
type Options struct {
	SysRoot string // prefix for the system layout's /usr (tests); "" means /
	Python  string // interpreter for "python"; default $PYTHON, else python3
	// PackageVersion returns the installed version of a Debian package, or
	// "" when it is not installed; nil means ask dpkg-query.
	PackageVersion func(pkg string) string
}

// Find locates the LibTorch that spec names: "" or "/usr" for the system's,
// "python" (or "python3", "pip") for the PyTorch that Python imports, or a
// folder.
func Find(spec string, opt Options) (*LibTorch, error) {
	spec = strings.TrimSpace(spec)
	switch spec {
	case "", "/usr", "system":
		return findSystem(opt)
	case "python", "python3", "pip":
		dir, err := pythonTorchDir(opt)
		if err != nil {
			return nil, err
		}
		if isDebianPythonTorch(dir) {
			// Debian's python3-torch uses the system's LibTorch in /usr;
			// its package folder only links to it.
			return findSystem(opt)
		}
		lt, err := findFolder(dir)
		if err != nil {
			return nil, fmt.Errorf("the PyTorch that %s imports: %w", pythonName(opt), err)
		}
		return lt, nil
	}
	return findFolder(spec)
}

func findSystem(opt Options) (*LibTorch, error) {
	usr := filepath.Join(rootOf(opt), "usr")
	inc := filepath.Join(usr, "include")
	if !isFile(filepath.Join(inc, "ATen", "ATen.h")) {
		return nil, fmt.Errorf("LibTorch not found: %s has no ATen/ATen.h; run 'make deps' (Debian's libtorch-dev), or set LIBTORCH to a LibTorch folder or to python", inc)
	}
	libDir := ""
	candidates, _ := filepath.Glob(filepath.Join(usr, "lib", "*-linux-*", "libtorch.so"))
	candidates = append(candidates, filepath.Join(usr, "lib", "libtorch.so"), filepath.Join(usr, "lib64", "libtorch.so"))
	for _, c := range candidates {
		if isFile(c) {
			libDir = filepath.Dir(c)
			break
		}
	}
	if libDir == "" {
		return nil, fmt.Errorf("LibTorch headers are in %s but libtorch.so is in none of %s/lib/<multiarch>, %s/lib: reinstall libtorch-dev (make deps)", inc, usr, usr)
	}
	lt := &LibTorch{Kind: KindSystem, Root: usr, IncludeDir: inc, LibDir: libDir, CXX11ABI: true}
	if err := lt.inspect(); err != nil {
		return nil, err
	}
	ask := opt.PackageVersion
	if ask == nil {
		ask = dpkgVersion
	}
	for _, pkg := range []string{"libtorch-cuda-dev", "libtorch-dev"} {
		if v := ask(pkg); v != "" {
			lt.Release = "Debian " + pkg + " " + v
			break
		}
	}
	return lt, nil
}

// findFolder reads an official archive or a PyTorch folder.
func findFolder(dir string) (*LibTorch, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("LIBTORCH=%s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("LIBTORCH=%s is not a folder: name an unpacked LibTorch (third_party/fetch-libtorch.sh makes one), a PyTorch folder, or python", dir)
	}
	if !isFile(filepath.Join(abs, "lib", "libtorch.so")) {
		hint := "unpack an official LibTorch there (third_party/fetch-libtorch.sh), or name PyTorch's folder or python"
		if isFile(filepath.Join(abs, "libtorch", "lib", "libtorch.so")) {
			hint = "did you mean LIBTORCH=" + filepath.Join(dir, "libtorch") + "?"
		}
		return nil, fmt.Errorf("LIBTORCH=%s has no lib/libtorch.so: %s", dir, hint)
	}
	if !isFile(filepath.Join(abs, "include", "ATen", "ATen.h")) {
		return nil, fmt.Errorf("LIBTORCH=%s has lib/libtorch.so but no include/ATen/ATen.h: the headers are missing (a runtime-only package?); use a LibTorch with headers", dir)
	}
	lt := &LibTorch{Kind: KindArchive, Root: abs, IncludeDir: filepath.Join(abs, "include"), LibDir: filepath.Join(abs, "lib"), CXX11ABI: true}
	if isFile(filepath.Join(abs, "__init__.py")) {
		lt.Kind = KindPip
		lt.Release, lt.CUDAVer = pipVersion(filepath.Join(abs, "version.py"))
	} else if b, err := os.ReadFile(filepath.Join(abs, "build-version")); err == nil {
		lt.Release = strings.TrimSpace(string(b))
	}
	if abi, ok := cmakeABI(filepath.Join(abs, "share", "cmake", "Torch", "TorchConfig.cmake")); ok {
		lt.CXX11ABI = abi
	}
	if err := lt.inspect(); err != nil {
		return nil, err
	}
	return lt, nil
}

// inspect reads the version from the headers, checks it, and looks for the
// CUDA libraries.
func (lt *LibTorch) inspect() error {
	v, err := headerVersion(lt.IncludeDir)
	if err != nil {
		return err
	}
	lt.Version = v
	if older(v, MinVersion) {
		return fmt.Errorf("LibTorch %s in %s is older than %d.%d, the oldest fkd supports: use LibTorch %d.%d or newer (Debian's libtorch-dev, pip's torch, or third_party/fetch-libtorch.sh)",
			v, lt.Root, MinVersion[0], MinVersion[1], MinVersion[0], MinVersion[1])
	}
	lt.CUDA = isFile(filepath.Join(lt.LibDir, "libtorch_cuda.so"))
	if lt.CUDA && !isFile(filepath.Join(lt.LibDir, "libc10_cuda.so")) {
		return fmt.Errorf("%s has libtorch_cuda.so but no libc10_cuda.so: the LibTorch is incomplete; unpack it again", lt.LibDir)
	}
	return nil
}

var defineRE = regexp.MustCompile(`(?m)^\s*#\s*define\s+TORCH_VERSION_(MAJOR|MINOR|PATCH)\s+(\d+)`)

// headerVersion reads TORCH_VERSION_MAJOR/MINOR/PATCH from torch/version.h
// (LibTorch 1.x and 2.x) or torch/headeronly/version.h (from 2.9 on, which
// the former only includes).
func headerVersion(inc string) (string, error) {
	files := []string{
		filepath.Join(inc, "torch", "csrc", "api", "include", "torch", "version.h"),
		filepath.Join(inc, "torch", "headeronly", "version.h"),
		filepath.Join(inc, "torch", "version.h"),
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		parts := map[string]string{}
		for _, m := range defineRE.FindAllSubmatch(b, -1) {
			parts[string(m[1])] = string(m[2])
		}
		if parts["MAJOR"] != "" && parts["MINOR"] != "" && parts["PATCH"] != "" {
			return parts["MAJOR"] + "." + parts["MINOR"] + "." + parts["PATCH"], nil
		}
	}
	return "", fmt.Errorf("no LibTorch version in %s (torch/csrc/api/include/torch/version.h or torch/headeronly/version.h): are these LibTorch's headers?", inc)
}

// older reports whether version v is older than min.
func older(v string, min [2]int) bool {
	f := strings.Split(v, ".")
	if len(f) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major < min[0] || major == min[0] && minor < min[1]
}

var abiRE = regexp.MustCompile(`_GLIBCXX_USE_CXX11_ABI=([01])`)

// cmakeABI reads the C++ string ABI from TorchConfig.cmake, which pre-2.7
// pip wheels set to the old one.
func cmakeABI(file string) (cxx11, ok bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return false, false
	}
	m := abiRE.FindSubmatch(b)
	if m == nil {
		return false, false
	}
	return string(m[1]) == "1", true
}

var pyStringRE = regexp.MustCompile(`(?m)^(__version__|cuda)\s*(?::\s*\S+\s*)?=\s*['"]([^'"]*)['"]`)

// pipVersion reads __version__ and cuda from PyTorch's version.py.
func pipVersion(file string) (version, cuda string) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", ""
	}
	for _, m := range pyStringRE.FindAllSubmatch(b, -1) {
		switch string(m[1]) {
		case "__version__":
			version = string(m[2])
		case "cuda":
			cuda = string(m[2])
		}
	}
	return version, cuda
}

func pythonName(opt Options) string {
	if opt.Python != "" {
		return opt.Python
	}
	if p := os.Getenv("PYTHON"); p != "" {
		return p
	}
	return "python3"
}

// pythonTorchDir asks Python where its torch package is. It runs outside
// the repository, whose torch/ folder would otherwise shadow PyTorch.
func pythonTorchDir(opt Options) (string, error) {
	py := pythonName(opt)
	cmd := exec.Command(py, "-c", "import os, torch; print(os.path.dirname(os.path.abspath(torch.__file__)))")
	cmd.Dir = os.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			msg := lastLine(stderr.String())
			return "", fmt.Errorf("LIBTORCH=python: %s cannot import torch (%s): install PyTorch (pip install torch) or set PYTHON to the interpreter that has it", py, msg)
		}
		return "", fmt.Errorf("LIBTORCH=python: %s not found (%v): set PYTHON to the interpreter that has PyTorch", py, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("LIBTORCH=python: %s printed no folder for torch", py)
	}
	return dir, nil
}

// isDebianPythonTorch reports whether dir is Debian's python3-torch, which
// uses the system LibTorch.
func isDebianPythonTorch(dir string) bool {
	return strings.HasPrefix(dir, "/usr/lib/python3/dist-packages/")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func dpkgVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status} ${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	s := string(out)
	const installed = "install ok installed "
	if !strings.HasPrefix(s, installed) {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(s, installed))
}

func rootOf(opt Options) string {
	if opt.SysRoot == "" {
		return "/"
	}
	return opt.SysRoot
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Flags are the cgo flags for building against a LibTorch, to be put
// before the user's own CGO_CXXFLAGS and CGO_LDFLAGS.
type Flags struct {
	CXXFlags []string
	LDFlags  []string
}

// Flags returns the compiler and linker flags for lt. The torch package's
// own #cgo lines name Debian's include folder and -ltorch -ltorch_cpu
// -lc10; these come first, so another LibTorch's headers and libraries win.
func (lt *LibTorch) Flags() Flags {
	var f Flags
	if lt.Kind != KindSystem {
		f.CXXFlags = append(f.CXXFlags, "-I"+lt.IncludeDir, "-I"+filepath.Join(lt.IncludeDir, "torch", "csrc", "api", "include"))
		// --allow-shlib-undefined: a pip wheel's libtorch_cuda needs CUDA
		// libraries that live in other wheels (site-packages/nvidia/...),
		// which its own RUNPATH finds at run time but the linker may not.
		f.LDFlags = append(f.LDFlags, "-L"+lt.LibDir, "-Wl,-rpath,"+lt.LibDir, "-Wl,--allow-shlib-undefined")
	}
	if !lt.CXX11ABI {
		f.CXXFlags = append(f.CXXFlags, "-D_GLIBCXX_USE_CXX11_ABI=0")
	}
	if lt.CUDA {
		f.LDFlags = append(f.LDFlags, "-Wl,--no-as-needed", "-ltorch", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed")
	}
	return f
}

// Describe is the one line "make build" prints: which LibTorch, where, and
// whether CUDA is in.
func (lt *LibTorch) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "LibTorch %s", lt.DisplayVersion())
	switch lt.Kind {
	case KindSystem:
		if lt.Release != "" {
			fmt.Fprintf(&b, " (%s)", lt.Release)
		} else {
			b.WriteString(" (system)")
		}
		fmt.Fprintf(&b, " in %s, libraries %s", lt.Root, lt.LibDir)
	case KindPip:
		fmt.Fprintf(&b, " (PyTorch %s from pip) in %s", orUnknown(lt.Release), lt.Root)
	default:
		if lt.Release != "" {
			fmt.Fprintf(&b, " (archive %s)", lt.Release)
		}
		fmt.Fprintf(&b, " in %s", lt.Root)
	}
	if !lt.CXX11ABI {
		b.WriteString(", old C++ ABI")
	}
	if lt.CUDA {
		b.WriteString("; CUDA: yes")
		if lt.CUDAVer != "" {
			b.WriteString(" (" + lt.CUDAVer + ")")
		}
		b.WriteString(", libtorch_cuda linked")
	} else {
		b.WriteString("; CUDA: no (CPU only)")
	}
	return b.String()
}

// DisplayVersion is the version to show a user: the headers' version, or
// the distribution's when it is the same release with a later patch
// (Debian's 1.13.1 package has 1.13.0 in its headers).
func (lt *LibTorch) DisplayVersion() string {
	rel := lt.Release
	if i := strings.LastIndexByte(rel, ' '); i >= 0 {
		rel = rel[i+1:]
	}
	m := releaseRE.FindStringSubmatch(rel)
	h := strings.Split(lt.Version, ".")
	if m != nil && len(h) == 3 && m[1] == h[0] && m[2] == h[1] && m[3] != h[2] {
		return m[1] + "." + m[2] + "." + m[3]
	}
	return lt.Version
}

// releaseRE matches the start of a package version, after an epoch.
var releaseRE = regexp.MustCompile(`^(?:\d+:)?(\d+)\.(\d+)\.(\d+)`)

func orUnknown(s string) string {
	if s == "" {
		return "of unknown version"
	}
	return s
}
