package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The answers net/http writes itself, on the connection, when it cannot
// read a request (431 for headers over MaxHeaderBytes, 400 for a
// malformed request, 501 for an unknown transfer coding) are text/plain.
// A connection of Listener rewrites them as JSON, {"error": "..."}, like
// every other answer, and answers a request whose headers do not come
// within the header read timeout with 408 (net/http closes the
// connection without a word). What it cannot change: a client that sends
// nothing at all, or stops between two requests, is disconnected silently
// at the idle timeout, as there is no request to answer; and an HTTP/2
// connection (not served here: no TLS) would be net/http's own.

// Listener returns l with its connections' errors answered in JSON. Give
// its listener to an http.Server whose ConnContext is ConnContext.
func Listener(l net.Listener) net.Listener { return listener{l} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

type connKey struct{}

// ConnContext is the http.Server.ConnContext that tells a Listener's
// connection when a Handler is answering on it.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// conn is a connection whose net/http errors are answered in JSON.
type conn struct {
	net.Conn
	mu      sync.Mutex
	pending int         // bytes read since the last answer: a request begun
	handled atomic.Bool // a Handler is answering: its own answers and read errors pass
}

// goPlain is what ends the status line and headers of net/http's own
// error answers.
var goPlain = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.pending += n
	begun := c.pending > 0
	c.mu.Unlock()
	var ne net.Error
	if err != nil && begun && !c.handled.Load() && errors.As(err, &ne) && ne.Timeout() {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		c.Conn.Write(jsonAnswer(http.StatusRequestTimeout, "the request's headers came too slowly: not within the server's header read timeout"))
		c.mu.Lock()
		c.pending = 0
		c.mu.Unlock()
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.pending = 0
	c.mu.Unlock()
	if c.handled.Load() || !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) || len(p) < 12 {
		return c.Conn.Write(p)
	}
	head, text, ok := bytes.Cut(p, goPlain)
	code, err := strconv.Atoi(string(p[9:12]))
	if !ok || err != nil || bytes.Contains(head, []byte("\r\n")) {
		return c.Conn.Write(p)
	}
	msg := string(text) // "400 Bad Request", or "400 Bad Request: why"
	if _, why, ok := strings.Cut(msg, ": "); ok {
		msg = why
	}
	switch code {
	case http.StatusRequestHeaderFieldsTooLarge:
		msg = "the request's headers are more than the server's limit"
	case http.StatusBadRequest:
		msg = "malformed HTTP request: " + msg
	}
	if _, err := c.Conn.Write(jsonAnswer(code, msg)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// jsonAnswer is a whole HTTP/1.1 answer of status code with the error msg,
// closing the connection.
func jsonAnswer(code int, msg string) []byte {
	body, _ := json.Marshal(map[string]string{"error": msg})
	body = append(body, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}
