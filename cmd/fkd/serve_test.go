package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fkd-project/fkd/internal/fkdtest"
)

// TestServeRefuses checks that "fkd serve" stops with one line, before
// listening, on a model it cannot load and on a cascade it cannot find.
func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want []string // one of them
	}{
		{[]string{"--model", filepath.Join(dir, "missing.pt"), "--detector", "whole"}, []string{"missing.pt"}},
		{[]string{"--model", filepath.Join(dir, "missing.pt"), "--detector", "cascade", "--cascade", filepath.Join(dir, "no.xml")}, []string{"no.xml", "without OpenCV"}},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		status := run(append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...), &stdout, &stderr)
		msg := stderr.String()
		named := strings.Contains(msg, tt.want[0]) || len(tt.want) > 1 && strings.Contains(msg, tt.want[1])
		if status != 1 || !named || strings.Count(msg, "\n") != 1 {
			t.Errorf("fkd serve %s: status %d, stderr %q; want 1 and a line naming %s", strings.Join(tt.args, " "), status, msg, tt.want)
		}
	}
}

// TestServeUsage checks that out-of-range flags are refused with exit
// status 2 and one line naming the flag, before anything is loaded.
func TestServeUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--max-body-mb", "17592186044417"}, "--max-body-mb 17592186044417"},
		{[]string{"--max-body-mb", "0"}, "--max-body-mb 0"},
		{[]string{"--max-body-mb", "600", "--memory-budget", "512"}, "--max-body-mb 600"},
		{[]string{"--memory-budget", "0"}, "--memory-budget 0"},
		{[]string{"--memory-budget", "9223372036854775807"}, "--memory-budget 9223372036854775807"},
		{[]string{"--batch-wait", "1h", "--write-timeout", "5s"}, "--batch-wait 1h0m0s"},
		{[]string{"--batch-wait", "-1ms"}, "--batch-wait -1ms"},
		{[]string{"--drain-timeout", "0s"}, "--drain-timeout"},
		{[]string{"--queue", "0"}, "--queue 0"},
		{[]string{"--detect-megapixels", "0"}, "--detect-megapixels 0"},
		{[]string{"--max-batch", "0"}, "--max-batch 0"},
		{[]string{"--batch", "4", "--max-batch", "4"}, "give it once"},
		{[]string{"--cors", "ftp://example.org"}, `--cors "ftp://example.org"`},
		{[]string{"--cors", "http://localhost:3000,http://example.org/app"}, `--cors "http://example.org/app"`},
		{[]string{"--cors", "example.org"}, `--cors "example.org"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(append([]string{"serve", "--addr", "127.0.0.1:0", "--model", "missing.pt"}, tt.args...), &stdout, &stderr)
			msg := stderr.String()
			if status != 2 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("status %d, stderr %q; want 2 and a line naming %q", status, msg, tt.want)
			}
		})
	}
}

// TestServeBusyPort checks that "fkd serve" on a port already in use
// fails with one line, before logging that it serves.
func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var log bytes.Buffer
	serveLog = &log
	defer func() { serveLog = os.Stderr }()
	var stdout, stderr bytes.Buffer
	status := run([]string{"serve", "--addr", ln.Addr().String(), "--model", filepath.Join(t.TempDir(), "missing.pt")}, &stdout, &stderr)
	msg := stderr.String()
	if status != 1 || !strings.Contains(msg, "address already in use") || strings.Count(msg, "\n") != 1 || log.Len() != 0 {
		t.Errorf("status %d, stderr %q, log %q; want 1, one line saying the address is in use, no log", status, msg, log.String())
	}
}

// serveSetUp returns a free address for "fkd serve" to listen on, and
// the log it writes until the test ends.
func serveSetUp(t *testing.T) (string, *fkdtest.SyncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	log := new(fkdtest.SyncBuffer)
	serveLog = log
	t.Cleanup(func() { serveLog = os.Stderr })
	return addr, log
}

// TestServeShutdown sends SIGTERM to "fkd serve": idle, it stops with
// status 0; with large images under way and a short --drain-timeout,
// every client is answered (200 or 503 with Retry-After, none dropped)
// and the exit status is 1, saying how many were cut short.
func TestServeShutdown(t *testing.T) {
	dir := t.TempDir()
	model := saveLopsidedModel(t, dir)
	big := image.NewGray(image.Rect(0, 0, 3000, 3000))
	for i := range big.Pix {
		big.Pix[i] = uint8(i % 251)
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, big); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		clients int
		status  int
		want    string // in stderr
	}{
		{"idle", 0, 0, ""},
		{"large images under way", 6, 1, "answered 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, log := serveSetUp(t)
			var stdout, stderr bytes.Buffer
			exited := make(chan int)
			go func() {
				exited <- run([]string{"serve", "--addr", addr, "--model", model, "--detector", "whole", "--threads", "1",
					"--drain-timeout", "50ms", "--write-timeout", "20s"}, &stdout, &stderr)
			}()
			url := "http://" + addr
			health := func() (inFlight int) {
				resp, err := http.Get(url + "/healthz")
				if err != nil {
					return -1
				}
				defer resp.Body.Close()
				var h struct {
					InFlight int `json:"in_flight"`
				}
				json.NewDecoder(resp.Body).Decode(&h)
				return h.InFlight - 1 // less the health check itself
			}
			for deadline := time.Now().Add(20 * time.Second); health() < 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("fkd serve did not start: %s %s", stderr.String(), log.String())
				}
			}
			type answer struct {
				status     int
				retryAfter string
				err        error
			}
			answers := make(chan answer, tt.clients)
			for range tt.clients {
				go func() {
					resp, err := http.Post(url+"/v1/keypoints", "image/png", bytes.NewReader(b.Bytes()))
					if err != nil {
						answers <- answer{err: err}
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					answers <- answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
				}()
			}
			for deadline := time.Now().Add(10 * time.Second); health() < tt.clients; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d requests under way, want %d", health(), tt.clients)
				}
			}
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			var status int
			select {
			case status = <-exited:
			case <-time.After(20 * time.Second):
				t.Fatal("fkd serve did not stop within 20s of SIGTERM")
			}
			cut := 0
			for range tt.clients {
				a := <-answers
				switch {
				case a.err != nil:
					t.Errorf("no answer: %v", a.err)
				case a.status == http.StatusServiceUnavailable && a.retryAfter != "":
					cut++
				case a.status != http.StatusOK:
					t.Errorf("status %d, Retry-After %q", a.status, a.retryAfter)
				}
			}
			msg := stderr.String()
			if status != tt.status || !strings.Contains(msg, tt.want) || tt.status == 0 && msg != "" || tt.status != 0 && cut == 0 {
				t.Errorf("exit status %d, stderr %q, %d answered 503; want %d and %q", status, msg, cut, tt.status, tt.want)
			}
			if !strings.Contains(log.String(), `"msg":"stopped"`) {
				t.Errorf("log: %s", log.String())
			}
		})
	}
}

// TestServeClients runs "fkd serve" with --cors and calls it as the usual
// clients do: curl -F image=@photo.png, curl --data-binary @photo.png
// (curl itself when it is installed, else the same request from Go), and
// a page of the allowed origin's preflight; each gets the face.
func TestServeClients(t *testing.T) {
	dir := t.TempDir()
	model := saveLopsidedModel(t, dir)
	img := image.NewGray(image.Rect(0, 0, 160, 120))
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 253)
	}
	photoPath := filepath.Join(dir, "photo.png")
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(photoPath, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, log := serveSetUp(t)
	const page = "http://localhost:3000"
	var stdout, stderr bytes.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- run([]string{"serve", "--addr", addr, "--model", model, "--detector", "whole", "--threads", "1",
			"--cors", page, "--batch", "4", "--drain-timeout", "2s"}, &stdout, &stderr)
	}()
	defer func() {
		select {
		case status := <-exited: // never started: no SIGTERM, which would end the test
			t.Errorf("fkd serve stopped early: exit status %d, %s", status, stderr.String())
			return
		default:
		}
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {
		case status := <-exited:
			if status != 0 {
				t.Errorf("fkd serve: exit status %d, %s", status, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("fkd serve did not stop within 20s of SIGTERM")
		}
	}()
	url := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fkd serve did not start: %s %s", stderr.String(), log.String())
		}
	}
	if !strings.Contains(log.String(), `"max_batch":4`) {
		t.Errorf("--batch 4 did not set --max-batch: %s", log.String())
	}
	curl, _ := exec.LookPath("curl")
	tests := []struct {
		name   string
		curl   []string // curl's arguments, before the URL
		req    func() (*http.Request, error)
		status int
		header string // that the answer carries, when not ""
	}{
		{"curl -F image=@photo.png", []string{"-F", "image=@" + photoPath}, func() (*http.Request, error) {
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			part, _ := w.CreateFormFile("image", "photo.png")
			part.Write(b.Bytes())
			w.Close()
			req, err := http.NewRequest("POST", url+"/v1/keypoints", &body)
			if req != nil {
				req.Header.Set("Content-Type", w.FormDataContentType())
			}
			return req, err
		}, 200, ""},
		{"curl --data-binary @photo.png", []string{"--data-binary", "@" + photoPath}, func() (*http.Request, error) {
			req, err := http.NewRequest("POST", url+"/v1/keypoints", bytes.NewReader(b.Bytes()))
			if req != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl sends it
			}
			return req, err
		}, 200, ""},
		{"a page's preflight", []string{"-X", "OPTIONS", "-H", "Origin: " + page, "-H", "Access-Control-Request-Method: POST"}, func() (*http.Request, error) {
			req, err := http.NewRequest("OPTIONS", url+"/v1/keypoints", nil)
			if req != nil {
				req.Header.Set("Origin", page)
				req.Header.Set("Access-Control-Request-Method", "POST")
			}
			return req, err
		}, 204, "Access-Control-Allow-Origin: " + page},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var body, header string
			if curl != "" {
				args := append([]string{"-sS", "--max-time", "20", "-D", "-"}, tt.curl...)
				out, err := exec.Command(curl, append(args, url+"/v1/keypoints")...).Output()
				if err != nil {
					t.Fatalf("curl %s: %v", strings.Join(tt.curl, " "), err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
				if err != nil {
					t.Fatalf("curl's answer %q: %v", out, err)
				}
				data, _ := io.ReadAll(resp.Body)
				status, body, header = resp.StatusCode, string(data), headerText(resp.Header)
			} else {
				req, err := tt.req()
				if err != nil {
					t.Fatal(err)
				}
				resp, data := fkdtest.Do(t, req)
				status, body, header = resp.StatusCode, string(data), headerText(resp.Header)
			}
			if status != tt.status || !strings.Contains(header, tt.header) {
				t.Errorf("%d %s\n%s\nwant %d and %q", status, header, body, tt.status, tt.header)
			}
			if tt.status != 200 {
				return
			}
			var r struct {
				Width, Height int
				Faces         []json.RawMessage
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil || r.Width != 160 || r.Height != 120 || len(r.Faces) != 1 {
				t.Errorf("answer %s: want the one face of the 160x120 photo", body)
			}
		})
	}
}

// headerText writes h as its lines, "Name: value".
func headerText(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return b.String()
}
