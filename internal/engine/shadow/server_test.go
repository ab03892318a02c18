package shadow_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

// stuck bounds a wait for something that happens at once on loopback
// unless it never will: where a known way of failing would otherwise
// hold the test for its whole patience, it gives up sooner.
const stuck = 10 * time.Second

// frontServer is a shadow.Server the test started on a loopback
// listener.
type frontServer struct {
	*shadow.Server
	addr   string     // host:port
	served chan error // what Serve returned
}

// startFront serves s on a loopback listener until the test ends.
func startFront(t *testing.T, s *shadow.Server) *frontServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &frontServer{Server: s, addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { f.served <- s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return f
}

// mirrorAll gives p a config that forwards to live and mirrors every
// request of the methods the tests use to a dark upstream, which it
// returns.
func mirrorAll(t *testing.T, p *shadow.Proxy, live string) *upstream {
	t.Helper()
	dark := newUpstream(t, darkHandler)
	c := config(live, dark.URL)
	c.Methods = []string{"GET", "HEAD", "POST", "PUT"}
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	return dark
}

// forwardTo serves a proxy without a config that forwards to live (its
// fallback), and returns the Server's address (host:port).
func forwardTo(t *testing.T, live string) string {
	t.Helper()
	return strings.TrimPrefix(serve(t, newProxy(t, shadow.Options{Fallback: live})), "http://")
}

// rawConn is a client connection driven by hand: what the test writes
// goes as it is, and answers are read with http.ReadResponse.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(patience))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes s to the connection.
func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("writing %.40q: %v", s, err)
	}
}

// rawAnswer is an answer read by hand, whose body has been read and
// closed.
type rawAnswer struct{ http.Response }

// answer reads the answer to a request of method, and its whole body.
func (c *rawConn) answer(method string) (*rawAnswer, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading the answer to %s: %v", method, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading the body of the answer to %s: %v", method, err)
	}
	_ = resp.Body.Close()
	return &rawAnswer{*resp}, string(b)
}

// expectClosed fails the test unless the server ends the connection
// after what was read from it.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	b, err := c.br.ReadByte()
	switch {
	case err == nil:
		c.t.Fatalf("read %q after the answer; want the connection closed", b)
	case isTimeout(err):
		c.t.Fatal("the connection is still open; want it closed")
	}
	// io.EOF or a reset: closed either way.
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// getClosing sends GET path with "Connection: close" on a connection of
// its own and waits until the Server has closed it: by then the Server
// has put its live connection back in its pool.
func getClosing(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := dialRaw(t, addr)
	c.send("GET " + path + " HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n")
	resp, body := c.answer(http.MethodGet)
	c.expectClosed()
	return resp.StatusCode, body
}

// rawLive is a live upstream written by hand, for answers a net/http
// server would not send as they are: it answers each request on a
// connection with the bytes respond returns, and closes the connection
// after an answer that says "Connection: close".
func rawLive(t *testing.T, respond func(r *http.Request, body []byte) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  = map[net.Conn]bool{}
		closed bool
	)
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = nc.Close()
				return
			}
			conns[nc] = true
			mu.Unlock()
			wg.Go(func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, err := io.ReadAll(req.Body)
					if err != nil {
						return
					}
					out := respond(req, body)
					if _, err := io.WriteString(nc, out); err != nil {
						return
					}
					head, _, _ := strings.Cut(out, "\r\n\r\n")
					if strings.Contains(strings.ToLower(head), "\r\nconnection: close") {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for nc := range conns {
			_ = nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// chunked is body in the chunked coding, in chunks of at most size
// bytes, with the last chunk.
func chunked(body []byte, size int) string {
	var b strings.Builder
	for part := range slices.Chunk(body, size) {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(part), part)
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// A chunked request body reaches live whole, and, within MaxBodyBytes,
// dark receives the same body.
func TestServerChunkedRequestBody(t *testing.T) {
	live := newUpstream(t, liveHandler)
	p := newProxy(t, shadow.Options{})
	dark := mirrorAll(t, p, live.URL)
	addr := strings.TrimPrefix(serve(t, p), "http://")

	body := bytes.Repeat([]byte("a chunked body "), 1000) // 15,000 bytes, under the 64 KiB default
	c := dialRaw(t, addr)
	c.send("POST /echo HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body, 4000))
	resp, got := c.answer(http.MethodPost)
	if want := fmt.Sprintf("POST /echo got %d bytes", len(body)); resp.StatusCode != http.StatusOK || got != want {
		t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, got, want)
	}
	s := drain(t, p)
	if seen := live.requests(); len(seen) != 1 || !bytes.Equal(seen[0].Body, body) {
		t.Fatalf("live did not receive the chunked body whole: %d requests", len(seen))
	}
	if s.Requests != 1 || s.Skipped != 0 {
		t.Fatalf("copies %d skipped %d, want 1 and 0", s.Requests, s.Skipped)
	}
	if seen := dark.requests(); len(seen) != 1 || seen[0].Method != http.MethodPost || !bytes.Equal(seen[0].Body, body) {
		t.Fatalf("dark did not receive the same body: %d requests", len(seen))
	}
}

// A request body larger than what the Server reads whole (64 KiB), with
// a Content-Length, streams to live intact.
func TestServerLargeRequestBody(t *testing.T) {
	live := newUpstream(t, liveHandler)
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	front := serve(t, p)

	body := make([]byte, 200<<10)
	_, _ = rand.Read(body)
	status, _, got := do(t, http.DefaultClient, http.MethodPost, front+"/echo", nil, bytes.NewReader(body))
	if want := fmt.Sprintf("POST /echo got %d bytes", len(body)); status != http.StatusOK || got != want {
		t.Fatalf("answer %d %q, want 200 %q", status, got, want)
	}
	seen := live.requests()
	if len(seen) != 1 || sha256.Sum256(seen[0].Body) != sha256.Sum256(body) {
		t.Fatal("live did not receive the 200 KiB body intact")
	}
	if cl := seen[0].Header.Get("Content-Length"); cl != fmt.Sprint(len(body)) {
		t.Fatalf("live saw Content-Length %q, want %d", cl, len(body))
	}
}

// A request body streams to live as it arrives: live reads the first
// piece of a chunked body, and the first bytes of one with a
// Content-Length, before the client sends the rest.
func TestServerRequestBodyStreams(t *testing.T) {
	const first = "first piece;"
	for _, tc := range []struct{ name, head, firstPart, rest, body string }{
		{"chunked", "Transfer-Encoding: chunked", fmt.Sprintf("%x\r\n%s\r\n", len(first), first), "4\r\nrest\r\n0\r\n\r\n", first + "rest"},
		{"content-length", fmt.Sprintf("Content-Length: %d", 70<<10), first, strings.Repeat("r", 70<<10-len(first)), first + strings.Repeat("r", 70<<10-len(first))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan string, 1)
			live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b := make([]byte, len(first))
				if _, err := io.ReadFull(r.Body, b); err != nil {
					return
				}
				got <- string(b)
				rest, _ := io.ReadAll(r.Body)
				_, _ = fmt.Fprintf(w, "%s%s", b, rest)
			}))
			t.Cleanup(live.Close)
			c := dialRaw(t, forwardTo(t, live.URL))

			c.send("POST /upload HTTP/1.1\r\nHost: front\r\n" + tc.head + "\r\n\r\n" + tc.firstPart)
			select {
			case s := <-got:
				if s != first {
					t.Fatalf("live read %q first", s)
				}
			case <-time.After(stuck):
				t.Fatal("live has not received the first piece of the body while the client waits to send the rest")
			}
			c.send(tc.rest)
			if resp, body := c.answer(http.MethodPost); resp.StatusCode != http.StatusOK || body != tc.body {
				t.Fatalf("answer %d %.40q (%d bytes), want 200 and the whole body", resp.StatusCode, body, len(body))
			}
		})
	}
}

// A chunked answer from live, flushed many times, reaches the client
// whole; and it streams: the client reads what live flushed while live
// still holds the rest.
func TestServerStreamsChunkedResponse(t *testing.T) {
	gate := make(chan struct{})
	var piece = func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, i*997) }
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/many":
			for i := range 60 {
				_, _ = w.Write(piece(i))
				w.(http.Flusher).Flush()
			}
		case "/held":
			_, _ = io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			select {
			case <-gate:
			case <-u.release:
			}
			_, _ = io.WriteString(w, "second\n")
		}
	})
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	front := serve(t, p)
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)

	want := sha256.New()
	for i := range 60 {
		want.Write(piece(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front+"/many", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatalf("many chunks: %d bytes, %v: not the body live sent", n, err)
	}
	if resp.ContentLength != -1 || !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
		t.Fatalf("many chunks: length %d, transfer encoding %v; want it chunked", resp.ContentLength, resp.TransferEncoding)
	}

	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, front+"/held", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, len("first\n"))
	if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != "first\n" {
		t.Fatalf("first chunk, while live holds the rest: %q, %v", b, err)
	}
	release()
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("the rest: %q, %v", rest, err)
	}
}

// Live's trailers, declared or not (http.TrailerPrefix), reach the client
// in the last chunk. "TE: trailers" from the client is passed on to live;
// trailers are forwarded whether the client said it or not.
func TestServerForwardsTrailers(t *testing.T) {
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "part one, ")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "part two")
		w.Header().Set("X-Checksum", "abc123")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	})
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	c := dialRaw(t, serve(t, p))

	for i, te := range []string{"TE: trailers\r\n", ""} {
		c.send("GET /trailers HTTP/1.1\r\nHost: front\r\n" + te + "\r\n")
		resp, body := c.answer(http.MethodGet)
		if resp.StatusCode != http.StatusOK || body != "part one, part two" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		if resp.Trailer.Get("X-Checksum") != "abc123" || resp.Trailer.Get("X-Late") != "late" {
			t.Fatalf("request %d: trailers %v, want X-Checksum and X-Late", i, resp.Trailer)
		}
		if resp.Header.Get("X-Checksum") != "" || resp.Header.Get("X-Late") != "" {
			t.Fatalf("request %d: trailers in the head: %v", i, resp.Header)
		}
	}
	seen := live.requests()
	if len(seen) != 2 || seen[0].Header.Get("Te") != "trailers" || seen[1].Header.Get("Te") != "" {
		t.Fatalf("live saw TE %q then %q; want trailers, then none", seen[0].Header.Get("Te"), seen[1].Header.Get("Te"))
	}
}

// A HEAD answer carries live's Content-Length and no body, and the
// connection carries a GET afterwards.
func TestServerHead(t *testing.T) {
	const size = 1234
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(size))
		if r.Method != http.MethodHead {
			_, _ = w.Write(bytes.Repeat([]byte("x"), size))
		}
	})
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	c := dialRaw(t, serve(t, p))

	c.send("HEAD /file HTTP/1.1\r\nHost: front\r\n\r\n")
	resp, body := c.answer(http.MethodHead)
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("HEAD: %d with %d bytes of body", resp.StatusCode, len(body))
	}
	if cl := resp.Header.Get("Content-Length"); cl != fmt.Sprint(size) || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("HEAD: Content-Length %q, header %v; want live's", cl, resp.Header)
	}
	if resp.Close {
		t.Fatal("HEAD: the Server closes the connection")
	}
	c.send("GET /file HTTP/1.1\r\nHost: front\r\n\r\n")
	resp, body = c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != strings.Repeat("x", size) {
		t.Fatalf("GET after HEAD: %d with %d bytes", resp.StatusCode, len(body))
	}
}

// 204 and 304 answers have no body, and the connection carries the next
// request.
func TestServerNoBodyStatuses(t *testing.T) {
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/no-content":
			w.Header().Set("X-Done", "yes")
			w.WriteHeader(http.StatusNoContent)
		case "/cached":
			w.Header().Set("Etag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, "content")
		default:
			liveHandler(u, w, r)
		}
	})
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	c := dialRaw(t, serve(t, p))

	c.send("GET /no-content HTTP/1.1\r\nHost: front\r\n\r\n")
	resp, body := c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusNoContent || body != "" || resp.Header.Get("X-Done") != "yes" || resp.TransferEncoding != nil {
		t.Fatalf("204: %d %q %v %v", resp.StatusCode, body, resp.Header, resp.TransferEncoding)
	}
	c.send("GET /cached HTTP/1.1\r\nHost: front\r\nIf-None-Match: \"v1\"\r\n\r\n")
	resp, body = c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("Etag") != `"v1"` || resp.TransferEncoding != nil {
		t.Fatalf("304: %d %q %v %v", resp.StatusCode, body, resp.Header, resp.TransferEncoding)
	}
	c.send("GET /text HTTP/1.1\r\nHost: front\r\n\r\n")
	if resp, body = c.answer(http.MethodGet); resp.StatusCode != http.StatusOK || body != "hello\n" {
		t.Fatalf("after 204 and 304: %d %q", resp.StatusCode, body)
	}
}

// "Expect: 100-continue": the client gets 100 Continue before it sends
// the body, then the final answer; live gets the body (and no Expect).
func TestServerExpectContinue(t *testing.T) {
	live := newUpstream(t, liveHandler)
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	c := dialRaw(t, serve(t, p))

	c.send("POST /echo HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	resp, _ := c.answer(http.MethodPost)
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("first answer %d, want 100", resp.StatusCode)
	}
	c.send("hello")
	resp, body := c.answer(http.MethodPost)
	if resp.StatusCode != http.StatusOK || body != "POST /echo got 5 bytes" {
		t.Fatalf("final answer %d %q", resp.StatusCode, body)
	}
	seen := live.requests()
	if len(seen) != 1 || string(seen[0].Body) != "hello" || seen[0].Header.Get("Expect") != "" {
		t.Fatalf("live saw %+v", seen)
	}
}

// Requests written back to back on one connection (pipelined) get their
// answers in order.
func TestServerPipelining(t *testing.T) {
	live := newUpstream(t, liveHandler)
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	c := dialRaw(t, serve(t, p))

	c.send("GET /echo?n=1 HTTP/1.1\r\nHost: front\r\n\r\n" +
		"POST /echo?n=2 HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\n\r\nhello" +
		"PUT /echo?n=3 HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked([]byte("chunked"), 3) +
		"GET /echo?n=4 HTTP/1.1\r\nHost: front\r\n\r\n")
	for _, want := range []string{"GET /echo?n=1 got 0 bytes", "POST /echo?n=2 got 5 bytes", "PUT /echo?n=3 got 7 bytes", "GET /echo?n=4 got 0 bytes"} {
		resp, body := c.answer(strings.Fields(want)[0])
		if resp.StatusCode != http.StatusOK || body != want {
			t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, body, want)
		}
	}
}

// A request that is not HTTP is answered 400 and the connection closed;
// live never hears of it.
func TestServerMalformedRequest(t *testing.T) {
	live := newUpstream(t, liveHandler)
	c := dialRaw(t, forwardTo(t, live.URL))
	c.send("NOT HTTP\r\n\r\n")
	resp, body := c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusBadRequest || !resp.Close || !strings.Contains(body, "malformed") {
		t.Fatalf("answer %d close=%v %q, want 400 and Connection: close", resp.StatusCode, resp.Close, body)
	}
	c.expectClosed()
	if n := len(live.requests()); n != 0 {
		t.Fatalf("live received %d requests", n)
	}
}

// A request head larger than MaxHeaderBytes is answered 431 and the
// connection closed; one within it is served.
func TestServerHeadTooLarge(t *testing.T) {
	live := newUpstream(t, liveHandler)
	f := startFront(t, &shadow.Server{Proxy: newProxy(t, shadow.Options{Fallback: live.URL}), MaxHeaderBytes: 4096})

	c := dialRaw(t, f.addr)
	c.send("GET /text HTTP/1.1\r\nHost: front\r\nX-Fill: " + strings.Repeat("f", 2000) + "\r\n\r\n")
	if resp, body := c.answer(http.MethodGet); resp.StatusCode != http.StatusOK || body != "hello\n" {
		t.Fatalf("head within the limit: %d %q", resp.StatusCode, body)
	}

	c = dialRaw(t, f.addr)
	var head strings.Builder
	head.WriteString("GET /text HTTP/1.1\r\nHost: front\r\n")
	for i := range 16 {
		fmt.Fprintf(&head, "X-Fill-%d: %s\r\n", i, strings.Repeat("f", 1000))
	}
	head.WriteString("\r\n")
	c.send(head.String()) // 16 KiB: beyond the limit and its 4 KiB allowance
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("head over the limit: no answer (%v), want 431", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !resp.Close {
		t.Fatalf("head over the limit: %d close=%v, want 431 and Connection: close", resp.StatusCode, resp.Close)
	}
	if n := len(live.requests()); n != 1 {
		t.Fatalf("live received %d requests, want 1", n)
	}
}

// An HTTP/1.0 request is answered, without chunking, and the connection
// closed.
func TestServerHTTP10(t *testing.T) {
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "chunk %d\n", i)
			w.(http.Flusher).Flush() // chunked to the Server
		}
	})
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	c := dialRaw(t, serve(t, p))

	c.send("GET /stream HTTP/1.0\r\nHost: front\r\n\r\n")
	resp, body := c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "chunk 0\nchunk 1\nchunk 2\n" {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
	if !resp.Close || resp.TransferEncoding != nil {
		t.Fatalf("close=%v transfer encoding %v: want Connection: close and no chunking for HTTP/1.0", resp.Close, resp.TransferEncoding)
	}
	c.expectClosed()
}

// "Connection: close" from the client: the answer says Connection: close
// and the connection ends.
func TestServerClientConnectionClose(t *testing.T) {
	live := newUpstream(t, liveHandler)
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	c := dialRaw(t, serve(t, p))

	c.send("GET /text HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n")
	resp, body := c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "hello\n" || !resp.Close {
		t.Fatalf("answer %d %q close=%v, want 200 and Connection: close", resp.StatusCode, body, resp.Close)
	}
	c.expectClosed()
	if h := live.requests()[0].Header; h.Get("Connection") != "" {
		t.Fatalf("live saw Connection %q: hop-by-hop", h.Get("Connection"))
	}
}

// Hop-by-hop headers stay on their hop: the client's (those its
// Connection header names, Keep-Alive, Proxy-Authorization, TE other than
// trailers) do not reach live, and live's (those its Connection header
// names, Keep-Alive, Proxy-Authenticate) do not reach the client. The
// client's address is appended to the inbound X-Forwarded-For.
func TestServerHopByHopHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	live := rawLive(t, func(r *http.Request, _ []byte) string {
		seen <- r.Header.Clone()
		return "HTTP/1.1 200 OK\r\nConnection: X-Live-Secret, keep-alive\r\nKeep-Alive: timeout=5\r\n" +
			"X-Live-Secret: 1\r\nProxy-Authenticate: Basic\r\nX-Live-Kept: yes\r\nContent-Length: 2\r\n\r\nok"
	})
	c := dialRaw(t, forwardTo(t, live))

	c.send("GET /headers HTTP/1.1\r\nHost: front\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.2\r\nX-Kept: yes\r\n\r\n")
	resp, body := c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
	h := <-seen
	for _, name := range []string{"Connection", "X-Secret", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te"} {
		if v, ok := h[name]; ok {
			t.Errorf("live saw %s: %q", name, v)
		}
	}
	if h.Get("X-Kept") != "yes" {
		t.Errorf("live saw X-Kept %q, want yes", h.Get("X-Kept"))
	}
	if xff := strings.Join(h["X-Forwarded-For"], ", "); xff != "203.0.113.7, 198.51.100.2, 127.0.0.1" {
		t.Errorf("live saw X-Forwarded-For %q, want the inbound values and the client's address", xff)
	}
	for _, name := range []string{"Connection", "X-Live-Secret", "Keep-Alive", "Proxy-Authenticate"} {
		if v, ok := resp.Header[name]; ok {
			t.Errorf("the client saw %s: %q", name, v)
		}
	}
	if resp.Header.Get("X-Live-Kept") != "yes" {
		t.Errorf("the client saw X-Live-Kept %q, want yes", resp.Header.Get("X-Live-Kept"))
	}
}

// A header that live's Connection header names stays on live's hop when
// that Connection header also says close (which net/http's response
// reader removes); the client's connection stays open.
func TestServerHopByHopWithLiveConnectionClose(t *testing.T) {
	live := rawLive(t, func(r *http.Request, _ []byte) string {
		return "HTTP/1.1 200 OK\r\nConnection: close, X-Live-Secret\r\nX-Live-Secret: 1\r\nContent-Length: 2\r\n\r\nok"
	})
	c := dialRaw(t, forwardTo(t, live))
	for i := range 2 {
		c.send("GET /x HTTP/1.1\r\nHost: front\r\n\r\n")
		resp, body := c.answer(http.MethodGet)
		if resp.StatusCode != http.StatusOK || body != "ok" || resp.Close {
			t.Fatalf("request %d: %d %q close=%v; want 200, and the client's connection kept", i, resp.StatusCode, body, resp.Close)
		}
		if v, ok := resp.Header["X-Live-Secret"]; ok {
			t.Fatalf("request %d: the client saw X-Live-Secret %q, which live's Connection header names", i, v)
		}
	}
}

// A live answer without a length, which ends when live closes its
// connection, reaches the client whole, delimited so that the client's
// connection carries the next request.
func TestServerLiveBodyEndsAtClose(t *testing.T) {
	live := rawLive(t, func(r *http.Request, _ []byte) string {
		return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nuntil the end " + r.URL.Path
	})
	c := dialRaw(t, forwardTo(t, live))
	for _, path := range []string{"/one", "/two"} {
		c.send("GET " + path + " HTTP/1.1\r\nHost: front\r\n\r\n")
		resp, body := c.answer(http.MethodGet)
		if resp.StatusCode != http.StatusOK || body != "until the end "+path || resp.Close {
			t.Fatalf("%s: %d %q close=%v; want the whole body, and the connection kept", path, resp.StatusCode, body, resp.Close)
		}
	}
}

// countingLive is a live upstream that counts the connections made to it.
type countingLive struct {
	*httptest.Server
	conns    atomic.Int64
	requests atomic.Int64
}

func newCountingLive(t *testing.T, keepAlives bool, h http.HandlerFunc) *countingLive {
	t.Helper()
	l := &countingLive{}
	l.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.requests.Add(1)
		h(w, r)
	}))
	l.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			l.conns.Add(1)
		}
	}
	l.Config.SetKeepAlivesEnabled(keepAlives)
	l.Start()
	t.Cleanup(l.Close)
	return l
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, _ = fmt.Fprintf(w, "%s %s got %d bytes", r.Method, r.URL.RequestURI(), len(body))
}

// Live closing its keep-alive connections between requests: the next GET
// is sent again on a fresh connection and succeeds; a POST, which may not
// be sent twice, gets its answer or 502, never hangs; with an
// Idempotency-Key it is sent again too.
func TestServerLiveClosesIdleConnections(t *testing.T) {
	t.Run("keep-alives disabled", func(t *testing.T) {
		live := newCountingLive(t, false, echoHandler)
		front := serve(t, newProxy(t, shadow.Options{Fallback: live.URL}))
		for i := range 3 {
			if status, body := get(t, front+"/a"); status != http.StatusOK || body != "GET /a got 0 bytes" {
				t.Fatalf("GET %d: %d %q", i, status, body)
			}
		}
		status, _, body := do(t, http.DefaultClient, http.MethodPost, front+"/b", nil, strings.NewReader("hello"))
		if status != http.StatusOK || body != "POST /b got 5 bytes" {
			t.Fatalf("POST: %d %q", status, body)
		}
		if n := live.conns.Load(); n != 4 {
			t.Fatalf("live saw %d connections for 4 requests", n)
		}
	})

	t.Run("closed between requests", func(t *testing.T) {
		live := newCountingLive(t, true, echoHandler)
		addr := forwardTo(t, live.URL)
		if status, _ := getClosing(t, addr, "/a"); status != http.StatusOK {
			t.Fatalf("first GET: %d", status)
		}
		live.CloseClientConnections() // the Server's pooled connection is dead now
		if status, body := getClosing(t, addr, "/a"); status != http.StatusOK || body != "GET /a got 0 bytes" {
			t.Fatalf("GET after live closed its connection: %d %q", status, body)
		}
		if n, r := live.conns.Load(), live.requests.Load(); n != 2 || r != 2 {
			t.Fatalf("live saw %d connections and %d requests, want 2 and 2", n, r)
		}

		// Sent again on a fresh connection: it has an Idempotency-Key.
		live.CloseClientConnections()
		c := dialRaw(t, addr)
		c.send("POST /c HTTP/1.1\r\nHost: front\r\nIdempotency-Key: k1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
		if resp, body := c.answer(http.MethodPost); resp.StatusCode != http.StatusOK || body != "POST /c got 5 bytes" {
			t.Fatalf("POST with an Idempotency-Key after live closed its connection: %d %q", resp.StatusCode, body)
		}
		c.expectClosed() // the live connection is back in the pool
		if n, r := live.conns.Load(), live.requests.Load(); n != 3 || r != 3 {
			t.Fatalf("live saw %d connections and %d requests, want 3 and 3", n, r)
		}

		// Without one, it may not be sent twice: 502, or its answer.
		live.CloseClientConnections()
		c = dialRaw(t, addr)
		c.send("POST /b HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\n\r\nhello")
		if resp, body := c.answer(http.MethodPost); (resp.StatusCode != http.StatusOK || body != "POST /b got 5 bytes") && resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("POST after live closed its connection: %d %q, want its answer or 502", resp.StatusCode, body)
		}
		c.send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
		if resp, body := c.answer(http.MethodGet); resp.StatusCode != http.StatusOK || body != "GET /a got 0 bytes" {
			t.Fatalf("GET after the POST, same connection: %d %q", resp.StatusCode, body)
		}
	})

	// Live closes every idle connection at once (it restarted, or its
	// idle timeout is shorter than the pool's): a GET must not meet two
	// dead connections in a row.
	t.Run("several closed at once", func(t *testing.T) {
		var arrived atomic.Int64
		both := make(chan struct{})
		live := newCountingLive(t, true, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/pair" {
				if arrived.Add(1) == 2 {
					close(both)
				}
				select { // both at live at once: two connections
				case <-both:
				case <-r.Context().Done():
					return
				}
			}
			echoHandler(w, r)
		})
		addr := forwardTo(t, live.URL)
		// Both requests are sent before either is answered; each says
		// Connection: close, so that once the Server has closed the
		// client's connection, it has put its live connection back in
		// its pool.
		pair := []*rawConn{dialRaw(t, addr), dialRaw(t, addr)}
		for _, c := range pair {
			c.send("GET /pair HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n")
		}
		for _, c := range pair {
			if resp, _ := c.answer(http.MethodGet); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /pair: %d", resp.StatusCode)
			}
			c.expectClosed()
		}
		if n := live.conns.Load(); n != 2 {
			t.Fatalf("live saw %d connections, want 2 pooled", n)
		}
		live.CloseClientConnections()
		c := dialRaw(t, addr)
		c.send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
		if resp, body := c.answer(http.MethodGet); resp.StatusCode != http.StatusOK || body != "GET /a got 0 bytes" {
			t.Fatalf("GET after live closed both pooled connections: %d %q, want 200", resp.StatusCode, body)
		}
	})
}

// The Server's own answers (502 when live cannot be reached, 503 without
// a config) honour the client's "Connection: close" and HTTP/1.0 as live's
// answers do: the connection ends after them.
func TestServerOwnAnswersHonourClose(t *testing.T) {
	down := newUpstream(t, liveHandler)
	down.Close()
	for _, tc := range []struct {
		name   string
		opts   shadow.Options
		status int
	}{
		{"live down", shadow.Options{Fallback: down.URL}, http.StatusBadGateway},
		{"no config", shadow.Options{}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := strings.TrimPrefix(serve(t, newProxy(t, tc.opts)), "http://")
			for _, req := range []string{
				"GET /a HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n",
				"GET /a HTTP/1.0\r\nHost: front\r\n\r\n",
			} {
				c := dialRaw(t, addr)
				c.send(req)
				resp, _ := c.answer(http.MethodGet)
				if resp.StatusCode != tc.status || !resp.Close {
					t.Fatalf("%q: %d close=%v, want %d and Connection: close", req, resp.StatusCode, resp.Close, tc.status)
				}
				c.expectClosed()
			}
		})
	}
}

// Shutdown stops accepting, closes idle keep-alive connections at once,
// and waits for a request in flight, whose client gets the whole answer
// (with Connection: close); then Serve returns http.ErrServerClosed.
func TestServerShutdown(t *testing.T) {
	gate := make(chan struct{})
	arrived := make(chan struct{}, 1)
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			select {
			case <-gate:
			case <-u.release:
			}
			_, _ = io.WriteString(w, "slow answer")
			return
		}
		liveHandler(u, w, r)
	})
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	f := startFront(t, &shadow.Server{Proxy: p})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)

	idle := dialRaw(t, f.addr)
	idle.send("GET /text HTTP/1.1\r\nHost: front\r\n\r\n")
	if resp, _ := idle.answer(http.MethodGet); resp.StatusCode != http.StatusOK {
		t.Fatalf("idle connection's request: %d", resp.StatusCode)
	}
	busy := dialRaw(t, f.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: front\r\n\r\n")
	<-arrived

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		shut <- f.Shutdown(ctx)
	}()
	idle.expectClosed()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	if nc, err := net.Dial("tcp", f.addr); err == nil {
		nc.Close()
		t.Fatal("a new connection was accepted during Shutdown")
	}

	release()
	resp, body := busy.answer(http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "slow answer" || !resp.Close {
		t.Fatalf("request in flight: %d %q close=%v, want 200, its whole body, and Connection: close", resp.StatusCode, body, resp.Close)
	}
	busy.expectClosed()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-f.served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v, want http.ErrServerClosed", err)
	}
}

// Shutdown with a context that has ended returns its error while
// requests are in flight; Close then cuts them, the one waiting for
// live's answer and the one whose answer is streaming, and returns though
// live holds both.
func TestServerShutdownExpiredThenClose(t *testing.T) {
	gate := make(chan struct{})
	arrived := make(chan struct{}, 2)
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/streaming" {
			_, _ = io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
		}
		arrived <- struct{}{}
		select {
		case <-gate:
		case <-u.release:
		}
		_, _ = io.WriteString(w, "late answer")
	})
	f := startFront(t, &shadow.Server{Proxy: newProxy(t, shadow.Options{Fallback: live.URL})})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)

	waiting := dialRaw(t, f.addr)
	waiting.send("GET /slow HTTP/1.1\r\nHost: front\r\n\r\n")
	streaming := dialRaw(t, f.addr)
	streaming.send("GET /streaming HTTP/1.1\r\nHost: front\r\n\r\n")
	<-arrived
	<-arrived
	resp, err := http.ReadResponse(streaming.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len("first\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("the streaming answer's first chunk: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context and requests in flight: %v, want context.Canceled", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- f.Close() }()
	if resp, err := http.ReadResponse(waiting.br, nil); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("the request waiting on live got an answer (%d) after Close; want its connection cut", resp.StatusCode)
	} else if isTimeout(err) {
		t.Fatal("Close left the connection of the request waiting on live open")
	}
	if rest, err := io.ReadAll(resp.Body); err == nil || isTimeout(err) {
		t.Fatalf("the streaming answer after Close: %q, %v; want it cut", rest, err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(stuck):
		release() // lets Close return, and the test end
		<-closed
		t.Fatal("Close did not return while live held the requests in flight")
	}
	if err := <-f.served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v, want http.ErrServerClosed", err)
	}
}

// A 103 Early Hints answer from live reaches the client before the final
// one.
func TestServerEarlyHints(t *testing.T) {
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "page")
	})
	p := newProxy(t, shadow.Options{})
	mirrorAll(t, p, live.URL)
	front := serve(t, p)

	var interim []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		interim = append(interim, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	}}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), patience)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front+"/page", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != "page" {
		t.Fatalf("final answer %d %q %v", resp.StatusCode, body, err)
	}
	if want := []string{"103 </style.css>; rel=preload; as=style"}; !slices.Equal(interim, want) {
		t.Fatalf("interim answers %q, want %q", interim, want)
	}
}

// An HTTP/1.1 request without a Host header is refused with 400, as
// RFC 9112 §3.2 asks, and never reaches live.
func TestServerMissingHost(t *testing.T) {
	live := newUpstream(t, liveHandler)
	c := dialRaw(t, forwardTo(t, live.URL))
	c.send("GET /same HTTP/1.1\r\n\r\n")
	resp, body := c.answer(http.MethodGet)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Host") {
		t.Fatalf("answer %d %q, want 400 naming the Host header", resp.StatusCode, body)
	}
	c.expectClosed()
	if n := len(live.requests()); n != 0 {
		t.Fatalf("live received %d requests", n)
	}
}

// Copies survive a dark upstream that closes its idle keep-alive
// connections (as it does when it restarts): each goes again on a fresh
// connection, and no error is counted against dark.
func TestCopiesSurviveDarkClosingIdleConnections(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newCountingLive(t, true, echoHandler)
	p := newProxy(t, shadow.Options{Workers: 1})
	if err := p.SetConfig(config(live.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	var total shadow.Snapshot
	for i := range 3 {
		if status, _ := get(t, front+"/same"); status != http.StatusOK {
			t.Fatalf("GET %d: %d", i, status)
		}
		waitFor(t, "the copy's outcome", func() bool {
			s := p.Stats().Swap()
			total.Requests += s.Requests
			total.Errors += s.Errors
			return total.Requests == int64(i+1)
		})
		dark.CloseClientConnections() // the pooled connection to dark is dead now
	}
	if total.Errors != 0 || dark.requests.Load() != 3 {
		t.Fatalf("dark errors %d, dark saw %d requests; want 0 and 3", total.Errors, dark.requests.Load())
	}
	if n := dark.conns.Load(); n != 3 {
		t.Fatalf("dark saw %d connections, want 3 (one per copy)", n)
	}
}

// shortIdleLive is a live echo upstream that closes connections idle for
// 20 ms, over TLS (trusted by the proxies the test makes) when tls is
// set; closed counts the connections it has closed.
func shortIdleLive(t *testing.T, tls bool) (live *httptest.Server, closed *atomic.Int64) {
	t.Helper()
	closed = new(atomic.Int64)
	live = httptest.NewUnstartedServer(http.HandlerFunc(echoHandler))
	live.Config.IdleTimeout = 20 * time.Millisecond
	live.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	if tls {
		live.StartTLS()
		pool := x509.NewCertPool()
		pool.AddCert(live.Certificate())
		t.Cleanup(shadow.TrustUpstreamRoots(pool))
	} else {
		live.Start()
	}
	t.Cleanup(live.Close)
	return live, closed
}

// Live closing idle connections sooner than the pool would (as Node's
// servers do after 5 s): the pooled connection is found closed before it
// is used, so even a POST, which may not be sent twice, gets live's
// answer rather than a 502.
func TestServerSkipsConnectionsLiveClosed(t *testing.T) {
	live, closed := shortIdleLive(t, false)
	addr := forwardTo(t, live.URL)
	if status, _ := getClosing(t, addr, "/a"); status != http.StatusOK {
		t.Fatalf("GET: %d", status)
	}
	waitFor(t, "live to close its idle connection", func() bool { return closed.Load() == 1 })
	for i := range 3 {
		c := dialRaw(t, addr)
		c.send("POST /b HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
		if resp, body := c.answer(http.MethodPost); resp.StatusCode != http.StatusOK || body != "POST /b got 5 bytes" {
			t.Fatalf("POST %d after live closed the idle connection: %d %q, want live's answer", i, resp.StatusCode, body)
		}
		c.expectClosed()
		waitFor(t, "live to close its idle connection", func() bool { return closed.Load() == int64(i+2) })
	}
}

// A field name with a space before its colon ("Transfer-Encoding :"),
// which net/http's parser lets through, is refused with 400 rather than
// passed on, where live might frame the body by it (request smuggling).
func TestServerRefusesInvalidFieldNames(t *testing.T) {
	live := newUpstream(t, liveHandler)
	addr := forwardTo(t, live.URL)
	for _, head := range []string{
		"POST /echo HTTP/1.1\r\nHost: front\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello",
		"GET /text HTTP/1.1\r\nHost: front\r\nFoo Bar: x\r\n\r\n",
	} {
		c := dialRaw(t, addr)
		c.send(head)
		resp, body := c.answer(http.MethodPost)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid header field") {
			t.Fatalf("%q: answer %d %q, want 400", head, resp.StatusCode, body)
		}
		c.expectClosed()
	}
	if n := len(live.requests()); n != 0 {
		t.Fatalf("live received %d requests", n)
	}
}

// CONNECT is not forwarded: the proxy has no tunnel to offer.
func TestServerRefusesConnect(t *testing.T) {
	live := newUpstream(t, liveHandler)
	c := dialRaw(t, forwardTo(t, live.URL))
	c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
	if resp, _ := c.answer(http.MethodConnect); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("CONNECT: %d, want 400", resp.StatusCode)
	}
	if n := len(live.requests()); n != 0 {
		t.Fatalf("live received %d requests", n)
	}
}

// Answers without a body (HEAD, 204) are compared like any other: by
// status and headers.
func TestServerComparesAnswersWithoutBody(t *testing.T) {
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/empty" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		liveHandler(u, w, r)
	})
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	p := newProxy(t, shadow.Options{})
	if err := p.SetConfig(config(live.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	if status, _ := get(t, front+"/empty"); status != http.StatusNoContent {
		t.Fatalf("GET /empty: %d", status)
	}
	if status, _, _ := do(t, http.DefaultClient, http.MethodHead, front+"/text", nil, nil); status != http.StatusOK {
		t.Fatalf("HEAD /text: %d", status)
	}
	s := drain(t, p)
	if s.Requests != 2 || s.Compared != 2 || s.Diffs != 2 {
		t.Fatalf("requests %d compared %d diffs %d, want 2, 2, 2", s.Requests, s.Compared, s.Diffs)
	}
}

// The memory budget of copies is refunded as it was charged, although a
// worker strips headers from the copy: stripping a large Cookie from
// many copies must not use the budget up.
func TestQueueBytesRefundedAfterStripping(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{Workers: 1, QueueBytes: 64 << 10})
	c := config(live.URL, dark.URL)
	c.StripHeaders = []string{"Cookie"}
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	cookie := http.Header{"Cookie": {"session=" + strings.Repeat("c", 8<<10)}}
	for i := range 40 { // 40 × 8 KiB: five times the budget
		if status, _, _ := do(t, http.DefaultClient, http.MethodGet, front+"/same", cookie, nil); status != http.StatusOK {
			t.Fatalf("GET %d: %d", i, status)
		}
		waitFor(t, "the copy at dark", func() bool { return dark.count("/same") == i+1 })
	}
	if s := drain(t, p); s.Dropped != 0 || s.Requests != 40 {
		t.Fatalf("dropped %d, requests %d; want 0 and 40", s.Dropped, s.Requests)
	}
}

// Pooled connections to dark are reused after a pause longer than
// DarkTimeout (their deadline is cleared when they are pooled).
func TestCopyConnectionsReusedAfterQuietSpell(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newCountingLive(t, true, echoHandler)
	p := newProxy(t, shadow.Options{Workers: 1, DarkTimeout: 50 * time.Millisecond})
	if err := p.SetConfig(config(live.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	for i := range 2 {
		if status, _ := get(t, front+"/same"); status != http.StatusOK {
			t.Fatalf("GET %d: %d", i, status)
		}
		waitFor(t, "the copy at dark", func() bool { return dark.requests.Load() == int64(i+1) })
		time.Sleep(100 * time.Millisecond) // longer than DarkTimeout: the deadline has passed
	}
	if n := dark.conns.Load(); n != 1 {
		t.Fatalf("dark saw %d connections for 2 copies, want 1", n)
	}
}

// A copy to a dark upstream that accepts connections and never speaks
// TLS ends at DarkTimeout, not at the 30 s dial limit.
func TestCopyDialBoundedByDarkTimeout(t *testing.T) {
	live := newUpstream(t, liveHandler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	p := newProxy(t, shadow.Options{DarkTimeout: 100 * time.Millisecond})
	if err := p.SetConfig(config(live.URL, "https://"+ln.Addr().String())); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, serve(t, p)+"/same"); status != http.StatusOK {
		t.Fatalf("GET: %d", status)
	}
	var timeouts int64
	deadline := time.Now().Add(10 * time.Second) // well under the 30 s dial limit
	for timeouts == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the copy was still dialling after 10 s with a DarkTimeout of 100ms")
		}
		timeouts += p.Stats().Swap().Timeouts
		time.Sleep(5 * time.Millisecond)
	}
}

// A live answer that comes before the whole streamed body (413 for an
// upload too large) reaches the client; the connection then closes.
func TestServerEarlyAnswerDuringUpload(t *testing.T) {
	live := newCountingLive(t, true, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	})
	c := dialRaw(t, forwardTo(t, live.URL))
	c.send(fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: front\r\nContent-Length: %d\r\n\r\n", 64<<20))
	c.send(strings.Repeat("u", 256<<10)) // a part; the rest never comes
	resp, body := c.answer(http.MethodPost)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "too large") {
		t.Fatalf("answer %d %q, want live's 413", resp.StatusCode, body)
	}
	c.expectClosed()
}

// A live service that answers as it reads (full duplex) gets the body as
// it streams, and the client its answer as it is written: neither side
// waits for the other to finish.
func TestServerFullDuplex(t *testing.T) {
	live := newCountingLive(t, true, func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		buf := make([]byte, 64)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				_, _ = w.Write(buf[:n])
				_ = rc.Flush()
			}
			if err != nil {
				return
			}
		}
	})
	c := dialRaw(t, forwardTo(t, live.URL))
	c.send("POST /echo HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nping1\r\n")
	resp, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodPost})
	if err != nil {
		t.Fatalf("no answer head while the body is still coming: %v", err)
	}
	defer resp.Body.Close()
	echo := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, echo); err != nil || string(echo) != "ping1" {
		t.Fatalf("first echo %q, %v", echo, err)
	}
	c.send("5\r\nping2\r\n0\r\n\r\n")
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "ping2" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// A POST to an https live whose idle connection live closed (with a TLS
// close_notify before its FIN) goes on a fresh connection: 200, not 502.
func TestServerSkipsTLSConnectionsLiveClosed(t *testing.T) {
	live, closed := shortIdleLive(t, true)
	addr := forwardTo(t, live.URL)
	if status, _ := getClosing(t, addr, "/a"); status != http.StatusOK {
		t.Fatalf("GET: %d", status)
	}
	waitFor(t, "live to close its idle connection", func() bool { return closed.Load() == 1 })
	c := dialRaw(t, addr)
	c.send("POST /b HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
	if resp, body := c.answer(http.MethodPost); resp.StatusCode != http.StatusOK || body != "POST /b got 5 bytes" {
		t.Fatalf("POST after live closed the idle TLS connection: %d %q, want live's answer", resp.StatusCode, body)
	}
}

// temporaryError is an accept error that passes, as EMFILE does.
type temporaryError struct{}

func (temporaryError) Error() string   { return "accept: too many open files" }
func (temporaryError) Temporary() bool { return true }
func (temporaryError) Timeout() bool   { return false }

// failingOnce is a listener whose first Accept fails with a temporary
// error.
type failingOnce struct {
	net.Listener
	failed atomic.Bool
}

func (l *failingOnce) Accept() (net.Conn, error) {
	if l.failed.CompareAndSwap(false, true) {
		return nil, temporaryError{}
	}
	return l.Listener.Accept()
}

// Running out of descriptors for a moment does not stop the Server: it
// waits and accepts again, as net/http does.
func TestServerSurvivesTemporaryAcceptErrors(t *testing.T) {
	live := newUpstream(t, liveHandler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &shadow.Server{Proxy: newProxy(t, shadow.Options{Fallback: live.URL})}
	served := make(chan error, 1)
	go func() { served <- s.Serve(&failingOnce{Listener: ln}) }()
	t.Cleanup(func() { _ = s.Close() })
	if status, body := get(t, "http://"+ln.Addr().String()+"/text"); status != http.StatusOK || body != "hello\n" {
		t.Fatalf("GET after a temporary accept error: %d %q", status, body)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v after a temporary accept error", err)
	default:
	}
}
