// Command onnx times the same net in fkd and in ONNX Runtime: it exports
// each model with package onnx, times fkd's forward pass (LibTorch, the
// model laid out as models.Load lays it out) at each batch size, runs the
// exported file in ONNX Runtime (onnxruntime-node, onnx/ort/ort.js) at the
// same batch sizes and thread count, and prints the milliseconds per face
// of both side by side with their ratio.
//
// The models are untrained (the time does not depend on the weights)
// unless -model names model files. Both runtimes run in turn, -rounds
// times, each keeping its best figure, so that load from other processes
// counts against neither in particular.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/onnx"
	"github.com/fkd-project/fkd/torch"
)

func main() {
	specs := flag.String("models", "cnn3,fpnheat", "architectures to time (untrained), comma-separated")
	files := flag.String("model", "", "model files to time instead, comma-separated")
	batches := flag.String("batches", "1,64", "batch sizes")
	threads := flag.Int("threads", 1, "CPU threads, for both (LibTorch intra-op, ONNX Runtime intraOpNumThreads)")
	seconds := flag.Float64("seconds", 2, "seconds each measurement runs at least")
	rounds := flag.Int("rounds", 3, "rounds of both runtimes in turn; each keeps its best")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench/onnx: ")

	torch.SetNumThreads(*threads)
	dir, err := os.MkdirTemp("", "fkd-bench-onnx")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var paths, labels []string
	if *files != "" {
		paths = strings.Split(*files, ",")
		for _, p := range paths {
			labels = append(labels, filepath.Base(p))
		}
	} else {
		for _, s := range strings.Split(*specs, ",") {
			spec, err := models.ParseSpec(s)
			if err != nil {
				log.Fatal(err)
			}
			m, err := models.New(spec, torch.CPU)
			if err != nil {
				log.Fatal(err)
			}
			p := filepath.Join(dir, strings.NewReplacer(":", "_", ",", "_", "=", "-").Replace(s)+".pt")
			if err := models.Save(p, m, models.Meta{}); err != nil {
				log.Fatal(err)
			}
			m.Store().Free()
			paths = append(paths, p)
			labels = append(labels, s)
		}
	}
	var sizes []int
	for _, b := range strings.Split(*batches, ",") {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 {
			log.Fatalf("-batches: %q is not a batch size", b)
		}
		sizes = append(sizes, n)
	}

	fmt.Printf("CPU threads %d (both); ms per face, best of %d rounds of >= %gs each\n", *threads, *rounds, *seconds)
	fmt.Printf("%-22s %6s %12s %12s %10s\n", "model", "batch", "fkd", "ORT", "fkd/ORT")
	for i, p := range paths {
		m, _, err := models.Load(p, torch.CPU)
		if err != nil {
			log.Fatal(err)
		}
		var buf bytes.Buffer
		if err := onnx.Write(&buf, []onnx.Member{{Model: m, Weight: 1}}, onnx.Options{}); err != nil {
			log.Fatal(err)
		}
		onnxPath := strings.TrimSuffix(p, filepath.Ext(p)) + ".onnx"
		if err := os.WriteFile(onnxPath, buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		for _, b := range sizes {
			fkdBest, ortBest := 0.0, 0.0
			for range *rounds {
				f := timeFKD(m, b, *seconds)
				o, err := timeORT(onnxPath, *threads, b, *seconds)
				if err != nil {
					log.Fatal(err)
				}
				if fkdBest == 0 || f < fkdBest {
					fkdBest = f
				}
				if ortBest == 0 || o < ortBest {
					ortBest = o
				}
			}
			fmt.Printf("%-22s %6d %12.4f %12.4f %9.2fx\n", labels[i], b, fkdBest, ortBest, fkdBest/ortBest)
		}
		m.Store().Free()
	}
}

// timeFKD returns fkd's milliseconds per face for forward passes of
// batch faces, in evaluation mode without gradients, as models.Predict
// runs them.
func timeFKD(m models.Model, batch int, seconds float64) float64 {
	pixels := make([]float32, batch*dataset.PixelCount)
	for i := range pixels {
		pixels[i] = float32(i*7919%256) / 255
	}
	var perFace float64
	torch.NoGrad(func() {
		x := torch.FromFloat32(pixels, int64(batch), 1, dataset.ImageSize, dataset.ImageSize)
		defer x.Free()
		run := func() {
			torch.WithScope(func() {
				y := m.Forward(x).MulScalar(models.CoordScale).AddScalar(models.CoordCentre)
				_ = y.Float32s()
			})
		}
		for range 3 {
			run() // warm up
		}
		runs := 0
		start := time.Now()
		for time.Since(start).Seconds() < seconds || runs < 3 {
			run()
			runs++
		}
		perFace = float64(time.Since(start).Microseconds()) / 1e3 / float64(runs*batch)
	})
	return perFace
}

// timeORT runs onnx/ort/ort.js bench and returns ONNX Runtime's
// milliseconds per face.
func timeORT(path string, threads, batch int, seconds float64) (float64, error) {
	out, err := exec.Command("node", "onnx/ort/ort.js", "bench", path, strconv.Itoa(threads), strconv.Itoa(batch),
		strconv.FormatFloat(seconds, 'g', -1, 64)).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return 0, fmt.Errorf("node onnx/ort/ort.js: %v: %s", err, ee.Stderr)
		}
		return 0, err
	}
	var r struct {
		MsPerFace float64 `json:"ms_per_face"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("ort.js printed %q: %w", out, err)
	}
	return r.MsPerFace, nil
}
