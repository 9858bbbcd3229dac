package serve

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fkd-project/fkd/internal/fkdtest"
)

// form is a multipart/form-data body of the given parts, each a field
// name, a Content-Type and the bytes, as curl -F sends them.
func form(t testing.TB, parts ...part) (contentType string, body []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		hd := textproto.MIMEHeader{}
		hd.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="photo.png"`)
		hd.Set("Content-Type", p.contentType)
		w, err := mw.CreatePart(hd)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.Bytes()
}

type part struct {
	name, contentType string
	data              []byte
}

// TestAPI sends what clients send, through the server that holds every
// exchange against openapi.json: curl -F, curl --data-binary, a page's
// preflight and its request, bad query parameters and forms; and reads
// the page, the description and the metrics.
func TestAPI(t *testing.T) {
	photo, _ := facePhoto(t)
	const page = "http://page.test:8000"
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{CORS: []string{page}}, &log)
	ts := startServer(t, h)
	formType, formBody := form(t, part{"image", "image/png", photo})
	noImageType, noImage := form(t, part{"photo", "image/png", photo})
	twoType, two := form(t, part{"image", "image/png", photo}, part{"image", "image/png", photo})
	textType, text := form(t, part{"image", "text/plain", []byte("hello, this is text")})
	before := validated.Load()
	tests := []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		body    []byte
		status  int
		want    string            // in the body
		headers map[string]string // in the answer; "" for absent
	}{
		{"curl -F image=@photo.png", "POST", "/v1/keypoints", map[string]string{"Content-Type": formType}, formBody, 200, `"faces":[{"box"`, nil},
		{"curl --data-binary @photo.png", "POST", "/v1/keypoints", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, photo, 200, `"faces":[{"box"`, nil},
		{"tta=flip", "POST", "/v1/keypoints?tta=flip", nil, photo, 200, `"faces":[{"box"`, nil},
		{"tta=flip+shift", "POST", "/v1/keypoints?tta=flip%2Bshift", nil, photo, 200, `"faces":[{"box"`, nil},
		{"tta=flip+shift unescaped", "POST", "/v1/keypoints?tta=flip+shift", nil, photo, 200, `"faces":[{"box"`, nil},
		{"unknown query parameters", "POST", "/v1/keypoints?size=2&face=1", nil, photo, 400, `unknown query parameter \"face\", \"size\": /v1/keypoints takes only tta`, nil},
		{"bad tta", "POST", "/v1/keypoints?tta=sideways", nil, photo, 400, `query parameter tta: test-time augmentation \"sideways\": want none, flip or flip+shift`, nil},
		{"tta twice", "POST", "/v1/keypoints?tta=flip&tta=none", nil, photo, 400, `query parameter \"tta\" given 2 times`, nil},
		{"query of healthz", "GET", "/healthz?verbose=1", nil, nil, 400, `unknown query parameter \"verbose\": /healthz takes no query parameters`, nil},
		{"form without image", "POST", "/v1/keypoints", map[string]string{"Content-Type": noImageType}, noImage, 400, `unknown form field \"photo\": the form takes one field, image`, nil},
		{"form with two images", "POST", "/v1/keypoints", map[string]string{"Content-Type": twoType}, two, 400, "has 2 fields image", nil},
		{"form of text", "POST", "/v1/keypoints", map[string]string{"Content-Type": textType}, text, 415,
			`the form field image is not a PNG or JPEG image: received Content-Type text/plain, 19 bytes that look like text/plain; charset=utf-8, beginning \"hello, this \"`, nil},
		{"body of text", "POST", "/v1/keypoints", map[string]string{"Content-Type": "text/plain"}, []byte("hello"), 415, "the body is not a PNG or JPEG image: received Content-Type text/plain", nil},
		{"multipart without boundary", "POST", "/v1/keypoints", map[string]string{"Content-Type": "multipart/form-data"}, formBody, 400, "has no boundary", nil},
		{"page", "GET", "/", nil, nil, 200, "<canvas", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{"docs", "GET", "/docs", nil, nil, 302, "", map[string]string{"Location": "/#api"}},
		{"openapi", "GET", "/openapi.json", nil, nil, 200, `"openapi": "3.0.3"`, nil},
		{"metrics", "GET", "/metrics", nil, nil, 200, `fkd_http_requests_total{code="200",path="/v1/keypoints"}`, nil},
		{"HEAD page", "HEAD", "/", nil, nil, 200, "", nil},
		{"DELETE page", "DELETE", "/", nil, nil, 405, "use GET", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"preflight", "OPTIONS", "/v1/keypoints", map[string]string{"Origin": page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, nil, 204, "",
			map[string]string{"Access-Control-Allow-Origin": page, "Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600", "Vary": "Origin"}},
		{"preflight of another origin", "OPTIONS", "/v1/keypoints", map[string]string{"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"}, nil, 403, "origin http://evil.test is not allowed",
			map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"}},
		{"preflight of a method not served", "OPTIONS", "/v1/keypoints", map[string]string{"Origin": page, "Access-Control-Request-Method": "PUT"}, nil, 405, "PUT /v1/keypoints is not served", nil},
		{"OPTIONS", "OPTIONS", "/healthz", nil, nil, 204, "", map[string]string{"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Origin": ""}},
		{"POST from the page", "POST", "/v1/keypoints", map[string]string{"Origin": page}, photo, 200, `"faces":[{"box"`,
			map[string]string{"Access-Control-Allow-Origin": page, "Access-Control-Expose-Headers": "Retry-After", "Vary": "Origin"}},
		{"error to the page", "POST", "/v1/keypoints", map[string]string{"Origin": page}, []byte("hello"), 415, "not a PNG or JPEG",
			map[string]string{"Access-Control-Allow-Origin": page}},
		{"POST from another origin", "POST", "/v1/keypoints", map[string]string{"Origin": "http://evil.test"}, photo, 200, `"faces":[{"box"`,
			map[string]string{"Access-Control-Allow-Origin": ""}},
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(data), tt.want) {
				t.Errorf("%d %.400s\nwant %d and %s", resp.StatusCode, data, tt.status, tt.want)
			}
			if tt.status == 200 && strings.Contains(tt.want, "faces") {
				checkAnswer(t, resp.StatusCode, data)
			}
			for k, v := range tt.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	// An exchange is held against the description once its answer is
	// written: the last a moment after its client has read it.
	for deadline := time.Now().Add(2 * time.Second); validated.Load()-before < int64(len(tests)) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := validated.Load() - before; n != int64(len(tests)) {
		t.Errorf("%d exchanges held against openapi.json, want %d", n, len(tests))
	}
	if s := h.Stats(); s.MemoryUsed != 0 {
		t.Errorf("%d bytes still charged to the budget", s.MemoryUsed)
	}
}

// TestCORSOff checks that without Options.CORS no answer lets a page of
// another origin read it.
func TestCORSOff(t *testing.T) {
	photo, _ := facePhoto(t)
	var log fkdtest.SyncBuffer
	ts := startServer(t, newHandler(t, Options{}, &log))
	for _, method := range []string{"OPTIONS", "POST"} {
		req, _ := http.NewRequest(method, ts.URL+"/v1/keypoints", bytes.NewReader(photo))
		req.Header.Set("Origin", "http://page.test")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, data := fkdtest.Do(t, req)
		if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "" {
			t.Errorf("%s: CORS headers %v", method, resp.Header)
		}
		if method == "OPTIONS" && (resp.StatusCode != 403 || !strings.Contains(string(data), "--cors http://page.test")) {
			t.Errorf("preflight: %d %s, want 403 naming --cors", resp.StatusCode, data)
		}
	}
}

// TestMetrics reads /metrics after requests: each series the server
// promises is there, with the requests counted by code.
func TestMetrics(t *testing.T) {
	photo, _ := facePhoto(t)
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{MemoryBudget: 300 << 20, Queue: 7}, &log)
	ts := startServer(t, h)
	checkFace(t, ts.URL, photo)
	checkFace(t, ts.URL, photo)
	post(t, ts.URL, strings.NewReader("hello"))
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`fkd_http_requests_total{code="200",path="/v1/keypoints"} 2`,
		`fkd_http_requests_total{code="415",path="/v1/keypoints"} 1`,
		`fkd_http_request_duration_seconds_count{path="/v1/keypoints"} 3`,
		`fkd_batch_requests_count 2`,
		`fkd_batch_faces_sum 2`,
		`fkd_queue_length 0`,
		`fkd_queue_capacity 7`,
		`fkd_in_flight_requests 1`,
		`fkd_memory_budget_used_bytes 0`,
		`fkd_memory_budget_bytes 3.145728e+08`,
		`fkd_memory_budget_peak_bytes `,
		`go_goroutines `,
	} {
		if !strings.Contains(string(data), want+"") {
			t.Errorf("/metrics has no %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", data)
	}
	// Each Handler has its registry: a second one starts at nothing.
	ts2 := startServer(t, newHandler(t, Options{}, &log))
	resp, err = http.Get(ts2.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(data), `path="/v1/keypoints"`) {
		t.Errorf("a new server's metrics count the old one's requests")
	}
}

// TestImagePartCharge checks that the part of a form is charged as it is
// copied, beside the body that holds it, and refused 503 when the budget
// cannot hold both.
func TestImagePartCharge(t *testing.T) {
	photo, _ := facePhoto(t)
	ct, body := form(t, part{"image", "image/png", photo})
	boundary := ct[strings.Index(ct, "boundary=")+len("boundary="):]
	tests := []struct {
		name   string
		budget int64
		status int // 0 for none
	}{
		{"room for both", int64(len(body)) + int64(len(photo)) + 64<<10, 0},
		{"room for the body alone", int64(len(body)) + 1000, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &budget{total: tt.budget}
			l := &lease{b: b}
			if !l.grow(int64(len(body))) { // as readBody charges it
				t.Fatal("the body does not fit")
			}
			u, err := imagePart(body, boundary, l)
			if tt.status != 0 {
				var he *httpError
				if !errors.As(err, &he) || he.status != tt.status || !strings.Contains(he.msg, "memory budget") {
					t.Errorf("%v, want %d naming the memory budget", err, tt.status)
				}
				return
			}
			if err != nil || !bytes.Equal(u.data, photo) {
				t.Fatalf("%v, %d bytes: want the photo", err, len(u.data))
			}
			if used, _ := b.load(); used != int64(len(body)+len(photo)) {
				t.Errorf("%d bytes charged, want the body's %d and the part's %d", used, len(body), len(photo))
			}
		})
	}
}

// TestTTABatches sends requests of different tta at once: the model runs
// each group with its own, and every answer is the one its tta gives
// alone.
func TestTTABatches(t *testing.T) {
	photo, _ := facePhoto(t)
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{MaxBatch: 16, BatchWait: 50 * time.Millisecond}, &log)
	ts := startServer(t, h)
	ttas := []string{"none", "flip", "flip%2Bshift"}
	alone := map[string][]byte{}
	for _, tta := range ttas {
		status, data := postTTA(t, ts.URL, tta, photo)
		checkAnswer(t, status, data)
		alone[tta] = data
	}
	if bytes.Equal(alone["none"], alone["flip"]) {
		t.Fatalf("tta=flip answers as tta=none: %s", alone["flip"])
	}
	before := h.Stats().Batches
	answers := make([][]byte, 12)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			_, answers[i] = postTTA(t, ts.URL, ttas[i%3], photo)
		})
	}
	wg.Wait()
	for i, a := range answers {
		if !bytes.Equal(a, alone[ttas[i%3]]) {
			t.Errorf("request %d, tta=%s, in a batch: %s\nalone: %s", i, ttas[i%3], a, alone[ttas[i%3]])
		}
	}
	t.Logf("12 requests of 3 ttas in %d batches", h.Stats().Batches-before)
}

// postTTA posts photo with the query tta=tta, and returns the answer, or
// status 0 when there was none.
func postTTA(t testing.TB, url, tta string, photo []byte) (int, []byte) {
	resp, err := http.Post(url+"/v1/keypoints?tta="+tta, "image/png", bytes.NewReader(photo))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	return resp.StatusCode, data
}
