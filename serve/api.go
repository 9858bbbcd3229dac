package serve

import (
	"bytes"
	_ "embed"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fkd-project/fkd/eval"
)

// The page, and the description of the API, served as they are.
var (
	//go:embed web/index.html
	indexHTML []byte
	//go:embed openapi.json
	openAPIJSON []byte
)

// OpenAPI returns the OpenAPI 3 description of the API that a Handler
// serves at /openapi.json.
func OpenAPI() []byte { return bytes.Clone(openAPIJSON) }

// The query parameters each path takes, and what they may be.
var queryParams = map[string][]string{
	"/v1/keypoints": {"tta"},
}

// checkQuery refuses a query of parameters other than those the path
// takes, and a parameter given twice.
func checkQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, failf(http.StatusBadRequest, "the query %q cannot be read: %v", r.URL.RawQuery, err)
	}
	known := queryParams[r.URL.Path]
	var unknown []string
	for name, v := range q {
		switch {
		case !slices.Contains(known, name):
			unknown = append(unknown, strconv.Quote(name))
		case len(v) > 1:
			return nil, failf(http.StatusBadRequest, "query parameter %q given %d times: give it once", name, len(v))
		}
	}
	if len(unknown) == 0 {
		return q, nil
	}
	slices.Sort(unknown)
	takes := "no query parameters"
	if len(known) > 0 {
		takes = "only " + strings.Join(known, ", ") + " (none, flip or flip+shift)"
	}
	return nil, failf(http.StatusBadRequest, "unknown query parameter %s: %s takes %s", strings.Join(unknown, ", "), r.URL.Path, takes)
}

// ttaOf reads the tta query parameter, or gives def when there is none.
func ttaOf(q url.Values, def eval.TTA) (eval.TTA, error) {
	if !q.Has("tta") {
		return def, nil
	}
	v := q.Get("tta")
	if v == "flip shift" { // ?tta=flip+shift, its + unescaped to a space
		v = "flip+shift"
	}
	t, err := eval.ParseTTA(v)
	if err != nil {
		return def, failf(http.StatusBadRequest, "query parameter tta: %v", err)
	}
	return t, nil
}

// upload is the image of a request: the body, or a part of it.
type upload struct {
	data        []byte
	what        string // "the body", "the form field image"
	contentType string // as the client said
}

// notImage is the 415 answer to an upload that is neither PNG nor JPEG,
// naming what was received.
func (u upload) notImage() *httpError {
	head := u.data[:min(len(u.data), 12)]
	ct := u.contentType
	if ct == "" {
		ct = "none"
	}
	return failf(http.StatusUnsupportedMediaType, "%s is not a PNG or JPEG image: received Content-Type %s, %d bytes that look like %s, beginning %q",
		u.what, ct, len(u.data), http.DetectContentType(u.data), head)
}

// readUpload reads the request's image, charging it to l: the body as it
// is, or the part named image of a multipart/form-data body, whose
// charge replaces the body's.
func (h *Handler) readUpload(w http.ResponseWriter, r *http.Request, l *lease) (upload, error) {
	body, err := h.readBody(w, r, l)
	if err != nil {
		return upload{}, err
	}
	ct := r.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	if mt != "multipart/form-data" {
		return upload{data: body, what: "the body", contentType: ct}, nil
	}
	if params["boundary"] == "" {
		return upload{}, failf(http.StatusBadRequest, "Content-Type %s has no boundary: send the image as the form field image (curl -F image=@photo.png)", ct)
	}
	u, err := imagePart(body, params["boundary"], l)
	if err != nil {
		return upload{}, err
	}
	l.give(int64(len(body))) // the body is let go: the part is its own copy
	return u, nil
}

// imagePart returns the part named image of a multipart/form-data body,
// charging its bytes to l as they are copied. A body of no such part, of
// two, or of other parts is refused.
func imagePart(body []byte, boundary string, l *lease) (upload, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var u upload
	images := 0
	var others []string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return upload{}, failf(http.StatusBadRequest, "the multipart/form-data body cannot be read: %v", err)
		}
		name := p.FormName()
		if name != "image" {
			others = append(others, strconv.Quote(name))
			continue
		}
		if images++; images > 1 {
			continue
		}
		u = upload{what: "the form field image", contentType: p.Header.Get("Content-Type")}
		if u.data, err = readCharged(p, l); err != nil {
			return upload{}, err
		}
	}
	switch {
	case len(others) > 0:
		return upload{}, failf(http.StatusBadRequest, "unknown form field %s: the form takes one field, image", strings.Join(others, ", "))
	case images == 0:
		return upload{}, failf(http.StatusBadRequest, "the multipart/form-data body has no field image: send the photo as the field image (curl -F image=@photo.png)")
	case images > 1:
		return upload{}, failf(http.StatusBadRequest, "the multipart/form-data body has %d fields image: send one image a request", images)
	case len(u.data) == 0:
		return upload{}, failf(http.StatusBadRequest, "the form field image is empty: send a PNG or JPEG in it")
	}
	return u, nil
}

// readCharged reads r to its end, charging what it reads to l; when the
// budget is spent, it says so.
func readCharged(r io.Reader, l *lease) ([]byte, error) {
	var data []byte
	for {
		if len(data) == cap(data) {
			more := max(64<<10, cap(data))
			if !l.grow(int64(more)) {
				used, _ := l.b.load()
				return nil, failf(http.StatusServiceUnavailable, "busy: the form field image does not fit in what is left of the server's memory budget of %s, %s of it held by the requests under way; retry",
					mib(l.b.total), mib(used))
			}
			data = append(data[:cap(data)], make([]byte, more)...)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			l.give(int64(cap(data) - len(data)))
			return data[:len(data):len(data)], nil
		}
		if err != nil {
			return nil, failf(http.StatusBadRequest, "the multipart/form-data body cannot be read: %v", err)
		}
	}
}

// The methods each path answers, for Allow and preflights.
var methods = map[string]string{
	"/v1/keypoints": "POST",
	"/healthz":      "GET, HEAD",
	"/":             "GET, HEAD",
	"/docs":         "GET, HEAD",
	"/openapi.json": "GET, HEAD",
	"/metrics":      "GET, HEAD",
}

// allowOrigin sets the CORS headers of an answer to a request from an
// origin Options.CORS allows, and reports whether it is allowed.
func (h *Handler) allowOrigin(w http.ResponseWriter, r *http.Request) bool {
	if len(h.o.CORS) == 0 {
		return false
	}
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	switch {
	case slices.Contains(h.o.CORS, "*"):
		w.Header().Set("Access-Control-Allow-Origin", "*")
	case slices.Contains(h.o.CORS, origin):
		w.Header().Set("Access-Control-Allow-Origin", origin)
	default:
		return false
	}
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	return true
}

// options answers OPTIONS: a CORS preflight from an allowed origin for a
// method the path answers 204 with what it may send; any other 204 with
// Allow. It returns nil when it answered.
func (h *Handler) options(w http.ResponseWriter, r *http.Request, allowed bool) error {
	m := methods[r.URL.Path] // ServeHTTP answered unknown paths
	want := r.Header.Get("Access-Control-Request-Method")
	hd := w.Header()
	switch {
	case want == "" || r.Header.Get("Origin") == "":
		hd.Set("Allow", m+", OPTIONS")
	case len(h.o.CORS) == 0:
		return failf(http.StatusForbidden, "cross-origin requests are off: start fkd serve with --cors %s to let pages from it call this server", r.Header.Get("Origin"))
	case !allowed:
		return failf(http.StatusForbidden, "origin %s is not allowed: fkd serve --cors allows %s", r.Header.Get("Origin"), strings.Join(h.o.CORS, ", "))
	case !slices.Contains(strings.Split(m, ", "), want):
		return failf(http.StatusMethodNotAllowed, "%s %s is not served: %s answers %s", want, r.URL.Path, r.URL.Path, m)
	default:
		hd.Set("Access-Control-Allow-Methods", m)
		hd.Set("Access-Control-Allow-Headers", "Content-Type")
		hd.Set("Access-Control-Max-Age", "600")
	}
	hd.Del("Access-Control-Expose-Headers")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// page answers GET and HEAD of the page, its description and the docs.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) (int, error) {
	var body []byte
	switch r.URL.Path {
	case "/docs":
		http.Redirect(w, r, "/#api", http.StatusFound)
		return 0, nil
	case "/openapi.json":
		w.Header().Set("Content-Type", "application/json")
		body = openAPIJSON
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'")
		body = indexHTML
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return 0, nil
	}
	return w.Write(body)
}

// routeName is the path a metric counts a request under: one the server
// answers, or "other".
func routeName(path string) string {
	if _, ok := methods[path]; ok {
		return path
	}
	return "other"
}

// errNotFound is the answer to a path served by no one.
func errNotFound(r *http.Request) error {
	return failf(http.StatusNotFound, "no %s here: POST /v1/keypoints, GET /healthz, GET / for a page, GET /openapi.json, GET /metrics", r.URL.Path)
}

// errMethod is the answer to a method a path does not answer.
func errMethod(w http.ResponseWriter, r *http.Request) error {
	m := methods[r.URL.Path]
	w.Header().Set("Allow", m+", OPTIONS")
	if r.URL.Path == "/v1/keypoints" {
		return failf(http.StatusMethodNotAllowed, "%s /v1/keypoints: POST the image as the body or as the form field image", r.Method)
	}
	use, _, _ := strings.Cut(m, ", ")
	return failf(http.StatusMethodNotAllowed, "%s %s: use %s", r.Method, r.URL.Path, use)
}
