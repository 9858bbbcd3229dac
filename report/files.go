package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fkd-project/fkd/train"
)

// found is a finished run to report: its directory or model file as
// given, its model file and its history.
type found struct {
	path  string
	model string
	h     *train.History
}

// finishedRuns returns the runs to report, and a line for each run left
// out, saying what it lacks. A run that cannot be read, or runs that
// held out different faces, are an error.
func finishedRuns(runs []Run) ([]found, []string, error) {
	var rs []found
	var missing []string
	for _, run := range runs {
		if run.Listed {
			if what := Incomplete(run); what != "" {
				name := run.Spec
				if run.Shard != "" {
					name += " (" + run.Shard + ")"
				}
				missing = append(missing, fmt.Sprintf("%s in %s: %s", name, run.Path, what))
				continue
			}
		}
		model, h, err := Finished(run.Path)
		var ie *IncompleteError
		if errors.As(err, &ie) {
			missing = append(missing, ie.msg)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if len(rs) > 0 && (h.Config.Holdout != rs[0].h.Config.Holdout || h.Config.HoldoutSeed() != rs[0].h.Config.HoldoutSeed()) {
			return nil, nil, fmt.Errorf("runs %s and %s held out different faces (fraction %v seed %d, fraction %v seed %d): compare runs made with the same --holdout and --seed",
				rs[0].path, run.Path, rs[0].h.Config.Holdout, rs[0].h.Config.HoldoutSeed(), h.Config.Holdout, h.Config.HoldoutSeed())
		}
		rs = append(rs, found{run.Path, model, h})
	}
	return rs, missing, nil
}

// CheckRuns reports, before any work, what Build would find wrong with
// runs: one that cannot be read, or runs that held out different faces.
// Runs that are merely unfinished are Build's to report.
func CheckRuns(runs []Run) error {
	_, _, err := finishedRuns(runs)
	return err
}

// labels names the runs in the report (Labels).
func labels(rs []found) []string {
	paths := make([]string, len(rs))
	for i, f := range rs {
		paths[i] = f.path
	}
	return Labels(paths, func(i int) string { return rs[i].h.Config.Model })
}

// fixedFiles are the files of every report, beside a chart of learning
// curves per model (modelCurves).
var fixedFiles = []string{"curves.png", "keypoints.png", "errors.png", "landmarks.png", "index.html", "README.md", ResultsName}

// modelCurves is the name of the chart of learning curves of the model
// labelled label.
func modelCurves(label string) string { return "curves-" + FileSafe(label) + ".png" }

// Inputs returns the files a report of runs reads besides the training
// data: each run's model file and history.
func Inputs(runs []Run) []string {
	var paths []string
	for _, r := range runs {
		if model, hist, err := Files(r.Path); err == nil {
			paths = append(paths, model, hist)
		}
	}
	return paths
}

// Outputs returns the files that Build writes into dir for runs. Where
// the runs cannot be read, Build fails before it writes, and only the
// files of every report come back.
func Outputs(runs []Run, dir string) []string {
	rs, _, err := finishedRuns(runs)
	if err != nil {
		rs = nil
	}
	return OutputsFor(dir, labels(rs))
}

// OutputsFor returns the files that Build writes into dir for models
// labelled labels (Labels).
func OutputsFor(dir string, labels []string) []string {
	var paths []string
	for _, name := range fixedFiles {
		paths = append(paths, filepath.Join(dir, name))
	}
	for _, l := range labels {
		paths = append(paths, filepath.Join(dir, modelCurves(l)))
	}
	return paths
}

// write writes the report's files into dir, made if missing, all or
// none: each goes first to a temporary file beside its destination
// (named as atomicfile names its own, so that the next run removes those
// a killed one left), and only when all are written are they renamed
// into place. It returns the charts in the order the report shows them.
func (r *Report) write(dir string) ([]chart, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	s := &staging{dir: dir, tag: strconv.FormatUint(uint64(os.Getpid())<<20|uint64(time.Now().UnixNano()&0xfffff), 10)}
	files, err := r.drawCharts(s.path)
	if err == nil {
		err = r.writeHTML(s.path("index.html"), files)
	}
	if err == nil {
		err = r.writeMarkdown(s.path("README.md"), files)
	}
	if err == nil {
		err = r.writeResults(s.path(ResultsName))
	}
	if err == nil {
		err = s.commit()
	}
	if err != nil {
		s.remove()
		return nil, err
	}
	return files, nil
}

// staging names the temporary files of a report's files, and moves them
// into place.
type staging struct {
	dir, tag string
	names    []string // the files staged, by their names in dir
}

// path returns the temporary file that stands for name in dir until
// commit: ".NAME.tmp-TAG", atomicfile's pattern.
func (s *staging) path(name string) string {
	s.names = append(s.names, name)
	return s.temp(name)
}

func (s *staging) temp(name string) string {
	return filepath.Join(s.dir, "."+name+".tmp-"+s.tag)
}

// commit renames every staged file into place, after checking that
// each can replace what is there, so that one that cannot stops them
// all.
func (s *staging) commit() error {
	for _, name := range s.names {
		path := filepath.Join(s.dir, name)
		if info, err := os.Lstat(path); err == nil && !info.Mode().IsRegular() {
			return fmt.Errorf("report: cannot replace %s: not a regular file (%v)", path, info.Mode().Type())
		}
	}
	for _, name := range s.names {
		if err := os.Rename(s.temp(name), filepath.Join(s.dir, name)); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	s.names = nil
	return nil
}

// remove removes the staged files that remain.
func (s *staging) remove() {
	for _, name := range s.names {
		os.Remove(s.temp(name))
	}
}
