package compare

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/fkd-project/fkd/report"
)

// progress is the display of a parallel compare: the models done of
// those to train, the time left, and each device's model and epoch. On a
// terminal it is redrawn in place a few times a second, with one line per
// device; elsewhere each device's training log is passed on, its lines
// prefixed with the device.
type progress struct {
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

func newProgress(env *report.Env, labels []string, toTrain, totalEpochs int) *progress {
	p := &progress{w: env.Stderr, terminal: env.Terminal, toTrain: toTrain, totalEpochs: float64(totalEpochs), start: time.Now()}
	for _, l := range labels {
		p.workers = append(p.workers, workerState{label: l})
	}
	return p
}

func (p *progress) begin(w int, model string, epochs, before, threads int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workers[w] = workerState{label: p.workers[w].label, model: model, epoch: before + 1, epochs: epochs, before: before}
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: training %s (epochs %d to %d, %d thread%s)\n", p.workers[w].label, model, before+1, epochs, threads, plural(threads))
	}
	p.draw(true)
}

func (p *progress) step(w int, ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.workers[w]
	s.epoch, s.step, s.steps = ev.Epoch, ev.Step, ev.Steps
	if ev.Steps > 0 {
		s.progress = float64(ev.Epoch-1-s.before) + float64(ev.Step)/float64(ev.Steps)
	}
	p.draw(false)
}

func (p *progress) log(w int, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal {
		fmt.Fprintf(p.w, "[%s] %s: %s\n", p.workers[w].label, p.workers[w].model, line)
	}
}

// end records that device w finished its model: done holds the result,
// nil when it failed.
func (p *progress) end(w int, done *Event, took time.Duration) {
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
func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
}

// left estimates the time left from the epochs done so far, of finished
// and running models together.
func (p *progress) left() string {
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
func (p *progress) draw(force bool) {
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
func (p *progress) erase() {
	if p.shown > 0 {
		fmt.Fprintf(p.w, "\x1b[%dF\x1b[J", p.shown) // up to the display's first line, clear to the end
		p.shown = 0
	}
}
