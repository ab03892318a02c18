package controller_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/controller"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
)

// wait is how long a test waits for an outcome before giving up; outcomes
// normally arrive in milliseconds.
const wait = 20 * time.Second

// leaderTerm runs a real Elector over a fresh SQLite store and returns its
// first term. The elector keeps renewing until the test ends.
func leaderTerm(t *testing.T) *lease.Term {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	terms := make(chan *lease.Term, 1)
	done := make(chan struct{})
	e := &lease.Elector{Store: s, Name: "controller", Holder: "test", TTL: time.Minute}
	go func() {
		defer close(done)
		e.Run(ctx, func(ctx context.Context, term *lease.Term) {
			select {
			case terms <- term:
			default:
			}
			<-ctx.Done()
		})
	}()
	t.Cleanup(func() {
		stop()
		<-done
		_ = s.Close()
	})
	select {
	case term := <-terms:
		return term
	case <-time.After(wait):
		t.Fatal("the elector did not win the lease on an empty store")
		return nil
	}
}

// call is one Reconcile as a recorder saw it.
type call struct {
	step        string
	term        *lease.Term
	deadline    time.Time
	hasDeadline bool
	endAtCall   time.Time // term.End() read inside Reconcile
}

// recorder collects calls from several reconcilers in order.
type recorder struct {
	mu    sync.Mutex
	calls []call
	ticks []string // OnTick reports, "step:err"
}

func (r *recorder) add(c call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) onTick(step string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := step + ":"
	if err != nil {
		s += err.Error()
	}
	r.ticks = append(r.ticks, s)
}

func (r *recorder) snapshot() ([]call, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...), append([]string(nil), r.ticks...)
}

// step is a fake Reconciler that records its calls and returns err.
type step struct {
	name string
	rec  *recorder
	err  error
	// during, when set, runs inside Reconcile.
	during func()
}

func (s *step) Name() string { return s.name }

func (s *step) Reconcile(ctx context.Context, term *lease.Term) error {
	dl, ok := ctx.Deadline()
	s.rec.add(call{step: s.name, term: term, deadline: dl, hasDeadline: ok, endAtCall: term.End()})
	if s.during != nil {
		s.during()
	}
	return s.err
}

// lead runs c.Lead(ctx, term) in the background; the returned channel
// closes when Lead returns.
func lead(c *controller.Controller, ctx context.Context, term *lease.Term) <-chan struct{} {
	done := make(chan struct{})
	go func() { defer close(done); c.Lead(ctx, term) }()
	return done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitDone(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Lead did not return after its context was cancelled")
	}
}

// Each tick runs every reconciler in order, an error in one does not stop
// the later ones, and OnTick hears of each step and its error.
func TestLeadRunsStepsInOrder(t *testing.T) {
	term := leaderTerm(t)
	rec := &recorder{}
	errB := errors.New("b failed")
	var logBuf syncBuffer
	c := &controller.Controller{
		Interval: time.Millisecond,
		Reconcilers: []controller.Reconciler{
			&step{name: "a", rec: rec},
			&step{name: "b", rec: rec, err: errB},
			&step{name: "c", rec: rec},
		},
		Log:    hclog.New(&hclog.LoggerOptions{Output: &logBuf, Level: hclog.Debug}),
		OnTick: rec.onTick,
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := lead(c, ctx, term)
	waitFor(t, "three full ticks", func() bool {
		calls, _ := rec.snapshot()
		return len(calls) >= 9
	})
	stop()
	waitDone(t, done)

	calls, ticks := rec.snapshot()
	order := []string{"a", "b", "c"}
	for i, cl := range calls {
		if want := order[i%3]; cl.step != want {
			t.Fatalf("call %d was %s, want %s; calls: %v", i, cl.step, want, names(calls))
		}
		if cl.term != term {
			t.Fatalf("call %d got another term", i)
		}
	}
	// OnTick hears exactly the steps that ran, in order, with their errors.
	if len(ticks) != len(calls) {
		t.Fatalf("OnTick told %d times for %d steps run", len(ticks), len(calls))
	}
	for i, got := range ticks {
		want := order[i%3] + ":"
		if order[i%3] == "b" {
			want += errB.Error()
		}
		if got != want {
			t.Fatalf("OnTick report %d = %q, want %q", i, got, want)
		}
	}
	// The failure is logged with its step and term.
	logged := logBuf.String()
	for _, w := range []string{"reconcile step failed", "step=b", "b failed", fmt.Sprintf("epoch=%d", term.Epoch())} {
		if !strings.Contains(logged, w) {
			t.Errorf("log lacks %q:\n%s", w, logged)
		}
	}
	if strings.Contains(logged, "step=a") || strings.Contains(logged, "step=c") {
		t.Errorf("steps that succeeded were logged as failures:\n%s", logged)
	}
}

// Every Reconcile gets a context that ends with the term: its deadline is
// the term's end as renewed when the step began, and the parent context
// (which has no deadline) is not what bounds it.
func TestReconcileContextHasTermDeadline(t *testing.T) {
	term := leaderTerm(t)
	endAtStart := term.End()
	if endAtStart.IsZero() || !endAtStart.After(time.Now()) {
		t.Fatalf("the term's end %v is not in the future", endAtStart)
	}
	rec := &recorder{}
	c := &controller.Controller{
		Interval:    time.Millisecond,
		Reconcilers: []controller.Reconciler{&step{name: "a", rec: rec}, &step{name: "b", rec: rec}},
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := lead(c, ctx, term)
	waitFor(t, "two ticks", func() bool {
		calls, _ := rec.snapshot()
		return len(calls) >= 4
	})
	stop()
	waitDone(t, done)

	calls, _ := rec.snapshot()
	for i, cl := range calls {
		if !cl.hasDeadline {
			t.Fatalf("call %d (%s): the context has no deadline", i, cl.step)
		}
		// Terms only grow, so the deadline lies between the end seen
		// before Lead started and the end seen inside the step.
		if cl.deadline.Before(endAtStart) || cl.deadline.After(cl.endAtCall) {
			t.Fatalf("call %d (%s): deadline %v is not the term's end (between %v and %v)",
				i, cl.step, cl.deadline, endAtStart, cl.endAtCall)
		}
	}
}

// Lead returns when its context is cancelled, without running the rest of
// the tick.
func TestLeadStopsMidTick(t *testing.T) {
	term := leaderTerm(t)
	rec := &recorder{}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c := &controller.Controller{
		Interval: time.Hour, // one tick only: the first runs at once
		Reconcilers: []controller.Reconciler{
			&step{name: "a", rec: rec, during: stop},
			&step{name: "b", rec: rec},
		},
		OnTick: rec.onTick,
	}
	waitDone(t, lead(c, ctx, term))
	calls, ticks := rec.snapshot()
	if len(calls) != 1 || calls[0].step != "a" {
		t.Fatalf("calls after cancelling in the first step: %v, want only a", names(calls))
	}
	if len(ticks) != 1 || ticks[0] != "a:" {
		t.Fatalf("OnTick reports: %v, want only a", ticks)
	}
}

// Lead with an already cancelled context returns without running anything.
func TestLeadCancelledBeforeStart(t *testing.T) {
	term := leaderTerm(t)
	rec := &recorder{}
	ctx, stop := context.WithCancel(context.Background())
	stop()
	c := &controller.Controller{Reconcilers: []controller.Reconciler{&step{name: "a", rec: rec}}}
	waitDone(t, lead(c, ctx, term))
	if calls, _ := rec.snapshot(); len(calls) != 0 {
		t.Fatalf("ran %v under a cancelled context", names(calls))
	}
}

// As the Elector's leader function, Lead ticks while leading and returns
// when the Elector stops, so that the Elector can release the lease.
func TestLeadUnderElector(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := &recorder{}
	c := &controller.Controller{Interval: time.Millisecond, Reconcilers: []controller.Reconciler{&step{name: "a", rec: rec}}}
	returned := make(chan struct{})
	e := &lease.Elector{Store: s, Name: "controller", Holder: "test", TTL: time.Minute}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		e.Run(ctx, func(ctx context.Context, term *lease.Term) {
			c.Lead(ctx, term)
			close(returned)
		})
	}()
	waitFor(t, "the controller to tick under the elector", func() bool {
		calls, _ := rec.snapshot()
		return len(calls) >= 3
	})
	stop()
	select {
	case <-returned:
	case <-time.After(wait):
		t.Fatal("Lead did not return when the elector stopped")
	}
	select {
	case <-runDone:
	case <-time.After(wait):
		t.Fatal("the elector did not return")
	}
	calls, _ := rec.snapshot()
	epoch := calls[0].term.Epoch()
	if epoch <= 0 {
		t.Fatalf("term epoch %d, want a positive epoch from the store", epoch)
	}
	for _, cl := range calls {
		if cl.term.Epoch() != epoch || !cl.hasDeadline {
			t.Fatalf("a tick ran outside the one term: %+v", cl)
		}
	}
}

func names(calls []call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.step
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
