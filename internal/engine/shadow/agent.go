package shadow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"time"
)

// ConfigSource serves the dark launch's config: the engine, over HTTP, in
// `progressive shadow`.
type ConfigSource interface {
	// Fetch returns the current config. An error leaves the proxy on the
	// config it has.
	Fetch(ctx context.Context) (Config, error)
}

// Reporter takes the proxy's reports: the engine, over HTTP, in
// `progressive shadow`.
type Reporter interface {
	// Report delivers one report. An error keeps it for the next attempt;
	// a report may then arrive twice (when it arrived but the answer was
	// lost), so the receiver ignores an (instance, sequence) it has seen.
	Report(ctx context.Context, r Report) error
}

// Publisher receives each report once, as it is made, whether or not the
// engine is reachable: CloudWatch metrics, for instance.
type Publisher interface {
	Publish(ctx context.Context, r Report) error
}

// Report is what a proxy tells the engine every ReportInterval: the figures
// of one period, which the engine adds to the dark launch's.
type Report struct {
	// DarkLaunch is the dark launch's name.
	DarkLaunch string `json:"dark_launch"`
	// Revision is the revision of the config in force at the end of the
	// period ("" before the proxy had one). A config change ends a period.
	Revision Revision `json:"revision"`
	// Instance identifies the proxy process, Sequence the report within
	// it (1, 2, …); together they make a retried report recognisable.
	Instance string `json:"instance"`
	Sequence uint64 `json:"sequence"`
	// From and To bound the period.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// ConfigError is set while the source serves a config the proxy
	// refuses (it keeps the previous one).
	ConfigError string `json:"config_error,omitempty"`
	// Stats are the period's figures.
	Stats Snapshot `json:"stats"`
}

// AgentOptions tune an Agent. The zero value is usable.
type AgentOptions struct {
	// DarkLaunch names the dark launch in reports made before the first
	// config arrives.
	DarkLaunch string
	// PollInterval is how often the config is fetched (default 1 s);
	// ReportInterval how often a report is made (default 5 s).
	PollInterval   time.Duration
	ReportInterval time.Duration
	// CallTimeout bounds each Fetch, Report and Publish (default 10 s).
	CallTimeout time.Duration
	// MaxPending is the number of undelivered reports kept while the
	// reporter fails (default 120, ten minutes at the default interval);
	// beyond it the two oldest are merged into one.
	MaxPending int
	// Instance identifies this proxy in reports (default: host name, pid
	// and a random suffix).
	Instance string
	// Publisher, when set, receives every report too.
	Publisher Publisher
	// Logger receives fetch, report and publish failures (default:
	// discarded).
	Logger *slog.Logger
	// Now tells the time of reports (default time.Now).
	Now func() time.Time
}

// Agent ties a Proxy to the engine: it polls the config and applies it
// when it changes, keeping the last good one when the source fails or
// serves an invalid one, and reports the proxy's stats periodically. It
// never calls the engine on a request's path.
type Agent struct {
	proxy    *Proxy
	source   ConfigSource
	reporter Reporter
	opts     AgentOptions
	log      *slog.Logger

	mu          sync.Mutex // guards what follows
	seq         uint64
	from        time.Time
	staged      []Report // periods ended, not yet handed to Flush
	configError string

	// Fetch failures are logged when they start, then at most once a
	// minute while they last, and when they end: a proxy polls every
	// second.
	fetchMu     sync.Mutex
	fetchFails  int       // consecutive failed fetches
	fetchLogged time.Time // when a failure was last logged

	flushMu sync.Mutex // serializes flushes, and guards pending
	pending []Report   // reports not yet delivered, oldest first

	stop    context.CancelFunc
	done    sync.WaitGroup
	started bool
}

// NewAgent returns an agent; Start starts it.
func NewAgent(proxy *Proxy, source ConfigSource, reporter Reporter, opts AgentOptions) *Agent {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.ReportInterval <= 0 {
		opts.ReportInterval = 5 * time.Second
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 10 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 120
	}
	if opts.Instance == "" {
		opts.Instance = defaultInstance()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Agent{proxy: proxy, source: source, reporter: reporter, opts: opts, log: opts.Logger, from: opts.Now()}
}

func defaultInstance() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "shadow"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Start fetches the config once (within ctx), then polls and reports in
// the background until Close. It returns the first fetch's error, but
// starts anyway: the proxy then forwards without mirroring (or answers
// 503 without a fallback) until a fetch succeeds.
func (a *Agent) Start(ctx context.Context) error {
	err := a.Poll(ctx)
	loopCtx, cancel := context.WithCancel(context.Background())
	a.mu.Lock()
	a.stop, a.started = cancel, true
	a.mu.Unlock()
	a.done.Go(func() { a.every(loopCtx, a.opts.PollInterval, func(ctx context.Context) { _ = a.Poll(ctx) }) })
	a.done.Go(func() { a.every(loopCtx, a.opts.ReportInterval, func(ctx context.Context) { _ = a.Flush(ctx) }) })
	return err
}

func (a *Agent) every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// ErrGone, wrapped by a ConfigSource's error, says the dark launch no
// longer exists: the agent then stops mirroring (live traffic still
// flows) rather than keep copying to a backend nobody watches.
var ErrGone = errors.New("the dark launch no longer exists")

// Poll fetches the config once and applies it if it changed. On a fetch
// error, or an invalid config, the proxy keeps the config it has; when the
// dark launch is gone, mirroring stops.
func (a *Agent) Poll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.opts.CallTimeout)
	defer cancel()
	c, err := a.source.Fetch(ctx)
	if errors.Is(err, ErrGone) {
		if cur, ok := a.proxy.Config(); ok && !cur.Paused {
			cur.Paused = true
			if serr := a.proxy.SetConfig(cur); serr == nil {
				a.log.Warn("dark launch deleted: mirroring stopped, live traffic still flows", "error", err)
			}
		}
		return fmt.Errorf("fetch dark launch config: %w", err)
	}
	if err != nil {
		a.fetchFailed(err)
		return fmt.Errorf("fetch dark launch config: %w", err)
	}
	a.fetchWorked()
	current, ok := a.proxy.Config()
	if ok && reflect.DeepEqual(current, c) {
		a.setConfigError("")
		return nil
	}
	if err := c.Validate(); err != nil {
		if a.setConfigError(err.Error()) {
			a.log.Error("dark launch config refused; keeping the current config", "error", err)
		}
		return err
	}
	if ok && current.Revision != c.Revision {
		// End the period under the old revision before switching.
		a.mu.Lock()
		r := a.cut(a.opts.Now(), current)
		a.mu.Unlock()
		a.publish(r)
	}
	if err := a.proxy.SetConfig(c); err != nil {
		a.setConfigError(err.Error())
		return err
	}
	a.setConfigError("")
	return nil
}

// setConfigError records the reason the config was refused ("" when it
// was not), and reports whether it changed.
func (a *Agent) setConfigError(msg string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := a.configError != msg
	a.configError = msg
	return changed
}

// fetchFailed logs a failed fetch when failures start, then once a minute.
func (a *Agent) fetchFailed(err error) {
	a.fetchMu.Lock()
	defer a.fetchMu.Unlock()
	a.fetchFails++
	if now := time.Now(); a.fetchFails == 1 || now.Sub(a.fetchLogged) >= time.Minute {
		a.fetchLogged = now
		a.log.Warn("dark launch config: fetch failed; keeping the current config (logged again once a minute while it lasts)",
			"error", err, "failed_fetches", a.fetchFails)
	}
}

// fetchWorked logs the end of a run of failed fetches.
func (a *Agent) fetchWorked() {
	a.fetchMu.Lock()
	defer a.fetchMu.Unlock()
	if a.fetchFails > 0 {
		a.log.Info("dark launch config: fetched again", "failed_fetches", a.fetchFails)
		a.fetchFails = 0
	}
}

// cut ends the current period: it takes the proxy's figures into a new
// report, staged for the next Flush. a.mu is held.
func (a *Agent) cut(now time.Time, c Config) Report {
	a.seq++
	r := Report{
		DarkLaunch:  c.Name,
		Revision:    c.Revision,
		Instance:    a.opts.Instance,
		Sequence:    a.seq,
		From:        a.from.UTC(),
		To:          now.UTC(),
		ConfigError: a.configError,
		Stats:       a.proxy.Stats().Swap(),
	}
	if r.DarkLaunch == "" {
		r.DarkLaunch = a.opts.DarkLaunch
	}
	a.from = now
	a.staged = append(a.staged, r)
	return r
}

// publish hands a new report to the publisher, if any.
func (a *Agent) publish(r Report) {
	if a.opts.Publisher == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.CallTimeout)
	defer cancel()
	if err := a.opts.Publisher.Publish(ctx, r); err != nil {
		a.log.Warn("dark launch stats: publish failed", "error", err)
	}
}

// Flush ends the current period and delivers every pending report, oldest
// first, stopping at the first failure (the rest are kept). A report is
// made every period, empty or not: it tells the engine the proxy is up.
// Polling goes on while a flush waits for the engine.
func (a *Agent) Flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	c, _ := a.proxy.Config()
	a.mu.Lock()
	r := a.cut(a.opts.Now(), c)
	a.pending = append(a.pending, a.staged...)
	a.staged = nil
	a.mu.Unlock()
	a.publish(r)
	for len(a.pending) > a.opts.MaxPending {
		// The engine has been unreachable for long: merge the two oldest,
		// so that memory stays bounded and no figure is lost.
		first, second := &a.pending[0], a.pending[1]
		first.Stats.Merge(second.Stats, a.proxy.opts.MaxSamples)
		first.To = second.To
		a.pending = append(a.pending[:1], a.pending[2:]...)
	}
	for len(a.pending) > 0 {
		callCtx, cancel := context.WithTimeout(ctx, a.opts.CallTimeout)
		err := a.reporter.Report(callCtx, a.pending[0])
		cancel()
		if err != nil {
			a.log.Warn("dark launch stats: report failed; kept for the next attempt", "pending", len(a.pending), "error", err)
			return fmt.Errorf("report dark launch stats: %w", err)
		}
		a.pending = a.pending[1:]
	}
	return nil
}

// Pending returns the number of reports not yet delivered.
func (a *Agent) Pending() int {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	return len(a.pending)
}

// Close stops polling and reporting, closes the proxy (waiting for its
// copies in flight until ctx ends), and delivers a last report with what
// they added. It returns the first error of those steps.
func (a *Agent) Close(ctx context.Context) error {
	a.mu.Lock()
	stop, started := a.stop, a.started
	a.started = false
	a.mu.Unlock()
	if started {
		stop()
		a.done.Wait()
	}
	closeErr := a.proxy.Close(ctx)
	flushCtx := ctx
	if ctx.Err() != nil {
		// The drain used the time up; still try once to deliver.
		var cancel context.CancelFunc
		flushCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), a.opts.CallTimeout)
		defer cancel()
	}
	return errors.Join(closeErr, a.Flush(flushCtx))
}
