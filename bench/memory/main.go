// Command memory reports how much resident memory a training run holds
// for its data: it reads a training file as fkd train does, starts
// train.Run on it and, at the end of the first optimiser step, reads the
// process's resident set size (VmRSS in /proc/self/status), then stops
// the run. bench/memory/run.sh runs it on sets of several sizes and turns
// the differences into bytes per face.
//
// Usage:
//
//	go run ./bench/memory [-model cnn3] [-device cpu] [-threads N] training.csv
//
// It prints one line of key=value pairs: faces, the resident bytes before
// the read (rss_start), after it (rss_read) and at the first step
// (rss_step), the part of it the Go runtime holds from the operating
// system at that step (go_step: MemStats.Sys less HeapReleased; the rest
// is LibTorch's and the C library's), and the peak (hwm, VmHWM).
package main

// #include <malloc.h>
import "C"

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/train"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/memory: ")
	model := flag.String("model", "cnn3", "the model trained")
	device := flag.String("device", "cpu", "the training device")
	threads := flag.Int("threads", 0, "LibTorch CPU threads (0: one per core)")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: memory [-model cnn3] [-device cpu] [-threads N] training.csv")
	}
	start := status("VmRSS")

	set, _, err := dataset.ReadTraining(flag.Arg(0), dataset.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	faces := set.Len()
	read := status("VmRSS")

	dir, err := os.MkdirTemp("", "fkd-bench-memory-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := train.DefaultConfig()
	cfg.Model = *model
	cfg.Device = *device
	cfg.Threads = *threads
	cfg.Epochs = 1
	cfg.Out = filepath.Join(dir, "model.pt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var step, trimmed, goHeld int64
	_, err = train.Run(ctx, cfg, set, train.Options{AfterStep: func(train.StepInfo) {
		if step == 0 {
			step = status("VmRSS")
			C.malloc_trim(0)
			trimmed = status("VmRSS")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			goHeld = int64(ms.Sys - ms.HeapReleased)
			cancel()
		}
	}})
	if _, ok := errors.AsType[*train.InterruptedError](err); !ok && err != nil {
		log.Fatal(err)
	}
	if step == 0 {
		log.Fatal("the run took no step")
	}
	fmt.Printf("faces=%d rss_start=%d rss_read=%d rss_step=%d rss_trimmed=%d go_step=%d hwm=%d\n",
		faces, start, read, step, trimmed, goHeld, status("VmHWM"))
}

// status returns a size field of /proc/self/status, in bytes.
func status(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok || string(name) != field {
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(value), []byte(" kB"))), 10, 64)
		if err != nil {
			log.Fatalf("/proc/self/status %s: %v", field, err)
		}
		return kb << 10
	}
	log.Fatalf("/proc/self/status has no %s", field)
	return 0
}
