package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/predict"
	"github.com/fkd-project/fkd/serve"
)

// floods are the settings of the memory flood and the overload.
type floods struct {
	size, clients, requests   int
	workers                   int
	budgetMiB                 int64
	overClients, overRequests int
	overWrite                 time.Duration
}

func (f floods) run(p *predict.Pipeline, box image.Rectangle) error {
	det, what, closeDet := cascade(box)
	defer closeDet()
	if f.size > 0 {
		if err := f.memory(p, det, what); err != nil {
			return err
		}
	}
	if f.overClients > 0 {
		if err := f.overload(p, det, what); err != nil {
			return err
		}
	}
	return nil
}

// cascade returns OpenCV's Haar cascade, as fkd serve uses by default, or
// the fixed box where it does not load.
func cascade(box image.Rectangle) (detect.Detector, string, func()) {
	c, err := detect.NewCascade(detect.CascadeOptions{})
	if err != nil {
		return detect.Fixed{{Box: box, Score: 1}}, "fixed (no cascade: " + err.Error() + ")", func() {}
	}
	return c, "cascade", func() { c.Close() }
}

// bigPhoto is a size×size RGB PNG: a smooth background and a synthetic
// face enlarged to a third of the side, so that it is small to send and
// large to decode, as the 190 KB PNG of 7000×7000 was.
func bigPhoto(size int) ([]byte, error) {
	face := synth.Generate(1, 4, synth.Options{Clean: true}).Image(0)
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	side := size / 3
	x0, y0 := size/3, size/4
	for y := range size {
		row := img.Pix[y*img.Stride:]
		for x := range size {
			v := uint8(80 + (x+y)*60/(2*size))
			if u, w := (x-x0)*96/side, (y-y0)*96/side; x >= x0 && y >= y0 && u < 96 && w < 96 {
				v = face[w*96+u]
			}
			c := color.RGBA{v, v, v / 2, 255}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
	var b bytes.Buffer
	err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img)
	return b.Bytes(), err
}

// memory floods a server of a budget of f.budgetMiB with large photos.
func (f floods) memory(p *predict.Pipeline, det detect.Detector, what string) error {
	photo, err := bigPhoto(f.size)
	if err != nil {
		return err
	}
	budget := f.budgetMiB << 20
	serve.TuneGC(budget) // as fkd serve does
	h, base, stop, err := start(p, det, serve.Options{MemoryBudget: budget, Workers: f.workers})
	if err != nil {
		return err
	}
	defer stop()
	debug.FreeOSMemory()
	before := status("VmRSS")
	resetPeak()
	t := time.Now()
	counts := hammer(base+"/v1/keypoints", photo, f.clients, f.requests, true)
	elapsed := time.Since(t)
	peak := status("VmHWM")
	time.Sleep(2 * time.Second)
	idle := status("VmRSS")
	s := h.Stats()
	fmt.Printf("\nMemory: %d requests of a %d-byte %dx%d RGB PNG (%d MiB decoded as RGBA) from %d clients at once (each waiting a 503's Retry-After), detector %s, %d workers, --memory-budget %d, in %.1fs\n\n",
		f.requests, len(photo), f.size, f.size, int64(f.size)*int64(f.size)*4>>20, f.clients, what, f.workers, f.budgetMiB, elapsed.Seconds())
	fmt.Println("| answers | budget held at most (MiB) | RSS before (MiB) | peak RSS (MiB) | before + budget (MiB) | RSS idle 2s after (MiB) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	fmt.Printf("| %s | %d | %d | %d | %d | %d |\n", counts, s.MemoryPeak>>20, before>>20, peak>>20, (before+budget)>>20, idle>>20)
	if peak > before+budget {
		fmt.Println("\npeak RSS over the RSS before plus the budget")
	}
	return nil
}

// overload sends more requests than the server can answer within its
// write timeout.
func (f floods) overload(p *predict.Pipeline, det detect.Detector, what string) error {
	photo, err := bigPhoto(1250)
	if err != nil {
		return err
	}
	_, base, stop, err := start(p, det, serve.Options{WriteTimeout: f.overWrite})
	if err != nil {
		return err
	}
	defer stop()
	t := time.Now()
	counts := hammer(base+"/v1/keypoints", photo, f.overClients, f.overRequests, false)
	fmt.Printf("\nOverload: %d requests of a %d-byte 1250x1250 PNG from %d clients at once (none waiting), detector %s, --write-timeout %v, in %.1fs\n\n",
		f.overRequests, len(photo), f.overClients, what, f.overWrite, time.Since(t).Seconds())
	fmt.Println("| answers | 200 | 503 | 504 | no answer (EOF) |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	n := float64(f.overRequests) / 100
	fmt.Printf("| %s | %.0f%% | %.0f%% | %.0f%% | %.0f%% |\n", counts, float64(counts.n["200"])/n, float64(counts.n["503"])/n,
		float64(counts.n["504"])/n, float64(counts.n["EOF"])/n)
	if counts.n["EOF"] > 0 {
		return fmt.Errorf("%d requests got no answer", counts.n["EOF"])
	}
	return nil
}

// tally counts answers by status, "EOF" for none.
type tally struct{ n map[string]int }

func (t tally) String() string {
	keys := make([]string, 0, len(t.n))
	for k := range t.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %s", t.n[k], k))
	}
	return strings.Join(parts, ", ")
}

// hammer sends requests POSTs of body from clients at once, each sending
// its next when its last is answered (polite: after the Retry-After of a
// 503 or 504), and counts the answers. A 503 or 504 without Retry-After
// counts as "bare 503"/"bare 504".
func hammer(url string, body []byte, clients, requests int, polite bool) tally {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 5 * time.Minute}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	t := tally{map[string]int{}}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(requests) {
				key, retry := "EOF", ""
				resp, err := client.Post(url, "image/png", bytes.NewReader(body))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err == nil {
					key, retry = strconv.Itoa(resp.StatusCode), resp.Header.Get("Retry-After")
					if resp.StatusCode >= 500 && resp.Header.Get("Retry-After") == "" {
						key = "bare " + key
					}
				}
				mu.Lock()
				t.n[key]++
				mu.Unlock()
				if s, err := strconv.Atoi(retry); polite && err == nil {
					time.Sleep(time.Duration(s) * time.Second)
				}
			}
		})
	}
	wg.Wait()
	return t
}

// status returns a byte count of /proc/self/status: VmRSS, VmHWM.
func status(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeak resets VmHWM to the RSS now (Linux 4.0 on).
func resetPeak() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
