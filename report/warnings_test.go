package report

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/train"
)

// TestCheckScores: the warnings a report makes from its scores go to
// stderr and to its Warnings.
func TestCheckScores(t *testing.T) {
	r, env, stderr := fixtureReport(t)
	want := []string{
		"cnn3: the best model so far could not be saved: disk full",
		"fpnheat scores 6.000 px on the hold-out faces, no better than the mean baseline's",
	}
	if len(r.Warnings) != len(want) {
		t.Fatalf("warnings %q, want %d", r.Warnings, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(r.Warnings[i], w) {
			t.Errorf("warning %d: %q, want it to start %q", i, r.Warnings[i], w)
		}
	}
	if !strings.Contains(stderr.String(), "warning: fpnheat scores 6.000 px") {
		t.Errorf("stderr lacks the warning:\n%s", stderr)
	}

	// A run trained with --drop-outliers scored fewer hold-out faces.
	r.Models[0].History.DroppedOutliers = []train.DroppedFace{{Row: 3, Holdout: true}, {Row: 5}}
	env.checkScores(r, nil)
	if got := env.Warnings(); !strings.Contains(got[len(got)-1], "cnn3 was trained with --drop-outliers: its hold-out RMSE in the table leaves out 1 face that looks mislabelled") {
		t.Errorf("warnings %q", got)
	}
	// A warning said twice is kept once.
	n := len(env.Warnings())
	env.checkScores(r, nil)
	if len(env.Warnings()) != n {
		t.Errorf("warnings repeated: %q", env.Warnings())
	}
}

func TestKeepWarnings(t *testing.T) {
	tests := []struct {
		name       string
		log        bool // a visible log
		writes     []string
		skip       string
		wantKept   []string
		wantStderr string
	}{
		{
			name:     "a visible log passes everything on",
			log:      true,
			writes:   []string{"epoch 1: fine\nwarn", "ing: disk full\n", "warning: last"},
			wantKept: []string{"cnn3: disk full", "cnn3: last"},
		},
		{
			name:       "a hidden log shows its warnings alone",
			writes:     []string{"epoch 1: fine\n", "warning: disk full\n"},
			wantKept:   []string{"cnn3: disk full"},
			wantStderr: "warning: disk full\n",
		},
		{
			name:       "a skipped warning is shown, not kept",
			writes:     []string{"warning: worse than the mean\nwarning: disk full\n"},
			skip:       "worse",
			wantKept:   []string{"cnn3: disk full"},
			wantStderr: "warning: worse than the mean\nwarning: disk full\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr, log bytes.Buffer
			env := &Env{Stdout: &stderr, Stderr: &stderr}
			var w *WarningWriter
			if tt.log {
				w = env.KeepWarnings(&log, "cnn3")
			} else {
				w = env.KeepWarnings(nil, "cnn3")
			}
			if tt.skip != "" {
				w.Skip = func(msg string) bool { return strings.Contains(msg, tt.skip) }
			}
			for _, s := range tt.writes {
				if n, err := fmt.Fprint(w, s); n != len(s) || err != nil {
					t.Fatalf("write %q: %d, %v", s, n, err)
				}
			}
			w.Flush()
			if got := env.Warnings(); !slices.Equal(got, tt.wantKept) {
				t.Errorf("kept %q, want %q", got, tt.wantKept)
			}
			if tt.log && log.String() != strings.Join(tt.writes, "") {
				t.Errorf("log %q", log.String())
			}
			if stderr.String() != tt.wantStderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
