package shadow

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Defaults of Server.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 1 << 20
)

// bufferedBodyBytes is the largest request body read whole before it is
// forwarded (it goes to live in the same write as the head, and may be
// sent again when a kept-alive connection turns out closed); larger ones
// and chunked ones stream.
const bufferedBodyBytes = 64 << 10

// Server serves a Proxy over HTTP/1.1: it is what `progressive shadow`
// listens with. Each client connection is served by one goroutine that
// reads a request, forwards it to live over a pooled keep-alive
// connection, and streams live's answer back, with no other goroutine in
// the way; a sampled request's copy is handed to the proxy's workers
// after the answer has gone out. Requests that ask for a protocol switch
// (websockets) get a connection of their own to live, spliced to the
// client's once live agrees.
//
// The zero value of each field takes its default. Serve may be called
// for several listeners; Shutdown and Close end them all.
type Server struct {
	Proxy *Proxy
	// ReadHeaderTimeout bounds reading a request's head (default 10 s);
	// IdleTimeout, the wait for the next request on a kept-alive
	// connection (default 2 min). Bodies have no timeout: they stream.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes bounds a request's head (default 1 MiB); a larger
	// one is answered 431.
	MaxHeaderBytes int

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*serverConn]struct{}
	closing   atomic.Bool
	wg        sync.WaitGroup
}

// Connection states.
const (
	connIdle int32 = iota // waiting for a request: Shutdown may close it
	connActive
	connClosed
)

// Serve accepts connections on ln until Shutdown or Close, which make it
// return http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	if s.Proxy == nil {
		return errors.New("shadow: Server without a Proxy")
	}
	if !s.track(&ln, true) {
		return http.ErrServerClosed
	}
	defer s.track(&ln, false)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			// Out of descriptors (EMFILE) and the like pass: wait and
			// accept again, as net/http does, rather than stop serving.
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		sc := s.newConn(nc)
		if !s.trackConn(sc, true) {
			_ = nc.Close()
			continue
		}
		s.wg.Go(sc.serve)
	}
}

func (s *Server) track(ln *net.Listener, add bool) bool {
	return trackIn(s, &s.listeners, ln, add)
}

func (s *Server) trackConn(sc *serverConn, add bool) bool {
	return trackIn(s, &s.conns, sc, add)
}

// trackIn adds k to the set *m (made on first use), unless the server is
// closing, or removes it; it reports whether k was added or removed.
func trackIn[K comparable](s *Server, m *map[K]struct{}, k K, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(*m, k)
		return true
	}
	if s.closing.Load() {
		return false
	}
	if *m == nil {
		*m = make(map[K]struct{})
	}
	(*m)[k] = struct{}{}
	return true
}

// closeListeners stops accepting; it closes the idle connections too, or
// every connection when all is set, and returns how many are left.
func (s *Server) closeListeners(all bool) int {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		_ = (*ln).Close()
		delete(s.listeners, ln)
	}
	for sc := range s.conns {
		if all || sc.state.CompareAndSwap(connIdle, connClosed) {
			sc.state.Store(connClosed)
			_ = sc.nc.Close()
		}
		if all {
			if upc := sc.live.Load(); upc != nil {
				_ = upc.Close() // a request waiting on live ends now
			}
		}
	}
	return len(s.conns)
}

// Shutdown stops accepting connections, closes the idle ones, and waits
// for each active one to finish its request (each is closed once
// answered) until ctx ends, when it returns ctx's error and leaves the
// rest open (Close cuts them). Call the Proxy's Close after it, to drain
// the copies.
func (s *Server) Shutdown(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.closeListeners(false) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	s.Proxy.liveUps.closeIdle()
	return nil
}

// Close closes the listeners and every connection at once, and waits for
// their goroutines.
func (s *Server) Close() error {
	s.closeListeners(true)
	s.wg.Wait()
	s.Proxy.liveUps.closeIdle()
	return nil
}

// serverConn is one client connection.
type serverConn struct {
	s      *Server
	p      *Proxy
	nc     net.Conn
	lr     io.LimitedReader // under br: bounds a request's head
	br     *bufio.Reader
	bw     *bufio.Writer
	ip     string // the client's address, for X-Forwarded-For
	remote string // the client's address and port
	state  atomic.Int32
	live   atomic.Pointer[upConn] // the connection to live in use, for Close
}

var (
	connReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	connWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

func (s *Server) newConn(nc net.Conn) *serverConn {
	sc := &serverConn{s: s, p: s.Proxy, nc: nc}
	sc.lr.R = nc
	sc.br = connReaders.Get().(*bufio.Reader)
	sc.br.Reset(&sc.lr)
	sc.bw = connWriters.Get().(*bufio.Writer)
	sc.bw.Reset(nc)
	sc.remote = nc.RemoteAddr().String()
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		sc.ip = a.IP.String()
	} else if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		sc.ip = host
	}
	return sc
}

func (sc *serverConn) serve() {
	s := sc.s
	defer func() {
		sc.state.Store(connClosed)
		_ = sc.nc.Close()
		s.trackConn(sc, false)
		sc.br.Reset(nil)
		connReaders.Put(sc.br)
		sc.bw.Reset(nil)
		connWriters.Put(sc.bw)
	}()
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	headTimeout := s.ReadHeaderTimeout
	if headTimeout <= 0 {
		headTimeout = DefaultReadHeaderTimeout
	}
	maxHead := int64(s.MaxHeaderBytes)
	if maxHead <= 0 {
		maxHead = DefaultMaxHeaderBytes
	}
	for {
		if sc.br.Buffered() == 0 {
			_ = sc.nc.SetReadDeadline(time.Now().Add(idle))
			sc.lr.N = maxHead + 4096 // as net/http: room for the request line
			if _, err := sc.br.Peek(1); err != nil {
				return
			}
		}
		if !sc.state.CompareAndSwap(connIdle, connActive) {
			return // closed by Shutdown
		}
		_ = sc.nc.SetReadDeadline(time.Now().Add(headTimeout))
		sc.lr.N = maxHead + 4096
		req, err := http.ReadRequest(sc.br)
		if err != nil {
			sc.refuse(err)
			return
		}
		if hasBody(req) || isUpgrade(req) {
			// Bodies stream without a deadline. Otherwise nothing is
			// read before the next request's deadline is set.
			_ = sc.nc.SetReadDeadline(time.Time{})
		}
		sc.lr.N = 1<<63 - 1
		req.RemoteAddr = sc.remote
		if !sc.handle(req) || s.closing.Load() {
			return
		}
		sc.state.Store(connIdle)
		if s.closing.Load() {
			return // Shutdown may have looked before this one was idle
		}
	}
}

// refuse answers a request that could not be read, when there is anyone
// to answer.
func (sc *serverConn) refuse(err error) {
	var ne net.Error
	switch {
	case sc.lr.N <= 0:
		sc.answer(http.StatusRequestHeaderFieldsTooLarge, "request head too large", true)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
		return
	case errors.As(err, &ne) && ne.Timeout():
		return
	default:
		sc.answer(http.StatusBadRequest, "malformed HTTP request: "+err.Error(), true)
	}
	sc.closeWriteAndWait()
}

// closeWriteAndWait ends the sending side and waits a little before the
// connection is closed, so that unread input does not make the kernel
// reset the connection before the client has read the answer (as
// net/http's server does).
func (sc *serverConn) closeWriteAndWait() {
	if cw, ok := sc.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	time.Sleep(rstAvoidanceDelay)
}

// rstAvoidanceDelay is net/http's.
const rstAvoidanceDelay = 500 * time.Millisecond

// answer writes a short plain-text answer of the proxy's own.
func (sc *serverConn) answer(status int, msg string, closeAfter bool) {
	closeAfter = closeAfter || sc.s.closing.Load()
	w := sc.bw
	_, _ = w.WriteString("HTTP/1.1 ")
	_, _ = w.WriteString(strconv.Itoa(status))
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(http.StatusText(status))
	_, _ = w.WriteString("\r\n")
	if status == http.StatusServiceUnavailable {
		_, _ = w.WriteString("Retry-After: 5\r\n")
	}
	if msg != "" {
		_, _ = w.WriteString("Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n")
		msg += "\n"
	}
	_, _ = w.WriteString("Content-Length: ")
	_, _ = w.WriteString(strconv.Itoa(len(msg)))
	if closeAfter {
		_, _ = w.WriteString("\r\nConnection: close")
	}
	_, _ = w.WriteString("\r\n\r\n")
	_, _ = w.WriteString(msg)
	_ = w.Flush()
}

// hasBody reports whether req came with a body.
func hasBody(req *http.Request) bool {
	return req.ContentLength > 0 || len(req.TransferEncoding) > 0
}

// handle serves one request; it reports whether the connection may
// carry another.
func (sc *serverConn) handle(req *http.Request) bool {
	p := sc.p
	// The proxy's own answers close the connection when the client asked
	// to, or when a body was left unread.
	closeAfter := req.Close || !req.ProtoAtLeast(1, 1) || hasBody(req)
	if req.Host == "" && req.ProtoAtLeast(1, 1) {
		sc.answer(http.StatusBadRequest, "missing required Host header", true)
		return false
	}
	if !validFields(req.Header) {
		sc.answer(http.StatusBadRequest, "invalid header field: a name with a space or a character outside a token, or a value with a control character", true)
		return false
	}
	if req.Method == http.MethodConnect || req.URL.Opaque != "" {
		sc.answer(http.StatusBadRequest, "unsupported request target: the proxy forwards origin-form and absolute-form requests only", true)
		return false
	}
	c := p.cfg.Load()
	if c == nil {
		if c = p.fallback; c == nil {
			sc.answer(http.StatusServiceUnavailable, noConfigMessage, closeAfter)
			return !closeAfter
		}
	}
	if isUpgrade(req) {
		sc.tunnel(c, req)
		return false
	}
	if e, ok := req.Header["Expect"]; ok {
		if len(e) != 1 || !strings.EqualFold(e[0], "100-continue") {
			sc.answer(http.StatusExpectationFailed, "unsupported Expect header: only 100-continue is", true)
			return false
		}
		delete(req.Header, "Expect")
		if hasBody(req) && req.ProtoAtLeast(1, 1) {
			_, _ = sc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if sc.bw.Flush() != nil {
				return false
			}
		}
	}
	sampled := c.threshold != 0 && c.mirrors(req.Method) && !p.closing.Load() && c.sampled()
	if sampled && len(p.queue) >= cap(p.queue) {
		// The copy would be dropped: spare the capture.
		p.stats.dropped.Add(1)
		sampled = false
	}
	if sampled && req.ContentLength > p.opts.MaxBodyBytes {
		p.stats.skipped.Add(1)
		sampled = false
	}

	out := &outRequest{
		method:   req.Method,
		target:   requestTarget(c.live, req.URL),
		header:   req.Header,
		xff:      forwardedFor(req.Header["X-Forwarded-For"], sc.ip),
		trailers: acceptsTrailers(req.Header),
	}
	var tee *bodyTee
	switch {
	case len(req.TransferEncoding) > 0:
		out.stream, out.streamLength = req.Body, -1
	case req.ContentLength > bufferedBodyBytes:
		out.stream, out.streamLength = req.Body, req.ContentLength
	case req.ContentLength > 0:
		out.body = make([]byte, req.ContentLength)
		if _, err := io.ReadFull(req.Body, out.body); err != nil {
			return false // the client broke off
		}
	default:
		_, out.keepContentLength = req.Header["Content-Length"]
	}
	if sampled && out.stream != nil {
		tee = newBodyTee(req.Body, req.ContentLength, p.opts.MaxBodyBytes)
		out.stream = tee
	}

	up := p.liveUps.get(c.live)
	upc, resp, err := sc.forward(up, out, req.ProtoAtLeast(1, 1)) //nolint:bodyclose // read to its end, or its connection closed: Close would drain it
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
		// A protocol switch nobody asked for: live's connection now
		// speaks something else.
		sc.using(nil)
		_ = upc.Close()
		err = errors.New("live switched protocols (101) for a request that did not ask to")
	}
	if err != nil {
		p.log.Warn("live upstream error", "method", req.Method, "path", req.URL.Path, "error", err)
		closeAfter = out.stream != nil || req.Close || !req.ProtoAtLeast(1, 1)
		sc.answer(http.StatusBadGateway, "", closeAfter)
		sc.bodySent(out, nil)
		switch {
		case sampled && out.stream == nil:
			// Dark's load does not depend on live's health; there is
			// nothing to compare with.
			p.enqueue(p.newJob(c, req, out.body, nil))
		case sampled:
			p.stats.skipped.Add(1) // the body did not all come
		}
		return !closeAfter
	}

	var capt *capture
	if sampled && c.cfg.Compare.Enabled {
		capt = &capture{compare: true, max: p.opts.MaxCompareBytes, status: resp.StatusCode, header: resp.Header.Clone()}
		if resp.ContentLength > 0 {
			capt.buf = make([]byte, 0, min(resp.ContentLength, capt.max))
		}
	}
	keepAlive, upstreamOK := sc.relay(req, resp, upc, capt)
	if !sc.bodySent(out, upc) {
		keepAlive, upstreamOK = false, false
	}
	sc.using(nil)
	if upstreamOK && !resp.Close {
		up.put(upc)
	} else {
		_ = upc.Close()
	}
	if !sampled {
		return keepAlive
	}
	reqBody := out.body
	if tee != nil {
		var ok bool
		if reqBody, ok = tee.result(); !ok {
			// Too large, or not all of it came: a partial copy would
			// not be the same request.
			p.stats.skipped.Add(1)
			return keepAlive
		}
	}
	p.enqueue(p.newJob(c, req, reqBody, capt))
	return keepAlive
}

// bodySent waits for the writer of a streamed request body. When live has
// answered, or failed, before all of the body came, the writer may wait
// on either connection: both are cut, and bodySent reports false (the
// client connection cannot carry another request). Without a streamed
// body it reports true at once.
func (sc *serverConn) bodySent(out *outRequest, upc *upConn) bool {
	if out.written == nil {
		return true
	}
	// Live usually answers after the last byte: the writer is about to
	// report.
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case err := <-out.written:
		return err == nil
	case <-t.C:
	}
	if upc != nil {
		_ = upc.Close()
	}
	_ = sc.nc.Close()
	if err := <-out.written; err != nil {
		sc.p.log.Debug("request body cut short after live answered", "error", err)
	}
	return false
}

// forward sends out to live and reads the head of the answer, forwarding
// interim answers (103 Early Hints) to the client when interim is set
// (HTTP/1.1 clients). A kept-alive connection that live had closed is
// replaced by a fresh one, when the request can be sent again.
func (sc *serverConn) forward(up *upstream, out *outRequest, interim bool) (*upConn, *http.Response, error) {
	for attempt := 0; ; attempt++ {
		upc, reused, err := up.connFor(context.Background(), attempt, time.Time{})
		if err != nil {
			return nil, nil, err
		}
		sc.using(upc)
		resp, err := sc.exchangeHead(up, upc, out, reused, interim)
		if errors.Is(err, errUpstreamClosed) && attempt == 0 && out.stream == nil && retryable(out.method, out.header) {
			_ = upc.Close()
			continue
		}
		if err != nil {
			sc.using(nil)
			_ = upc.Close()
			return nil, nil, err
		}
		return upc, resp, nil
	}
}

// using records the connection to live that the request in flight uses
// (nil once it is done), for Close to cut it.
func (sc *serverConn) using(upc *upConn) {
	sc.live.Store(upc)
	if upc != nil && sc.s.closing.Load() && sc.state.Load() == connClosed {
		_ = upc.Close() // Close came first
	}
}

// exchangeHead sends out to live over upc and reads the head of the
// answer, passing interim answers on to the client when interim is set.
func (sc *serverConn) exchangeHead(up *upstream, upc *upConn, out *outRequest, reused, interim bool) (*http.Response, error) {
	var pass func(*http.Response) error
	if interim {
		pass = func(resp *http.Response) error {
			sc.writeHead(resp, "")
			return sc.bw.Flush()
		}
	}
	return sendHead(upc, up.host, out, reused, pass) //nolint:bodyclose // the caller reads it to its end
}

// writeHead writes resp's status line and fields, less the hop-by-hop
// ones and Content-Length, then framing (the fields that say how the body
// ends, or empty).
func (sc *serverConn) writeHead(resp *http.Response, framing string) {
	w := sc.bw
	_, _ = w.WriteString("HTTP/1.1 ")
	if resp.Status != "" {
		_, _ = w.WriteString(resp.Status)
		if !strings.Contains(resp.Status, " ") {
			_ = w.WriteByte(' ') // "200 " when live gave no reason (RFC 9112 §4)
		}
	} else {
		_, _ = w.WriteString(strconv.Itoa(resp.StatusCode))
		_ = w.WriteByte(' ')
		_, _ = w.WriteString(http.StatusText(resp.StatusCode))
	}
	_, _ = w.WriteString("\r\n")
	writeFields(w, resp.Header, connectionHeaders(resp.Header), skipContentLength)
	_, _ = w.WriteString(framing)
	_, _ = w.WriteString("\r\n")
}

func skipContentLength(name string) bool { return name == "Content-Length" }

// relay streams live's answer to the client, keeping a copy in capt when
// it is not nil. It reports whether the client connection may carry
// another request, and whether live's connection ended the exchange
// cleanly (its whole answer was read).
func (sc *serverConn) relay(req *http.Request, resp *http.Response, upc *upConn, capt *capture) (keepAlive, upstreamOK bool) {
	closeAfter := req.Close || !req.ProtoAtLeast(1, 1) || sc.s.closing.Load()
	noBody := req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified || (resp.StatusCode >= 100 && resp.StatusCode < 200)
	var framing strings.Builder
	chunked := false
	switch {
	case noBody:
		if cl := resp.Header["Content-Length"]; len(cl) == 1 {
			framing.WriteString("Content-Length: " + cl[0] + "\r\n") // as live said, for HEAD
		}
	case resp.ContentLength >= 0:
		framing.WriteString("Content-Length: " + strconv.FormatInt(resp.ContentLength, 10) + "\r\n")
	case !closeAfter:
		chunked = true
		framing.WriteString("Transfer-Encoding: chunked\r\n")
		for k := range resp.Trailer {
			if hopByHop(k) || !httpguts.ValidHeaderFieldName(k) {
				delete(resp.Trailer, k)
			}
		}
		if len(resp.Trailer) > 0 {
			names := make([]string, 0, len(resp.Trailer))
			for k := range resp.Trailer {
				names = append(names, k)
			}
			framing.WriteString("Trailer: " + strings.Join(names, ", ") + "\r\n")
		}
	default:
		closeAfter = true // the body ends when the connection does
	}
	if closeAfter {
		framing.WriteString("Connection: close\r\n")
	}
	sc.writeHead(resp, framing.String())
	if noBody {
		if capt != nil {
			capt.eof = true // the whole answer is its head
		}
		return sc.bw.Flush() == nil && !closeAfter, true
	}
	// A chunked answer is flushed at each read: the chunked reader may
	// wait for the rest of a chunk's size line that is in the buffer.
	liveChunked := len(resp.TransferEncoding) > 0

	w := sc.bw
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	var clientErr error
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if capt != nil {
				capt.keep(buf[:n])
			}
			if clientErr == nil {
				if chunked {
					_, _ = w.WriteString(strconv.FormatInt(int64(n), 16))
					_, _ = w.WriteString("\r\n")
				}
				_, _ = w.Write(buf[:n])
				if chunked {
					_, _ = w.WriteString("\r\n")
				}
				// Stream: send what came before waiting on live again.
				if err == nil && (liveChunked || upc.br.Buffered() == 0) {
					clientErr = w.Flush()
				}
			}
			if clientErr != nil {
				return false, false // the client is gone: so is live's answer
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Live broke off: the client gets a cut answer, and the
			// connection closes so that it knows.
			if capt != nil {
				capt.failed = true
			}
			_ = w.Flush()
			return false, false
		}
	}
	if capt != nil {
		capt.eof = true
	}
	if chunked {
		_, _ = w.WriteString("0\r\n")
		dropInvalidFields(resp.Trailer)
		writeFields(w, resp.Trailer, nil, nil)
		_, _ = w.WriteString("\r\n")
	}
	return w.Flush() == nil && !closeAfter, true
}

// tunnel forwards a protocol switch (websockets) over a connection of its
// own to live, then splices the two connections until either ends.
func (sc *serverConn) tunnel(c *compiled, req *http.Request) {
	p := sc.p
	up := p.liveUps.get(c.live)
	upc, _, err := up.dial(context.Background(), time.Time{})
	if err != nil {
		p.log.Warn("live upstream error", "method", req.Method, "path", req.URL.Path, "error", err)
		sc.answer(http.StatusBadGateway, "", true)
		return
	}
	sc.using(upc)
	defer func() {
		sc.using(nil)
		_ = upc.Close()
	}()
	out := &outRequest{
		method:  req.Method,
		target:  requestTarget(c.live, req.URL),
		header:  req.Header,
		xff:     forwardedFor(req.Header["X-Forwarded-For"], sc.ip),
		upgrade: true,
	}
	if hasBody(req) {
		out.stream, out.streamLength = req.Body, req.ContentLength
		if len(req.TransferEncoding) > 0 {
			out.streamLength = -1
		}
	}
	resp, err := sc.exchangeHead(up, upc, out, false, req.ProtoAtLeast(1, 1)) //nolint:bodyclose // read to its end, or its connection closed: Close would drain it
	if err != nil {
		p.log.Warn("live upstream error", "method", req.Method, "path", req.URL.Path, "error", err)
		sc.answer(http.StatusBadGateway, "", true)
		sc.bodySent(out, upc)
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		req.Close = true
		sc.relay(req, resp, upc, nil)
		sc.bodySent(out, upc)
		return
	}
	if !sc.bodySent(out, upc) {
		return // the request's body was still coming: no protocol switch
	}
	framing := "Connection: Upgrade\r\n"
	for _, v := range resp.Header["Upgrade"] {
		framing += "Upgrade: " + v + "\r\n"
	}
	sc.writeHead(resp, framing)
	if sc.bw.Flush() != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(upc.Conn, sc.br) // what the client had sent already, then the rest
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(sc.nc, upc.br)
		done <- struct{}{}
	}()
	<-done
	_ = upc.Close()
	_ = sc.nc.Close()
	<-done
}

// forwardedFor is the X-Forwarded-For value for a client at ip that came
// with xff.
func forwardedFor(xff []string, ip string) string {
	switch {
	case ip == "" && len(xff) > 0:
		return strings.Join(xff, ", ")
	case ip == "":
		return ""
	case len(xff) > 0:
		return strings.Join(xff, ", ") + ", " + ip
	}
	return ip
}

// acceptsTrailers reports whether the client said "TE: trailers", which
// is passed on.
func acceptsTrailers(h http.Header) bool {
	for _, v := range h["Te"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "trailers") {
				return true
			}
		}
	}
	return false
}
