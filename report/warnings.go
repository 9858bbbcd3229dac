package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/train"
)

// WarningPrefix starts every warning line on stderr.
const WarningPrefix = "warning: "

// Warn writes a warning to stderr, as "warning: ...", and keeps it for
// the report Build writes next, which shows it in its Warnings section
// and in results.json.
func (e *Env) Warn(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintln(e.Stderr, WarningPrefix+msg)
	e.keep(msg)
}

// Keep keeps a warning that was written elsewhere (by a worker or a
// trainer), prefixed with who said it ("cnn3: "), for the next report,
// when line is one ("warning: ..."); it says whether it was.
func (e *Env) Keep(who, line string) bool {
	msg, ok := strings.CutPrefix(strings.TrimSpace(line), WarningPrefix)
	if !ok {
		return false
	}
	if who != "" {
		msg = who + ": " + msg
	}
	e.keep(msg)
	return true
}

func (e *Env) keep(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.warnings, msg) {
		e.warnings = append(e.warnings, msg)
	}
}

// Warnings returns the warnings kept so far, in order.
func (e *Env) Warnings() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.warnings)
}

// KeepWarnings returns a writer that keeps the warning lines written
// through it (Keep, with who), so that a trainer's warnings reach the
// report as well as stderr, and passes everything on to w; where w is
// nil (the trainer's log is hidden behind a progress bar), it passes on
// the warning lines alone, to Stderr. Its caller must Flush it at the
// end, for a last line without a newline.
func (e *Env) KeepWarnings(w io.Writer, who string) *WarningWriter {
	return &WarningWriter{w: w, env: e, who: who}
}

// WarningWriter is a writer of KeepWarnings.
type WarningWriter struct {
	// Skip, where set, says which warnings (without "warning: ") are
	// passed on but not kept: those the report makes itself.
	Skip    func(msg string) bool
	w       io.Writer
	env     *Env
	who     string
	mu      sync.Mutex // a trainer writes from more than one goroutine
	partial []byte
}

func (ww *WarningWriter) Write(p []byte) (int, error) {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	ww.partial = append(ww.partial, p...)
	for {
		i := bytes.IndexByte(ww.partial, '\n')
		if i < 0 {
			break
		}
		ww.line(string(ww.partial[:i]))
		ww.partial = ww.partial[i+1:]
	}
	if ww.w == nil {
		return len(p), nil
	}
	return ww.w.Write(p)
}

// line keeps one line, and passes it on where w is nil.
func (ww *WarningWriter) line(s string) {
	msg, ok := strings.CutPrefix(strings.TrimSpace(s), WarningPrefix)
	if !ok {
		return
	}
	if ww.w == nil {
		fmt.Fprintln(ww.env.Stderr, strings.TrimSpace(s))
	}
	if ww.Skip == nil || !ww.Skip(msg) {
		ww.env.Keep(ww.who, WarningPrefix+msg)
	}
}

// Flush keeps the last line, when it has no newline.
func (ww *WarningWriter) Flush() {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	if len(ww.partial) > 0 {
		ww.line(string(ww.partial))
		ww.partial = nil
	}
}

// checkScores warns of what the report's figures would hide: a model no
// better than the mean baseline, a model scored on fewer hold-out faces
// than the rest, the hold-out faces that look mislabelled (outliers).
func (e *Env) checkScores(r *Report, outliers []dataset.Outlier) {
	var mean *Score
	for _, b := range r.Baselines {
		if b.Label == meanBaseline {
			mean = b
		}
	}
	for _, m := range r.Models {
		if mean != nil && m.HoldoutRMSE >= mean.HoldoutRMSE {
			e.Warn("%s scores %s px on the hold-out faces, no better than the mean baseline's %s px: its training diverged (try a lower --lr) or was too short",
				m.Label, FormatRMSE(m.HoldoutRMSE), FormatRMSE(mean.HoldoutRMSE))
		}
		if n := droppedHoldout(m.History); n > 0 {
			e.Warn("%s was trained with --drop-outliers: its hold-out RMSE in the table leaves out %s that look%s mislabelled, "+
				"which its other figures (per keypoint, per face, the ensemble) and the other rows include",
				m.Label, faces(n), verbS(n))
		}
	}
	var ids []string
	for _, o := range outliers {
		ids = append(ids, fmt.Sprintf("line %d (%s)", o.Line, o.Reason))
	}
	if len(ids) > 0 {
		e.Warn("%s of the hold-out part look%s mislabelled (fkd data check): %s; this report scores %s with the rest, "+
			"so %s may lead the worst faces and weigh on every RMSE (fkd train --drop-outliers leaves such faces out)",
			faces(len(ids)), verbS(len(ids)), strings.Join(ids, "; "), them(len(ids)), they(len(ids)))
	}
}

// meanBaseline is the label of the mean baseline's row.
const meanBaseline = "mean baseline"

// droppedHoldout returns how many hold-out faces a run's history says
// --drop-outliers left out of its hold-out score.
func droppedHoldout(h *train.History) int {
	if h == nil {
		return 0
	}
	n := 0
	for _, d := range h.DroppedOutliers {
		if d.Holdout {
			n++
		}
	}
	return n
}

// holdoutOutliers returns the faces of set at holdIdx that
// dataset.Outliers finds mislabelled.
func holdoutOutliers(set *dataset.Set, holdIdx []int) []dataset.Outlier {
	if set == nil {
		return nil
	}
	hold := map[int]bool{}
	for _, i := range holdIdx {
		hold[i] = true
	}
	var out []dataset.Outlier
	for _, o := range dataset.Outliers(set) {
		if hold[o.Row] {
			out = append(out, o)
		}
	}
	return out
}

// faces writes a count of faces: "1 face", "2 faces".
func faces(n int) string { return fmt.Sprintf("%d face%s", n, plural(n)) }

// verbS is the "s" of a verb whose subject counts n: "1 face looks".
func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func they(n int) string {
	if n == 1 {
		return "it"
	}
	return "they"
}
