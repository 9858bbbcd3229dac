package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset/synth"
)

// TestLockHolders writes a lock as another trainer would have left it and
// checks whether a second trainer refuses (a live holder) or breaks it
// with a note (a dead one).
func TestLockHolders(t *testing.T) {
	self := defaultLockEnv()
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	sleeperStart, _ := procStart(sleeper.Process.Pid)

	here := func(pid int, start uint64) Holder {
		return Holder{Host: self.self.Host, PID: pid, Started: time.Now().UTC(), Boot: self.self.Boot, PIDStart: start, Token: "other"}
	}
	elsewhere := Holder{Host: "node-7", PID: 4242, Started: time.Now().UTC(), Boot: "b", Token: "other"}
	rebooted := here(sleeper.Process.Pid, sleeperStart)
	rebooted.Boot = "an earlier boot"
	for _, c := range []struct {
		name     string
		content  string        // the lock file; "" writes holder
		holder   Holder        // when content is ""
		age      time.Duration // since the last heartbeat
		held     bool          // the second trainer refuses
		wantNote string        // in the note of a broken lock
	}{
		{name: "this process", holder: here(os.Getpid(), self.self.PIDStart), age: time.Hour, held: true},
		{name: "a sleeping child", holder: here(sleeper.Process.Pid, sleeperStart), age: time.Hour, held: true},
		{name: "a pid that exited", holder: here(exited.Process.Pid, 0), wantNote: "is gone from this host"},
		{name: "a reused pid", holder: here(sleeper.Process.Pid, sleeperStart+1), wantNote: "is now another process"},
		{name: "before a reboot", holder: rebooted, wantNote: "restarted"},
		{name: "another host, recent heartbeat", holder: elsewhere, age: time.Minute, held: true},
		{name: "another host, expired heartbeat", holder: elsewhere, age: time.Hour, wantNote: "heartbeat stopped"},
		{name: "unreadable, fresh", content: "{", held: true},
		{name: "unreadable, old", content: "{", age: time.Hour, wantNote: "heartbeat stopped"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Out: filepath.Join(t.TempDir(), "run", "model.pt")}
			path := cfg.LockPath()
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			content := []byte(c.content)
			if c.content == "" {
				var err error
				if content, err = json.Marshal(c.holder); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			beat := time.Now().Add(-c.age)
			if err := os.Chtimes(path, beat, beat); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			l, err := LockRun(&cfg, &log)
			if c.held {
				var he *HeldError
				if !errors.As(err, &he) {
					t.Fatalf("LockRun: %v, want a HeldError", err)
				}
				msg := err.Error()
				if strings.Contains(msg, "\n") || (c.content == "" && !strings.Contains(msg, c.holder.Host)) {
					t.Errorf("message %q: want one line naming the holder", msg)
				}
				if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
					t.Errorf("the live holder's lock changed: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("LockRun: %v", err)
			}
			if !strings.Contains(log.String(), "note: broke the lock") || !strings.Contains(log.String(), c.wantNote) {
				t.Errorf("note %q, want one containing %q", log.String(), c.wantNote)
			}
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("after Release: %v, want no lock file", err)
			}
		})
	}
}

// TestLockExclusive takes a lock, fails to take it again, and takes it
// once released; the heartbeat keeps it fresh.
func TestLockExclusive(t *testing.T) {
	cfg := Config{Out: filepath.Join(t.TempDir(), "model.pt")}
	env := defaultLockEnv()
	env.every = 20 * time.Millisecond
	l, err := env.acquire(cfg.LockPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(cfg.LockPath(), old, old); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if info, err := os.Stat(cfg.LockPath()); err != nil || time.Since(info.ModTime()) > time.Minute {
		t.Errorf("heartbeat: %v, mtime %v", err, info.ModTime())
	}
	_, err = LockRun(&cfg, nil)
	if he := (*HeldError)(nil); !errors.As(err, &he) || he.Holder.PID != os.Getpid() {
		t.Fatalf("second LockRun: %v, want a HeldError naming pid %d", err, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockRun(&cfg, nil)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestLockReleaseNotOurs: a lock broken and taken by another trainer is
// left to it.
func TestLockReleaseNotOurs(t *testing.T) {
	cfg := Config{Out: filepath.Join(t.TempDir(), "model.pt")}
	l, err := LockRun(&cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.LockPath(), []byte(`{"host":"node-7","pid":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.LockPath()); err != nil {
		t.Errorf("another's lock removed: %v", err)
	}
}

func TestParseStat(t *testing.T) {
	line := "1234 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21\n"
	state, start, ok := parseStat([]byte(line))
	if !ok || state != "S" || start != 987654 {
		t.Errorf("parseStat = %q %d %v, want S 987654 true", state, start, ok)
	}
}

// TestRunRefusesHeldRun: a second trainer on a run another holds fails
// before writing anything, and trains once the first has released it.
func TestRunRefusesHeldRun(t *testing.T) {
	set := synth.Generate(40, 1, synth.Options{})
	cfg := smallConfig(t.TempDir())
	cfg.Epochs, cfg.Warmup = 1, 0
	l, err := LockRun(&cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), cfg, set, Options{})
	if he := (*HeldError)(nil); !errors.As(err, &he) {
		t.Fatalf("Run on a held run: %v, want a HeldError", err)
	}
	if _, err := os.Stat(cfg.HistoryPath()); !os.IsNotExist(err) {
		t.Errorf("the refused trainer wrote %s", cfg.HistoryPath())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, set, Options{})
	if err != nil {
		t.Fatalf("Run after Release: %v", err)
	}
	res.Model.Store().Free()
	if _, err := os.Stat(cfg.LockPath()); !os.IsNotExist(err) {
		t.Errorf("Run left its lock: %v", err)
	}
}
