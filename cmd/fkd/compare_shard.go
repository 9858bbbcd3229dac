package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/torch"
)

// parseDevices reads the --devices list: "cpu", "cuda" (device 0) or
// "cuda:N", separated by commas. The CPU may be named more than once (its
// threads are then shared out); a GPU may not. Every GPU named must exist.
func parseDevices(list string) ([]torch.Device, error) {
	var devs []torch.Device
	named := map[torch.Device]string{}
	for _, part := range strings.Split(list, ",") {
		name := strings.ToLower(strings.TrimSpace(part))
		var d torch.Device
		switch {
		case name == "":
			return nil, fmt.Errorf("empty device in %q", list)
		case name == "cpu":
			d = torch.CPU
		case name == "cuda":
			d = torch.CUDA(0)
		case strings.HasPrefix(name, "cuda:"):
			n, err := strconv.Atoi(strings.TrimPrefix(name, "cuda:"))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("device %q: want cuda:N with N a device number", part)
			}
			d = torch.CUDA(n)
		default:
			return nil, fmt.Errorf("device %q: want cpu, cuda or cuda:N", part)
		}
		if prev, ok := named[d]; ok && d.IsCUDA() {
			return nil, fmt.Errorf("%s is named twice (%q and %q): each GPU trains one model at a time", d, prev, strings.TrimSpace(part))
		}
		named[d] = strings.TrimSpace(part)
		devs = append(devs, d)
	}
	for _, d := range devs {
		if d.IsCUDA() {
			if _, err := torch.ParseDevice(d.String()); err != nil {
				return nil, err
			}
		}
	}
	return devs, nil
}

// deviceLabels names the workers of devs: the device, numbered when the
// CPU is named more than once ("cpu 1", "cpu 2").
func deviceLabels(devs []torch.Device) []string {
	cpus := 0
	for _, d := range devs {
		if !d.IsCUDA() {
			cpus++
		}
	}
	labels := make([]string, len(devs))
	n := 0
	for i, d := range devs {
		labels[i] = d.String()
		if !d.IsCUDA() && cpus > 1 {
			n++
			labels[i] = fmt.Sprintf("cpu %d", n)
		}
	}
	return labels
}

// threadShares splits total CPU threads over workers as evenly as whole
// threads allow, at least one each.
func threadShares(total, workers int) []int {
	shares := make([]int, workers)
	for i := range shares {
		shares[i] = total / workers
		if i < total%workers {
			shares[i]++
		}
		shares[i] = max(1, shares[i])
	}
	return shares
}

// parseShard reads --shard I/N: this is shard I (from 1) of N.
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("%q: want I/N, shard I of N, e.g. 1/4", s)
	case n < 1:
		return 0, 0, fmt.Errorf("%q: the number of shards must be at least 1", s)
	case i < 1 || i > n:
		return 0, 0, fmt.Errorf("%q: there is no shard %d of %d: I counts from 1 to %d", s, i, n, n)
	}
	return i, n, nil
}

// shardOf returns the shard (from 1) of n that trains the k-th model (from
// 0) of a comparison: every n-th model, round robin.
func shardOf(k, n int) int { return k%n + 1 }

// manifestName is the file in a comparison's directory that lists its
// runs, so that "fkd report DIR" finds them, in order, and can tell which
// shard should have made a run that is missing.
const manifestName = "compare.json"

// compareManifest describes a comparison: its models and their runs.
type compareManifest struct {
	Models []string `json:"models"` // model specs, in the order of --models
	Runs   []string `json:"runs"`   // each model's run directory, relative to the manifest's directory
	Shards int      `json:"shards"` // machines sharing the comparison; 1 without --shard
	Train  string   `json:"train"`  // the training data, an absolute path
}

// shardLabel says which shard trains the k-th model; "" without shards.
func (m *compareManifest) shardLabel(k int) string {
	if m.Shards <= 1 {
		return ""
	}
	return fmt.Sprintf("shard %d/%d", shardOf(k, m.Shards), m.Shards)
}

// readManifest reads the manifest of the comparison in dir.
func readManifest(dir string) (*compareManifest, error) {
	path := filepath.Join(dir, manifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m compareManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(m.Runs) != len(m.Models) {
		return nil, fmt.Errorf("read %s: %d models but %d runs", path, len(m.Models), len(m.Runs))
	}
	return &m, nil
}

// writeManifest records the comparison in its directory. Shards of one
// comparison all write the same manifest; a shard refuses to overwrite one
// that lists other models (unless --force), since the shards would then
// not be sharing the same comparison.
func (o *compareOptions) writeManifest() error {
	abs, err := filepath.Abs(o.data)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	m := compareManifest{Models: o.specs, Shards: max(1, o.shards), Train: abs}
	for _, s := range o.specs {
		rel, err := filepath.Rel(o.out, o.runDir(s))
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		m.Runs = append(m.Runs, filepath.ToSlash(rel))
	}
	if o.shards > 0 && !o.force {
		old, err := readManifest(o.out)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err
		case !slices.Equal(old.Models, m.Models):
			return fmt.Errorf("%s lists another comparison (models %s), this shard's is of %s: "+
				"give every shard the same --models, or use another --out, or --force to start a new comparison there",
				filepath.Join(o.out, manifestName), strings.Join(old.Models, " "), strings.Join(m.Models, " "))
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return atomicfile.Write(filepath.Join(o.out, manifestName), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
}
