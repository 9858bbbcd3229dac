package compare

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/fkd-project/fkd/report"
)

// TestTrainWarnings: a trainer's warnings reach the report, named after
// the model, but for the one the report makes itself.
func TestTrainWarnings(t *testing.T) {
	var stderr bytes.Buffer
	env := &report.Env{Stdout: &stderr, Stderr: &stderr}
	log := trainLog(env, nil, "cnn3")
	fmt.Fprint(log, "epoch 1: fine\nwarning: the model's hold-out RMSE, 5.5 px, is worse than the mean keypoints' 4.2 px: too short\n")
	fmt.Fprint(log, "warning: the best model so far could not be saved: disk full")
	log.Flush()
	keepWorkerWarning(env, "fpn", "warning: removed nothing")
	keepWorkerWarning(env, "fpn", "epoch 2: fine")
	keepWorkerWarning(env, "fpn", "warning: the model's hold-out RMSE, 9 px, is worse than the mean keypoints' 4.2 px")
	want := []string{"cnn3: the best model so far could not be saved: disk full", "fpn: removed nothing"}
	if got := env.Warnings(); !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
}
