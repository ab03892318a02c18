package shadow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/jsonpath"
)

// Defaults of Options.
const (
	DefaultQueueSize       = 1024
	DefaultQueueBytes      = 64 << 20
	DefaultWorkers         = 32
	DefaultMaxBodyBytes    = 64 << 10
	DefaultMaxCompareBytes = 256 << 10
	DefaultDarkTimeout     = 5 * time.Second
	DefaultMaxSamples      = 10
)

// Options tune a Proxy. The zero value is usable: every zero field takes
// its default.
type Options struct {
	// Fallback is the live URL the proxy forwards to, without mirroring,
	// while it has no config. Empty, requests get 503 until the first
	// SetConfig (the proxy has nowhere to forward them).
	Fallback string
	// QueueSize bounds the number of copies waiting for a worker
	// (default 1024); QueueBytes bounds the memory they hold, request and
	// live response bodies included, queued or being sent (default
	// 64 MiB). A copy that does not fit is dropped and counted.
	QueueSize  int
	QueueBytes int64
	// Workers bounds the copies sent to dark at once (default 32). Each
	// also waits for the noise instance when there is one.
	Workers int
	// MaxBodyBytes is the largest request body that is mirrored (default
	// 64 KiB); a larger one is counted as skipped, and streams to live
	// as any other.
	MaxBodyBytes int64
	// MaxCompareBytes is how much of each response body is kept for the
	// comparison (default 256 KiB); bodies longer than that are compared
	// by status and headers only.
	MaxCompareBytes int64
	// DarkTimeout bounds each copy, from sending it to reading the whole
	// response (default 5 s); copies that take longer count as timeouts.
	DarkTimeout time.Duration
	// MaxSamples is the number of sample diffs kept per report (default
	// 10).
	MaxSamples int
	// Logger receives live upstream errors and config changes (default:
	// discarded).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxCompareBytes <= 0 {
		o.MaxCompareBytes = DefaultMaxCompareBytes
	}
	if o.DarkTimeout <= 0 {
		o.DarkTimeout = DefaultDarkTimeout
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Proxy forwards every request to the live upstream and copies a sample to
// the dark one; a Server serves it. See the package documentation for what
// it guarantees the live path. It is safe for concurrent use.
type Proxy struct {
	opts     Options
	cfg      atomic.Pointer[compiled]
	fallback *compiled
	stats    *Stats
	log      *slog.Logger

	// Keep-alive connections: to live, for the Server; to dark and noise,
	// for the copies (whose idle connections keep their expired deadline).
	liveUps, copyUps upstreams

	queue      chan *job
	queueBytes atomic.Int64 // bytes held by queued and running copies
	pending    atomic.Int64 // queued and running copies
	closing    atomic.Bool

	workCtx    context.Context // cancelled when Close gives up waiting
	cancelWork context.CancelFunc
	quit       chan struct{}
	workers    sync.WaitGroup
	closeOnce  sync.Once
}

// NewProxy returns a proxy with no config: until SetConfig it forwards to
// opts.Fallback without mirroring, or answers 503 if there is none. Its
// workers run until Close.
func NewProxy(opts Options) (*Proxy, error) {
	opts = opts.withDefaults()
	p := &Proxy{
		opts:  opts,
		stats: NewStats(opts.MaxSamples),
		log:   opts.Logger,
		queue: make(chan *job, opts.QueueSize),
		quit:  make(chan struct{}),
	}
	p.workCtx, p.cancelWork = context.WithCancel(context.Background())
	if opts.Fallback != "" {
		u, err := parseUpstream(opts.Fallback)
		if err != nil {
			return nil, fmt.Errorf("fallback live URL: %w", err)
		}
		p.fallback = &compiled{live: u}
	}
	for range opts.Workers {
		p.workers.Go(p.work)
	}
	return p, nil
}

// Stats returns the proxy's figures, which Stats.Swap reads and resets.
func (p *Proxy) Stats() *Stats { return p.stats }

// SetConfig validates c and, if it is valid, makes it the config of the
// requests that start from now on; requests in flight finish with the
// config they started with, and no connection is dropped. An invalid c is
// refused and the previous config stays.
func (p *Proxy) SetConfig(c Config) error {
	cc, err := p.compile(c)
	if err != nil {
		return err
	}
	p.cfg.Store(cc)
	p.log.Info("dark launch config applied", "dark_launch", c.Name, "revision", string(c.Revision),
		"mirror_percent", c.MirrorPercent, "paused", c.Paused)
	return nil
}

// Config returns the current config, and false while there is none.
func (p *Proxy) Config() (Config, bool) {
	c := p.cfg.Load()
	if c == nil {
		return Config{}, false
	}
	return c.cfg, true
}

// compiled is a validated Config in the form the hot path reads.
type compiled struct {
	cfg               Config
	live, dark, noise *url.URL
	// threshold: a request is sampled when a uniform draw in [0, 100000)
	// is below it (mirror_percent in thousandths of a percent).
	threshold     uint64
	methods       []string
	strip         map[string]bool // canonical names
	ignoreHeaders map[string]bool // canonical names, defaults included
	redact        map[string]bool // canonical names
	ignorePaths   []jsonpath.Path
}

func (p *Proxy) compile(c Config) (*compiled, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid dark launch config: %w", err)
	}
	cc := &compiled{cfg: c, methods: c.Methods}
	cc.live, _ = parseUpstream(c.LiveURL)
	cc.dark, _ = parseUpstream(c.DarkURL)
	if c.Compare.NoiseURL != "" {
		cc.noise, _ = parseUpstream(c.Compare.NoiseURL)
	}
	if len(cc.methods) == 0 {
		cc.methods = DefaultMethods
	}
	if !c.Paused {
		cc.threshold = uint64(c.MirrorPercent*1000 + 0.5)
	}
	cc.strip = canonicalSet(c.StripHeaders)
	cc.ignoreHeaders = canonicalSet(append(append([]string(nil), IgnoredHeaders...), c.Compare.IgnoreHeaders...))
	cc.redact = canonicalSet(append(append([]string(nil), RedactedHeaders...), c.StripHeaders...))
	for _, e := range c.Compare.IgnoreJSONPaths {
		cc.ignorePaths = append(cc.ignorePaths, jsonpath.MustParse(e))
	}
	return cc, nil
}

func canonicalSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[http.CanonicalHeaderKey(n)] = true
	}
	return m
}

// sampled draws whether one request is copied. math/rand/v2's top-level
// functions use a per-thread generator: no lock on the hot path.
func (c *compiled) sampled() bool {
	switch {
	case c.threshold == 0:
		return false
	case c.threshold >= 100000:
		return true
	default:
		return rand.Uint64N(100000) < c.threshold
	}
}

func (c *compiled) mirrors(method string) bool {
	for _, m := range c.methods {
		if m == method {
			return true
		}
	}
	return false
}

// copyBuffers lends the servers and the copies their 32 KiB copy
// buffers: without a pool each response would allocate one, and the
// garbage collector's work would show in the live path's tail latency.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte    { return *b.pool.Get().(*[]byte) }
func (b *bufferPool) Put(buf []byte) { b.pool.Put(&buf) }

// appendForwardedFor sets h's X-Forwarded-For to xff followed by the IP
// of remoteAddr.
func appendForwardedFor(h http.Header, xff []string, remoteAddr string) {
	ip, _, err := net.SplitHostPort(remoteAddr)
	switch {
	case err != nil && len(xff) > 0:
		h["X-Forwarded-For"] = xff
	case err != nil:
	case len(xff) > 0:
		h.Set("X-Forwarded-For", strings.Join(xff, ", ")+", "+ip)
	default:
		h.Set("X-Forwarded-For", ip)
	}
}

// noConfigMessage answers requests while the proxy has nowhere to send
// them.
const noConfigMessage = "progressive shadow: no dark launch config yet (the engine has not been reached) and no fallback live URL, so there is nowhere to forward this request"

// isUpgrade reports whether r asks to switch protocols (websockets): an
// Upgrade header that Connection lists (RFC 9110 §7.8). Such requests are
// forwarded and never mirrored; an Upgrade header alone is hop-by-hop,
// and dropped.
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// newJob is the copy of r, a sampled request that live has answered; capt
// is live's answer when it is to be compared. The job takes r's URL and
// header.
func (p *Proxy) newJob(c *compiled, r *http.Request, body []byte, capt *capture) *job {
	j := &job{
		cfg:        c,
		method:     r.Method,
		uri:        r.URL,
		header:     r.Header,
		remoteAddr: r.RemoteAddr,
		body:       body,
	}
	if capt != nil && capt.compare && capt.ok() {
		j.live = &response{status: capt.status, header: capt.header, body: capt.buf, truncated: capt.over}
	}
	return j
}

// capture is live's answer to a sampled request, as the comparison needs
// it, kept by the connection's goroutine as the answer streams.
type capture struct {
	compare bool
	max     int64

	status int
	header http.Header
	buf    []byte
	over   bool // more than max bytes came
	eof    bool // the whole body came
	failed bool // live broke off
}

// keep appends b to the kept body, up to max bytes.
func (c *capture) keep(b []byte) {
	if len(b) == 0 || c.over {
		return
	}
	if room := c.max - int64(len(c.buf)); int64(len(b)) > room {
		c.buf = append(c.buf, b[:room]...)
		c.over = true
	} else {
		c.buf = append(c.buf, b...)
	}
}

// ok reports whether live's whole response came through.
func (c *capture) ok() bool { return c.header != nil && c.eof && !c.failed }

// bodyTee copies a streamed request body into a buffer, up to max bytes,
// as it is forwarded.
type bodyTee struct {
	r             io.Reader
	contentLength int64
	max           int64

	buf  []byte
	n    int64 // bytes read so far
	over bool
	eof  bool
}

func newBodyTee(r io.Reader, contentLength, max int64) *bodyTee {
	t := &bodyTee{r: r, contentLength: contentLength, max: max}
	if contentLength > 0 {
		t.buf = make([]byte, 0, contentLength)
	}
	return t
}

func (t *bodyTee) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	t.n += int64(n)
	if n > 0 && !t.over {
		if t.n > t.max {
			t.over, t.buf = true, nil
		} else {
			t.buf = append(t.buf, b[:n]...)
		}
	}
	if errors.Is(err, io.EOF) {
		t.eof = true
	}
	return n, err
}

// result returns the body when all of it was read and it fits. A body of
// known length counts as complete once that many bytes came.
func (t *bodyTee) result() ([]byte, bool) {
	complete := t.eof || (t.contentLength > 0 && t.n == t.contentLength)
	if t.over || !complete {
		return nil, false
	}
	return t.buf, true
}

// job is one copy waiting for, or held by, a worker.
type job struct {
	cfg        *compiled
	method     string
	uri        *url.URL
	header     http.Header
	remoteAddr string
	body       []byte
	live       *response // nil: nothing to compare with
	charged    int64     // what enqueue counted against QueueBytes
}

// size estimates the memory a job holds.
func (j *job) size() int64 {
	n := int64(len(j.body)) + 512
	for k, vs := range j.header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v))
		}
	}
	if j.live != nil {
		n += int64(cap(j.live.body)) + 512
	}
	return n
}

// enqueue hands j to the workers, or drops it when the queue or its byte
// budget is full. It never blocks.
func (p *Proxy) enqueue(j *job) {
	if p.closing.Load() {
		p.stats.dropped.Add(1) // sampled before Close, too late for the workers
		return
	}
	size := j.size()
	j.charged = size // refunded as counted: the worker changes the header
	if p.queueBytes.Add(size) > p.opts.QueueBytes {
		p.queueBytes.Add(-size)
		p.stats.dropped.Add(1)
		return
	}
	p.pending.Add(1)
	select {
	case p.queue <- j:
	default:
		p.pending.Add(-1)
		p.queueBytes.Add(-size)
		p.stats.dropped.Add(1)
	}
}

func (p *Proxy) work() {
	for {
		select {
		case j := <-p.queue:
			p.mirror(j)
			p.queueBytes.Add(-j.charged)
			p.pending.Add(-1)
		case <-p.quit:
			return
		}
	}
}

// Close stops copying new requests (they are still forwarded to live) and
// waits for the copies queued or in flight until ctx ends; then it cancels
// what is left, stops the workers and returns ctx's error. Copies cut
// short by Close are not counted. Close is for shutdown: call it after
// the HTTP server has stopped taking requests.
func (p *Proxy) Close(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() {
		p.closing.Store(true)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
	wait:
		for p.pending.Load() > 0 {
			select {
			case <-ctx.Done():
				err = ctx.Err()
				break wait
			case <-tick.C:
			}
		}
		p.cancelWork()
		close(p.quit)
		p.workers.Wait()
		p.copyUps.closeIdle()
	})
	return err
}
