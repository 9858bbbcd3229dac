package train

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Interruptible returns a context for Run that the first SIGINT or
// SIGTERM cancels, saying on w that the run finishes its step and saves a
// checkpoint (Run then returns an *InterruptedError); a second signal ends
// the process at once. Call stop to release the signals.
func Interruptible(w io.Writer) (ctx context.Context, stop context.CancelFunc) {
	ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		// A signal cancels with its own cause; stop, with Canceled itself.
		if cause := context.Cause(ctx); cause != context.Canceled {
			stop() // a second signal ends the process at once
			fmt.Fprintf(w, "\n%v: finishing the step and saving a checkpoint (signal again to quit at once)\n", cause)
		}
	}()
	return ctx, stop
}
