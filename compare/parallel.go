package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
)

// trainParallel trains the jobs that need it side by side, one goroutine
// per device of Devices, each taking the next model when its last one is
// done and training it in a worker process of its own (see worker.go).
// The CPU threads (Config.Threads, 0: one per core) are shared out evenly
// over the devices. One display shows the models done and what each
// device is training.
func (c *Comparison) trainParallel(ctx context.Context, env *report.Env, _ *dataset.Set, jobs []job, totalEpochs int) error {
	var todo []job
	for _, j := range jobs {
		if j.plan != Reuse {
			todo = append(todo, j)
		}
	}
	labels := DeviceLabels(c.Devices)
	total := c.Config.Threads
	if total <= 0 {
		total = runtime.NumCPU()
	}
	shares := ThreadShares(total, len(c.Devices))
	var where []string
	for i, l := range labels {
		where = append(where, fmt.Sprintf("%s (%d thread%s)", l, shares[i], plural(shares[i])))
	}
	fmt.Fprintf(env.Stderr, "training %d model%s on %d devices at once: %s\n", len(todo), plural(len(todo)), len(labels), strings.Join(where, ", "))
	if total < len(c.Devices) {
		fmt.Fprintf(env.Stderr, "note: %d CPU threads for %d devices: each gets one, so they share cores\n", total, len(c.Devices))
	}

	p := newProgress(env, labels, len(todo), totalEpochs)
	queue := make(chan job)
	var (
		mu       sync.Mutex
		failures []string
		trained  int
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(failures) > 0
	}
	var wg sync.WaitGroup
	for i, dev := range c.Devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if ctx.Err() != nil || failed() {
					continue
				}
				err := c.trainInWorker(ctx, env, p, i, dev, shares[i], j)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s on %s: %v", j.cfg.Model, labels[i], err))
				} else {
					trained++
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, j := range todo {
		if failed() {
			break
		}
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	p.close()
	switch {
	case ctx.Err() != nil:
		msg := fmt.Sprintf("interrupted with %d of %d models trained", trained, len(todo))
		if len(failures) > 0 {
			msg += " (" + strings.Join(failures, "; ") + ")"
		}
		return errors.New(msg + "; run the same fkd compare again to continue")
	case len(failures) > 0:
		return fmt.Errorf("train %s", strings.Join(failures, "; train "))
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// trainInWorker trains job j in a worker process, fkd's own executable,
// on dev with the given CPU threads, as worker w of the display p; the
// warnings of its log are kept in env for the report.
func (c *Comparison) trainInWorker(ctx context.Context, env *report.Env, p *progress, w int, dev torch.Device, threads int, j job) error {
	cfg := j.cfg
	cfg.Device, cfg.Threads = dev.String(), threads
	if err := os.MkdirAll(filepath.Dir(cfg.Out), 0o755); err != nil {
		return err
	}
	spec, err := json.Marshal(Job{Config: cfg, Resume: cfg.Resume})
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find fkd's own executable to start a worker: %w", err)
	}
	cmd := exec.Command(exe, "compare", "--worker-job", string(spec), "--train", c.Data)
	events, eventsW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer events.Close()
	cmd.ExtraFiles = []*os.File{eventsW} // the worker's descriptor 3 (EventsFD)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		eventsW.Close()
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Start()
	eventsW.Close()
	if err != nil {
		return fmt.Errorf("start a worker: %w", err)
	}
	// Closing the worker's standard input asks it to checkpoint and stop.
	stop := context.AfterFunc(ctx, func() { stdin.Close() })
	defer stop()

	p.begin(w, cfg.Model, cfg.Epochs, j.done, threads)
	var done *Event
	readErr := ReadEvents(events, func(ev Event) {
		switch ev.Kind {
		case "step":
			p.step(w, ev)
		case "log":
			p.log(w, ev.Line)
			keepWorkerWarning(env, cfg.Model, ev.Line)
		case "done":
			done = &ev
		}
	})
	waitErr := cmd.Wait()
	if err := errors.Join(waitErr, readErr); err != nil || done == nil {
		p.end(w, nil, 0)
		return WorkerFailure(stderr.String(), err)
	}
	p.end(w, done, time.Since(start))
	return nil
}
