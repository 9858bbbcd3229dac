package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/serve"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve keypoints over HTTP: POST /v1/keypoints with an image, a page at /, /openapi.json, /metrics",
		usage:   "--model FILE [--addr HOST:PORT] [--max-batch N] [--cors ORIGIN,...] [flags]",
		run:     runServe,
	})
}

// serveLog is where "fkd serve" logs, one JSON line a request; tests
// replace it.
var serveLog io.Writer = os.Stderr

// maxMiB is the largest number of MiB whose bytes an int64 holds.
const maxMiB = math.MaxInt64 >> 20

func runServe(fs *pflag.FlagSet, args []string) error {
	var o modelOptions
	o.addFlags(fs)
	addr := fs.String("addr", "localhost:8080", "the address to listen on, HOST:PORT (:8080 for every interface)")
	batch := fs.Int("max-batch", 8, "requests the model runs on at once, at most")
	alias(fs, "batch", "max-batch")
	wait := fs.Duration("batch-wait", 2*time.Millisecond, "how long a request waits for others to run with it; at most a quarter of the request deadline")
	queue := fs.Int("queue", 64, "requests waiting for the model, at most; more are answered 503")
	maxBody := fs.Int64("max-body-mb", 32, "the largest request body, MiB")
	budget := fs.Int64("memory-budget", serve.DefaultMemoryBudget()>>20,
		"MiB that the requests under way may hold at once (bodies, decoded images, the detector's copies); more are answered 503. Default: a quarter of the machine's memory (or of its cgroup's limit), at least 256")
	detectMP := fs.Float64("detect-megapixels", 2, "the detector searches a photo shrunk to at most this many million pixels")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "the time a client has to send its request (a third of it for the headers)")
	writeTimeout := fs.Duration("write-timeout", time.Minute, "the time a request has to be answered, from its headers; it is answered 503 or 504 a tenth (at most 1s) before")
	cors := fs.StringSlice("cors", nil, "origins (scheme://host[:port], comma-separated) whose web pages may call the API from a browser; * for any. Default: none")
	drain := fs.Duration("drain-timeout", 10*time.Second, "on SIGTERM or SIGINT, how long the requests under way have to finish before they are answered 503")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := applyConfig(fs, "serve", *o.configPath, fs.Changed("config"), nil); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	switch {
	case *batch < 1 || *queue < 1:
		name := "--max-batch"
		if fs.Changed("batch") {
			name = "--batch" // as given
		}
		return usagef("%s %d, --queue %d: want positive numbers", name, *batch, *queue)
	case *readTimeout <= 0 || *writeTimeout <= 0 || *drain <= 0:
		return usagef("--read-timeout, --write-timeout and --drain-timeout must be positive")
	case *budget < 1 || *budget > maxMiB:
		return usagef("--memory-budget %d: want a whole number of MiB from 1 to %d", *budget, maxMiB)
	case *maxBody < 1 || *maxBody > *budget:
		return usagef("--max-body-mb %d: want a whole number of MiB from 1 to the --memory-budget, %d", *maxBody, *budget)
	case !(*detectMP >= 0.01 && *detectMP <= 1e6):
		return usagef("--detect-megapixels %v: want a number from 0.01 to 1000000", *detectMP)
	}
	if err := checkOrigins(*cors); err != nil {
		return err
	}
	opts := serve.Options{CORS: *cors, MaxBodyBytes: *maxBody << 20, MaxPixels: o.maxPixels(), MemoryBudget: *budget << 20,
		DetectMaxPixels: int64(*detectMP * 1e6), MaxBatch: *batch, Queue: *queue,
		ReadTimeout: *readTimeout, WriteTimeout: *writeTimeout}
	if limit := opts.Deadline() / 4; *wait < 0 || *wait > limit {
		return usagef("--batch-wait %v: want from 0 to a quarter of the request deadline (--write-timeout %v less a tenth), %v", *wait, *writeTimeout, limit)
	}
	opts.BatchWait = *wait

	// Bind first: a busy port is one error, before anything is loaded or
	// logged.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	det, closeDet, err := o.newDetector()
	if err != nil {
		return err
	}
	defer closeDet()
	p, free, err := o.load(det)
	if err != nil {
		return err
	}
	defer free()
	serve.TuneGC(opts.MemoryBudget)
	log := slog.New(slog.NewJSONHandler(serveLog, nil))
	opts.Logger = log
	opts.Model = o.model + " (" + p.Model.Spec().String() + ")"
	h := serve.New(p, det, opts)
	defer h.Close()
	srv := serve.NewServer(h, log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serve.Listener(ln)) }()
	log.Info("serving", "addr", ln.Addr().String(), "model", o.model, "detector", detect.Name(det), "max_batch", *batch, "cors", *cors,
		"memory_budget_mib", *budget, "deadline", opts.Deadline().String())
	select {
	case err := <-served:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	stop()
	log.Info("shutting down: finishing the requests under way", "drain_timeout", drain.String())
	drainCtx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	h.Drain(drainCtx)
	// A moment more than the drain, for the 503s of the requests cut short.
	shutCtx, cancelShut := context.WithTimeout(context.Background(), *drain+2*time.Second)
	defer cancelShut()
	shutErr := srv.Shutdown(shutCtx)
	if shutErr != nil {
		srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	s := h.Stats()
	log.Info("stopped", "requests", s.Requests, "busy", s.Busy, "timed_out", s.TimedOut, "unfinished", s.Unfinished, "write_errors", s.WriteErrors)
	switch {
	case shutErr != nil:
		return fmt.Errorf("shutdown: connections still open %v after the --drain-timeout of %v were closed", 2*time.Second, *drain)
	case s.Unfinished > 0:
		return fmt.Errorf("shutdown: %d requests under way were not done within the --drain-timeout of %v and were answered 503", s.Unfinished, *drain)
	}
	return nil
}

// checkOrigins refuses a --cors entry that is not an origin: a scheme,
// http or https, and a host with its port, and nothing else; or *.
func checkOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return usagef("--cors %q: want origins such as http://localhost:3000 or https://example.org (scheme, host and port only), or *", o)
		}
	}
	return nil
}
