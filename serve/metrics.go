package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what a Handler serves at /metrics, in its own registry.
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec   // by path and code
	latency       *prometheus.HistogramVec // by path
	batchRequests prometheus.Histogram
	batchFaces    prometheus.Histogram
	handler       http.Handler
}

func newMetrics(h *Handler) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fkd_http_requests_total", Help: "Requests answered, by path (other for unknown ones) and status code.",
		}, []string{"path", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fkd_http_request_duration_seconds", Help: "Time from a request's headers to its answer written, by path.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"path"}),
		batchRequests: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "fkd_batch_requests", Help: "Requests in each run of the model.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 8),
		}),
		batchFaces: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "fkd_batch_faces", Help: "Faces in each run of the model.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(m.requests, m.latency, m.batchRequests, m.batchFaces,
		gauge("fkd_queue_length", "Requests waiting for the model.", func() float64 { return float64(len(h.jobs)) }),
		gauge("fkd_queue_capacity", "Requests the model's queue holds (--queue); more are answered 503.", func() float64 { return float64(cap(h.jobs)) }),
		gauge("fkd_in_flight_requests", "Requests being answered.", func() float64 { return float64(h.stats.inFlight.Load()) }),
		gauge("fkd_memory_budget_used_bytes", "Bytes the requests under way hold of the memory budget.", func() float64 {
			used, _ := h.budget.load()
			return float64(used)
		}),
		gauge("fkd_memory_budget_peak_bytes", "The most bytes held of the memory budget at once.", func() float64 {
			_, peak := h.budget.load()
			return float64(peak)
		}),
		gauge("fkd_memory_budget_bytes", "The memory budget (--memory-budget).", func() float64 { return float64(h.o.MemoryBudget) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// observe counts an answered request.
func (m *metrics) observe(path string, status int, d time.Duration) {
	route := routeName(path)
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// statusWriter remembers the status and bytes written through it.
type statusWriter struct {
	http.ResponseWriter
	status, n int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.n += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
