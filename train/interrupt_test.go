package train

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fkd-project/fkd/internal/fkdtest"
)

func TestInterruptible(t *testing.T) {
	t.Run("signal", func(t *testing.T) {
		var w fkdtest.SyncBuffer
		ctx, stop := Interruptible(&w)
		defer stop()
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("SIGTERM did not cancel the context")
		}
		want := "finishing the step and saving a checkpoint (signal again to quit at once)\n"
		for deadline := time.Now().Add(10 * time.Second); !strings.HasSuffix(w.String(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("said %q, want a line ending %q", w.String(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("stop", func(t *testing.T) {
		var w fkdtest.SyncBuffer
		ctx, stop := Interruptible(&w)
		stop()
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond)
		if w.String() != "" || context.Cause(ctx) != context.Canceled {
			t.Errorf("stop said %q with cause %v; want nothing, context.Canceled", w.String(), context.Cause(ctx))
		}
	})
}
