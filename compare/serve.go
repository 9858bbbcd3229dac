package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fkd-project/fkd/dataset"
)

// Worker reads the job a parent compare passes a worker (fkd compare
// --worker-job JOB) and returns it with the worker's end of the pipe its
// events go to, file descriptor EventsFD. An error, naming the flag, is
// a bad job or a process that no parent compare started.
func Worker(jobJSON string) (Job, *os.File, error) {
	var job Job
	if err := json.Unmarshal([]byte(jobJSON), &job); err != nil {
		return Job{}, nil, fmt.Errorf("--worker-job: %w", err)
	}
	job.Config.Resume = job.Resume
	events := os.NewFile(EventsFD, "events")
	if info, err := events.Stat(); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		return Job{}, nil, fmt.Errorf("--worker-job is for fkd compare's own use: it reports on file descriptor %d", EventsFD)
	}
	return job, events, nil
}

// Serve is a worker process's life: it trains job on the data at
// dataPath, reporting to its parent on events (see Work). It ignores
// SIGINT and SIGTERM, and stops at its next step, saving a checkpoint,
// when its standard input closes.
func Serve(job Job, dataPath string, events io.Writer) error {
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	set, _, err := dataset.ReadTraining(dataPath, dataset.ReadOptions{})
	if err != nil {
		return err
	}
	return Work(ctx, job.Config, set, events)
}
