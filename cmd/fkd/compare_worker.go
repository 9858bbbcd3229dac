package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/train"
)

// A parallel compare (--devices with more than one device) trains each
// model in a child process, "fkd compare --worker-job JOB --train DATA",
// rather than in a goroutine of its own process. LibTorch keeps state per
// process that concurrent runs would share: the CPU thread count
// (torch.SetNumThreads) and the random generators that train.Run reseeds
// before the initial weights and every step (torch.ManualSeed). Two runs
// in one process would reseed each other's generators and draw each
// other's dropout masks and augmentations, and could not have thread
// counts of their own. In a process each, a run is the same as when
// trained alone, bit for bit on the CPU, and gets its own share of the
// threads.
//
// The child reports to its parent as JSON lines (workerEvent) on file
// descriptor 3. It ignores SIGINT and SIGTERM and stops, saving a
// checkpoint, when its standard input closes: the parent closes it on its
// first signal, and the system closes it when the parent dies, so a
// worker never outlives its compare without a checkpoint.

// workerEventsFD is the child's file descriptor for its events.
const workerEventsFD = 3

// workerJob is what a worker trains.
type workerJob struct {
	Config train.Config `json:"config"`
	Resume bool         `json:"resume"` // Config.Resume, which JSON leaves out
}

// workerEvent is one line a worker sends its parent.
type workerEvent struct {
	Kind      string   `json:"kind"` // "step", "log" or "done"
	Epoch     int      `json:"epoch,omitempty"`
	Epochs    int      `json:"epochs,omitempty"`
	Step      int      `json:"step,omitempty"`
	Steps     int      `json:"steps,omitempty"`
	Line      string   `json:"line,omitempty"`       // log: a line of the training log
	BestEpoch int      `json:"best_epoch,omitempty"` // done
	BestRMSE  *float64 `json:"best_rmse,omitempty"`  // done: hold-out RMSE of the best epoch, px
}

// eventSender writes events as JSON lines. Write errors are dropped: a
// parent that has gone away must not stop the run before its checkpoint.
type eventSender struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (s *eventSender) send(ev workerEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.enc.Encode(ev)
}

// logEvents turns the lines of a training log into log events.
type logEvents struct {
	s       *eventSender
	partial string
}

func (l *logEvents) Write(p []byte) (int, error) {
	text := l.partial + string(p)
	lines := strings.Split(text, "\n")
	l.partial = lines[len(lines)-1]
	for _, line := range lines[:len(lines)-1] {
		if line != "" {
			l.s.send(workerEvent{Kind: "log", Line: line})
		}
	}
	return len(p), nil
}

// runCompareWorker trains the model of o.workerJob on o.data and reports
// to the parent compare.
func runCompareWorker(o *compareOptions) error {
	var job workerJob
	if err := json.Unmarshal([]byte(o.workerJob), &job); err != nil {
		return usagef("--worker-job: %v", err)
	}
	job.Config.Resume = job.Resume
	events := os.NewFile(workerEventsFD, "events")
	if info, err := events.Stat(); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		return usagef("--worker-job is for fkd compare's own use: it reports on file descriptor %d", workerEventsFD)
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
	s := &eventSender{enc: json.NewEncoder(events)}
	var last time.Time
	opts := train.Options{
		Log: &logEvents{s: s},
		AfterStep: func(st train.StepInfo) {
			if st.Step == 1 || st.Step == st.Steps || time.Since(last) >= 100*time.Millisecond {
				last = time.Now()
				s.send(workerEvent{Kind: "step", Epoch: st.Epoch, Epochs: job.Config.Epochs, Step: st.Step, Steps: st.Steps})
			}
		},
	}
	res, err := train.Run(ctx, job.Config, set, opts)
	if err != nil {
		return err
	}
	res.Model.Store().Free()
	done := workerEvent{Kind: "done", BestEpoch: res.BestEpoch}
	if v := res.BestHoldoutRMSEPx; !math.IsNaN(v) {
		done.BestRMSE = &v
	}
	s.send(done)
	return nil
}

// readWorkerEvents decodes the events of a worker from r until it closes,
// calling handle for each; lines that are not events are skipped.
func readWorkerEvents(r io.Reader, handle func(workerEvent)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev workerEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue
		}
		handle(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read a worker's events: %w", err)
	}
	return nil
}
