package report

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"

	"github.com/fkd-project/fkd/internal/atomicfile"
)

// writeNoneFinished writes the report of a comparison none of whose runs
// finished: index.html and README.md in dir naming every run and what it
// lacks, so that a report job leaves a report whatever became of the
// training jobs.
func writeNoneFinished(dir string, missing []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	summary := fmt.Sprintf("No run finished: 0 of %d, so nothing is scored. Each run below is named with what it lacks; "+
		"run its training again (it continues from its checkpoint), then rebuild this report.", len(missing))
	err := atomicfile.Write(filepath.Join(dir, "README.md"), func(w io.Writer) error {
		fmt.Fprintf(w, "# Model comparison\n\n%s\n\nNot finished:\n\n", summary)
		for _, m := range missing {
			fmt.Fprintf(w, "- %s\n", m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "index.html"), func(w io.Writer) error {
		return noneFinishedHTML.Execute(w, struct {
			Summary string
			Missing []string
		}{summary, missing})
	})
}

var noneFinishedHTML = template.Must(template.New("none").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Model comparison: no run finished</title></head>
<body><h1>Model comparison</h1>
<p>{{.Summary}}</p>
<p>Not finished:</p>
<ul>
{{range .Missing}}<li>{{.}}</li>
{{end}}</ul>
</body></html>
`))
