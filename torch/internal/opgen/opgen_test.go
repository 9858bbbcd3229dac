package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// torchDir is package torch's directory, seen from this one.
const torchDir = "../.."

// TestGeneratedFilesCurrent fails when a generated file differs from what
// opgen writes now: after a change to the table, to shim.h, or to the
// package's shim calls, run go generate ./torch/ and commit the result.
func TestGeneratedFilesCurrent(t *testing.T) {
	files, err := generate(torchDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(torchDir, f.name))
		if err != nil {
			t.Errorf("%v (run go generate ./torch/)", err)
			continue
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("torch/%s is not what opgen generates: run go generate ./torch/", f.name)
		}
	}
}

func TestTableChecked(t *testing.T) {
	saved := unaryOps
	defer func() { unaryOps = saved }()
	unaryOps = append(append([]unaryOp(nil), saved...),
		unaryOp{"neg", "at::neg(x)", method{"Neg2", "returns -t."}},
		unaryOp{"Bad-Name", "", method{"lower", "no period"}})
	err := checkTable()
	if err == nil {
		t.Fatal("checkTable accepted a table with duplicate and malformed rows")
	}
	for _, want := range []string{
		`FKD_NEG is already the unary op`,
		`"Bad-Name": a name is lower case`,
		`ATen is empty`,
		`method "lower" is not an exported Go name`,
		`method lower needs a one-line doc`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("checkTable error lacks %q:\n%v", want, err)
		}
	}
}

// Every op of every family reaches the three places it must: the enum, the
// shim's switches and, when it names a method, Go.
func TestEveryOpGenerated(t *testing.T) {
	h, inc := string(shimOpsH()), string(shimOpsInc())
	ops, err := opsGo()
	if err != nil {
		t.Fatal(err)
	}
	goSrc := string(ops)
	for _, n := range append(append(unaryNames(), binaryNames()...), reduceNames()...) {
		e := enum(n)
		if !strings.Contains(h, "\t"+e+" = ") {
			t.Errorf("shim_ops.h lacks %s", e)
		}
		if strings.Count(inc, "case "+e+":") < 2 {
			t.Errorf("shim_ops.inc lacks the name or the dispatch of %s", e)
		}
		if !strings.Contains(inc, "case "+e+": return \""+n+"\";") {
			t.Errorf("shim_ops.inc does not name %s %q", e, n)
		}
	}
	for _, m := range []string{"Neg", "Detach", "Add", "AddScalar", "AddInPlace", "AddScalarInPlace",
		"SumDims", "Argmax", "ArgmaxAll", "Any"} {
		if !strings.Contains(goSrc, "\n// "+m+" ") || !strings.Contains(goSrc, ") "+m+"(") {
			t.Errorf("ops_gen.go lacks the documented method %s", m)
		}
	}
}
