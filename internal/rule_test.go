package internal

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is fkd's module path, as go.mod names it.
const module = "github.com/fkd-project/fkd"

// fkdtestImports are the fkd packages internal/fkdtest may import (its doc
// says why).
var fkdtestImports = []string{"torch", "torch/nn", "dataset", "dataset/synth", "models", "photo", "detect"}

// imports maps each package directory of the module (relative to its root,
// with slashes) to the fkd packages (relative too) that its files import,
// test files and the others apart.
type imports struct{ code, tests map[string][]string }

func readImports(t *testing.T, root string) imports {
	t.Helper()
	im := imports{code: map[string][]string{}, tests: map[string][]string{}}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(rel)
		into := im.code
		if strings.HasSuffix(name, "_test.go") {
			into = im.tests
		}
		for _, s := range f.Imports {
			ip, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				return err
			}
			if rest, ok := strings.CutPrefix(ip, module+"/"); ok && !slices.Contains(into[dir], rest) {
				into[dir] = append(into[dir], rest)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// importers returns the directories whose files (of m) import pkg.
func importers(m map[string][]string, pkg string) []string {
	var dirs []string
	for dir, ips := range m {
		if slices.Contains(ips, pkg) {
			dirs = append(dirs, dir)
		}
	}
	slices.Sort(dirs)
	return dirs
}

// TestRule checks the rule of the package comment on the whole module.
func TestRule(t *testing.T) {
	im := readImports(t, "..")
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		pkg := "internal/" + e.Name()
		if e.Name() == "fkdtest" {
			if users := importers(im.code, pkg); len(users) > 0 {
				t.Errorf("%s is test support, but code outside _test.go files imports it in %v", pkg, users)
			}
			for _, ip := range im.code[pkg] {
				if !slices.Contains(fkdtestImports, ip) {
					t.Errorf("%s imports %s, not one of the packages its doc allows (%v)", pkg, ip, fkdtestImports)
				}
			}
			continue
		}
		for _, ip := range im.code[pkg] {
			if !strings.HasPrefix(ip, "internal/") {
				t.Errorf("%s imports %s: the shared packages of internal/ import no fkd package outside it", pkg, ip)
			}
		}
		users := importers(im.code, pkg)
		if len(users) < 2 {
			t.Errorf("%s serves only %v: a package of one user belongs under that user (a command's internal/)", pkg, users)
			continue
		}
		if cmd := commandOf(users[0]); cmd != "" && !slices.ContainsFunc(users, func(u string) bool { return commandOf(u) != cmd }) {
			t.Errorf("%s serves only %s (%v): it belongs under %s/internal/", pkg, cmd, users, cmd)
		}
	}
}

// commandOf returns cmd/<name> for a directory inside a command, else "".
func commandOf(dir string) string {
	parts := strings.Split(dir, "/")
	if len(parts) < 2 || parts[0] != "cmd" {
		return ""
	}
	return path.Join(parts[0], parts[1])
}
