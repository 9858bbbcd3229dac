// Package serve is fkd's HTTP server of keypoints. POST /v1/keypoints
// takes a PNG or JPEG image as the request body and answers with the
// faces found in it and the keypoints of each, as JSON (Response); GET
// /healthz answers whether the server is up.
//
// Every request's image is checked before it is decoded: the body's size
// (Options.MaxBodyBytes) and the width × height its header claims
// (Options.MaxPixels). Faces are found in the requests' goroutines; one
// goroutine owns the model and runs it on batches of requests: the first
// request waits up to Options.BatchWait for others, up to
// Options.MaxBatch of them. NewServer sets the timeouts that keep a slow
// client from holding the server. Each request is logged in one
// structured line (log/slog).
package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/predict"
)

// Options are the limits and the batching of a Handler. Zero values take
// the defaults.
type Options struct {
	MaxBodyBytes int64         // the largest request body; 32 MiB
	MaxPixels    int64         // the largest image, width × height; photo.DefaultMaxPixels
	MaxBatch     int           // requests the model runs on at once; 8
	BatchWait    time.Duration // how long a batch's first request waits for more; 2 ms
	Queue        int           // requests queued for the model; 64
	QueueWait    time.Duration // how long a request waits for room in the queue before a 503; 10 s
	Logger       *slog.Logger  // one line per request; slog.Default()
	Model        string        // what /healthz names as the model
}

func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = photo.DefaultMaxPixels
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 8
	}
	if o.BatchWait <= 0 {
		o.BatchWait = 2 * time.Millisecond
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Response is the answer to POST /v1/keypoints.
type Response struct {
	Width  int            `json:"width"`  // of the image as displayed (EXIF orientation applied)
	Height int            `json:"height"` // pixels
	Faces  []predict.Face `json:"faces"`  // surest first; empty when none was found
}

// Stats count what a Handler did.
type Stats struct {
	Requests int64 // answered with 200
	Batches  int64 // runs of the model
	Faces    int64 // faces given to the model
}

// Handler serves the keypoint API with one pipeline. Close it after the
// server using it has stopped.
type Handler struct {
	p        *predict.Pipeline
	det      detect.Detector
	o        Options
	jobs     chan *job
	stopped  chan struct{}
	decoding chan struct{} // a token per image being decoded
	stats    struct{ requests, batches, faces atomic.Int64 }
}

// New returns a Handler predicting with p on the faces det finds, and
// starts the goroutine that owns p's model.
func New(p *predict.Pipeline, det detect.Detector, o Options) *Handler {
	o = o.withDefaults()
	h := &Handler{p: p, det: det, o: o, jobs: make(chan *job, o.Queue), stopped: make(chan struct{}),
		decoding: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
	go h.loop()
	return h
}

// Close stops the model's goroutine once the requests queued are done.
// Call it once, after the server has stopped (http.Server.Shutdown has
// returned): a request still arriving would find no model.
func (h *Handler) Close() {
	close(h.jobs)
	<-h.stopped
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats {
	return Stats{Requests: h.stats.requests.Load(), Batches: h.stats.batches.Load(), Faces: h.stats.faces.Load()}
}

// NewServer returns an http.Server for h on addr with timeouts against
// slow clients: read the headers within readTimeout/3 and the whole
// request within readTimeout, write the answer within writeTimeout of
// the headers, and keep an idle connection open for 2 minutes.
func NewServer(addr string, h http.Handler, readTimeout, writeTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: readTimeout / 3, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// httpError is an answer other than 200, with what to tell the client.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func failf(status int, format string, args ...any) *httpError {
	return &httpError{status, fmt.Sprintf(format, args...)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var resp any
	var err error
	switch {
	case r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s := h.Stats()
		resp = map[string]any{"status": "ok", "model": h.o.Model, "requests": s.Requests, "batches": s.Batches, "queued": len(h.jobs)}
	case r.URL.Path == "/healthz":
		w.Header().Set("Allow", "GET, HEAD")
		err = failf(http.StatusMethodNotAllowed, "%s /healthz: use GET", r.Method)
	case r.URL.Path == "/v1/keypoints" && r.Method == http.MethodPost:
		resp, err = h.keypoints(w, r)
	case r.URL.Path == "/v1/keypoints":
		w.Header().Set("Allow", "POST")
		err = failf(http.StatusMethodNotAllowed, "%s /v1/keypoints: POST the image as the body", r.Method)
	default:
		err = failf(http.StatusNotFound, "no %s here: POST /v1/keypoints, GET /healthz", r.URL.Path)
	}
	status := http.StatusOK
	var he *httpError
	switch {
	case errors.As(err, &he):
		status, resp = he.status, map[string]string{"error": he.msg}
	case err != nil:
		status, resp = http.StatusInternalServerError, map[string]string{"error": err.Error()}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(resp)
	}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "remote", r.RemoteAddr,
		"ms", float64(time.Since(start).Microseconds()) / 1000}
	if k, ok := resp.(*Response); ok {
		attrs = append(attrs, "width", k.Width, "height", k.Height, "faces", len(k.Faces))
	}
	if err != nil {
		h.o.Logger.Warn("request", append(attrs, "error", err.Error())...)
		return
	}
	h.o.Logger.Info("request", attrs...)
}

// keypoints answers POST /v1/keypoints.
func (h *Handler) keypoints(w http.ResponseWriter, r *http.Request) (*Response, error) {
	if r.ContentLength > h.o.MaxBodyBytes {
		return nil, failf(http.StatusRequestEntityTooLarge, "the body is %d bytes, more than the limit of %d", r.ContentLength, h.o.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		return nil, failf(http.StatusRequestEntityTooLarge, "the body is more than the limit of %d bytes", h.o.MaxBodyBytes)
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return nil, failf(http.StatusRequestTimeout, "the body came too slowly: %d bytes before the server's read timeout", len(body))
	case err != nil:
		return nil, failf(http.StatusBadRequest, "reading the body: %v", err)
	case len(body) == 0:
		return nil, failf(http.StatusBadRequest, "no image: POST a PNG or JPEG as the body")
	}
	h.decoding <- struct{}{}
	img, info, err := photo.Decode(bytes.NewReader(body), "in the body", h.o.MaxPixels)
	<-h.decoding
	var big *photo.TooLargeError
	switch {
	case errors.As(err, &big):
		return nil, failf(http.StatusRequestEntityTooLarge, "the image is %dx%d pixels, more than the limit of %d pixels (width × height); its pixels were not decoded",
			big.Width, big.Height, big.MaxPixels)
	case errors.Is(err, photo.ErrFormat):
		return nil, failf(http.StatusUnsupportedMediaType, "the body is not a PNG or JPEG image")
	case err != nil:
		return nil, failf(http.StatusBadRequest, "the image cannot be decoded: %v", err)
	}
	found, err := h.det.Detect(img)
	if err != nil {
		return nil, err
	}
	resp := &Response{Width: info.Width, Height: info.Height, Faces: []predict.Face{}}
	if len(found) > 0 {
		j := &job{ctx: r.Context(), targets: predict.Targets(img, found, h.det), done: make(chan jobResult, 1)}
		full := time.NewTimer(h.o.QueueWait)
		select {
		case h.jobs <- j:
			full.Stop()
		case <-full.C:
			return nil, failf(http.StatusServiceUnavailable, "busy: %d requests have waited for the model over %v; retry", cap(h.jobs), h.o.QueueWait)
		case <-r.Context().Done():
			full.Stop()
			return nil, failf(499, "the client went away")
		}
		var res jobResult
		select {
		case res = <-j.done:
		case <-r.Context().Done():
			return nil, failf(499, "the client went away")
		}
		if res.err != nil {
			return nil, res.err
		}
		for i, f := range found {
			resp.Faces = append(resp.Faces, predict.NewFace(f, res.results[i]))
		}
	}
	h.stats.requests.Add(1)
	return resp, nil
}

// job is one request's faces, waiting for the model.
type job struct {
	ctx     context.Context
	targets []predict.Target
	done    chan jobResult // buffered: the loop never waits on it
}

type jobResult struct {
	results []predict.Result
	err     error
}

// loop owns the model: it takes a request, gathers up to MaxBatch-1 more
// that come within BatchWait, and runs the pipeline on all their faces at
// once.
func (h *Handler) loop() {
	defer close(h.stopped)
	for first := range h.jobs {
		batch := []*job{first}
		timer := time.NewTimer(h.o.BatchWait)
	gather:
		for len(batch) < h.o.MaxBatch {
			select {
			case j, ok := <-h.jobs:
				if !ok {
					break gather
				}
				batch = append(batch, j)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		h.run(batch)
	}
}

// run runs the pipeline on the faces of the batch's requests still
// waiting, and hands each its results.
func (h *Handler) run(batch []*job) {
	var targets []predict.Target
	var live []*job
	for _, j := range batch {
		if j.ctx.Err() != nil {
			j.done <- jobResult{err: j.ctx.Err()}
			continue
		}
		live = append(live, j)
		targets = append(targets, j.targets...)
	}
	if len(live) == 0 {
		return
	}
	h.stats.batches.Add(1)
	h.stats.faces.Add(int64(len(targets)))
	results, err := h.p.Run(targets)
	for _, j := range live {
		if err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		j.done <- jobResult{results: results[:len(j.targets)]}
		results = results[len(j.targets):]
	}
}
