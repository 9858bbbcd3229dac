package serve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/internal/fkdtest"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/predict"
)

// facePhoto is a 256×200 PNG of a synthetic face enlarged twice at
// (40, 4), and the box a Haar cascade would give it, about.
func facePhoto(t testing.TB) ([]byte, image.Rectangle) {
	set := synth.Generate(1, 4, synth.Options{Clean: true})
	img := image.NewRGBA(image.Rect(0, 0, 256, 200))
	for y := range 200 {
		for x := range 256 {
			v := uint8(90)
			if u, w := (x-40)/2, (y-4)/2; x >= 40 && y >= 4 && u < 96 && w < 96 {
				v = set.Image(0)[w*96+u]
			}
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), image.Rect(40+2*8, 4+2*10, 40+2*88, 4+2*90)
}

// newHandler returns a Handler on an untrained cnn3 finding the face of
// facePhoto, logging to log.
func newHandler(t testing.TB, o Options, log io.Writer) *Handler {
	m := fkdtest.NewModel(t, "cnn3:width=4", 1)
	set := synth.Generate(64, 1, synth.Options{})
	var meta models.Meta
	for i := range set.Len() {
		c, _ := set.Keypoints(i)
		for j, v := range c {
			meta.Means[j] += v / float32(set.Len())
		}
	}
	p := predict.New(m, meta, 0, predict.HaarFrontalFace)
	_, box := facePhoto(t)
	o.Logger = slog.New(slog.NewJSONHandler(log, nil))
	o.Model = "cnn3 test"
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
	h := New(p, detect.Fixed{{Box: box, Score: 7}}, o)
	return h
}

// startServer serves h through NewServer's settings and Listener on the
// loopback, every request and answer held against openapi.json.
func startServer(t testing.TB, h *Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config = NewServer(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ts.Config.Handler = validating(t, h) // every exchange held against openapi.json
	ts.Listener = Listener(ts.Listener)
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		h.Close()
	})
	return ts
}

func post(t testing.TB, url string, body io.Reader) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url+"/v1/keypoints", "image/png", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// checkFace posts photo and checks the answer: 200 with its one face.
func checkFace(t testing.TB, url string, photo []byte) {
	t.Helper()
	status, data := post(t, url, bytes.NewReader(photo))
	checkAnswer(t, status, data)
}

// checkAnswer checks an answer of 200 with the one face of facePhoto.
func checkAnswer(t testing.TB, status int, data []byte) {
	t.Helper()
	var r Response
	if status != http.StatusOK || json.Unmarshal(data, &r) != nil {
		t.Fatalf("status %d: %s", status, data)
	}
	_, box := facePhoto(t)
	if r.Width != 256 || r.Height != 200 || len(r.Faces) != 1 || r.Faces[0].Score != 7 ||
		r.Faces[0].Box != [4]int{box.Min.X, box.Min.Y, box.Dx(), box.Dy()} || len(r.Faces[0].Keypoints) != dataset.NumKeypoints {
		t.Fatalf("answer %s", data)
	}
}

// TestConcurrent sends 100 requests at once: each is answered with its
// face, and the model ran on batches of them.
func TestConcurrent(t *testing.T) {
	var log fkdtest.SyncBuffer
	// A queue for all: on a loaded machine the model may fall behind.
	h := newHandler(t, Options{MaxBatch: 16, BatchWait: 20 * time.Millisecond, Queue: 100}, &log)
	ts := startServer(t, h)
	photo, _ := facePhoto(t)
	var wg sync.WaitGroup
	answers := make([][]byte, 100)
	statuses := make([]int, 100)
	for i := range 100 {
		wg.Go(func() {
			resp, err := http.Post(ts.URL+"/v1/keypoints", "image/png", bytes.NewReader(photo))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			statuses[i] = resp.StatusCode
			answers[i], _ = io.ReadAll(resp.Body)
		})
	}
	wg.Wait()
	for i := range 100 {
		checkAnswer(t, statuses[i], answers[i])
		if !bytes.Equal(answers[i], answers[0]) {
			t.Errorf("answer %d differs from the first:\n%s\n%s", i, answers[i], answers[0])
		}
	}
	s := h.Stats()
	if s.Requests != 100 || s.Faces != 100 || s.Batches >= 100 {
		t.Errorf("stats %+v: want 100 requests in fewer batches", s)
	}
	if n := strings.Count(log.String(), `"msg":"request"`); n != 100 {
		t.Errorf("%d log lines, want 100", n)
	}
	t.Logf("100 requests in %d batches", s.Batches)
}

// onlyReader hides a reader's type, so that http.Post cannot tell the
// body's length and sends it chunked.
type onlyReader struct{ io.Reader }

// TestBadRequests sends what the server must refuse, each answered with
// a clear 4xx, a good request after each answered as ever.
func TestBadRequests(t *testing.T) {
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{MaxBodyBytes: 200 << 10}, &log)
	ts := startServer(t, h)
	photo, _ := facePhoto(t)
	huge := bytes.Repeat([]byte{0}, 300<<10)
	tests := []struct {
		name   string
		method string
		path   string
		body   io.Reader
		status int
		want   string
	}{
		{"oversized body", "POST", "/v1/keypoints", bytes.NewReader(huge), 413, "the body is 307200 bytes, more than the limit of 204800"},
		{"oversized body, chunked", "POST", "/v1/keypoints", onlyReader{bytes.NewReader(huge)}, 413, "more than the limit of 204800 bytes"},
		{"not an image", "POST", "/v1/keypoints", strings.NewReader("hello, this is text"), 415, "not a PNG or JPEG image"},
		{"60000x60000 PNG header", "POST", "/v1/keypoints", bytes.NewReader(fkdtest.PNGHeader(60000, 60000)), 413, "the image is 60000x60000 pixels, more than the limit of 50000000 pixels"},
		{"cut-short PNG", "POST", "/v1/keypoints", bytes.NewReader(photo[:len(photo)/2]), 400, "cannot be decoded"},
		{"no body", "POST", "/v1/keypoints", nil, 400, "no image"},
		{"GET keypoints", "GET", "/v1/keypoints", nil, 405, "POST the image"},
		{"unknown path", "GET", "/v2/faces", nil, 404, "no /v2/faces here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, data := fkdtest.Do(t, req)
			var e struct{ Error string }
			if resp.StatusCode != tt.status || json.Unmarshal(data, &e) != nil || !strings.Contains(e.Error, tt.want) {
				t.Errorf("status %d, %s; want %d and an error saying %q", resp.StatusCode, data, tt.status, tt.want)
			}
			checkFace(t, ts.URL, photo)
		})
	}
	if !strings.Contains(log.String(), `"level":"WARN","msg":"request","method":"POST","path":"/v1/keypoints","status":413`) {
		t.Errorf("no warning of the 413 in the log:\n%s", log.String())
	}
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var health map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil || resp.StatusCode != 200 || health["status"] != "ok" || health["model"] != "cnn3 test" {
		t.Errorf("healthz: %d, %v, %v", resp.StatusCode, health, err)
	}
}

// TestSlowClient sends a request's headers and a few bytes of its body,
// then nothing: it gets 408 once the read timeout passes, and the server
// answers others meanwhile and after.
func TestSlowClient(t *testing.T) {
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{ReadTimeout: 500 * time.Millisecond}, &log)
	ts := startServer(t, h)
	photo, _ := facePhoto(t)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1/keypoints HTTP/1.1\r\nHost: fkd\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", len(photo))
	conn.Write(photo[:100])
	checkFace(t, ts.URL, photo) // while the slow one waits
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the slow client: %v", err)
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(data), "the body came too slowly") {
		t.Errorf("slow client: %d %s", resp.StatusCode, data)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("answered after %v, want the read timeout, 500ms", d)
	}
	checkFace(t, ts.URL, photo)
}
