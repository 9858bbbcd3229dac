package serve

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The API takes a body of any Content-Type as opaque bytes, and reads
// what it is from them: kin-openapi must too, for the types the tests
// send (curl --data-binary sends application/x-www-form-urlencoded).
func init() {
	for _, ct := range []string{"image/png", "image/jpeg", "application/x-www-form-urlencoded", "text/html", "application/openmetrics-text"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

var (
	apiOnce   sync.Once
	apiRouter routers.Router
	apiErr    error
)

// openAPIRouter loads the description that the server serves, checks it,
// and returns its router.
func openAPIRouter(t testing.TB) routers.Router {
	t.Helper()
	apiOnce.Do(func() {
		loader := openapi3.NewLoader()
		var doc *openapi3.T
		if doc, apiErr = loader.LoadFromData(OpenAPI()); apiErr != nil {
			return
		}
		if apiErr = doc.Validate(context.Background()); apiErr != nil {
			return
		}
		doc.Servers = nil // any host: the tests' servers are on random ports
		apiRouter, apiErr = gorillamux.NewRouter(doc)
	})
	if apiErr != nil {
		t.Fatalf("openapi.json: %v", apiErr)
	}
	return apiRouter
}

// recorder passes an answer through, keeping a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// teeBody keeps a copy of what the handler reads of a body, up to a
// limit.
type teeBody struct {
	io.ReadCloser
	copy  bytes.Buffer
	limit int
	cut   bool // more was read than kept
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	keep := min(n, b.limit-b.copy.Len())
	b.copy.Write(p[:keep])
	b.cut = b.cut || keep < n
	return n, err
}

// validating wraps h so that every request it answers and every answer
// are held against openapi.json: every answer must be one the
// description gives for its request, with its schema, and a request that
// the description refuses must be answered 4xx. The request's body is
// checked as far as the handler read it, and the answer passes through
// as it is written, so that streaming, deadlines and the memory budget
// are those of the handler alone.
func validating(t testing.TB, h http.Handler) http.Handler {
	router := openAPIRouter(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body *teeBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &teeBody{ReadCloser: r.Body, limit: 64 << 20}
			r.Body = body
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		defer validated.Add(1)
		status := cmp.Or(rec.status, http.StatusOK)
		desc := r.Method + " " + r.URL.String()
		route, params, err := router.FindRoute(r)
		if err != nil { // no such path or method: a JSON error, 404 or 405
			if status != http.StatusNotFound && status != http.StatusMethodNotAllowed || !jsonError(rec) {
				t.Errorf("openapi: %s is not in the description (%v), yet answered %d %s", desc, err, status, rec.body.Bytes())
			}
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: r.Clone(context.Background()), PathParams: params, Route: route,
			Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		in.Request.Body = io.NopCloser(bytes.NewReader(nil))
		if body != nil && !body.cut {
			in.Request.Body = io.NopCloser(bytes.NewReader(body.copy.Bytes()))
		} else if body != nil {
			in.Options.ExcludeRequestBody = true
		}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && (status < 400 || status >= 500) {
			t.Errorf("openapi: the description refuses %s (%v), yet it was answered %d", desc, err, status)
		}
		if route.Operation.Responses.Status(status) == nil {
			t.Errorf("openapi: the answer %d to %s is not listed in the description but as its default", status, desc)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: rec.Header(),
			Body:    io.NopCloser(bytes.NewReader(rec.body.Bytes())),
			Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true, ExcludeResponseBody: r.Method == http.MethodHead || status == http.StatusNoContent}}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("openapi: the answer %d to %s is not the description's: %v\n%.300s", status, desc, err, rec.body.Bytes())
		}
	})
}

// validated counts the exchanges held against the description.
var validated atomic.Int64

// jsonError reports whether an answer is {"error": "..."}.
func jsonError(rec *recorder) bool {
	var e struct{ Error string }
	return strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && json.Unmarshal(rec.body.Bytes(), &e) == nil && e.Error != ""
}

// TestOpenAPIPaths checks that the description names every path the
// handler answers, with the methods it answers, and no other.
func TestOpenAPIPaths(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	openAPIRouter(t)
	if got, want := slices.Sorted(maps.Keys(doc.Paths)), slices.Sorted(maps.Keys(methods)); !slices.Equal(got, want) {
		t.Errorf("openapi.json describes %v; the handler answers %v", got, want)
	}
	for path, ms := range methods {
		want := strings.Split(strings.ToLower(ms), ", ")
		want = append(want, "options")
		got := slices.Collect(maps.Keys(doc.Paths[path]))
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("openapi.json: %s: %v; the handler answers %v", path, got, want)
		}
	}
}
