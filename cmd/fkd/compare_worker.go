package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fkd-project/fkd/compare"
	"github.com/fkd-project/fkd/dataset"
)

// runCompareWorker trains the model of o.workerJob on o.data and reports
// to the parent compare.
func runCompareWorker(o *compareOptions) error {
	var job compare.Job
	if err := json.Unmarshal([]byte(o.workerJob), &job); err != nil {
		return usagef("--worker-job: %v", err)
	}
	job.Config.Resume = job.Resume
	events := os.NewFile(compare.EventsFD, "events")
	if info, err := events.Stat(); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		return usagef("--worker-job is for fkd compare's own use: it reports on file descriptor %d", compare.EventsFD)
	}
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()

	set, _, err := dataset.ReadTraining(o.data, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	return compare.Work(ctx, job.Config, set, events)
}
