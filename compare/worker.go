package compare

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
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
// The child reports to its parent as JSON lines (Event) on file
// descriptor 3. It ignores SIGINT and SIGTERM and stops, saving a
// checkpoint, when its standard input closes: the parent closes it on its
// first signal, and the system closes it when the parent dies, so a
// worker never outlives its compare without a checkpoint.

// EventsFD is the child's file descriptor for its events.
const EventsFD = 3

// Job is what a worker trains.
type Job struct {
	Config train.Config `json:"config"`
	Resume bool         `json:"resume"` // Config.Resume, which JSON leaves out
}

// Event is one line a worker sends its parent.
type Event struct {
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

func (s *eventSender) send(ev Event) {
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
			l.s.send(Event{Kind: "log", Line: line})
		}
	}
	return len(p), nil
}

// ReadEvents decodes the events of a worker from r until it closes,
// calling handle for each; lines that are not events are skipped.
func ReadEvents(r io.Reader, handle func(Event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev Event
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

// WorkerFailure says why a worker failed: the last line it wrote, which
// is fkd's one-line error, or else how it ended.
func WorkerFailure(stderr string, err error) error {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if msg := strings.TrimSpace(lines[len(lines)-1]); msg != "" {
		return errors.New(strings.TrimPrefix(msg, "fkd compare: "))
	}
	if err != nil {
		return fmt.Errorf("the worker ended: %w", err)
	}
	return errors.New("the worker ended without a result")
}

// Work trains the model of cfg on set, as a worker does, and reports to
// its parent compare as JSON lines on events: the steps (a few a second),
// the training log and, at the end, the result. Write errors on events
// are dropped, so that a parent that has gone away cannot stop the run
// before its checkpoint.
func Work(ctx context.Context, cfg train.Config, set *dataset.Set, events io.Writer) error {
	s := &eventSender{enc: json.NewEncoder(events)}
	var last time.Time
	opts := train.Options{
		Log: &logEvents{s: s},
		AfterStep: func(st train.StepInfo) {
			if st.Step == 1 || st.Step == st.Steps || time.Since(last) >= 100*time.Millisecond {
				last = time.Now()
				s.send(Event{Kind: "step", Epoch: st.Epoch, Epochs: cfg.Epochs, Step: st.Step, Steps: st.Steps})
			}
		},
	}
	res, err := train.Run(ctx, cfg, set, opts)
	if err != nil {
		return err
	}
	res.Model.Store().Free()
	done := Event{Kind: "done", BestEpoch: res.BestEpoch}
	if v := res.BestHoldoutRMSEPx; !math.IsNaN(v) {
		done.BestRMSE = &v
	}
	s.send(done)
	return nil
}
