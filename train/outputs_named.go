package train

import (
	"fmt"

	"github.com/fkd-project/fkd/internal/atomicfile"
)

// CheckOutputFlags is CheckOutputs for fkd train: it names a path that
// cannot be written by its flag (--out, --checkpoint, or "history" for
// the history beside --out), and checks the submission outfile as well,
// as --submission, unless outfile is "".
func (c *Config) CheckOutputFlags(outfile string) error {
	paths := [][2]string{{"--out", c.Out}, {"--checkpoint", c.CheckpointPath()}, {"history", c.HistoryPath()}}
	if outfile != "" {
		paths = append(paths, [2]string{"--submission", outfile})
	}
	for _, p := range paths {
		if err := atomicfile.Check(p[1]); err != nil {
			return fmt.Errorf("%s: %w", p[0], err)
		}
	}
	return nil
}
