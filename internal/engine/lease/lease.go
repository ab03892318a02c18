package lease

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// Store is the part of store.Store that elections use.
type Store interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, l store.Lease) error
}

// Term is one uninterrupted period of leadership.
type Term struct {
	fence store.Fence

	mu  sync.Mutex
	end time.Time // local monotonic time at which the term must stop acting
}

// Fence is what the leader passes with every controller write.
func (t *Term) Fence() store.Fence { return t.fence }

// Epoch is the term's lease epoch.
func (t *Term) Epoch() int64 { return t.fence.Epoch }

// End returns when the term stops unless renewed.
func (t *Term) End() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.end
}

func (t *Term) extend(end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if end.After(t.end) {
		t.end = end
	}
}

// Context derives a context that ends when the term as renewed so far ends.
// Use one per unit of work (a controller tick), so that later renewals apply
// to later work.
func (t *Term) Context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithDeadline(parent, t.End())
}

// Elector campaigns for a lease and runs a leader function while it holds it.
//
// Elections measure real elapsed time on the monotonic clock rather than an
// injected clock: the safety of a term depends on it.
type Elector struct {
	Store  Store
	Name   string // lease name, e.g. "controller"
	Holder string // unique per process
	TTL    time.Duration
	// Renew is how often the lease is renewed or tried for; default TTL/3.
	Renew time.Duration
	// Margin is how long before the lease's expiry a term ends; default TTL/5.
	Margin time.Duration
	Log    hclog.Logger
	// OnChange, when set, is told when leadership starts (true) or ends.
	OnChange func(leading bool)
}

func (e *Elector) defaults() {
	if e.TTL <= 0 {
		e.TTL = 15 * time.Second
	}
	if e.Renew <= 0 {
		e.Renew = e.TTL / 3
	}
	if e.Margin <= 0 {
		e.Margin = e.TTL / 5
	}
	if e.Log == nil {
		e.Log = hclog.NewNullLogger()
	}
}

// Run campaigns until ctx ends. Each time the lease is won, lead runs in its
// own goroutine with a context that is cancelled when the term ends (lost,
// not renewed in time, or ctx done); Run waits for lead to return before it
// campaigns again, and releases the lease when ctx ends.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, term *Term)) {
	e.defaults()
	var (
		term   *Term
		stop   context.CancelFunc
		done   chan struct{}
		expiry *time.Timer
	)
	endTerm := func(why string) {
		if term == nil {
			return
		}
		e.Log.Info("leadership ended", "lease", e.Name, "epoch", term.Epoch(), "reason", why)
		stop()
		<-done
		expiry.Stop()
		term = nil
		if e.OnChange != nil {
			e.OnChange(false)
		}
	}
	defer func() {
		if term != nil {
			l := store.Lease{Name: e.Name, Holder: e.Holder, Epoch: term.Epoch()}
			endTerm("shutting down")
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e.Store.ReleaseLease(rctx, l); err != nil {
				e.Log.Warn("could not release the lease; another replica takes over when it expires", "error", err)
			}
		}
	}()
	for {
		sent := time.Now()
		actx, cancel := context.WithTimeout(ctx, e.Renew)
		l, err := e.Store.AcquireLease(actx, e.Name, e.Holder, e.TTL)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			e.Log.Warn("could not reach the store to renew the lease", "error", err)
		case !l.Held:
			if term != nil {
				endTerm("lease taken by " + l.Holder)
			}
		default:
			if term != nil && term.Epoch() != l.Epoch {
				endTerm("epoch changed")
			}
			end := sent.Add(e.TTL - e.Margin)
			if term == nil {
				term = &Term{fence: store.Fence{Lease: e.Name, Epoch: l.Epoch}, end: end}
				var lctx context.Context
				lctx, stop = context.WithCancel(ctx)
				done = make(chan struct{})
				expiry = time.AfterFunc(time.Until(end), stop)
				e.Log.Info("leadership acquired", "lease", e.Name, "epoch", l.Epoch)
				if e.OnChange != nil {
					e.OnChange(true)
				}
				go func(t *Term, ctx context.Context, done chan struct{}) {
					defer close(done)
					lead(ctx, t)
				}(term, lctx, done)
			} else {
				term.extend(end)
				expiry.Reset(time.Until(term.End()))
			}
		}
		var leaderDone <-chan struct{}
		if term != nil {
			leaderDone = done
		}
		select {
		case <-ctx.Done():
			return
		case <-leaderDone:
			// The leader returned on its own or its term expired: end the
			// term and campaign again at once.
			endTerm("leader stopped")
		case <-time.After(e.Renew):
		}
	}
}
