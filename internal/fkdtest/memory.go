package fkdtest

import (
	"bytes"
	"os"
	"strconv"
	"testing"
)

// ResidentBytes returns the process's resident set size in bytes, from the
// second field of /proc/self/statm (in pages). It skips the test where that
// file cannot be read (not Linux).
func ResidentBytes(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("resident memory not readable here: %v", err)
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		t.Fatalf("/proc/self/statm: want at least 2 fields, got %q", b)
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		t.Fatalf("/proc/self/statm resident field: %v", err)
	}
	return pages * int64(os.Getpagesize())
}

// MiB gives b bytes in mebibytes, for a test's messages.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }
