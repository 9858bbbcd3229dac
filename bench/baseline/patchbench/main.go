// Command patchbench times the patch-search baseline (default radii) on
// one worker and on several, in interleaved rounds, for
// bench/baseline/run.sh.
//
// Each round times baseline.Patch.Predict over the same synthetic faces
// once per worker count, alternating which count goes first; the best
// time of each count over all rounds counts. On a machine shared with
// other work a round where a neighbour takes a core is lost for every
// count alike, and the best times are those of the quiet moments.
//
// In the same rounds it times a control: a loop of floating-point
// arithmetic that shares no memory between goroutines, once on one
// goroutine and once on each of the workers. Its speed-up is what the
// machine gives at best, so a patch-search speed-up well below it points
// at the search, and one close to it at the machine.
//
// Output, one result per line, for run.sh to read:
//
//	faces=<n> rounds=<n> cpus=<n>
//	patch workers=<w> best_ns=<ns>
//	control workers=<w> best_ns=<ns>
package main

import (
	"flag"
	"fmt"
	"log"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset/synth"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("patchbench: ")
	faces := flag.Int("faces", 1000, "synthetic test faces searched per timing")
	rounds := flag.Int("rounds", 7, "interleaved rounds")
	list := flag.String("workers", "", "worker counts to compare, e.g. 1,2 (default: 1 and the CPU count)")
	flag.Parse()
	counts, err := workerCounts(*list)
	if err != nil {
		log.Fatal(err)
	}

	train := synth.Generate(1000, 1, synth.Options{PartialFrac: 0.5})
	test := synth.Generate(*faces, 2, synth.Options{})
	p := baseline.NewPatch()
	if err := p.Fit(train); err != nil {
		log.Fatal(err)
	}
	predict := func(workers int) []float32 {
		p.Workers = workers
		out, err := p.Predict(test.Images)
		if err != nil {
			log.Fatal(err)
		}
		return out
	}
	// The predictions must not depend on the worker count.
	want := predict(1)
	for _, w := range counts[1:] {
		if !slices.Equal(predict(w), want) {
			log.Fatalf("%d workers predict differently from 1", w)
		}
	}

	patch := make([]time.Duration, len(counts))
	control := make([]time.Duration, len(counts))
	for r := range *rounds {
		order := slices.Clone(counts)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, w := range order {
			i := slices.Index(counts, w)
			patch[i] = best(patch[i], timed(func() { predict(w) }))
			control[i] = best(control[i], timed(func() { spin(w) }))
		}
	}
	fmt.Printf("faces=%d rounds=%d cpus=%d\n", *faces, *rounds, runtime.NumCPU())
	for i, w := range counts {
		fmt.Printf("patch workers=%d best_ns=%d\n", w, patch[i].Nanoseconds())
	}
	for i, w := range counts {
		fmt.Printf("control workers=%d best_ns=%d\n", w, control[i].Nanoseconds())
	}
}

// workerCounts parses a comma-separated list of worker counts, which must
// start with 1; "" means 1 and runtime.NumCPU().
func workerCounts(list string) ([]int, error) {
	if list == "" {
		if n := runtime.NumCPU(); n > 1 {
			return []int{1, n}, nil
		}
		return []int{1}, nil
	}
	var counts []int
	for f := range strings.SplitSeq(list, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || w < 1 {
			return nil, fmt.Errorf("-workers: %q is not a positive count", f)
		}
		counts = append(counts, w)
	}
	if counts[0] != 1 {
		return nil, fmt.Errorf("-workers: the list must start with 1, got %q", list)
	}
	return counts, nil
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// best returns the shorter of two durations, where 0 means none yet.
func best(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

// spinSink keeps spin's results alive; one padded slot per goroutine.
var spinSink [64]struct {
	v float64
	_ [56]byte
}

// spin runs a fixed amount of floating-point arithmetic on each of w
// goroutines at once.
func spin(w int) {
	var wg sync.WaitGroup
	for g := range w {
		wg.Go(func() {
			a, b, c, d := 1.0, 1.1, 1.2, 1.3
			for range 10_000_000 {
				a = a*0.999999 + 1e-7
				b = b*0.999999 + 1e-7
				c = c*0.999999 + 1e-7
				d = d*0.999999 + 1e-7
			}
			spinSink[g%len(spinSink)].v = a + b + c + d
		})
	}
	wg.Wait()
}
