package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/report"
)

// WriteManifest records the comparison m in its directory dir, as
// report.ManifestName. Shards of one comparison all write the same
// manifest; with check, as for a shard without --force, it refuses to
// overwrite one that lists other models, since the shards would then not
// be sharing the same comparison.
func WriteManifest(dir string, m *report.Manifest, check bool) error {
	if check {
		old, err := report.ReadManifest(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err
		case !slices.Equal(old.Models, m.Models):
			return fmt.Errorf("%s lists another comparison (models %s), this shard's is of %s: "+
				"give every shard the same --models, or use another --out, or --force to start a new comparison there",
				filepath.Join(dir, report.ManifestName), strings.Join(old.Models, " "), strings.Join(m.Models, " "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return atomicfile.Write(filepath.Join(dir, report.ManifestName), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
}
