// Package serve is fkd's HTTP server of keypoints. POST /v1/keypoints
// takes a PNG or JPEG image, as the request body or as the field image of
// a multipart/form-data body, and answers with the faces found in it and
// the keypoints of each, as JSON (Response); its query parameter tta
// picks the test-time augmentation. GET /healthz answers whether the
// server is up. Every answer of the API is JSON, errors as {"error":
// "..."}, and a query parameter a path does not take is refused with 400.
//
// GET / is a page where a person picks a photo and sees its faces and
// keypoints drawn on it (/docs leads to its section on the API);
// /openapi.json describes the API (OpenAPI 3), and
// /metrics serves Prometheus's metrics of the Handler, in a registry of
// its own. Options.CORS lists the origins whose pages may call the API
// from a browser: their preflights (OPTIONS) are answered, and every
// answer to them, errors too, carries Access-Control-Allow-Origin.
//
// # Memory
//
// A Handler's memory is bounded by Options.MemoryBudget: each request
// charges its body as it is read, then, from the image's header alone
// and before a pixel is decoded, what decoding it, searching it for
// faces and keeping the faces' surroundings will take (photo.DecodeBytes,
// Options.DetectMaxPixels). A request that would overspend the budget is
// answered 503 with Retry-After at once; one that could never fit is
// answered 413. The detector searches a grey copy shrunk to at most
// Options.DetectMaxPixels pixels, and its boxes are mapped back onto the
// photo's pixels. Once the faces are framed, the decoded photo is let go:
// the model reads grey copies of the squares around the faces (three
// times the framed crop a side, which the second pass of the pipeline
// cannot leave), and the charge drops to their size.
//
// # Overload and deadlines
//
// Every request has a deadline inside the server's write timeout
// (Options.WriteTimeout less a tenth of it, at most a second less), so
// that it is answered before net/http gives up on the connection: a
// request still waiting for a worker (Options.Workers decode and search
// images at once) or for the model at its deadline is answered 503 with
// Retry-After, one being worked on 504 with Retry-After. The model's
// queue holds Options.Queue requests; one that finds it full is answered
// 503 at once. One goroutine owns the model and runs it on batches of
// requests: the first waits up to Options.BatchWait for others, up to
// Options.MaxBatch of them.
//
// Each request is logged in one structured line (log/slog) saying what
// the client received: the status, the bytes of the body written, or the
// error writing it. Drain starts a shutdown: new requests are answered
// 503, and those still under way at its deadline are answered 503 at
// once. NewServer and Listener make the http.Server, whose own errors
// (431 for headers too large, 400, the header read timeout) are answered
// in JSON too.
package serve

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/predict"
)

// Options are the limits and the batching of a Handler. Zero values take
// the defaults.
type Options struct {
	MaxBodyBytes int64 // the largest request body; 32 MiB
	MaxPixels    int64 // the largest image, width × height; photo.DefaultMaxPixels
	// MemoryBudget is the bytes the requests under way may hold at once:
	// bodies, decoded images, the detector's copies; DefaultMemoryBudget.
	MemoryBudget int64
	// DetectMaxPixels is the most pixels the detector searches: a larger
	// photo is shrunk to it first; 2 megapixels. A face needs at least
	// the detector's smallest size there, so in a photo shrunk k times,
	// k times that in the photo.
	DetectMaxPixels int64
	// DetectBytesPerPixel is the memory the detector takes for each pixel
	// it searches, charged to the budget; 100, OpenCV's cascade with its
	// pyramid of scaled images and their integral images. A detector that
	// reads no pixels (detect.Whole, detect.Fixed) is charged nothing.
	DetectBytesPerPixel int64
	Workers             int           // images decoded and searched at once; GOMAXPROCS
	MaxBatch            int           // requests the model runs on at once; 8
	BatchWait           time.Duration // how long a batch's first request waits for more; 2 ms, at most a quarter of the deadline
	Queue               int           // requests queued for the model; 64
	ReadTimeout         time.Duration // to read a request: the headers in a third of it; 30 s
	WriteTimeout        time.Duration // to answer a request, from its headers; 1 min
	Logger              *slog.Logger  // one line per request; slog.Default()
	Model               string        // what /healthz names as the model
	// CORS are the origins (scheme://host[:port]) whose pages may call
	// the server from a browser, "*" for any; none when empty.
	CORS []string
}

func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = photo.DefaultMaxPixels
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget()
	}
	if o.DetectMaxPixels <= 0 {
		o.DetectMaxPixels = 2_000_000
	}
	if o.DetectBytesPerPixel <= 0 {
		o.DetectBytesPerPixel = 100
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
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
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	o.BatchWait = min(o.BatchWait, o.Deadline()/4)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Deadline is the time a request has to be answered, from its headers:
// the write timeout less a tenth of it, and less at most a second, left
// to write the answer.
func (o Options) Deadline() time.Duration {
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	return o.WriteTimeout - min(o.WriteTimeout/10, time.Second)
}

// Response is the answer to POST /v1/keypoints.
type Response struct {
	Width  int            `json:"width"`  // of the image as displayed (EXIF orientation applied)
	Height int            `json:"height"` // pixels
	Faces  []predict.Face `json:"faces"`  // surest first; empty when none was found
}

// Stats count what a Handler did.
type Stats struct {
	Requests    int64 // answered with 200
	Busy        int64 // answered 503: the budget spent, the queue full, the deadline passed while waiting, shutting down
	TimedOut    int64 // answered 504: the deadline passed while working on it
	Unfinished  int64 // of Busy, those under way when Drain's deadline came
	WriteErrors int64 // answers that could not be written: the client never received them
	InFlight    int64 // requests being answered now
	Batches     int64 // runs of the model
	Faces       int64 // faces given to the model
	MemoryUsed  int64 // bytes charged to the budget now
	MemoryPeak  int64 // the most bytes charged at once
}

// Handler serves the keypoint API with one pipeline. Close it after the
// server using it has stopped.
type Handler struct {
	p        *predict.Pipeline
	det      detect.Detector
	o        Options
	budget   budget
	work     chan struct{} // a token per image being decoded and searched
	jobs     chan *job
	stopped  chan struct{}
	mu       sync.RWMutex // guards closing jobs
	closed   bool
	draining atomic.Bool
	findTime atomic.Int64  // the typical time a find takes a pixel, ps
	drainc   chan struct{} // closed by Drain
	drainOne sync.Once
	quit     context.Context // done at Drain's deadline
	abort    context.CancelFunc
	metrics  *metrics
	stats    struct {
		requests, busy, timedOut, unfinished, writeErrors, inFlight, batches, faces atomic.Int64
	}
}

// New returns a Handler predicting with p on the faces det finds, and
// starts the goroutine that owns p's model.
func New(p *predict.Pipeline, det detect.Detector, o Options) *Handler {
	o = o.withDefaults()
	h := &Handler{p: p, det: det, o: o, budget: budget{total: o.MemoryBudget},
		work: make(chan struct{}, o.Workers), jobs: make(chan *job, o.Queue), stopped: make(chan struct{}), drainc: make(chan struct{})}
	h.quit, h.abort = context.WithCancel(context.Background())
	h.metrics = newMetrics(h)
	go h.loop()
	return h
}

// Options returns h's options, defaults filled in.
func (h *Handler) Options() Options { return h.o }

// Drain starts h's shutdown and returns at once: every request from now
// on is answered 503 (closing its connection), and those still under
// way when ctx is done are answered 503 at once, unfinished. Call it
// before http.Server.Shutdown, giving that a moment more than ctx to
// write those answers.
func (h *Handler) Drain(ctx context.Context) {
	h.draining.Store(true)
	h.drainOne.Do(func() { close(h.drainc) })
	context.AfterFunc(ctx, h.abort)
}

// Close stops the model's goroutine once the requests queued are done.
// Call it once, after the server has stopped: a request still arriving
// is answered 503.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	close(h.jobs)
	h.mu.Unlock()
	<-h.stopped
	h.abort()
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats {
	used, peak := h.budget.load()
	return Stats{Requests: h.stats.requests.Load(), Busy: h.stats.busy.Load(), TimedOut: h.stats.timedOut.Load(),
		Unfinished: h.stats.unfinished.Load(), WriteErrors: h.stats.writeErrors.Load(), InFlight: h.stats.inFlight.Load(),
		Batches: h.stats.batches.Load(), Faces: h.stats.faces.Load(), MemoryUsed: used, MemoryPeak: peak}
}

// NewServer returns an http.Server for h with its timeouts against slow
// clients: read the headers within ReadTimeout/3 and the whole request
// within ReadTimeout, write the answer within WriteTimeout of the
// headers (h answers before), and keep an idle connection open for 2
// minutes. Serve it on Listener(l), so that its own errors are JSON too.
func NewServer(h *Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: h.o.ReadTimeout / 3, ReadTimeout: h.o.ReadTimeout, WriteTimeout: h.o.WriteTimeout,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ConnContext: ConnContext,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
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

// The causes of a request's context ending, but the client going away.
var (
	errDeadline = errors.New("the request's deadline passed")
	errShutdown = errors.New("the server is shutting down")
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if c, ok := r.Context().Value(connKey{}).(*conn); ok {
		c.handled.Store(true)
		defer c.handled.Store(false)
	}
	h.stats.inFlight.Add(1)
	defer h.stats.inFlight.Add(-1)
	rc := http.NewResponseController(w)
	deadline := h.o.Deadline()
	if deadline < h.o.ReadTimeout {
		rc.SetReadDeadline(start.Add(deadline)) // the body comes in time to answer
	}
	quitCtx, quit := context.WithCancelCause(r.Context())
	defer quit(nil)
	ctx, cancel := context.WithDeadlineCause(quitCtx, start.Add(deadline), errDeadline)
	defer cancel()
	stopQuit := context.AfterFunc(h.quit, func() {
		quit(errShutdown)
		rc.SetReadDeadline(time.Now()) // a body still coming is not waited for
	})
	defer stopQuit()

	sw := &statusWriter{ResponseWriter: w}
	w = sw
	allowed := h.allowOrigin(w, r)
	var resp any
	var err error
	raw := false     // answered other than in JSON, by the case
	var rawErr error // writing that answer
	path := r.URL.Path
	_, known := methods[path]
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case !known:
		err = errNotFound(r)
	case r.Method == http.MethodOptions:
		err = h.options(w, r, allowed)
		raw = err == nil
	case path == "/v1/keypoints" && r.Method == http.MethodPost:
		var q url.Values
		if q, err = checkQuery(r); err != nil {
			break
		}
		var tta eval.TTA
		if tta, err = ttaOf(q, h.p.TTA); err != nil {
			break
		}
		l := &lease{b: &h.budget}
		resp, err = h.keypoints(ctx, w, r, l, tta)
		if !errors.Is(err, errAbandoned) {
			l.shrinkTo(0)
		}
	case path == "/v1/keypoints" || !get:
		err = errMethod(w, r)
	case path == "/healthz":
		if _, err = checkQuery(r); err != nil {
			break
		}
		s := h.Stats()
		resp = map[string]any{"status": "ok", "model": h.o.Model, "requests": s.Requests, "batches": s.Batches,
			"queued": len(h.jobs), "in_flight": s.InFlight, "memory_used": s.MemoryUsed, "memory_budget": h.o.MemoryBudget}
	case path == "/metrics":
		if _, err = checkQuery(r); err == nil {
			h.metrics.handler.ServeHTTP(w, r)
			raw = true
		}
	default: // the page, its docs and the API's description
		if _, err = checkQuery(r); err == nil {
			_, rawErr = h.page(w, r)
			raw = true
		}
	}
	status := http.StatusOK
	var he *httpError
	switch {
	case raw:
		status = cmp.Or(sw.status, http.StatusOK)
	case errors.As(err, &he):
		status, resp = he.status, map[string]string{"error": he.msg}
	case err != nil:
		status, resp = http.StatusInternalServerError, map[string]string{"error": err.Error()}
	}
	switch status {
	case http.StatusOK:
		if _, ok := resp.(*Response); ok {
			h.stats.requests.Add(1)
		}
	case http.StatusServiceUnavailable:
		h.stats.busy.Add(1)
	case http.StatusGatewayTimeout:
		h.stats.timedOut.Add(1)
	}
	if h.draining.Load() && !raw {
		w.Header().Set("Connection", "close")
	}
	n, werr := sw.n, rawErr
	if !raw {
		n, werr = reply(w, rc, r, status, resp)
	}
	h.metrics.observe(path, status, time.Since(start))
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "bytes", n, "remote", r.RemoteAddr,
		"ms", float64(time.Since(start).Microseconds()) / 1000}
	if k, ok := resp.(*Response); ok {
		attrs = append(attrs, "width", k.Width, "height", k.Height, "faces", len(k.Faces))
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	if werr != nil {
		h.stats.writeErrors.Add(1)
		attrs = append(attrs, "write_error", werr.Error())
	}
	if err != nil || werr != nil {
		h.o.Logger.Warn("request", attrs...)
		return
	}
	h.o.Logger.Info("request", attrs...)
}

// reply writes the answer of status with v as its JSON body, and flushes
// it, so that the error of a client that did not receive it is known
// here. It returns the bytes of the body written: 0 with the error when
// the answer did not reach the connection.
func reply(w http.ResponseWriter, rc *http.ResponseController, r *http.Request, status int, v any) (int, error) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"the answer cannot be written as JSON"}`)
	}
	body = append(body, '\n')
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout {
		hd.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	n := 0
	if r.Method != http.MethodHead {
		if n, err = w.Write(body); err != nil {
			return 0, err
		}
	}
	if err := rc.Flush(); err != nil {
		return 0, err
	}
	return n, nil
}

// errAbandoned wraps the answer of a request whose work goes on after it:
// the work gives back its charge.
var errAbandoned = errors.New("abandoned")

type abandoned struct{ *httpError }

func (a abandoned) Unwrap() []error { return []error{a.httpError, errAbandoned} }

// ended returns the answer to a request whose context ended: 503 when it
// was waiting (for a worker, for the model), 504 when it was being
// worked on.
func (h *Handler) ended(ctx context.Context, waiting bool, what string) *httpError {
	switch context.Cause(ctx) {
	case errShutdown:
		h.stats.unfinished.Add(1)
		return failf(http.StatusServiceUnavailable, "the server is shutting down and %s was not done in time; retry", what)
	case errDeadline:
		if waiting {
			return failf(http.StatusServiceUnavailable, "busy: %s did not start within the server's deadline of %v for an answer; retry", what, h.o.Deadline())
		}
		return failf(http.StatusGatewayTimeout, "%s was not done within the server's deadline of %v for an answer; retry", what, h.o.Deadline())
	}
	return failf(499, "the client went away")
}

// keypoints answers POST /v1/keypoints with the test-time augmentation
// tta, charging what it holds to l.
func (h *Handler) keypoints(ctx context.Context, w http.ResponseWriter, r *http.Request, l *lease, tta eval.TTA) (*Response, error) {
	if h.draining.Load() {
		return nil, failf(http.StatusServiceUnavailable, "the server is shutting down; retry on another")
	}
	up, err := h.readUpload(w, r, l)
	if err != nil {
		if context.Cause(ctx) == errShutdown {
			return nil, h.ended(ctx, true, "reading the body")
		}
		return nil, err
	}
	body := up.data
	up.data = bytes.Clone(up.data[:min(len(up.data), 512)]) // enough to say what it is: body is let go once decoded
	info, err := photo.ProbeReader(bytes.NewReader(body), "in the body", h.o.MaxPixels)
	var big *photo.TooLargeError
	switch {
	case errors.As(err, &big):
		return nil, failf(http.StatusRequestEntityTooLarge, "the image is %dx%d pixels, more than the limit of %d pixels (width × height); its pixels were not decoded",
			big.Width, big.Height, big.MaxPixels)
	case errors.Is(err, photo.ErrFormat):
		return nil, up.notImage()
	case err != nil:
		return nil, failf(http.StatusBadRequest, "the image cannot be decoded: %v", err)
	}
	need, err := h.cost(body, info)
	if err != nil {
		return nil, failf(http.StatusBadRequest, "the image cannot be decoded: %v", err)
	}
	if total := int64(len(body)) + need; total > h.o.MemoryBudget {
		return nil, failf(http.StatusRequestEntityTooLarge, "decoding and searching this %dx%d image takes about %s, more than the server's memory budget of %s",
			info.Width, info.Height, mib(total), mib(h.o.MemoryBudget))
	}
	select {
	case h.work <- struct{}{}:
	case <-ctx.Done():
		return nil, h.ended(ctx, true, "decoding the image")
	}
	due, _ := ctx.Deadline()
	pixels := int64(info.Width) * int64(info.Height)
	if typical := time.Duration(h.findTime.Load() * pixels / 1000); time.Until(due) < typical {
		<-h.work // its work would be wasted: it could not be answered
		return nil, failf(http.StatusServiceUnavailable, "busy: finding the faces of an image takes about %v, more than is left of this request's deadline; retry",
			typical.Round(time.Millisecond))
	}
	if !l.grow(need) {
		<-h.work
		used, _ := h.budget.load()
		return nil, failf(http.StatusServiceUnavailable, "busy: decoding this image takes about %s, and %s of the server's memory budget of %s is held by the requests under way; retry",
			mib(need), mib(used), mib(h.o.MemoryBudget))
	}
	f, err := h.findAsync(ctx, body, pixels, l) // body is not used after: the work lets it go once decoded
	if err != nil {
		return nil, err
	}
	resp := &Response{Width: info.Width, Height: info.Height, Faces: []predict.Face{}}
	if len(f.faces) == 0 {
		return resp, nil
	}
	results, err := h.predict(ctx, f.targets, tta)
	if err != nil {
		return nil, err
	}
	for i, face := range f.faces {
		resp.Faces = append(resp.Faces, predict.NewFace(face, results[i]))
	}
	return resp, nil
}

// readBody reads the request's body, charging it to l as it comes. When
// the budget is spent it reads the rest to nothing, so that the client
// can read the 503, and says so.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, l *lease) ([]byte, error) {
	if r.ContentLength > h.o.MaxBodyBytes {
		return nil, failf(http.StatusRequestEntityTooLarge, "the body is %d bytes, more than the limit of %d", r.ContentLength, h.o.MaxBodyBytes)
	}
	src := http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes)
	var body []byte
	var err error
	spent := false
	if r.ContentLength > 0 {
		if spent = !l.grow(r.ContentLength); !spent {
			body = make([]byte, r.ContentLength)
			var n int
			n, err = io.ReadFull(src, body)
			body = body[:n]
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("the body ended after %d of its %d bytes", n, r.ContentLength)
			}
		}
	} else {
		for {
			if len(body) == cap(body) {
				more := min(max(64<<10, cap(body)), int(h.o.MaxBodyBytes)+1-cap(body))
				if more <= 0 { // MaxBytesReader errs first; never read into nothing
					err = &http.MaxBytesError{Limit: h.o.MaxBodyBytes}
					break
				}
				if spent = !l.grow(int64(more)); spent {
					break
				}
				body = append(body[:cap(body)], make([]byte, more)...)[:len(body)]
			}
			var n int
			n, err = src.Read(body[len(body):cap(body)])
			body = body[:len(body)+n]
			if err == io.EOF {
				err = nil
				break
			}
			if err != nil {
				break
			}
		}
	}
	if spent {
		n, _ := io.Copy(io.Discard, src)
		used, _ := h.budget.load()
		return nil, failf(http.StatusServiceUnavailable, "busy: the body (%s) does not fit in what is left of the server's memory budget of %s, %s of it held by the requests under way; retry",
			mib(int64(len(body))+n), mib(h.o.MemoryBudget), mib(used))
	}
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
		return nil, failf(http.StatusBadRequest, "no image: POST a PNG or JPEG as the body, or as the form field image of a multipart/form-data body")
	}
	return body, nil
}

// readsPixels reports whether det looks at an image's pixels, rather
// than giving boxes it knows.
func readsPixels(det detect.Detector) bool {
	switch det.(type) {
	case detect.Whole, detect.Fixed:
		return false
	}
	return true
}

// cost returns the bytes, beyond the body, that finding the faces of the
// image in body holds at most: the decoded image, the detector's copy and
// its work, and the grey copies of the faces' surroundings (at most the
// image's pixels).
func (h *Handler) cost(body []byte, info photo.Info) (int64, error) {
	decoded, err := photo.DecodeBytes(body)
	if err != nil {
		return 0, err
	}
	pixels := int64(info.Width) * int64(info.Height)
	var detecting int64
	if readsPixels(h.det) {
		w, ht := photo.ShrinkSize(info.Width, info.Height, h.o.DetectMaxPixels)
		detecting = int64(w) * int64(ht) * (1 + h.o.DetectBytesPerPixel)
	}
	return decoded + detecting + pixels, nil
}

// found is what the work on one image found.
type found struct {
	faces   []detect.Face    // in the photo's pixels
	targets []predict.Target // on grey copies of the faces' surroundings
	err     error
}

// findAsync finds the faces of the image in body on a worker (whose
// token the caller took) and returns them, or answers at the request's
// deadline without waiting for the work, which then gives back l's
// charge itself.
func (h *Handler) findAsync(ctx context.Context, body []byte, pixels int64, l *lease) (found, error) {
	var state atomic.Int32 // 0 working, 1 done, 2 given up
	out := make(chan found, 1)
	go func(body []byte) {
		defer func() { <-h.work }()
		start := time.Now()
		f := h.find(body, l)
		h.timed(time.Since(start), pixels)
		if state.CompareAndSwap(0, 1) {
			out <- f
			return
		}
		l.shrinkTo(0)
	}(body)
	var f found
	select {
	case f = <-out:
	case <-ctx.Done():
		if state.CompareAndSwap(0, 2) {
			return found{}, abandoned{h.ended(ctx, false, "decoding the image and finding its faces")}
		}
		f = <-out
	}
	return f, f.err
}

// timed adds the time a find of an image of pixels took to the typical
// time a pixel, a moving average of the last few.
func (h *Handler) timed(d time.Duration, pixels int64) {
	ps := d.Nanoseconds() * 1000 / max(pixels, 1)
	for {
		old := h.findTime.Load()
		if h.findTime.CompareAndSwap(old, old+(ps-old)/4) {
			return
		}
	}
}

// find decodes the image in body, finds its faces, frames them, and
// keeps grey copies of their surroundings only, l's charge shrunk to
// them.
func (h *Handler) find(body []byte, l *lease) (f found) {
	defer func() {
		if v := recover(); v != nil {
			f = found{err: fmt.Errorf("finding the faces: %v", v)}
		}
	}()
	img, _, err := photo.Decode(bytes.NewReader(body), "in the body", h.o.MaxPixels)
	if err != nil {
		if errors.Is(err, photo.ErrFormat) {
			return found{err: failf(http.StatusUnsupportedMediaType, "the body is not a PNG or JPEG image")}
		}
		return found{err: failf(http.StatusBadRequest, "the image cannot be decoded: %v", err)}
	}
	l.give(int64(len(body))) // not used after: collected with the next images
	b := img.Bounds()
	if !readsPixels(h.det) {
		f.faces, err = h.det.Detect(img)
	} else {
		small := photo.Shrink(img, h.o.DetectMaxPixels)
		f.faces, err = h.det.Detect(small)
		sx := float64(b.Dx()) / float64(small.Bounds().Dx())
		sy := float64(b.Dy()) / float64(small.Bounds().Dy())
		for i, face := range f.faces {
			r := face.Box
			f.faces[i].Box = image.Rect(b.Min.X+int(math.Round(float64(r.Min.X)*sx)), b.Min.Y+int(math.Round(float64(r.Min.Y)*sy)),
				b.Min.X+int(math.Round(float64(r.Max.X)*sx)), b.Min.Y+int(math.Round(float64(r.Max.Y)*sy))).Intersect(b)
		}
	}
	if err != nil {
		return found{err: fmt.Errorf("face detector: %w", err)}
	}
	f.targets = predict.Targets(img, f.faces, h.det)
	kept := h.frame(img, f.targets) // img is not used after: collected with the next images
	l.shrinkTo(kept)
	return f
}

// frame replaces each target's image by a grey copy of the part of it
// the pipeline reads: the square three times the side of the crop framed
// from the detector's box, about the same centre (the second pass moves
// the crop at most half its side and at most doubles it), or the exact
// box. Where those squares together are larger than the image, they share
// one grey copy of it. It returns the bytes of the copies.
func (h *Handler) frame(img image.Image, targets []predict.Target) int64 {
	b := img.Bounds()
	regions := make([]image.Rectangle, len(targets))
	var area int64
	for i, t := range targets {
		r := t.Box
		if !t.Exact {
			crop := h.p.Framing.Crop(h.p.Box.Anchor(t.Box))
			c := crop.Min.Add(crop.Max).Div(2)
			half := 3*crop.Dx()/2 + 2
			r = image.Rect(c.X-half, c.Y-half, c.X+half, c.Y+half)
		}
		regions[i] = r.Intersect(b)
		area += int64(regions[i].Dx()) * int64(regions[i].Dy())
	}
	if area > int64(b.Dx())*int64(b.Dy()) {
		grey := photo.GreyRect(img, b)
		for i := range targets {
			targets[i].Image = grey
		}
		return int64(len(grey.Pix))
	}
	for i := range targets {
		targets[i].Image = photo.GreyRect(img, regions[i])
	}
	return area
}

// predict runs the model on the targets in the next batch, with the
// test-time augmentation tta, and returns the results, or answers at the
// request's deadline without them.
func (h *Handler) predict(ctx context.Context, targets []predict.Target, tta eval.TTA) ([]predict.Result, error) {
	j := &job{targets: targets, tta: tta, done: make(chan jobResult, 1)}
	h.mu.RLock()
	queued := false
	if !h.closed {
		select {
		case h.jobs <- j:
			queued = true
		default:
		}
	}
	closed := h.closed
	h.mu.RUnlock()
	switch {
	case closed:
		return nil, failf(http.StatusServiceUnavailable, "the server is shutting down; retry on another")
	case !queued:
		return nil, failf(http.StatusServiceUnavailable, "busy: %d requests are waiting for the model, as many as its queue holds; retry", cap(h.jobs))
	}
	select {
	case res := <-j.done:
		return res.results, res.err
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return nil, h.ended(ctx, true, "the model's run")
		}
		return nil, h.ended(ctx, false, "the model's run")
	}
}

// The states of a job.
const (
	jobQueued    = iota
	jobRunning   // taken by the model's goroutine
	jobAbandoned // answered without it: the model skips it
)

// job is one request's faces, waiting for the model.
type job struct {
	state   atomic.Int32
	targets []predict.Target
	tta     eval.TTA
	done    chan jobResult // buffered: the loop never waits on it
}

type jobResult struct {
	results []predict.Result
	err     error
}

// loop owns the model: it takes a request, gathers up to MaxBatch-1 more
// that come within BatchWait (none once draining), and runs the pipeline on all their faces at
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
			case <-h.drainc: // no more will come
				break gather
			}
		}
		timer.Stop()
		h.run(batch)
	}
}

// run runs the pipeline on the faces of the batch's requests still
// waiting, once for each test-time augmentation they asked for, and hands
// each its results.
func (h *Handler) run(batch []*job) {
	var live []*job
	faces := 0
	for _, j := range batch {
		if j.state.CompareAndSwap(jobQueued, jobRunning) {
			live = append(live, j)
			faces += len(j.targets)
		}
	}
	if len(live) == 0 {
		return
	}
	h.stats.batches.Add(1)
	h.stats.faces.Add(int64(faces))
	h.metrics.batchRequests.Observe(float64(len(live)))
	h.metrics.batchFaces.Observe(float64(faces))
	for len(live) > 0 {
		tta := live[0].tta
		var jobs, rest []*job
		var targets []predict.Target
		for _, j := range live {
			if j.tta != tta {
				rest = append(rest, j)
				continue
			}
			jobs = append(jobs, j)
			targets = append(targets, j.targets...)
		}
		p := *h.p
		p.TTA = tta
		results, err := p.Run(targets)
		for _, j := range jobs {
			if err != nil {
				j.done <- jobResult{err: err}
				continue
			}
			j.done <- jobResult{results: results[:len(j.targets)]}
			results = results[len(j.targets):]
		}
		live = rest
	}
}
