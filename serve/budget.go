package serve

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// DefaultMemoryBudget returns the memory budget a Handler takes when
// given none: a quarter of the machine's memory, or of the control
// group's limit when it is lower (a container's), and at least 256 MiB.
// The rest is left to the model, LibTorch, OpenCV's detector and the Go
// runtime's own margin.
func DefaultMemoryBudget() int64 {
	return max(256<<20, MachineMemory()/4)
}

// MachineMemory returns the memory this process may use: the smallest of
// the machine's (MemTotal in /proc/meminfo) and its control group's limit
// (cgroup v2 memory.max, or v1 memory.limit_in_bytes); 4 GiB when none of
// them can be read.
func MachineMemory() int64 {
	var total int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
					total = kb << 10
				}
			}
		}
		f.Close()
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && limit > 0 && (total == 0 || limit < total) {
			total = limit
		}
	}
	if total <= 0 {
		return 4 << 30
	}
	return total
}

// budget is memory that requests charge what they hold against: a body,
// a decoded image, a detector's copy. Charges are refused, never waited
// for, once it is spent.
type budget struct {
	mu         sync.Mutex
	total      int64
	used, peak int64
}

// take charges n bytes, unless fewer than n are left.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.total-b.used {
		return false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.used < 0 {
		panic(fmt.Sprintf("serve: memory budget: %d bytes more given back than taken", -b.used))
	}
}

func (b *budget) load() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}

// lease is what one request holds of a budget. Its methods are safe for
// concurrent use: a request's work may finish after its answer.
type lease struct {
	b    *budget
	mu   sync.Mutex
	held int64
}

// grow charges n more bytes to the lease, unless the budget is spent.
func (l *lease) grow(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n <= 0 {
		return true
	}
	if !l.b.take(n) {
		return false
	}
	l.held += n
	return true
}

// give gives back n bytes of the lease, or all it holds when fewer.
func (l *lease) give(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n = min(n, l.held)
	l.b.give(n)
	l.held -= n
}

// shrinkTo gives back all but n bytes of the lease (all of them for 0).
func (l *lease) shrinkTo(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < l.held {
		l.b.give(l.held - n)
		l.held = n
	}
}

// mib writes bytes in MiB for messages.
func mib(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// TuneGC sets the Go garbage collector for a server of the given memory
// budget, unless GOGC or GOMEMLIMIT says otherwise: collection at a heap
// a quarter over the live one (GOGC=25), not twice it, since the heap is
// mostly a few decoded images freed whole and cheap to collect; and a
// soft limit of the budget and 256 MiB more. Without it, the dead images
// of the requests answered stay in the heap beside the live ones, up to
// the budget again.
func TuneGC(budget int64) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(budget + 256<<20)
	}
}
