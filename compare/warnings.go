package compare

import (
	"io"
	"strings"

	"github.com/fkd-project/fkd/report"
)

// trainLog returns the log of a model's training: it goes to log (nil:
// hidden behind the progress bar, but for its warnings), and its
// warnings are kept for the report (report.Env.KeepWarnings), named
// after spec. The caller flushes it when the training ends.
func trainLog(env *report.Env, log io.Writer, spec string) *report.WarningWriter {
	ww := env.KeepWarnings(log, spec)
	ww.Skip = madeByReport
	return ww
}

// keepWorkerWarning keeps a line of a worker's log for the report when
// it is a warning (see trainLog).
func keepWorkerWarning(env *report.Env, spec, line string) {
	if msg, ok := strings.CutPrefix(strings.TrimSpace(line), report.WarningPrefix); ok && !madeByReport(msg) {
		env.Keep(spec, line)
	}
}

// madeByReport says whether a trainer's warning is one the report makes
// itself from the scores it shows, also for the runs it reuses: a model
// no better than the mean keypoints.
func madeByReport(msg string) bool { return strings.Contains(msg, "worse than the mean") }
