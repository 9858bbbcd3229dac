package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/fkd-project/fkd/compare"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/torch"
)

// trainParallel trains the jobs that need it side by side, one goroutine
// per device of --devices, each taking the next model when its last one is
// done and training it in a worker process of its own (see
// compare_worker.go). The CPU threads (--threads, 0: one per core) are
// shared out evenly over the devices. One display shows the models done
// and what each device is training.
func (o *compareOptions) trainParallel(ctx context.Context, env *report.Env, _ *dataset.Set, jobs []compareJob, totalEpochs int) error {
	var todo []compareJob
	for _, j := range jobs {
		if j.plan != compare.Reuse {
			todo = append(todo, j)
		}
	}
	labels := compare.DeviceLabels(o.devices)
	total := o.cfg.Threads
	if total <= 0 {
		total = runtime.NumCPU()
	}
	shares := compare.ThreadShares(total, len(o.devices))
	var where []string
	for i, l := range labels {
		where = append(where, fmt.Sprintf("%s (%d thread%s)", l, shares[i], plural(shares[i])))
	}
	fmt.Fprintf(env.Stderr, "training %d model%s on %d devices at once: %s\n", len(todo), plural(len(todo)), len(labels), strings.Join(where, ", "))
	if total < len(o.devices) {
		fmt.Fprintf(env.Stderr, "note: %d CPU threads for %d devices: each gets one, so they share cores\n", total, len(o.devices))
	}

	p := newParallelProgress(env, labels, len(todo), totalEpochs)
	queue := make(chan compareJob)
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
	for i, dev := range o.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if ctx.Err() != nil || failed() {
					continue
				}
				err := o.trainInWorker(ctx, p, i, dev, shares[i], j)
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

// trainInWorker trains job j in a worker process on dev with the given
// CPU threads, as worker w of the progress display p.
func (o *compareOptions) trainInWorker(ctx context.Context, p *parallelProgress, w int, dev torch.Device, threads int, j compareJob) error {
	cfg := j.cfg
	cfg.Device, cfg.Threads = dev.String(), threads
	if err := os.MkdirAll(filepath.Dir(cfg.Out), 0o755); err != nil {
		return err
	}
	job, err := json.Marshal(compare.Job{Config: cfg, Resume: cfg.Resume})
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find fkd's own executable to start a worker: %w", err)
	}
	cmd := exec.Command(exe, "compare", "--worker-job", string(job), "--train", o.data)
	events, eventsW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer events.Close()
	cmd.ExtraFiles = []*os.File{eventsW} // the worker's descriptor 3 (compare.EventsFD)
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
	var done *compare.Event
	readErr := compare.ReadEvents(events, func(ev compare.Event) {
		switch ev.Kind {
		case "step":
			p.step(w, ev)
		case "log":
			p.log(w, ev.Line)
		case "done":
			done = &ev
		}
	})
	waitErr := cmd.Wait()
	if err := errors.Join(waitErr, readErr); err != nil || done == nil {
		p.end(w, nil, 0)
		return compare.WorkerFailure(stderr.String(), err)
	}
	p.end(w, done, time.Since(start))
	return nil
}

// parallelProgress is the display of a parallel compare: the models done
// of those to train, the time left, and each device's model and epoch. On
// a terminal it is redrawn in place a few times a second, with one line
// per device; elsewhere each device's training log is passed on, its lines
// prefixed with the device.
type parallelProgress struct {
	mu          sync.Mutex
	w           io.Writer
	terminal    bool
	workers     []workerState
	toTrain     int
	trained     int
	totalEpochs float64
	doneEpochs  float64 // epochs of the models finished
	start       time.Time
	shown       int       // lines of the display on the terminal now
	drawn       time.Time // when it was last drawn
}

// workerState is what a device is doing.
type workerState struct {
	label                      string
	model                      string // "" while idle
	epoch, epochs, step, steps int
	before                     int     // epochs trained before this run started (a resumed run)
	progress                   float64 // epochs of this run done so far
}

func newParallelProgress(env *report.Env, labels []string, toTrain, totalEpochs int) *parallelProgress {
	p := &parallelProgress{w: env.Stderr, terminal: env.Terminal, toTrain: toTrain, totalEpochs: float64(totalEpochs), start: time.Now()}
	for _, l := range labels {
		p.workers = append(p.workers, workerState{label: l})
	}
	return p
}

func (p *parallelProgress) begin(w int, model string, epochs, before, threads int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workers[w] = workerState{label: p.workers[w].label, model: model, epoch: before + 1, epochs: epochs, before: before}
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: training %s (epochs %d to %d, %d thread%s)\n", p.workers[w].label, model, before+1, epochs, threads, plural(threads))
	}
	p.draw(true)
}

func (p *parallelProgress) step(w int, ev compare.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.workers[w]
	s.epoch, s.step, s.steps = ev.Epoch, ev.Step, ev.Steps
	if ev.Steps > 0 {
		s.progress = float64(ev.Epoch-1-s.before) + float64(ev.Step)/float64(ev.Steps)
	}
	p.draw(false)
}

func (p *parallelProgress) log(w int, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal {
		fmt.Fprintf(p.w, "[%s] %s: %s\n", p.workers[w].label, p.workers[w].model, line)
	}
}

// end records that device w finished its model: done holds the result,
// nil when it failed.
func (p *parallelProgress) end(w int, done *compare.Event, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.workers[w]
	if done != nil {
		p.trained++
		p.doneEpochs += float64(s.epochs - s.before)
		s.progress = 0
		rmse := "–"
		if done.BestRMSE != nil {
			rmse = report.FormatRMSE(*done.BestRMSE)
		}
		p.erase()
		fmt.Fprintf(p.w, "models %d/%d done: %s on %s, hold-out RMSE %s px at epoch %d (%s); %s\n",
			p.trained, p.toTrain, s.model, s.label, rmse, done.BestEpoch, report.FormatSeconds(took.Seconds()), p.left())
	}
	*s = workerState{label: s.label}
	p.draw(true)
}

// close takes the display off the terminal.
func (p *parallelProgress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
}

// left estimates the time left from the epochs done so far, of finished
// and running models together.
func (p *parallelProgress) left() string {
	done := p.doneEpochs
	for _, s := range p.workers {
		done += s.progress
	}
	switch {
	case p.trained == p.toTrain:
		return "done"
	case done <= 0:
		return "time left unknown yet"
	}
	return "about " + report.FormatSeconds(time.Since(p.start).Seconds()/done*(p.totalEpochs-done)) + " left"
}

// draw redraws the display on a terminal, at most five times a second
// unless forced.
func (p *parallelProgress) draw(force bool) {
	if !p.terminal || (!force && time.Since(p.drawn) < 200*time.Millisecond) {
		return
	}
	p.drawn = time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "models %d/%d done; %s\n", p.trained, p.toTrain, p.left())
	for _, s := range p.workers {
		switch {
		case s.model == "":
			fmt.Fprintf(&b, "  %-8s idle\n", s.label)
		case s.steps == 0:
			fmt.Fprintf(&b, "  %-8s %s: starting epoch %d/%d\n", s.label, s.model, s.epoch, s.epochs)
		default:
			fmt.Fprintf(&b, "  %-8s %s: epoch %d/%d, step %d/%d\n", s.label, s.model, s.epoch, s.epochs, s.step, s.steps)
		}
	}
	p.erase()
	io.WriteString(p.w, b.String())
	p.shown = 1 + len(p.workers)
}

// erase takes the display off the terminal, so that a line can be
// printed where it was.
func (p *parallelProgress) erase() {
	if p.shown > 0 {
		fmt.Fprintf(p.w, "\x1b[%dF\x1b[J", p.shown) // up to the display's first line, clear to the end
		p.shown = 0
	}
}
