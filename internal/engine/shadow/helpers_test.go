package shadow_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// patience bounds every wait for an asynchronous outcome. Tests wait for
// outcomes; they never assert how fast something happened.
const patience = 60 * time.Second

// seenRequest is a request as an upstream received it.
type seenRequest struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// upstream is a real HTTP server that records what it receives.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []seenRequest
	release chan struct{} // closed at cleanup: frees hung handlers
}

func newUpstream(t *testing.T, h func(u *upstream, w http.ResponseWriter, r *http.Request)) *upstream {
	t.Helper()
	u := &upstream{release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(u, w, r)
	}))
	t.Cleanup(u.Close)
	t.Cleanup(func() { close(u.release) }) // runs before Close
	return u
}

// requests returns what the upstream received so far.
func (u *upstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

// count returns how many requests for path the upstream received.
func (u *upstream) count(path string) int {
	n := 0
	for _, r := range u.requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// hang blocks until the client gives up or the test ends.
func (u *upstream) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-u.release:
	}
}

func nonce() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// liveHandler is the live service (and, as a second instance, the noise
// one). Every answer carries fields that vary by themselves: a timestamp,
// an etag, an X-Request-Id.
func liveHandler(u *upstream, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", nonce())
	w.Header().Set("X-Version", "v1")
	switch r.URL.Path {
	case "/same", "/slow", "/fail", "/hang":
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"id":7,"name":"rooms","timestamp":%q,"items":[{"id":1,"etag":%q},{"id":2,"etag":%q}]}`,
			time.Now().Format(time.RFC3339Nano), nonce(), nonce()))
	case "/differs":
		writeJSON(w, http.StatusOK, `{"id":7,"count":1}`)
	case "/noisy", "/noisy-and-differs":
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"v":1,"session":%q,"shard":{"host":%q}}`, nonce(), nonce()))
	case "/text":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello\n")
	case "/status":
		writeJSON(w, http.StatusOK, `{}`)
	case "/echo":
		w.Header().Set("Content-Type", "text/plain")
		body, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s got %d bytes", r.Method, r.URL.RequestURI(), len(body))
	default:
		http.NotFound(w, r)
	}
}

// darkHandler is the dark backend: equal to live where it should be (with
// its own timestamps and etags, another member order and 7.0 for 7),
// different on /differs and /noisy-and-differs, slow on /slow, failing on
// /fail, hung on /hang.
func darkHandler(u *upstream, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", nonce())
	w.Header().Set("X-Version", "v1")
	same := func() {
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"items":[{"etag":%q,"id":1.0},{"id":2,"etag":%q}],"name":"rooms","id":7.0,"timestamp":%q}`,
			nonce(), nonce(), time.Now().Format(time.RFC3339Nano)))
	}
	switch r.URL.Path {
	case "/same":
		same()
	case "/slow":
		time.Sleep(50 * time.Millisecond)
		same()
	case "/fail":
		writeJSON(w, http.StatusInternalServerError, `{"error":"boom"}`)
	case "/hang":
		u.hang(r)
	case "/differs":
		writeJSON(w, http.StatusOK, `{"id":7,"count":2}`)
	case "/noisy":
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"v":1,"session":%q,"shard":{"host":%q}}`, nonce(), nonce()))
	case "/noisy-and-differs":
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"v":2,"session":%q,"shard":{"host":%q}}`, nonce(), nonce()))
	case "/text":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello\n")
	case "/status":
		writeJSON(w, http.StatusNotFound, `{}`)
	default:
		liveHandler(u, w, r)
	}
}

// config is a valid config mirroring everything from live to dark, with
// the ignore lists that make /same equal.
func config(live, dark string) shadow.Config {
	return shadow.Config{
		Name:          "chat-backend",
		LiveURL:       live,
		DarkURL:       dark,
		MirrorPercent: 100,
		Methods:       []string{"GET", "HEAD"},
		Compare: shadow.Compare{
			Enabled:         true,
			IgnoreHeaders:   []string{"X-Request-Id"},
			IgnoreJSONPaths: []string{"$.timestamp", "$.items[*].etag"},
		},
		Revision: "1",
	}
}

func newProxy(t *testing.T, opts shadow.Options) *shadow.Proxy {
	t.Helper()
	p, err := shadow.NewProxy(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

// fronts are the servers in front of proxies, by proxy.
var fronts sync.Map

// serve serves p with a shadow.Server on a loopback listener for the
// test, and returns its URL.
func serve(t *testing.T, p *shadow.Proxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &shadow.Server{Proxy: p}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	fronts.Store(p, s)
	return "http://" + ln.Addr().String()
}

// get sends one request and returns status, header and body.
func do(t *testing.T, client *http.Client, method, url string, header http.Header, body io.Reader) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	status, _, body := do(t, http.DefaultClient, http.MethodGet, url, nil, nil)
	return status, body
}

// stopServing closes the server in front of p and waits for its handlers,
// as a server's Shutdown does: a client has its answer before the handler
// has handed the copy over.
func stopServing(p *shadow.Proxy) {
	if s, ok := fronts.LoadAndDelete(p); ok {
		_ = s.(*shadow.Server).Close()
	}
}

// drain closes p, waiting for every copy, and returns its figures.
func drain(t *testing.T, p *shadow.Proxy) shadow.Snapshot {
	t.Helper()
	stopServing(p)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	return p.Stats().Swap()
}

// waitFor polls cond until it holds, or fails the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
