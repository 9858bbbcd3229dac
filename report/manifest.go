package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ShardOf returns the shard (from 1) of n that trains the k-th model (from
// 0) of a comparison: every n-th model, round robin.
func ShardOf(k, n int) int { return k%n + 1 }

// ManifestName is the file in a comparison's directory that lists its
// runs, so that "fkd report DIR" finds them, in order, and can tell which
// shard should have made a run that is missing.
const ManifestName = "compare.json"

// Manifest describes a comparison: its models and their runs.
type Manifest struct {
	Models []string `json:"models"` // model specs, in the order of --models
	Runs   []string `json:"runs"`   // each model's run directory, relative to the manifest's directory
	Shards int      `json:"shards"` // machines sharing the comparison; 1 without --shard
	Train  string   `json:"train"`  // the training data, an absolute path
}

// ShardLabel says which shard trains the k-th model; "" without shards.
func (m *Manifest) ShardLabel(k int) string {
	if m.Shards <= 1 {
		return ""
	}
	return fmt.Sprintf("shard %d/%d", ShardOf(k, m.Shards), m.Shards)
}

// ReadManifest reads the manifest of the comparison in dir.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(m.Runs) != len(m.Models) {
		return nil, fmt.Errorf("read %s: %d models but %d runs", path, len(m.Models), len(m.Runs))
	}
	return &m, nil
}
