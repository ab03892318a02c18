package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/ratelimit"
)

// result is what a waiter started by startWait reports.
type result struct {
	name string
	err  error
}

// startWait calls l.Wait in a goroutine at priority p and reports on out.
func startWait(ctx context.Context, l *ratelimit.Limiter, service string, p ratelimit.Priority, name string, out chan<- result) {
	go func() {
		err := l.Wait(ratelimit.WithPriority(ctx, p), service)
		out <- result{name, err}
	}()
}

// stat returns the counters of service at p.
func stat(t *testing.T, l *ratelimit.Limiter, service string, p ratelimit.Priority) ratelimit.Stat {
	t.Helper()
	for _, s := range l.Stats() {
		if s.Service == service && s.Priority == p {
			return s
		}
	}
	t.Fatalf("no stats for %s/%s in %+v", service, p, l.Stats())
	return ratelimit.Stat{}
}

// waitQueued waits until n calls of priority p are queued on service. It
// waits for another goroutine to get there, so it has a generous deadline
// and asserts nothing about speed.
func waitQueued(t *testing.T, l *ratelimit.Limiter, service string, p ratelimit.Priority, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for stat(t, l, service, p).Queued != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s: %d queued, want %d", service, p, stat(t, l, service, p).Queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// receive returns the next result, failing the test rather than hanging.
func receive(t *testing.T, out <-chan result) result {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no waiter returned")
		return result{}
	}
}

// testCtx is a context that ends the test's waits instead of hanging it.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func oneASecond(t *testing.T, burst int) (*ratelimit.Limiter, *fakeClock) {
	t.Helper()
	c := newFakeClock()
	l := ratelimit.New(map[string]ratelimit.Rate{ratelimit.Route53: {PerSecond: 1, Burst: burst}}, ratelimit.WithClock(c))
	return l, c
}

func TestHighWaitersOvertakeQueuedNormalWaiters(t *testing.T) {
	ctx := testCtx(t)
	l, c := oneASecond(t, 1)
	if err := l.Wait(ctx, "Route 53"); err != nil { // the only token
		t.Fatal(err)
	}

	out := make(chan result, 4)
	for _, w := range []struct {
		name string
		p    ratelimit.Priority
	}{
		{"normal-1", ratelimit.Normal},
		{"normal-2", ratelimit.Normal},
		{"high-1", ratelimit.High},
		{"high-2", ratelimit.High},
	} {
		n := stat(t, l, ratelimit.Route53, w.p).Queued
		startWait(ctx, l, "Route 53", w.p, w.name, out)
		waitQueued(t, l, ratelimit.Route53, w.p, n+1) // queued in this order
	}

	var order []string
	for range 4 {
		c.Advance(time.Second) // one token
		r := receive(t, out)
		if r.err != nil {
			t.Fatalf("%s: %v", r.name, r.err)
		}
		order = append(order, r.name)
	}
	want := fmt.Sprint([]string{"high-1", "high-2", "normal-1", "normal-2"})
	if got := fmt.Sprint(order); got != want {
		t.Errorf("served %s, want %s", got, want)
	}

	// The fake clock makes the waits exact: the high waiters waited 1 s
	// and 2 s, the normal ones 3 s and 4 s.
	high, normal := stat(t, l, ratelimit.Route53, ratelimit.High), stat(t, l, ratelimit.Route53, ratelimit.Normal)
	if high.Calls != 2 || high.Waited != 3*time.Second {
		t.Errorf("high stats %+v, want 2 calls, 3s waited", high)
	}
	if normal.Calls != 3 || normal.Waited != 7*time.Second {
		t.Errorf("normal stats %+v, want 3 calls, 7s waited", normal)
	}
	if c.Armed() != 0 {
		t.Errorf("idle limiter holds %d timers", c.Armed())
	}
}

func TestHighCallTakesAFreeTokenWhileNormalCallsQueue(t *testing.T) {
	ctx := testCtx(t)
	l, c := oneASecond(t, 1)
	if err := l.Wait(ctx, ratelimit.Route53); err != nil {
		t.Fatal(err)
	}
	out := make(chan result, 2)
	startWait(ctx, l, ratelimit.Route53, ratelimit.Normal, "normal", out)
	waitQueued(t, l, ratelimit.Route53, ratelimit.Normal, 1)

	// A token has accrued but the timer meant to hand it out has not run
	// yet (the fake clock runs timers only in Advance, and here time is
	// set without it): a High call arriving now takes it.
	c.AdvanceWithoutTimers(time.Second)
	if err := l.Wait(ratelimit.WithPriority(ctx, ratelimit.High), ratelimit.Route53); err != nil {
		t.Fatal(err)
	}
	// A Normal call arriving now queues behind the first.
	startWait(ctx, l, ratelimit.Route53, ratelimit.Normal, "normal-late", out)
	waitQueued(t, l, ratelimit.Route53, ratelimit.Normal, 2)

	c.Advance(0) // the stale timer runs: no token, it re-arms
	if q := stat(t, l, ratelimit.Route53, ratelimit.Normal).Queued; q != 2 {
		t.Fatalf("%d normal calls queued, want 2", q)
	}
	c.Advance(time.Second)
	if r := receive(t, out); r.name != "normal" || r.err != nil {
		t.Fatalf("got %+v, want the first normal call served", r)
	}
	c.Advance(time.Second)
	if r := receive(t, out); r.name != "normal-late" || r.err != nil {
		t.Fatalf("got %+v, want the late normal call served", r)
	}
}

func TestBurst(t *testing.T) {
	ctx := testCtx(t)
	c := newFakeClock()
	l := ratelimit.New(map[string]ratelimit.Rate{ratelimit.CloudWatch: {PerSecond: 2, Burst: 3}}, ratelimit.WithClock(c))

	// A fresh bucket is full: three calls go at once, none waits.
	for i := range 3 {
		if err := l.Wait(ctx, "CloudWatch"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if s := stat(t, l, ratelimit.CloudWatch, ratelimit.Normal); s.Calls != 3 || s.Waited != 0 || c.Armed() != 0 {
		t.Fatalf("after the burst: %+v, %d timers; want 3 calls, no wait, no timer", s, c.Armed())
	}

	// The fourth waits for the next token, due in 500 ms.
	out := make(chan result, 1)
	startWait(ctx, l, "CloudWatch", ratelimit.Normal, "fourth", out)
	waitQueued(t, l, ratelimit.CloudWatch, ratelimit.Normal, 1)
	c.Advance(499 * time.Millisecond)
	if q := stat(t, l, ratelimit.CloudWatch, ratelimit.Normal).Queued; q != 1 {
		t.Fatalf("served before its token was due (%d queued)", q)
	}
	c.Advance(time.Millisecond)
	if r := receive(t, out); r.err != nil {
		t.Fatal(r.err)
	}

	// Credit stops at the burst however long the bucket idles.
	c.Advance(time.Hour)
	for i := range 3 {
		if err := l.Wait(ctx, ratelimit.CloudWatch); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	ctx4, cancel := context.WithCancel(ctx)
	startWait(ctx4, l, ratelimit.CloudWatch, ratelimit.Normal, "over", out)
	waitQueued(t, l, ratelimit.CloudWatch, ratelimit.Normal, 1)
	cancel()
	if r := receive(t, out); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", r.err)
	}
}

func TestCancelRemovesTheWaiter(t *testing.T) {
	ctx := testCtx(t)
	l, c := oneASecond(t, 1)
	if err := l.Wait(ctx, ratelimit.Route53); err != nil {
		t.Fatal(err)
	}
	out := make(chan result, 3)
	ctx1, cancel1 := context.WithCancel(ctx)
	startWait(ctx1, l, ratelimit.Route53, ratelimit.High, "first", out)
	waitQueued(t, l, ratelimit.Route53, ratelimit.High, 1)
	ctx2, cancel2 := context.WithCancel(ctx)
	startWait(ctx2, l, ratelimit.Route53, ratelimit.Normal, "second", out)
	waitQueued(t, l, ratelimit.Route53, ratelimit.Normal, 1)

	cancel1()
	if r := receive(t, out); r.name != "first" || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %+v, want first cancelled", r)
	}
	if s := stat(t, l, ratelimit.Route53, ratelimit.High); s.Queued != 0 || s.Cancelled != 1 || s.Calls != 0 {
		t.Fatalf("high stats %+v, want 1 cancelled, none queued", s)
	}

	// The token the cancelled waiter would have had goes to the next one.
	c.Advance(time.Second)
	if r := receive(t, out); r.name != "second" || r.err != nil {
		t.Fatalf("got %+v, want second served", r)
	}

	// The last waiter leaving disarms the timer: an idle limiter holds none.
	ctx3, cancel3 := context.WithCancel(ctx)
	startWait(ctx3, l, ratelimit.Route53, ratelimit.Normal, "third", out)
	waitQueued(t, l, ratelimit.Route53, ratelimit.Normal, 1)
	if c.Armed() != 1 {
		t.Fatalf("%d timers armed for one waiter, want 1", c.Armed())
	}
	cancel3()
	if r := receive(t, out); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", r.err)
	}
	if c.Armed() != 0 {
		t.Errorf("idle limiter holds %d timers", c.Armed())
	}
	cancel2()
}

func TestWaitOnAnEndedContextTakesNothing(t *testing.T) {
	l, _ := oneASecond(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, ratelimit.Route53); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// The token is still there.
	if err := l.Wait(testCtx(t), ratelimit.Route53); err != nil {
		t.Fatal(err)
	}
	if q := stat(t, l, ratelimit.Route53, ratelimit.Normal).Queued; q != 0 {
		t.Fatalf("%d queued, want none", q)
	}
}

func TestUnlimitedServicesNeverWait(t *testing.T) {
	ctx := testCtx(t)
	c := newFakeClock()
	l := ratelimit.New(map[string]ratelimit.Rate{"Route 53": ratelimit.Off}, ratelimit.WithClock(c))
	for range 1000 {
		for _, svc := range []string{"Route 53", "EC2"} {
			if err := l.Wait(ctx, svc); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, svc := range []string{ratelimit.Route53, "ec2"} {
		if s := stat(t, l, svc, ratelimit.Normal); s.Calls != 1000 || s.Waited != 0 {
			t.Errorf("%s: %+v, want 1000 calls, no wait", svc, s)
		}
	}
	if c.Armed() != 0 {
		t.Errorf("%d timers armed", c.Armed())
	}
	if _, ok := l.Limits()[ratelimit.Route53]; ok {
		t.Errorf("Limits() = %v, want route53 absent (off)", l.Limits())
	}
}

func TestPriorityFromContext(t *testing.T) {
	ctx := context.Background()
	if p := ratelimit.PriorityFrom(ctx); p != ratelimit.Normal {
		t.Errorf("default priority %s, want normal", p)
	}
	if p := ratelimit.PriorityFrom(ratelimit.WithPriority(ctx, ratelimit.High)); p != ratelimit.High {
		t.Errorf("priority %s, want high", p)
	}
	if p := ratelimit.PriorityFrom(ratelimit.WithPriority(ctx, ratelimit.Priority(9))); p != ratelimit.High {
		t.Errorf("out-of-range priority read back as %s, want high", p)
	}
}

// Many goroutines on the real clock, some cancelled: every call returns,
// and the counters add up. Run with -race.
func TestConcurrentWaitersAllReturn(t *testing.T) {
	l := ratelimit.New(map[string]ratelimit.Rate{ratelimit.ElasticLoadBalancing: {PerSecond: 2000, Burst: 5}})
	ctx := testCtx(t)
	const n = 300
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := map[string]int{}
	for i := range n {
		wg.Go(func() {
			ctx := ctx
			if i%2 == 1 {
				ctx = ratelimit.WithPriority(ctx, ratelimit.High)
			}
			if i%5 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			err := l.Wait(ctx, "Elastic Load Balancing v2")
			mu.Lock()
			errs[fmt.Sprint(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	var calls, cancelled uint64
	for _, p := range []ratelimit.Priority{ratelimit.Normal, ratelimit.High} {
		s := stat(t, l, ratelimit.ElasticLoadBalancing, p)
		calls += s.Calls
		cancelled += s.Cancelled
		if s.Queued != 0 {
			t.Errorf("%s: %d still queued", p, s.Queued)
		}
	}
	if calls != n-n/5 || cancelled != n/5 {
		t.Errorf("calls %d, cancelled %d; want %d and %d (results %v)", calls, cancelled, n-n/5, n/5, errs)
	}
}

func BenchmarkWaitUnlimited(b *testing.B) {
	l := ratelimit.New(nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Wait(ctx, "EC2"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWaitAmple(b *testing.B) {
	// A limited bucket that never runs dry: the cost of taking a token.
	l := ratelimit.New(map[string]ratelimit.Rate{ratelimit.Route53: {PerSecond: 1e9, Burst: 1 << 30}})
	ctx := ratelimit.WithPriority(context.Background(), ratelimit.High)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Wait(ctx, "Route 53"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWaitAmpleParallel(b *testing.B) {
	l := ratelimit.New(map[string]ratelimit.Rate{ratelimit.Route53: {PerSecond: 1e9, Burst: 1 << 30}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := l.Wait(ctx, "Route 53"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
