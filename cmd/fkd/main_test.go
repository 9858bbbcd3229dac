package main

import (
	"os"
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
