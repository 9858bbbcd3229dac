package compare

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/torch"
)

// ParseDevices reads the --devices list: "cpu", "cuda" (device 0) or
// "cuda:N", separated by commas. The CPU may be named more than once (its
// threads are then shared out); a GPU may not. Every GPU named must exist.
func ParseDevices(list string) ([]torch.Device, error) {
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

// DeviceLabels names the workers of devs: the device, numbered when the
// CPU is named more than once ("cpu 1", "cpu 2").
func DeviceLabels(devs []torch.Device) []string {
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

// ThreadShares splits total CPU threads over workers as evenly as whole
// threads allow, at least one each.
func ThreadShares(total, workers int) []int {
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

// ParseShard reads --shard I/N: this is shard I (from 1) of N.
func ParseShard(s string) (i, n int, err error) {
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
