package shadow_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

// source is a ConfigSource whose answer the test sets.
type source struct {
	mu    sync.Mutex
	cfg   shadow.Config
	err   error
	calls int
}

func (s *source) Fetch(context.Context) (shadow.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.cfg, s.err
}

func (s *source) set(c shadow.Config, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg, s.err = c, err
}

func (s *source) fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// reporter is a Reporter that keeps what it receives, or fails when told.
type reporter struct {
	mu      sync.Mutex
	reports []shadow.Report
	err     error
}

func (r *reporter) Report(_ context.Context, rep shadow.Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.reports = append(r.reports, rep)
	return nil
}

func (r *reporter) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func (r *reporter) received() []shadow.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]shadow.Report(nil), r.reports...)
}

// total adds up reports.
func total(reports []shadow.Report) shadow.Snapshot {
	var s shadow.Snapshot
	for _, r := range reports {
		s.Merge(r.Stats, -1)
	}
	return s
}

// The agent fails open: with the engine down at start the proxy forwards
// to its fallback unmirrored; once the config arrives it mirrors; when
// the engine goes down again, or serves an invalid config, it keeps the
// last good one; reports wait for the engine and arrive in order; Close
// drains the copies in flight into a last report.
func TestAgentFailOpen(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p, err := shadow.NewProxy(shadow.Options{Fallback: live.URL})
	if err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	src := &source{err: errors.New("engine unreachable")}
	rep := &reporter{}
	// Hour-long intervals: the test drives Poll and Flush itself.
	a := shadow.NewAgent(p, src, rep, shadow.AgentOptions{DarkLaunch: "chat-backend", PollInterval: time.Hour, ReportInterval: time.Hour, Instance: "test-1"})
	ctx := context.Background()

	if err := a.Start(ctx); err == nil || !strings.Contains(err.Error(), "engine unreachable") {
		t.Fatalf("start: %v", err)
	}
	if status, _ := get(t, front+"/same"); status != http.StatusOK {
		t.Fatalf("no config yet: status %d", status)
	}

	c := config(live.URL, dark.URL)
	src.set(c, nil)
	if err := a.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	get(t, front+"/same")

	src.set(shadow.Config{}, errors.New("engine unreachable"))
	if err := a.Poll(ctx); err == nil {
		t.Fatal("a failed fetch must say so")
	}
	get(t, front+"/differs")

	bad := c
	bad.MirrorPercent, bad.Revision = 150, "2"
	src.set(bad, nil)
	if err := a.Poll(ctx); err == nil || !strings.Contains(err.Error(), "mirror_percent") {
		t.Fatalf("invalid config: %v", err)
	}
	if cur, _ := p.Config(); cur.Revision != "1" || cur.MirrorPercent != 100 {
		t.Fatalf("the last good config must stay: %+v", cur)
	}
	get(t, front+"/fail")
	waitFor(t, "three copies at dark", func() bool { return len(dark.requests()) == 3 })

	rep.fail(errors.New("engine unreachable"))
	if err := a.Flush(ctx); err == nil {
		t.Fatal("a failed report must say so")
	}
	if err := a.Flush(ctx); err == nil || a.Pending() != 2 {
		t.Fatalf("pending %d after two failed reports (%v)", a.Pending(), err)
	}
	rep.fail(nil)
	get(t, front+"/slow")
	stopServing(p)
	closeCtx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := a.Close(closeCtx); err != nil {
		t.Fatal(err)
	}

	got := rep.received()
	if len(got) != 3 || a.Pending() != 0 {
		t.Fatalf("%d reports delivered, %d pending; want 3 and 0", len(got), a.Pending())
	}
	for i, r := range got {
		if r.Sequence != uint64(i+1) || r.Instance != "test-1" || r.DarkLaunch != "chat-backend" || r.Revision != "1" {
			t.Fatalf("report %d: %+v", i, r)
		}
		if !strings.Contains(r.ConfigError, "mirror_percent") {
			t.Fatalf("report %d does not say the served config is refused: %q", i, r.ConfigError)
		}
		if i > 0 && !r.From.Equal(got[i-1].To) {
			t.Fatalf("report %d starts at %v, the previous ended at %v", i, r.From, got[i-1].To)
		}
	}
	// Four copies (the /slow one drained by Close), one of them a 500.
	s := total(got)
	if s.Requests != 4 || s.Errors != 1 || s.Compared != 4 || s.Diffs != 2 {
		t.Fatalf("reported %+v", s)
	}
}

// A new revision ends the period: figures before the change are reported
// under the old revision.
func TestAgentRevisionEndsPeriod(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	front := serve(t, p)
	c := config(live.URL, dark.URL)
	src := &source{cfg: c}
	rep := &reporter{}
	pub := &publisher{}
	a := shadow.NewAgent(p, src, rep, shadow.AgentOptions{PollInterval: time.Hour, ReportInterval: time.Hour, Publisher: pub})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	get(t, front+"/same")
	get(t, front+"/same")
	waitFor(t, "two copies at dark", func() bool { return len(dark.requests()) == 2 })
	c.Revision, c.MirrorPercent = "2", 0
	src.set(c, nil)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	get(t, front+"/same")
	stopServing(p)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := rep.received()
	if len(got) != 2 || got[0].Revision != "1" || got[1].Revision != "2" {
		t.Fatalf("reports %+v", got)
	}
	if s := total(got); s.Requests != 2 {
		t.Fatalf("%d copies reported, want 2", s.Requests)
	}
	// The publisher saw each report once.
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.reports) != 2 || pub.reports[0].Sequence != 1 || pub.reports[1].Sequence != 2 {
		t.Fatalf("published %+v", pub.reports)
	}
}

// publisher is a Publisher that keeps what it receives.
type publisher struct {
	mu      sync.Mutex
	reports []shadow.Report
}

func (p *publisher) Publish(_ context.Context, r shadow.Report) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports = append(p.reports, r)
	return nil
}

// In the background the agent polls and reports on its own, and never
// calls the engine on a request's path.
func TestAgentBackground(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	front := serve(t, p)
	src := &source{cfg: config(live.URL, dark.URL)}
	rep := &reporter{}
	a := shadow.NewAgent(p, src, rep, shadow.AgentOptions{PollInterval: 10 * time.Millisecond, ReportInterval: 10 * time.Millisecond})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "polls and reports", func() bool { return src.fetches() >= 3 && len(rep.received()) >= 2 })
	before := src.fetches()
	for range 50 {
		get(t, front+"/same")
	}
	// Fifty requests; the fetches in the meantime are the poll's, a few
	// at most, never one per request.
	if n := src.fetches() - before; n >= 50 {
		t.Fatalf("%d fetches during 50 requests", n)
	}
	waitFor(t, "the copies to be reported", func() bool { return total(rep.received()).Requests == 50 })
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// Undelivered reports are kept up to MaxPending; beyond, the oldest merge,
// so no figure is lost.
func TestAgentPendingMerge(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	front := serve(t, p)
	rep := &reporter{err: errors.New("down")}
	a := shadow.NewAgent(p, &source{cfg: config(live.URL, dark.URL)}, rep, shadow.AgentOptions{PollInterval: time.Hour, ReportInterval: time.Hour, MaxPending: 3})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		get(t, front+"/same")
		waitFor(t, "the copy at dark", func() bool { return len(dark.requests()) == i+1 })
		_ = a.Flush(context.Background())
	}
	if a.Pending() != 3 {
		t.Fatalf("pending %d, want 3", a.Pending())
	}
	rep.fail(nil)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := rep.received()
	if len(got) != 3 {
		t.Fatalf("%d reports", len(got))
	}
	if s := total(got); s.Requests != 6 {
		t.Fatalf("%d copies reported, want 6", s.Requests)
	}
}

// A dark launch that was deleted stops mirroring; live traffic still flows.
func TestAgentStopsMirroringWhenGone(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p, err := shadow.NewProxy(shadow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	src := &source{}
	src.set(config(live.URL, dark.URL), nil)
	a := shadow.NewAgent(p, src, &reporter{}, shadow.AgentOptions{DarkLaunch: "chat-backend", PollInterval: time.Hour, ReportInterval: time.Hour, Instance: "test-1"})
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(ctx) })
	get(t, front+"/same")
	waitFor(t, "one copy at dark", func() bool { return len(dark.requests()) == 1 })

	src.set(shadow.Config{}, fmt.Errorf("%w: 404", shadow.ErrGone))
	if err := a.Poll(ctx); !errors.Is(err, shadow.ErrGone) {
		t.Fatalf("poll: %v", err)
	}
	if cur, _ := p.Config(); !cur.Paused {
		t.Fatalf("mirroring goes on after the dark launch was deleted: %+v", cur)
	}
	if status, _ := get(t, front+"/same"); status != http.StatusOK {
		t.Fatalf("live after the dark launch was deleted: %d", status)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(dark.requests()); n != 1 {
		t.Fatalf("%d copies reached dark, want the one made before the deletion", n)
	}
}

// A proxy polls every second, so an engine that stays unreachable is
// logged once when fetches start failing (then once a minute), and once
// when they work again; a refused config is logged when its reason
// changes, not at every poll.
func TestAgentLogsFetchFailuresOnce(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	src := &source{cfg: config(live.URL, dark.URL)}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a := shadow.NewAgent(p, src, &reporter{}, shadow.AgentOptions{DarkLaunch: "chat-backend", PollInterval: time.Hour, ReportInterval: time.Hour, Logger: log})
	ctx := context.Background()

	src.set(shadow.Config{}, errors.New("connection refused"))
	for range 5 {
		if err := a.Poll(ctx); err == nil {
			t.Fatal("a failed fetch returned no error")
		}
	}
	good := config(live.URL, dark.URL)
	src.set(good, nil)
	if err := a.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.MirrorPercent, bad.Revision = 250, "2"
	src.set(bad, nil)
	for range 3 {
		if err := a.Poll(ctx); err == nil {
			t.Fatal("an invalid config was applied")
		}
	}
	out := logs.String()
	if n := strings.Count(out, "fetch failed"); n != 1 {
		t.Errorf("5 failed fetches logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "fetched again") || !strings.Contains(out, "failed_fetches=5") {
		t.Errorf("the recovery was not logged with the count of failed fetches:\n%s", out)
	}
	if n := strings.Count(out, "config refused"); n != 1 {
		t.Errorf("3 polls of the same invalid config logged %d times, want once:\n%s", n, out)
	}
	if got, _ := p.Config(); got.MirrorPercent != good.MirrorPercent {
		t.Errorf("mirror percent %v, want the last valid config's %v", got.MirrorPercent, good.MirrorPercent)
	}
}
