package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/internal/fkdtest"
)

// slowDetector reads the pixels (as a cascade does), waits, and returns
// the image's bounds as its one face.
type slowDetector struct {
	delay    time.Duration
	gate     chan struct{} // when not nil, Detect waits for it to be closed too on an image of more than gateOver pixels
	gateOver int64
	seen     atomic.Int64 // the most pixels it was given
}

func (d *slowDetector) Detect(img image.Image) ([]detect.Face, error) {
	b := img.Bounds()
	if n := int64(b.Dx()) * int64(b.Dy()); n > d.seen.Load() {
		d.seen.Store(n)
	}
	time.Sleep(d.delay)
	if d.gate != nil && int64(b.Dx())*int64(b.Dy()) > d.gateOver {
		<-d.gate
	}
	return []detect.Face{{Box: b, Score: 1}}, nil
}

// greyPNG is a w×h grey PNG, a gradient: small to send, large decoded.
func greyPNG(t testing.TB, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Pix[y*img.Stride+x] = uint8((x/64 + y/64) * 16)
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// outcome is what one client received.
type outcome struct {
	status     int // 0: no answer
	retryAfter string
	body       []byte
	err        error
}

// flood sends requests POSTs of body from clients clients at once, each
// sending its next as soon as its last is answered, and returns what
// each request received.
func flood(url string, body []byte, clients, requests int) []outcome {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	out := make([]outcome, requests)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				resp, err := client.Post(url+"/v1/keypoints", "image/png", bytes.NewReader(body))
				if err != nil {
					out[i].err = err
					continue
				}
				out[i].body, out[i].err = io.ReadAll(resp.Body)
				resp.Body.Close()
				out[i].status, out[i].retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			}
		})
	}
	wg.Wait()
	return out
}

// tally checks that every request was answered 200, or 503 or 504 with
// Retry-After and a JSON error, and returns the count of each status.
func tally(t *testing.T, out []outcome) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for i, o := range out {
		counts[o.status]++
		switch {
		case o.err != nil:
			t.Errorf("request %d: no answer: %v", i, o.err)
		case o.status == http.StatusOK:
		case o.status == http.StatusServiceUnavailable || o.status == http.StatusGatewayTimeout:
			var e struct{ Error string }
			if o.retryAfter == "" || json.Unmarshal(o.body, &e) != nil || e.Error == "" {
				t.Errorf("request %d: %d without Retry-After or a JSON error: %q %s", i, o.status, o.retryAfter, o.body)
			}
		default:
			t.Errorf("request %d: status %d: %s", i, o.status, o.body)
		}
	}
	return counts
}

// TestOverload floods the server with more than it can answer in time:
// every request is answered, 200 or 503/504 with Retry-After, none is
// dropped, and the log's statuses are those the clients received.
func TestOverload(t *testing.T) {
	photo, _ := facePhoto(t)
	tests := []struct {
		name              string
		o                 Options
		delay             time.Duration // of the detector
		clients, requests int
		want503           bool
	}{
		// The detector is slower than requests come: most wait past
		// their deadline for a worker.
		{"slow detector", Options{WriteTimeout: time.Second, Workers: 2}, 150 * time.Millisecond, 60, 120, true},
		// The model's queue holds 2: the rest find it full.
		{"full queue", Options{WriteTimeout: 2 * time.Second, Queue: 2, MaxBatch: 1, BatchWait: 100 * time.Millisecond}, 0, 40, 80, true},
		// A batch wait of an hour is cut to a quarter of the deadline.
		{"hour-long batch wait", Options{WriteTimeout: time.Second, BatchWait: time.Hour, MaxBatch: 64}, 0, 4, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log fkdtest.SyncBuffer
			h := newHandler(t, tt.o, &log)
			if tt.delay > 0 {
				h.det = &slowDetector{delay: tt.delay}
			}
			ts := startServer(t, h)
			start := time.Now()
			out := flood(ts.URL, photo, tt.clients, tt.requests)
			counts := tally(t, out)
			t.Logf("%d requests from %d clients in %v: %v", tt.requests, tt.clients, time.Since(start).Round(time.Millisecond), counts)
			if tt.want503 && counts[http.StatusServiceUnavailable] == 0 {
				t.Errorf("no 503: the test did not overload the server")
			}
			if !tt.want503 && counts[http.StatusOK] != tt.requests {
				t.Errorf("%v, want all %d answered 200", counts, tt.requests)
			}
			// A request is logged once its answer is written: the last
			// may come a moment after its client has read it.
			for deadline := time.Now().Add(2 * time.Second); strings.Count(log.String(), "\n") < tt.requests && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			logged := map[int]int{}
			for _, line := range lines {
				var rec struct {
					Status     int
					WriteError string `json:"write_error"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.WriteError != "" {
					t.Errorf("log line %q: %v", line, err)
				}
				logged[rec.Status]++
			}
			for status, n := range counts {
				if logged[status] != n {
					t.Errorf("log: %v; the clients received %v", logged, counts)
					break
				}
			}
			// The work of requests answered 504 ends a moment later, and
			// gives back its charge.
			for deadline := time.Now().Add(3 * time.Second); (h.Stats().MemoryUsed != 0 || h.Stats().InFlight != 0) && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if s := h.Stats(); s.MemoryUsed != 0 || s.InFlight != 0 {
				t.Errorf("after the flood: %d bytes still charged, %d requests in flight", s.MemoryUsed, s.InFlight)
			}
		})
	}
}

// TestMemoryBudget charges each request's decoded size before decoding
// it: an image that can never fit is refused 413, one that does not fit
// beside those under way 503 with Retry-After, and the charge is given
// back after each.
func TestMemoryBudget(t *testing.T) {
	big := greyPNG(t, 2000, 2000) // 16 MB to decode (4 bytes a pixel charged), 4 MB of grey copies
	small, _ := facePhoto(t)
	gate := make(chan struct{})
	det := &slowDetector{gate: gate, gateOver: 60_000} // the large images, shrunk to 100000 pixels
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{MemoryBudget: 30 << 20, WriteTimeout: 10 * time.Second, DetectMaxPixels: 100_000, DetectBytesPerPixel: 10}, &log)
	h.det = det
	ts := startServer(t, h)

	huge := greyPNG(t, 3000, 3000) // 36 + 9 MB: never fits 30 MB
	status, data := post(t, ts.URL, bytes.NewReader(huge))
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), "memory budget") {
		t.Errorf("an image larger than the budget: %d %s, want 413 naming the budget", status, data)
	}

	first := make(chan outcome)
	go func() { first <- flood(ts.URL, big, 1, 1)[0] }()
	for h.Stats().MemoryUsed == 0 { // the first holds its charge, in the detector
		time.Sleep(5 * time.Millisecond)
	}
	tests := []struct {
		name   string
		body   []byte
		status int
	}{
		{"a second large image", big, http.StatusServiceUnavailable},
		{"a small image beside it", small, http.StatusOK},
	}
	for _, tt := range tests {
		o := flood(ts.URL, tt.body, 1, 1)[0]
		if o.status != tt.status || tt.status == http.StatusServiceUnavailable && (o.retryAfter == "" || !strings.Contains(string(o.body), "memory budget")) {
			t.Errorf("%s: %d %q %s %v, want %d", tt.name, o.status, o.retryAfter, o.body, o.err, tt.status)
		}
	}
	close(gate)
	if o := <-first; o.status != http.StatusOK {
		t.Errorf("the first large image: %d %s %v", o.status, o.body, o.err)
	}
	s := h.Stats()
	if s.MemoryUsed != 0 || s.MemoryPeak > 30<<20 || s.MemoryPeak < 16<<20 {
		t.Errorf("memory used %d, peak %d: want 0 and at most the budget", s.MemoryUsed, s.MemoryPeak)
	}
	if n := det.seen.Load(); n > 100_000 {
		t.Errorf("the detector searched %d pixels, more than DetectMaxPixels", n)
	}
}

// darkDetector finds the box of the dark pixels of a grey image.
type darkDetector struct{ seen image.Rectangle }

func (d *darkDetector) Detect(img image.Image) ([]detect.Face, error) {
	g := img.(*image.Gray)
	d.seen = g.Bounds()
	box := image.Rectangle{}
	for y := g.Rect.Min.Y; y < g.Rect.Max.Y; y++ {
		for x := g.Rect.Min.X; x < g.Rect.Max.X; x++ {
			if g.GrayAt(x, y).Y < 128 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return []detect.Face{{Box: box, Score: 1}}, nil
}

// TestDetectShrunk checks that a photo larger than DetectMaxPixels is
// searched shrunk, and the box found is mapped back onto its pixels.
func TestDetectShrunk(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4000, 3000))
	for i := range img.Pix {
		img.Pix[i] = 230
	}
	want := image.Rect(1000, 800, 1600, 1400)
	for y := want.Min.Y; y < want.Max.Y; y++ {
		for x := want.Min.X; x < want.Max.X; x++ {
			img.Pix[y*img.Stride+x] = 20
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{DetectMaxPixels: 120_000}, &log)
	det := &darkDetector{}
	h.det = det
	ts := startServer(t, h)
	status, data := post(t, ts.URL, bytes.NewReader(b.Bytes()))
	var r Response
	if status != http.StatusOK || json.Unmarshal(data, &r) != nil || len(r.Faces) != 1 {
		t.Fatalf("%d %s", status, data)
	}
	if n := det.seen.Dx() * det.seen.Dy(); n > 120_000 || n < 100_000 {
		t.Errorf("the detector searched %v, want about 120000 pixels", det.seen)
	}
	got := r.Faces[0].Box
	for i, w := range [4]int{want.Min.X, want.Min.Y, want.Dx(), want.Dy()} {
		if d := got[i] - w; d < -12 || d > 12 {
			t.Errorf("box %v, want about %v", got, want)
			break
		}
	}
}

// TestDrain shuts the server down with requests under way: each is
// answered, 200 when it finishes within the drain's deadline, else 503
// with Retry-After, and none is dropped.
func TestDrain(t *testing.T) {
	photo, _ := facePhoto(t)
	tests := []struct {
		name       string
		delay      time.Duration // of the detector
		drain      time.Duration
		status     int
		unfinished int64
	}{
		{"finished in time", 300 * time.Millisecond, 5 * time.Second, http.StatusOK, 0},
		{"cut short", 3 * time.Second, 200 * time.Millisecond, http.StatusServiceUnavailable, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log fkdtest.SyncBuffer
			h := newHandler(t, Options{Workers: 8, WriteTimeout: 10 * time.Second}, &log)
			h.det = &slowDetector{delay: tt.delay}
			ts := startServer(t, h)
			done := make(chan []outcome)
			go func() { done <- flood(ts.URL, photo, 8, 8) }()
			for deadline := time.Now().Add(5 * time.Second); h.Stats().InFlight < 8; {
				if time.Now().After(deadline) {
					t.Fatalf("%d requests under way, want 8", h.Stats().InFlight)
				}
				time.Sleep(5 * time.Millisecond)
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), tt.drain)
			defer cancel()
			h.Drain(ctx)
			shut, cancelShut := context.WithTimeout(context.Background(), tt.drain+2*time.Second)
			defer cancelShut()
			if err := ts.Config.Shutdown(shut); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			out := <-done
			counts := tally(t, out)
			if counts[tt.status] != 8 {
				t.Errorf("%v, want 8 × %d", counts, tt.status)
			}
			if d := time.Since(start); d > tt.drain+2*time.Second {
				t.Errorf("drained in %v, more than %v", d, tt.drain)
			}
			if s := h.Stats(); s.Unfinished != tt.unfinished {
				t.Errorf("%d unfinished, want %d", s.Unfinished, tt.unfinished)
			}
		})
	}
}

// TestServerErrorsJSON sends what net/http answers itself: the answers
// are JSON like the handler's.
func TestServerErrorsJSON(t *testing.T) {
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{ReadTimeout: 900 * time.Millisecond}, &log)
	ts := startServer(t, h)
	tests := []struct {
		name    string
		request string
		status  int
		want    string
	}{
		{"headers too large", "GET /healthz HTTP/1.1\r\nHost: fkd\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431, "headers are more than"},
		{"malformed request line", "GET\r\n\r\n", 400, "malformed HTTP request"},
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", 400, "Host"},
		{"headers too slow", "GET /healthz HTTP/1.1\r\nHost: fkd\r\n", 408, "headers came too slowly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, tt.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			data, _ := io.ReadAll(resp.Body)
			var e struct{ Error string }
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" ||
				json.Unmarshal(data, &e) != nil || !strings.Contains(e.Error, tt.want) {
				t.Errorf("%d %q %s; want %d and a JSON error saying %q", resp.StatusCode, resp.Header.Get("Content-Type"), data, tt.status, tt.want)
			}
		})
	}
	checkFace(t, ts.URL, func() []byte { p, _ := facePhoto(t); return p }())
}
