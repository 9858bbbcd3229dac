package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestScore(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	sol := write("sol.csv", "RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x,50\n2,1,nose_tip_y,40\n")
	sub := write("sub.csv", "RowId,Location\n1,53\n2,44\n")
	short := write("short.csv", "RowId,Location\n1,53\n")

	var out bytes.Buffer
	if err := scoreFiles(&out, sub, sol); err != nil {
		t.Fatal(err)
	}
	// errors 3 and 4: sqrt(25/2) = 3.5355
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	for _, want := range []string{"RMSE 3.5355 over 2 scored rows", "nose_tip 3.5355", "left_eye_center -"} {
		if !slices.Contains(lines, want) {
			t.Errorf("output lacks line %q:\n%s", want, out.String())
		}
	}
	if err := scoreFiles(&out, short, sol); err == nil || !strings.Contains(err.Error(), "RowId 2 (solution line 3)") {
		t.Errorf("short submission: %v", err)
	}
	var stdout, stderr bytes.Buffer
	if status := run([]string{"score", "--submission", sub}, &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), "are required") {
		t.Errorf("missing --solution: status %d, %q", status, stderr.String())
	}
}
