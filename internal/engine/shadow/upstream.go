package shadow

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// upstreamRootCAs verifies https upstreams; nil means the system's roots
// (SSL_CERT_FILE and SSL_CERT_DIR add to them). Tests set it.
var upstreamRootCAs *x509.CertPool

// Limits of the upstream connection pools.
const (
	maxIdlePerUpstream = 256
	upstreamIdleTime   = 90 * time.Second // as net/http's default transport
	upstreamDialTime   = 30 * time.Second
	upstreamBufferSize = 4 << 10
)

// upstream is a pool of keep-alive HTTP/1.1 connections to one upstream
// address. The Server forwards live requests over it on the client
// connection's own goroutine, and the workers send copies over it: a
// request costs one write and, for a small answer, one read, with no
// goroutine handing it over (as a transport's read and write loops would).
type upstream struct {
	addr string      // host:port
	host string      // the Host header: the URL's host as written
	tls  *tls.Config // nil for http

	mu   sync.Mutex
	idle []*upConn // the most recently used last
}

// upConn is one connection to an upstream.
type upConn struct {
	net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

// upstreams holds one pool per upstream, shared by successive configs so
// that a config change keeps the warm connections.
type upstreams struct {
	m         sync.Map     // "scheme://host" → *upstream
	lastPrune atomic.Int64 // unix nanoseconds
}

// prunePeriod is how often every pool is swept for connections idle too
// long, those of upstreams no config names any more included.
const prunePeriod = 10 * time.Second

func (us *upstreams) get(u *url.URL) *upstream {
	if now, last := time.Now().UnixNano(), us.lastPrune.Load(); now-last >= int64(prunePeriod) && us.lastPrune.CompareAndSwap(last, now) {
		us.prune(time.Unix(0, now))
	}
	key := u.Scheme + "://" + u.Host
	if v, ok := us.m.Load(key); ok {
		return v.(*upstream)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	up := &upstream{addr: net.JoinHostPort(u.Hostname(), port), host: u.Host}
	if u.Scheme == "https" {
		up.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, RootCAs: upstreamRootCAs}
	}
	v, _ := us.m.LoadOrStore(key, up)
	return v.(*upstream)
}

// prune closes the connections idle for longer than upstreamIdleTime in
// every pool.
func (us *upstreams) prune(now time.Time) {
	us.m.Range(func(_, v any) bool {
		u := v.(*upstream)
		u.mu.Lock()
		n := 0
		for n < len(u.idle) && now.Sub(u.idle[n].idleSince) >= upstreamIdleTime {
			_ = u.idle[n].Close()
			n++
		}
		if n > 0 {
			u.idle = append(u.idle[:0], u.idle[n:]...)
		}
		u.mu.Unlock()
		return true
	})
}

// closeIdle closes every idle connection of every pool.
func (us *upstreams) closeIdle() {
	us.m.Range(func(_, v any) bool {
		v.(*upstream).closeIdle()
		return true
	})
}

// conn returns an idle connection, reused, or a new one dialled by
// deadline (none when zero).
func (u *upstream) conn(ctx context.Context, deadline time.Time) (c *upConn, reused bool, err error) {
	now := time.Now()
	u.mu.Lock()
	for len(u.idle) > 0 {
		c = u.idle[len(u.idle)-1]
		u.idle = u.idle[:len(u.idle)-1]
		if now.Sub(c.idleSince) >= upstreamIdleTime {
			_ = c.Close()
			continue
		}
		u.mu.Unlock()
		if !peerClosed(c.Conn) {
			return c, true, nil
		}
		_ = c.Close()
		u.mu.Lock()
	}
	u.mu.Unlock()
	return u.dial(ctx, deadline)
}

// connFor is the connection for an attempt: the second attempt, after a
// kept-alive connection turned out closed, dials a fresh one (the other
// idle ones may be stale too, as after a restart of the upstream).
func (u *upstream) connFor(ctx context.Context, attempt int, deadline time.Time) (*upConn, bool, error) {
	if attempt > 0 {
		return u.dial(ctx, deadline)
	}
	return u.conn(ctx, deadline)
}

// dial connects, and for https shakes hands, within upstreamDialTime or
// by deadline when that is sooner.
func (u *upstream) dial(ctx context.Context, deadline time.Time) (*upConn, bool, error) {
	d := &net.Dialer{KeepAlive: 30 * time.Second, Timeout: upstreamDialTime, Deadline: deadline}
	var nc net.Conn
	var err error
	if u.tls != nil {
		nc, err = (&tls.Dialer{NetDialer: d, Config: u.tls}).DialContext(ctx, "tcp", u.addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", u.addr)
	}
	if err != nil {
		return nil, false, err
	}
	return &upConn{Conn: nc, br: bufio.NewReaderSize(nc, upstreamBufferSize), bw: bufio.NewWriterSize(nc, upstreamBufferSize)}, false, nil
}

// put returns a connection whose last exchange ended cleanly to the pool.
func (u *upstream) put(c *upConn) {
	if c.br.Buffered() > 0 {
		_ = c.Close() // the upstream sent more than its answer
		return
	}
	c.idleSince = time.Now()
	u.mu.Lock()
	// The oldest come first: drop those idle for too long, and the
	// oldest beyond the limit.
	n := 0
	for n < len(u.idle) && (c.idleSince.Sub(u.idle[n].idleSince) >= upstreamIdleTime || len(u.idle)-n >= maxIdlePerUpstream) {
		_ = u.idle[n].Close()
		n++
	}
	if n > 0 {
		u.idle = append(u.idle[:0], u.idle[n:]...)
	}
	u.idle = append(u.idle, c)
	u.mu.Unlock()
}

func (u *upstream) closeIdle() {
	u.mu.Lock()
	idle := u.idle
	u.idle = nil
	u.mu.Unlock()
	for _, c := range idle {
		_ = c.Close()
	}
}

// requestTarget is the request target of r at an upstream whose base URL
// is base: r's path joined under base's path, and r's query.
func requestTarget(base, r *url.URL) string {
	if base.Path == "" && base.RawPath == "" {
		if r.Path == "" && r.RawPath == "" {
			if r.RawQuery != "" || r.ForceQuery {
				return "/?" + r.RawQuery
			}
			return "/"
		}
		return r.RequestURI()
	}
	u := url.URL{RawQuery: r.RawQuery, ForceQuery: r.ForceQuery}
	u.Path, u.RawPath = joinURLPath(base, r)
	return u.RequestURI()
}

// hopByHop reports whether the header name (canonical) is a
// connection-level header, never passed to another hop.
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// connectionHeaders returns the canonical names that h's Connection header
// lists (they are hop-by-hop too), or nil when it lists none.
func connectionHeaders(h http.Header) map[string]bool {
	var names map[string]bool
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				if names == nil {
					names = make(map[string]bool, 2)
				}
				names[http.CanonicalHeaderKey(name)] = true
			}
		}
	}
	return names
}

// writeFields writes h's fields, less the hop-by-hop ones, those listed
// in also, and those skip names (skip may be nil).
func writeFields(w *bufio.Writer, h http.Header, also map[string]bool, skip func(string) bool) {
	for name, values := range h {
		if hopByHop(name) || also[name] || (skip != nil && skip(name)) {
			continue
		}
		for _, v := range values {
			_, _ = w.WriteString(name)
			_, _ = w.WriteString(": ")
			_, _ = w.WriteString(v)
			_, _ = w.WriteString("\r\n")
		}
	}
}

// outRequest is a request as it goes to an upstream.
type outRequest struct {
	method string
	target string
	header http.Header // hop-by-hop fields are left out as it is written
	xff    string      // the X-Forwarded-For value; empty: none
	// Either body (the whole body, maybe empty), or stream: streamLength
	// bytes, or with chunked framing when streamLength is -1.
	body         []byte
	stream       io.Reader
	streamLength int64
	// keepContentLength writes "Content-Length: 0" for an empty body (the
	// client sent it).
	keepContentLength bool
	trailers          bool // the client accepts trailers (TE: trailers)
	upgrade           bool // keep Connection and Upgrade (a protocol switch)
	// written, for a streamed body, receives the outcome of writing the
	// request, which goes on while the answer is read (live may answer
	// before the whole body came, or answer as it reads it).
	written chan error
}

func skipForwarding(name string) bool {
	return name == "X-Forwarded-For" || name == "Content-Length" || name == "Host"
}

// write writes r to c, through its buffer, and flushes it.
func (r *outRequest) write(c *upConn, host string) error {
	w := c.bw
	_, _ = w.WriteString(r.method)
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(r.target)
	_, _ = w.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = w.WriteString(host)
	_, _ = w.WriteString("\r\n")
	writeFields(w, r.header, connectionHeaders(r.header), skipForwarding)
	if r.xff != "" {
		_, _ = w.WriteString("X-Forwarded-For: ")
		_, _ = w.WriteString(r.xff)
		_, _ = w.WriteString("\r\n")
	}
	if r.trailers {
		_, _ = w.WriteString("Te: trailers\r\n")
	}
	if r.upgrade {
		_, _ = w.WriteString("Connection: Upgrade\r\n")
		for _, v := range r.header["Upgrade"] {
			_, _ = w.WriteString("Upgrade: ")
			_, _ = w.WriteString(v)
			_, _ = w.WriteString("\r\n")
		}
	}
	switch {
	case r.stream != nil && r.streamLength >= 0:
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.WriteString(strconv.FormatInt(r.streamLength, 10))
		_, _ = w.WriteString("\r\n\r\n")
		return streamBody(w, io.LimitReader(r.stream, r.streamLength), false)
	case r.stream != nil:
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		return streamBody(w, r.stream, true)
	case len(r.body) > 0 || r.keepContentLength:
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.WriteString(strconv.Itoa(len(r.body)))
		_, _ = w.WriteString("\r\n\r\n")
		_, _ = w.Write(r.body)
	default:
		_, _ = w.WriteString("\r\n")
	}
	return w.Flush()
}

// streamBody sends the head buffered in w, then src's bytes as they
// arrive (each read is flushed: live sees the body as the client sends
// it), in chunks when chunked is set, ending with the last chunk.
func streamBody(w *bufio.Writer, src io.Reader, chunked bool) error {
	if err := w.Flush(); err != nil {
		return err
	}
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if chunked {
				_, _ = w.WriteString(strconv.FormatInt(int64(n), 16))
				_, _ = w.WriteString("\r\n")
			}
			_, _ = w.Write(buf[:n])
			if chunked {
				_, _ = w.WriteString("\r\n")
			}
			if werr := w.Flush(); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			if chunked {
				_, _ = w.WriteString("0\r\n\r\n")
			}
			return w.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// errUpstreamClosed is a reused connection that the upstream had closed
// before the request could be answered: sending the request again on a
// fresh connection is safe when nothing of it was processed.
var errUpstreamClosed = errors.New("upstream closed an idle connection")

// readResponse reads the head of an answer to a request of method from c.
// A reused connection that ends before the first byte gives
// errUpstreamClosed. The header names that the answer's Connection header
// lists are hop-by-hop: they are removed from resp.Header (read from the
// head before it is parsed, since net/http drops a Connection header
// that says close).
func readResponse(c *upConn, method string, reused bool) (*http.Response, error) {
	if _, err := c.br.Peek(1); err != nil {
		if reused && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isConnReset(err)) {
			return nil, errUpstreamClosed
		}
		return nil, err
	}
	listed := headConnectionNames(c.br)
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	for name := range listed {
		delete(resp.Header, name)
	}
	dropInvalidFields(resp.Header)
	return resp, nil
}

// headConnectionNames returns the names listed by the Connection fields
// of the head at the start of br's buffer, reading nothing more. A head
// longer than the buffer is parsed without this (its Connection fields
// are still honoured unless they also say close).
func headConnectionNames(br *bufio.Reader) map[string]bool {
	head, _ := br.Peek(br.Buffered())
	if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 {
		head = head[:end]
	}
	var names map[string]bool
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		const field = "connection:"
		if len(line) <= len(field) || !bytes.EqualFold(line[:len(field)], []byte(field)) {
			continue
		}
		for tok := range strings.SplitSeq(string(bytes.TrimSpace(line[len(field):])), ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !strings.EqualFold(tok, "close") && !strings.EqualFold(tok, "keep-alive") {
				if names == nil {
					names = make(map[string]bool, 2)
				}
				names[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return names
}

func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}

// retryable reports whether a request may be sent again after
// errUpstreamClosed: only when it changes nothing (net/http's rule).
func retryable(method string, h http.Header) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return h.Get("Idempotency-Key") != "" || h.Get("X-Idempotency-Key") != ""
}

// roundTrip sends r to u and reads the whole response within timeout,
// keeping its header and up to keep bytes of its body when keep > 0.
// Cancelling ctx cuts it short. Redirects are not followed: a 3xx is an
// answer like any other.
func (u *upstream) roundTrip(ctx context.Context, r *outRequest, timeout time.Duration, keep int64) result {
	start := time.Now()
	res := u.exchange(ctx, r, start.Add(timeout), keep)
	res.elapsed = time.Since(start)
	if res.err != nil {
		res.timeout = isTimeout(ctx, res.err)
	}
	return res
}

func (u *upstream) exchange(ctx context.Context, r *outRequest, deadline time.Time, keep int64) result {
	for attempt := 0; ; attempt++ {
		c, reused, err := u.connFor(ctx, attempt, deadline)
		if err != nil {
			return result{err: err}
		}
		_ = c.SetDeadline(deadline)
		stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
		resp, err := sendHead(c, u.host, r, reused, nil) //nolint:bodyclose // read to its end, or its connection closed: Close would drain it
		if errors.Is(err, errUpstreamClosed) && attempt == 0 && retryable(r.method, r.header) {
			stop()
			_ = c.Close()
			continue
		}
		if err != nil {
			stop()
			_ = c.Close()
			return result{err: err}
		}
		out := &response{status: resp.StatusCode}
		if keep > 0 {
			out.header = resp.Header
			out.body, out.truncated, err = readBody(resp.Body, resp.ContentLength, keep)
		} else {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		if stopped := stop(); err != nil || !stopped || resp.Close {
			_ = c.Close()
		} else {
			// Cleared, or the liveness peek would see the deadline
			// pass and take the connection for closed.
			_ = c.SetDeadline(time.Time{})
			u.put(c)
		}
		if err != nil {
			return result{err: err}
		}
		return result{resp: out}
	}
}

// sendHead writes r to c and reads the head of the final answer. Interim
// answers (1xx but 101) go to interim, or are skipped when it is nil. A
// reused connection found closed gives errUpstreamClosed. A streamed body
// is written by a goroutine of its own while the answer is read: the
// caller waits for r.written before it reuses c or reads the body's copy.
func sendHead(c *upConn, host string, r *outRequest, reused bool, interim func(*http.Response) error) (*http.Response, error) {
	if r.stream != nil {
		r.written = make(chan error, 1)
		go func() { r.written <- r.write(c, host) }()
	} else if err := r.write(c, host); err != nil {
		if reused {
			return nil, errUpstreamClosed
		}
		return nil, err
	}
	for {
		resp, err := readResponse(c, r.method, reused)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if interim != nil {
			if err := interim(resp); err != nil {
				return nil, err
			}
		}
	}
}

// readBody reads body to its end, keeping up to keep bytes.
func readBody(body io.Reader, contentLength, keep int64) (kept []byte, truncated bool, err error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(max(contentLength, 512), keep)))
	if _, err = io.Copy(buf, io.LimitReader(body, keep)); err != nil {
		return buf.Bytes(), false, err
	}
	n, err := io.Copy(io.Discard, body)
	return buf.Bytes(), n > 0, err
}

// validFields reports whether every field name of h is a token and every
// value free of control characters (RFC 9110 §5.1, §5.5): net/http's
// parser lets a space before the colon through, which a proxy must not
// pass on (a "Transfer-Encoding :" field would frame the body differently
// at live, RFC 9112 §5.1).
func validFields(h http.Header) bool {
	for name, values := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return false
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// dropInvalidFields removes from h the fields that validFields would
// refuse: live's answers are cleaned rather than refused.
func dropInvalidFields(h http.Header) {
	for name, values := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			delete(h, name)
			continue
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				delete(h, name)
				break
			}
		}
	}
}
