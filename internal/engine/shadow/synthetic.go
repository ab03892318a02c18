package shadow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// SyntheticRequest is one simulated user action.
type SyntheticRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"` // with its query, if any: /api/rooms?limit=10
	Headers map[string]string `json:"headers,omitempty"`
}

// SyntheticOptions tune a Synthetic load. The zero value is usable.
type SyntheticOptions struct {
	// Timeout bounds each request (default DefaultDarkTimeout).
	Timeout time.Duration
	// MaxInFlight bounds the requests waiting for dark at once (default
	// 64); a request due while that many wait is dropped and counted.
	MaxInFlight int
}

// Synthetic sends simulated user actions to a dark upstream at a fixed
// rate, round robin over its requests, and counts the outcomes in a Stats
// like mirrored copies (Snapshot.Synthetic says how many were synthetic).
// Responses are timed and discarded; nothing is compared.
type Synthetic struct {
	dark      *url.URL
	requests  []SyntheticRequest
	perSecond float64
	stats     *Stats
	opts      SyntheticOptions
	ups       upstreams // keep-alive connections to dark

	mu       sync.Mutex
	cancel   context.CancelFunc
	loopDone chan struct{}
	inFlight sync.WaitGroup
	slots    chan struct{}
}

// NewSynthetic checks its arguments and returns a stopped load; Start
// starts it.
func NewSynthetic(darkURL string, requests []SyntheticRequest, perSecond float64, stats *Stats, opts SyntheticOptions) (*Synthetic, error) {
	var errs []error
	dark, err := parseUpstream(darkURL)
	if err != nil {
		errs = append(errs, fmt.Errorf("dark_url: %w", err))
	}
	if math.IsNaN(perSecond) || perSecond <= 0 || perSecond > 100000 {
		errs = append(errs, fmt.Errorf("requests_per_second: %v is outside (0, 100000]", perSecond))
	}
	if len(requests) == 0 {
		errs = append(errs, errors.New("request: at least one is needed"))
	}
	for i, r := range requests {
		if !validHeaderName(r.Method) || strings.ToUpper(r.Method) != r.Method {
			errs = append(errs, fmt.Errorf("request[%d].method: %q is not an upper-case HTTP method", i, r.Method))
		}
		if !strings.HasPrefix(r.Path, "/") {
			errs = append(errs, fmt.Errorf("request[%d].path: %q must start with /", i, r.Path))
		} else if _, err := url.ParseRequestURI(r.Path); err != nil {
			errs = append(errs, fmt.Errorf("request[%d].path: %q is not a valid path: %w", i, r.Path, unwrapURLError(err)))
		}
		for name := range r.Headers {
			if !validHeaderName(name) {
				errs = append(errs, fmt.Errorf("request[%d].headers: %q is not a valid header name", i, name))
			}
		}
	}
	if stats == nil {
		errs = append(errs, errors.New("stats: required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDarkTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	return &Synthetic{dark: dark, requests: requests, perSecond: perSecond, stats: stats, opts: opts,
		slots: make(chan struct{}, opts.MaxInFlight)}, nil
}

// Start starts sending; it does nothing if the load is running.
func (s *Synthetic) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.loopDone = cancel, make(chan struct{})
	go s.loop(ctx, s.loopDone)
}

// Stop stops sending, cancels the requests in flight (they are not
// counted) and returns once none is left. It does nothing if the load is
// stopped.
func (s *Synthetic) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.loopDone
	s.inFlight.Wait()
	s.ups.closeIdle()
	s.cancel, s.loopDone = nil, nil
}

// loop sends requests on a fixed schedule: at each tick, as many as are
// due since the start, so a late tick catches up and the rate holds.
func (s *Synthetic) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	interval := time.Duration(float64(time.Second) / s.perSecond)
	tick := min(max(interval, 10*time.Millisecond), time.Second)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	start := time.Now()
	var sent int64
	next := 0
	for {
		due := int64(time.Since(start).Seconds()*s.perSecond) + 1 // one at once, at the start
		for ; sent < due; sent++ {
			if ctx.Err() != nil {
				return
			}
			r := s.requests[next]
			next = (next + 1) % len(s.requests)
			select {
			case s.slots <- struct{}{}:
			default:
				s.stats.dropped.Add(1)
				continue
			}
			s.inFlight.Go(func() {
				defer func() { <-s.slots }()
				s.send(ctx, r)
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (s *Synthetic) send(ctx context.Context, r SyntheticRequest) {
	ref := &url.URL{}
	if parsed, err := url.ParseRequestURI(r.Path); err == nil {
		ref = parsed
	}
	header := make(http.Header, len(r.Headers))
	for k, v := range r.Headers {
		header.Set(k, v)
	}
	out := &outRequest{method: r.Method, target: requestTarget(s.dark, ref), header: header}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		out.keepContentLength = true
	}
	res := s.ups.get(s.dark).roundTrip(ctx, out, s.opts.Timeout, 0)
	if ctx.Err() != nil {
		return // stopped: not a fact about dark
	}
	s.stats.recordDark(res, true)
}
