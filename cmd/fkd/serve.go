package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/serve"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve keypoints over HTTP: POST /v1/keypoints with an image, GET /healthz",
		usage:   "--model FILE [--addr HOST:PORT] [--batch N] [flags]",
		run:     runServe,
	})
}

func runServe(fs *pflag.FlagSet, args []string) error {
	var o modelOptions
	o.addFlags(fs)
	addr := fs.String("addr", "localhost:8080", "the address to listen on, HOST:PORT (:8080 for every interface)")
	batch := fs.Int("batch", 8, "requests the model runs on at once, at most")
	wait := fs.Duration("batch-wait", 2*time.Millisecond, "how long a request waits for others to run with it")
	maxBody := fs.Int64("max-body-mb", 32, "the largest request body, MiB")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "the time a client has to send its request (a third of it for the headers)")
	writeTimeout := fs.Duration("write-timeout", time.Minute, "the time a request has to be answered, from its headers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := applyConfig(fs, "serve", *o.configPath, fs.Changed("config"), nil); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	if *batch < 1 || *maxBody < 1 || *wait < 0 || *readTimeout <= 0 || *writeTimeout <= 0 {
		return usagef("--batch and --max-body-mb must be positive, --batch-wait not negative, the timeouts positive")
	}
	det, closeDet, err := o.newDetector()
	if err != nil {
		return err
	}
	defer closeDet()
	p, free, err := o.load()
	if err != nil {
		return err
	}
	defer free()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h := serve.New(p, det, serve.Options{MaxBodyBytes: *maxBody << 20, MaxPixels: o.maxPixels(), MaxBatch: *batch,
		BatchWait: *wait, Logger: log, Model: o.model + " (" + p.Model.Spec().String() + ")"})
	defer h.Close()
	srv := serve.NewServer(*addr, h, *readTimeout, *writeTimeout, log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopped := make(chan struct{}) // the requests under way are answered
	go func() {
		defer close(stopped)
		<-ctx.Done()
		log.Info("shutting down: finishing the requests under way")
		shut, cancel := context.WithTimeout(context.Background(), *writeTimeout)
		defer cancel()
		srv.Shutdown(shut)
	}()
	log.Info("serving", "addr", *addr, "model", o.model, "detector", o.detector, "batch", *batch)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-stopped
	return nil
}
