// Command serve load-tests fkd's keypoint server on the loopback: for 1,
// 4 and 16 clients at once, each sending its next request as soon as the
// last is answered, it prints the requests per second and the median and
// 99th-percentile latency, and the mean number of requests the model ran
// on at once.
//
// The server is serve.Handler behind serve.NewServer, as `fkd serve`
// runs it, on an untrained cnn3 (or -model) and a 256×200 PNG of a face
// enlarged twice (fkd-ytf's, else a synthetic one). -detector fixed gives the face's box
// without a detector, so the figures are the server's, the batching's and
// the model's; -detector cascade adds OpenCV's Haar cascade on every
// request. Each level runs for -requests requests or -duration, whichever
// ends first.
//
// Then two floods, each on a server of its own:
//
//   - memory: -flood-clients clients send -flood-requests PNGs of
//     -flood-size × -flood-size pixels (7000: 49 megapixels, 196 MB
//     decoded) to a server with a -budget MiB memory budget and
//     -flood-workers workers (as many as cores: 8), the detector
//     OpenCV's cascade when it loads (else the fixed box); it prints the
//     answers, the most the budget held, and the process's peak RSS
//     (VmHWM, reset before the flood) against the RSS before it plus the
//     budget.
//   - overload: -overload-clients clients send -overload-requests
//     requests of a 1250×1250 photo of a face, with the cascade, to a
//     server with a -overload-write-timeout write timeout; it prints the
//     share of 200, 503, 504 and of requests that got no answer (EOF),
//     which must be 0.
//
// Clients and servers are on the loopback only.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/predict"
	"github.com/fkd-project/fkd/report"
	"github.com/fkd-project/fkd/serve"
	"github.com/fkd-project/fkd/torch"
)

func main() {
	modelPath := flag.String("model", "", "a model file (default: an untrained cnn3)")
	data := flag.String("data", "../shared/data/fkd-ytf/training.zip", "fkd-ytf's training.zip, for a real face (else a synthetic one)")
	detector := flag.String("detector", "fixed", "fixed (the face's box, no detector) or cascade (OpenCV's Haar cascade)")
	levels := flag.String("clients", "1,4,16", "the numbers of clients at once")
	requests := flag.Int("requests", 400, "requests per level, at most")
	duration := flag.Duration("duration", 8*time.Second, "time per level, at most")
	batch := flag.Int("max-batch", 8, "the server's --max-batch")
	wait := flag.Duration("batch-wait", 2*time.Millisecond, "the server's --batch-wait")
	threads := flag.Int("threads", 0, "LibTorch CPU threads (0: one per core)")
	var f floods
	flag.IntVar(&f.size, "flood-size", 7000, "the memory flood's photos, pixels a side (0: no memory flood)")
	flag.IntVar(&f.clients, "flood-clients", 8, "the memory flood's clients at once")
	flag.IntVar(&f.requests, "flood-requests", 24, "the memory flood's requests")
	flag.IntVar(&f.workers, "flood-workers", 8, "the memory flood's server's workers, images decoded and searched at once (as on 8 cores)")
	flag.Int64Var(&f.budgetMiB, "budget", 1024, "the memory flood's server's memory budget, MiB")
	flag.IntVar(&f.overClients, "overload-clients", 60, "the overload's clients at once (0: no overload)")
	flag.IntVar(&f.overRequests, "overload-requests", 120, "the overload's requests")
	flag.DurationVar(&f.overWrite, "overload-write-timeout", 5*time.Second, "the overload's server's write timeout")
	flag.Parse()
	if err := run(*modelPath, *data, *detector, *levels, *requests, *duration, *batch, *wait, *threads, f); err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

// facePhoto is a 256×200 PNG of a face enlarged twice at (40, 4), and
// about the box a Haar cascade gives it: an fkd-ytf face when data names
// its training.zip and it is there (a Haar cascade finds it), else a
// synthetic one (which it does not).
func facePhoto(data string) ([]byte, image.Rectangle, string, error) {
	face, what := synth.Generate(1, 4, synth.Options{Clean: true}).Image(0), "a synthetic face"
	if set, _, err := dataset.ReadTraining(data, dataset.ReadOptions{}); err == nil {
		face, what = set.Image(200), "fkd-ytf face 200"
	}
	img := image.NewRGBA(image.Rect(0, 0, 256, 200))
	for y := range 200 {
		for x := range 256 {
			v := uint8(90 + (x*3+y)%40)
			if u, w := (x-40)/2, (y-4)/2; x >= 40 && y >= 4 && u < 96 && w < 96 {
				v = face[w*96+u]
			}
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	var b bytes.Buffer
	err := png.Encode(&b, img)
	return b.Bytes(), image.Rect(50, 20, 220, 190), what, err
}

func run(modelPath, data, detector, levels string, requests int, duration time.Duration, batch int, wait time.Duration, threads int, f floods) error {
	torch.SetNumThreads(threads)
	var m models.Model
	var meta models.Meta
	var err error
	if modelPath != "" {
		m, meta, err = report.LoadModel(modelPath, torch.CPU)
	} else {
		torch.ManualSeed(1)
		m, err = models.New(models.Spec{Arch: "cnn3"}, torch.CPU)
	}
	if err != nil {
		return err
	}
	defer m.Store().Free()
	photo, box, what, err := facePhoto(data)
	if err != nil {
		return err
	}
	var det detect.Detector = detect.Fixed{{Box: box, Score: 1}}
	if detector == "cascade" {
		c, err := detect.NewCascade(detect.CascadeOptions{})
		if err != nil {
			return err
		}
		defer c.Close()
		det = c
	} else if detector != "fixed" {
		return fmt.Errorf("-detector %q: want fixed or cascade", detector)
	}
	p := predict.New(m, meta, 0, predict.HaarFrontalFace)
	h, base, stop, err := start(p, det, serve.Options{MaxBatch: batch, BatchWait: wait})
	if err != nil {
		return err
	}
	url := base + "/v1/keypoints"

	fmt.Printf("fkd serve on the loopback: %s, detector %s, --max-batch %d --batch-wait %v, a %d-byte 256x200 PNG of %s a request, %d threads\n\n",
		m.Spec(), detector, batch, wait, len(photo), what, torch.NumThreads())
	fmt.Println("| clients | requests | requests/s | p50 latency (ms) | p99 latency (ms) | requests per model run |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, field := range strings.Split(levels, ",") {
		clients, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || clients < 1 {
			return fmt.Errorf("-clients: %q is not a number of clients", field)
		}
		before := h.Stats()
		lat, elapsed, err := load(url, photo, clients, requests, duration)
		if err != nil {
			return err
		}
		after := h.Stats()
		perRun := "— (no face found)"
		if runs := after.Batches - before.Batches; runs > 0 {
			perRun = fmt.Sprintf("%.2f", float64(after.Requests-before.Requests)/float64(runs))
		}
		slices.Sort(lat)
		fmt.Printf("| %d | %d | %.1f | %.1f | %.1f | %s |\n", clients, len(lat), float64(len(lat))/elapsed.Seconds(),
			ms(quantile(lat, 0.5)), ms(quantile(lat, 0.99)), perRun)
	}
	stop()
	return f.run(p, box)
}

// start serves h on the loopback as fkd serve does, and returns its
// handler, its URL and what stops it.
func start(p *predict.Pipeline, det detect.Detector, o serve.Options) (*serve.Handler, string, func(), error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	o.Logger = quiet
	h := serve.New(p, det, o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := serve.NewServer(h, quiet)
	go srv.Serve(serve.Listener(ln))
	return h, "http://" + ln.Addr().String(), func() { srv.Close(); h.Close() }, nil
}

// load runs clients goroutines sending photo until requests are answered
// or duration has passed, and returns each request's latency. Any answer
// but 200 is an error.
func load(url string, photo []byte, clients, requests int, duration time.Duration) ([]time.Duration, time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: time.Minute}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	sent := 0
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				mu.Lock()
				done := sent >= requests || firstErr != nil || time.Now().After(deadline)
				sent++
				mu.Unlock()
				if done {
					return
				}
				t := time.Now()
				resp, err := client.Post(url, "image/png", bytes.NewReader(photo))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, time.Since(t))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), firstErr
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(q*float64(len(sorted))))-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
