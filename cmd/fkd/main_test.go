package main

import (
	"os"
	"path/filepath"
	"testing"
)

// testMainEnv, when set, makes the test binary act as fkd itself, so that
// the worker processes a parallel compare starts (its own executable) run
// fkd rather than the tests.
const testMainEnv = "FKD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(testMainEnv) != "" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Setenv(testMainEnv, "1") // for the processes the tests start
	os.Exit(m.Run())
}

// captureStdout returns what f writes to the process's standard output.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdout")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = file
	defer func() { os.Stdout = saved }()
	f()
	file.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
