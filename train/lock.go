package train

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A run's lock keeps two trainers out of one run: two jobs of the same
// sharded compare submitted twice, or a resubmitted job while the first
// still runs, would otherwise write the same model, history and
// checkpoint. Run holds it from before it touches the run's files until
// it returns. The lock is a file beside the model (LockPath) naming its
// holder; the holder touches it every HeartbeatEvery.
//
// A lock left by a trainer that died without removing it is broken, with
// a note, when its holder is surely dead: on the same host (and boot), a
// pid that no longer exists or now belongs to another process; on another
// host, a heartbeat older than HeartbeatExpiry. A lock of a live holder
// is never broken: the second trainer fails with a *HeldError.
const (
	HeartbeatEvery  = time.Minute
	HeartbeatExpiry = 10 * time.Minute
)

// LockPath returns the file of the run's lock: Out with its extension
// replaced by ".lock".
func (c *Config) LockPath() string {
	return strings.TrimSuffix(c.Out, filepath.Ext(c.Out)) + ".lock"
}

// Holder is what a lock file records of the trainer holding it.
type Holder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Boot is the host's boot id and PIDStart the process's start time in
	// clock ticks since boot (Linux's /proc), so that a pid reused after
	// the holder died, or a reboot, is not taken for the holder.
	Boot     string `json:"boot,omitempty"`
	PIDStart uint64 `json:"pid_start,omitempty"`
	Token    string `json:"token"` // random: tells this holding apart from a later one
}

func (h Holder) String() string {
	if h.Host == "" && h.PID == 0 {
		return "an unknown holder (the lock file is being written, or is not fkd's)"
	}
	return fmt.Sprintf("host %s, pid %d, since %s", h.Host, h.PID, h.Started.UTC().Format(time.RFC3339))
}

// HeldError says that another trainer, alive as far as can be told,
// holds the run.
type HeldError struct {
	Path   string // the lock file
	Holder Holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is locked by another trainer (%s): wait for it to end, or stop it, then run again",
		e.Path, e.Holder)
}

// Lock is a lock held on a run; Release gives it back.
type Lock struct {
	path    string
	content []byte
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// lockEnv is how a lock judges holders: this process, its clock and the
// heartbeat's timing. Tests change it.
type lockEnv struct {
	self   Holder
	now    func() time.Time
	every  time.Duration
	expiry time.Duration
}

func defaultLockEnv() lockEnv {
	host, _ := os.Hostname()
	pid := os.Getpid()
	start, _ := procStart(pid)
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	return lockEnv{
		self: Holder{Host: host, PID: pid, Started: time.Now().UTC().Truncate(time.Second),
			Boot: bootID(), PIDStart: start, Token: hex.EncodeToString(token)},
		now: time.Now, every: HeartbeatEvery, expiry: HeartbeatExpiry,
	}
}

// LockRun takes the lock of the run whose model file is cfg.Out, making
// its directory if need be. A lock left by a dead trainer is broken, with
// a note to log (nil: none); one held by a live trainer, or one whose
// holder cannot be judged dead, gives a *HeldError.
func LockRun(cfg *Config, log io.Writer) (*Lock, error) {
	if log == nil {
		log = io.Discard
	}
	return defaultLockEnv().acquire(cfg.LockPath(), log)
}

func (env lockEnv) acquire(path string, log io.Writer) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock the run: %w", err)
	}
	content, err := json.Marshal(env.self)
	if err != nil {
		return nil, err
	}
	content = append(content, '\n')
	for range 3 { // a lock released or broken by another trainer meanwhile: try again
		err := createExclusive(path, content)
		if err == nil {
			l := &Lock{path: path, content: content, stop: make(chan struct{}), done: make(chan struct{})}
			go l.heartbeat(env.every, log)
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock the run: %w", err)
		}
		old, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lock the run: %w", err)
		}
		info, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lock the run: %w", err)
		}
		var h Holder
		if json.Unmarshal(old, &h) != nil {
			h = Holder{}
		}
		why := env.dead(h, info.ModTime())
		if why == "" {
			return nil, &HeldError{Path: path, Holder: h}
		}
		broken, err := breakLock(path, old)
		if err != nil {
			return nil, fmt.Errorf("lock the run: %w", err)
		}
		if broken {
			fmt.Fprintf(log, "note: broke the lock %s left by a dead trainer (%s): %s\n", path, h, why)
		}
	}
	return nil, fmt.Errorf("lock the run: %s keeps changing hands; is another trainer starting on it?", path)
}

// dead says why the holder h of a lock last touched at beat is dead, or
// "" when it may be alive.
func (env lockEnv) dead(h Holder, beat time.Time) string {
	age := env.now().Sub(beat)
	if h.Host == env.self.Host && h.PID > 0 && (h.Boot == "" || h.Boot == env.self.Boot) {
		alive, start := processAlive(h.PID)
		switch {
		case !alive:
			return fmt.Sprintf("pid %d is gone from this host", h.PID)
		case h.PIDStart != 0 && start != 0 && start != h.PIDStart:
			return fmt.Sprintf("pid %d is now another process", h.PID)
		}
		return ""
	}
	if h.Host == env.self.Host && h.Boot != "" && h.Boot != env.self.Boot {
		return "this host has restarted since"
	}
	if age > env.expiry {
		return fmt.Sprintf("its heartbeat stopped %s ago (it is renewed every %s)", age.Round(time.Second), env.every)
	}
	return ""
}

// createExclusive writes content to a new file path; fs.ErrExist when it
// exists.
func createExclusive(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// breakLock removes the lock file path if it still holds old, the content
// judged dead: it moves the file aside (atomic, so two trainers breaking
// the same lock cannot both succeed) and checks what it moved. Should it
// have moved a newer lock, taken meanwhile by another trainer, it puts
// that back. It reports whether it removed the dead lock.
func breakLock(path string, old []byte) (bool, error) {
	aside := fmt.Sprintf("%s.broken-%d", path, os.Getpid())
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	moved, err := os.ReadFile(aside)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(moved, old) {
		// A live lock: put it back unless a third trainer got in first.
		if err := os.Link(aside, path); err != nil && !errors.Is(err, fs.ErrExist) {
			return false, fmt.Errorf("moved the live lock %s aside to %s and could not put it back: %w", path, aside, err)
		}
		_ = os.Remove(aside)
		return false, nil
	}
	return true, os.Remove(aside)
}

// heartbeat touches the lock file every period until Release. Should the
// lock have been broken meanwhile (this process stopped for longer than
// HeartbeatExpiry), it says so once and stops.
func (l *Lock) heartbeat(every time.Duration, log io.Writer) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if cur, err := os.ReadFile(l.path); err != nil || !bytes.Equal(cur, l.content) {
				fmt.Fprintf(log, "warning: the lock %s is no longer this trainer's; another may be writing the same run\n", l.path)
				return
			}
			now := time.Now()
			_ = os.Chtimes(l.path, now, now)
		}
	}
}

// Release stops the heartbeat and removes the lock file if it is still
// this lock's. It may be called more than once; a nil Lock does nothing.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		cur, rerr := os.ReadFile(l.path)
		if rerr != nil || !bytes.Equal(cur, l.content) {
			return // broken and perhaps taken by another: not ours to remove
		}
		if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = fmt.Errorf("release the lock: %w", rerr)
		}
	})
	return err
}

// processAlive says whether pid exists on this host (a zombie counts as
// gone) and, where /proc tells, its start time in clock ticks since boot.
func processAlive(pid int) (bool, uint64) {
	if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		state, start, ok := parseStat(st)
		if ok {
			return state != "Z" && state != "X", start
		}
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM), 0
}

// procStart returns the start time of pid in clock ticks since boot.
func procStart(pid int) (uint64, bool) {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	_, start, ok := parseStat(st)
	return start, ok
}

// parseStat reads the state (field 3) and start time (field 22) of a
// /proc/PID/stat line; the command name, field 2, is in parentheses and
// may hold spaces.
func parseStat(st []byte) (state string, start uint64, ok bool) {
	i := bytes.LastIndexByte(st, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(st[i+1:]))
	if len(f) < 20 {
		return "", 0, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return f[0], start, err == nil
}

// bootID returns this boot's id, or "" where the system does not say.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
