package ratelimit

import (
	"container/list"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
)

// Priority orders the calls waiting on one bucket: every queued High call is
// served before any Normal one.
type Priority uint8

const (
	// Normal is the priority of every call that does not ask for another.
	Normal Priority = iota
	// High is for rollback writes: they go ahead of every Normal call
	// queued on the same bucket.
	High

	numPriorities = int(High) + 1
)

// String returns "normal" or "high", for logs and metric labels.
func (p Priority) String() string {
	if p >= High {
		return "high"
	}
	return "normal"
}

type priorityKey struct{}

// WithPriority returns a copy of ctx whose AWS calls wait at priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, min(p, High))
}

// PriorityFrom returns the priority set on ctx by WithPriority, or Normal.
func PriorityFrom(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// Clock is the limiter's view of time: what time it is, and a way to be
// called back later. The engine's clock.Clock plus timers.
type Clock interface {
	clock.Clock
	// AfterFunc calls f in its own goroutine once d has passed, unless
	// the returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a callback armed by Clock.AfterFunc; *time.Timer is one.
type Timer interface {
	Stop() bool
}

type realClock struct{ clock.Real }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Option configures a Limiter.
type Option func(*Limiter)

// WithClock makes the limiter read time from c instead of the wall clock.
func WithClock(c Clock) Option {
	return func(l *Limiter) { l.clock = c }
}

// Limiter rate-limits AWS calls per service, with priorities. Build one per
// engine, that is per AWS account (see the package doc), with New. It is
// safe for concurrent use.
type Limiter struct {
	clock  Clock
	limits map[string]Rate // by key, effective (burst filled in)

	mu      sync.RWMutex
	buckets map[string]*bucket // by the name passed to Wait, and by key
}

// New returns a Limiter with the default limits (DefaultLimits), replaced
// service by service by overrides, as ParseLimits returns them (nil for
// none). Override keys are normalized with ServiceKey; a Rate that is not
// Limited turns that service's limit off.
func New(overrides map[string]Rate, opts ...Option) *Limiter {
	l := &Limiter{
		clock:   realClock{},
		limits:  DefaultLimits(),
		buckets: map[string]*bucket{},
	}
	for _, o := range opts {
		o(l)
	}
	for name, r := range overrides {
		l.limits[ServiceKey(name)] = r
	}
	for key, r := range l.limits {
		r = r.normalized()
		l.limits[key] = r
		l.buckets[key] = newBucket(key, r, l.clock)
	}
	return l
}

// Limits returns the effective limit of every service that has one
// configured, by key; services absent from the map are unlimited.
func (l *Limiter) Limits() map[string]Rate {
	out := make(map[string]Rate, len(l.limits))
	for k, r := range l.limits {
		if r.Limited() {
			out[k] = r
		}
	}
	return out
}

// Wait blocks until a call to service may go out, and takes a token for it.
// service is an SDK service ID ("Route 53") or a key ("route53"); services
// without a limit never wait. The call's priority comes from ctx
// (PriorityFrom). When ctx ends first, Wait leaves the queue, takes nothing
// and returns ctx.Err().
func (l *Limiter) Wait(ctx context.Context, service string) error {
	b := l.bucket(service)
	p := PriorityFrom(ctx)
	if err := ctx.Err(); err != nil {
		b.stats[p].cancelled.Add(1)
		return err
	}
	if !b.limited {
		b.stats[p].calls.Add(1)
		return nil
	}
	return b.wait(ctx, p)
}

// bucket returns the bucket of service, creating an unlimited one for a
// service seen for the first time. The map is read-mostly: after the first
// call per name, Wait takes only the read lock.
func (l *Limiter) bucket(service string) *bucket {
	l.mu.RLock()
	b, ok := l.buckets[service]
	l.mu.RUnlock()
	if ok {
		return b
	}
	key := ServiceKey(service)
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok = l.buckets[key]; !ok {
		b = newBucket(key, Off, l.clock)
		l.buckets[key] = b
	}
	l.buckets[service] = b
	return b
}

// Stat is a snapshot of one service's counters at one priority.
type Stat struct {
	// Service is the bucket's key (route53, elasticloadbalancing, ...).
	Service  string
	Priority Priority
	// Calls counts the tokens taken: calls let through.
	Calls uint64
	// Cancelled counts waits abandoned because their context ended.
	Cancelled uint64
	// Waited is the total time calls spent queued, abandoned waits
	// included. Calls that found a token at once add nothing.
	Waited time.Duration
	// Queued is the number of calls waiting now.
	Queued int
}

// Stats returns the counters of every service that has a limit or has been
// called, at both priorities, sorted by service then priority. Counters
// only grow, so they map onto Prometheus counters; Queued is a gauge.
func (l *Limiter) Stats() []Stat {
	l.mu.RLock()
	seen := make(map[*bucket]bool, len(l.buckets))
	bs := make([]*bucket, 0, len(l.buckets))
	for _, b := range l.buckets {
		if !seen[b] {
			seen[b] = true
			bs = append(bs, b)
		}
	}
	l.mu.RUnlock()
	slices.SortFunc(bs, func(a, b *bucket) int { return strings.Compare(a.key, b.key) })

	out := make([]Stat, 0, len(bs)*numPriorities)
	for _, b := range bs {
		var queued [numPriorities]int
		if b.limited {
			b.mu.Lock()
			for p := range queued {
				queued[p] = b.queues[p].Len()
			}
			b.mu.Unlock()
		}
		for p := range numPriorities {
			c := &b.stats[p]
			out = append(out, Stat{
				Service:   b.key,
				Priority:  Priority(p),
				Calls:     c.calls.Load(),
				Cancelled: c.cancelled.Load(),
				Waited:    time.Duration(c.waited.Load()),
				Queued:    queued[p],
			})
		}
	}
	return out
}

type counters struct {
	calls, cancelled atomic.Uint64
	waited           atomic.Int64 // nanoseconds
}

// bucket is one service's token bucket. Tokens are kept as credit in time:
// each token is worth interval, and the bucket holds at most capacity
// (burst tokens). Integer durations keep the arithmetic exact, so a fake
// clock advanced by one interval frees exactly one token.
type bucket struct {
	key     string
	limited bool
	clock   Clock
	stats   [numPriorities]counters

	interval time.Duration // time to earn one token
	capacity time.Duration // burst × interval

	mu       sync.Mutex
	credit   time.Duration // earned and not spent, at most capacity
	last     time.Time     // when credit was last brought up to date
	queues   [numPriorities]list.List
	timer    Timer  // armed while anyone waits, for the next token
	timerGen uint64 // tells a stale timer callback from the current one
}

// waiter is one queued call. ready is closed when it is handed a token.
type waiter struct {
	ready   chan struct{}
	granted bool // under bucket.mu
	elem    *list.Element
}

func newBucket(key string, r Rate, c Clock) *bucket {
	b := &bucket{key: key, clock: c, limited: r.Limited()}
	if !b.limited {
		return b
	}
	b.interval = max(1, time.Duration(math.Round(float64(time.Second)/r.PerSecond)))
	b.capacity = b.interval * time.Duration(r.burst())
	if b.capacity/time.Duration(r.burst()) != b.interval { // overflow
		b.capacity = math.MaxInt64
	}
	b.credit = b.capacity
	b.last = c.Now()
	return b
}

func (b *bucket) wait(ctx context.Context, p Priority) error {
	b.mu.Lock()
	start := b.clock.Now()
	b.refill(start)
	if b.ahead(p) == 0 && b.credit >= b.interval {
		b.credit -= b.interval
		b.mu.Unlock()
		b.stats[p].calls.Add(1)
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = b.queues[p].PushBack(w)
	b.dispatch()
	b.mu.Unlock()

	select {
	case <-w.ready:
		b.stats[p].calls.Add(1)
		b.stats[p].waited.Add(int64(b.clock.Now().Sub(start)))
		return nil
	case <-ctx.Done():
	}

	b.mu.Lock()
	b.refill(b.clock.Now())
	if w.granted {
		// Handed a token as ctx ended: the call will not go out, so the
		// token goes to the next waiter.
		b.credit = min(b.capacity, b.credit+b.interval)
	} else {
		b.queues[p].Remove(w.elem)
	}
	b.dispatch()
	b.mu.Unlock()
	b.stats[p].cancelled.Add(1)
	b.stats[p].waited.Add(int64(b.clock.Now().Sub(start)))
	return ctx.Err()
}

// refill adds the credit earned since last. Callers hold mu.
func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.credit = min(b.capacity, b.credit+d)
		if b.credit < 0 { // overflow
			b.credit = b.capacity
		}
	}
	b.last = now
}

// ahead counts the waiters that would be served before a new one at p.
// Callers hold mu.
func (b *bucket) ahead(p Priority) int {
	n := 0
	for q := int(p); q < numPriorities; q++ {
		n += b.queues[q].Len()
	}
	return n
}

// next removes and returns the waiter to serve next: the oldest at the
// highest priority. Callers hold mu.
func (b *bucket) next() *waiter {
	for p := numPriorities - 1; p >= 0; p-- {
		if e := b.queues[p].Front(); e != nil {
			return b.queues[p].Remove(e).(*waiter)
		}
	}
	return nil
}

// dispatch hands the credit available to waiters in order, then arms the
// timer for the next token if anyone still waits, or disarms it if nobody
// does. Callers hold mu and have called refill.
func (b *bucket) dispatch() {
	for b.credit >= b.interval {
		w := b.next()
		if w == nil {
			break
		}
		b.credit -= b.interval
		w.granted = true
		close(w.ready)
	}
	if b.ahead(Normal) == 0 {
		b.disarm()
		return
	}
	if b.timer == nil {
		b.timerGen++
		gen := b.timerGen
		b.timer = b.clock.AfterFunc(b.interval-b.credit, func() { b.tick(gen) })
	}
}

// tick runs when the next token is due.
func (b *bucket) tick(gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.timerGen {
		return // disarmed or replaced after it fired
	}
	b.timer = nil
	b.refill(b.clock.Now())
	b.dispatch()
}

// disarm stops the timer. Callers hold mu.
func (b *bucket) disarm() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
		b.timerGen++
	}
}
