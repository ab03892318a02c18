package darklaunch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/darklaunch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func spec() model.DarkLaunchSpec {
	return model.DarkLaunchSpec{Name: "chat-backend", ReleaseToggle: "chat-ui", Acceptance: model.DarkAcceptance{
		MinRequests: 100, MaxErrorRate: 0.05, MaxP99Latency: model.Duration(300 * time.Millisecond), MaxDiffRate: 0.1}}
}

func report(instance string, seq uint64, requests, errors, compared, diffs int64, latency time.Duration) shadow.Report {
	var h shadow.Histogram
	for range requests {
		h.Observe(latency)
	}
	return shadow.Report{Instance: instance, Sequence: seq, Stats: shadow.Snapshot{Requests: requests, Errors: errors, Compared: compared, Diffs: diffs, Latency: h,
		Samples: []shadow.Diff{{Time: t0, Method: "GET", Path: "/differ"}}}}
}

// Reports add up; a retried report (same instance and sequence) counts once.
func TestApplyDeduplicates(t *testing.T) {
	st := darklaunch.Initial(t0)
	if !st.Apply(report("a", 1, 10, 1, 10, 1, time.Millisecond), t0) || !st.Apply(report("b", 1, 5, 0, 5, 0, time.Millisecond), t0) {
		t.Fatal("fresh reports refused")
	}
	if st.Apply(report("a", 1, 10, 1, 10, 1, time.Millisecond), t0) {
		t.Fatal("a retried report was counted twice")
	}
	if f := st.Figures(); f.Requests != 15 || f.Errors != 1 || f.Diffs != 1 || len(st.Samples) != 2 {
		t.Fatalf("figures %+v, samples %d", f, len(st.Samples))
	}
	if got := st.Progress(spec().Acceptance); got != "15 of 100 requests, error rate 6.7 %" {
		t.Fatalf("progress %q", got)
	}
}

// Samples are capped at 100 and expire after 7 days.
func TestSamplesCappedAndExpire(t *testing.T) {
	st := darklaunch.Initial(t0)
	for i := range 120 {
		st.Apply(report("a", uint64(i+1), 1, 0, 1, 1, time.Millisecond), t0)
	}
	if len(st.Samples) != darklaunch.MaxSamples {
		t.Fatalf("%d samples kept, want %d", len(st.Samples), darklaunch.MaxSamples)
	}
	st.Expire(t0.Add(darklaunch.DiffRetention + time.Minute))
	if len(st.Samples) != 0 {
		t.Fatalf("%d samples left after 7 days", len(st.Samples))
	}
}

// The verdict waits for min_requests, then names the first bound exceeded.
func TestDecide(t *testing.T) {
	for _, tt := range []struct {
		name                          string
		requests, errors, comp, diffs int64
		latency                       time.Duration
		state                         string
		message                       string
	}{
		{"too few requests", 99, 0, 99, 0, time.Millisecond, model.DarkCollecting, "collecting: 99 of 100 requests"},
		{"proven", 100, 5, 100, 10, 100 * time.Millisecond, model.DarkProven, "proven after 100 requests"},
		{"errors", 100, 6, 100, 0, time.Millisecond, model.DarkFailed, "error rate 6.00% exceeds max_error_rate 5.00%"},
		{"latency", 100, 0, 100, 0, time.Second, model.DarkFailed, "exceeds max_p99_latency 300ms"},
		{"diffs", 100, 0, 100, 11, time.Millisecond, model.DarkFailed, "diff rate 11.00% exceeds max_diff_rate 10.00%"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := darklaunch.Initial(t0)
			st.Apply(report("a", 1, tt.requests, tt.errors, tt.comp, tt.diffs, tt.latency), t0)
			msg := darklaunch.Decide(spec(), &st, t0)
			if st.State != tt.state || !strings.Contains(st.Message, tt.message) {
				t.Fatalf("state %s, message %q; want %s with %q", st.State, st.Message, tt.state, tt.message)
			}
			if (tt.state == model.DarkCollecting) != (msg == "") {
				t.Fatalf("audit message %q for %s", msg, st.State)
			}
			if tt.state == model.DarkProven && (st.ProvenAt != t0 || !strings.Contains(msg, "toggle chat-ui is no longer held")) {
				t.Fatalf("proven: %+v %q", st, msg)
			}
		})
	}
}

// Pause, resume and reset.
func TestLifecycle(t *testing.T) {
	st := darklaunch.Initial(t0)
	if st.Pause("alice") == "" || st.State != model.DarkPaused || st.Active() {
		t.Fatalf("pause: %+v", st)
	}
	if st.Pause("alice") != "" {
		t.Fatal("pausing twice changed something")
	}
	if st.Resume("bob") == "" || st.State != model.DarkCollecting || !st.Active() {
		t.Fatalf("resume: %+v", st)
	}
	st.Apply(report("a", 1, 200, 100, 0, 0, time.Millisecond), t0)
	darklaunch.Decide(spec(), &st, t0)
	if st.State != model.DarkFailed || st.Active() {
		t.Fatalf("failed: %+v", st)
	}
	st.Reset("carol", t0.Add(time.Hour))
	if st.State != model.DarkCollecting || st.Totals.Requests != 0 || st.Epoch != 1 || !st.CollectingSince.Equal(t0.Add(time.Hour)) || !st.ProvenAt.IsZero() {
		t.Fatalf("reset: %+v", st)
	}

	// Resetting a proven launch never holds its release toggle again.
	st.Apply(report("a", 2, 200, 0, 0, 0, time.Millisecond), t0)
	darklaunch.Decide(spec(), &st, t0)
	if st.State != model.DarkProven {
		t.Fatalf("not proven: %+v", st)
	}
	if msg := st.Reset("dave", t0.Add(2*time.Hour)); st.ProvenAt != t0 || !strings.Contains(msg, "stays released") {
		t.Fatalf("reset of a proven launch: %q %+v", msg, st)
	}
}
