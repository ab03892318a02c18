// Package darklaunch keeps a dark launch's figures and decides its verdict.
//
// Proxies (`progressive shadow`) and the engine's own synthetic load send
// reports (shadow.Report): the figures of a few seconds each. Status adds
// them up, ignoring a report it has already counted (a proxy retries a
// report whose answer it did not get), keeps up to MaxSamples sample diffs
// for DiffRetention, and Decide moves the launch from collecting to proven
// or failed once min_requests copies reached the dark backend:
//
//	collecting ──(min_requests reached, every bound holds)──▶ proven
//	     │
//	     └──────(min_requests reached, a bound is exceeded)──▶ failed
//	paused: set and cleared by operators; nothing is mirrored or generated
//	reset:  back to collecting with empty figures
//
// It does no I/O: the API stores the Status on the dark launch object.
package darklaunch

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

// Limits of what a Status keeps.
const (
	MaxSamples = 100
	// DiffRetention is how long sample diffs are kept.
	DiffRetention = model.DarkLaunchDiffRetention
	// maxProxies bounds the proxies remembered for deduplication.
	maxProxies = 1000
)

// Status is what the engine records on a dark launch object.
type Status struct {
	// State is collecting, proven, failed or paused.
	State string `json:"state"`
	// Message says why the state is what it is (for failed: the bound).
	Message         string    `json:"message,omitempty"`
	CollectingSince time.Time `json:"collecting_since,omitzero"`
	ProvenAt        time.Time `json:"proven_at,omitzero"`
	FailedAt        time.Time `json:"failed_at,omitzero"`
	// Totals are the figures since collecting began.
	Totals shadow.Snapshot `json:"totals"`
	// Samples are the most recent sample diffs, at most MaxSamples.
	Samples []Sample `json:"samples,omitempty"`
	// Proxies are the reporters seen, for deduplication and for people.
	Proxies map[string]Proxy `json:"proxies,omitempty"`
	// Preview says whether the ALB preview rule is in place.
	Preview        string `json:"preview,omitempty"`
	PreviewMessage string `json:"preview_message,omitempty"`
	// Epoch counts resets, so that reports of an earlier run are ignored.
	Epoch int64 `json:"epoch,omitempty"`
}

// Sample is one sample diff and the proxy that saw it.
type Sample struct {
	Instance string `json:"instance"`
	shadow.Diff
}

// Proxy is one reporter's last report.
type Proxy struct {
	Sequence   uint64    `json:"sequence"`
	LastReport time.Time `json:"last_report"`
	Revision   string    `json:"revision,omitempty"`
	// ConfigError is set while the proxy refuses the config it was served.
	ConfigError string `json:"config_error,omitempty"`
}

// Initial is the status of a new dark launch.
func Initial(now time.Time) Status {
	return Status{State: model.DarkCollecting, CollectingSince: now, Message: "collecting: no requests have reached the dark backend yet"}
}

// Active reports whether mirroring and synthetic load should run.
func (s Status) Active() bool { return s.State == model.DarkCollecting || s.State == model.DarkProven }

// Apply adds a report's figures. It reports false, changing nothing, for a
// report already counted; reports arriving while the launch is paused or
// failed are counted too (copies in flight when it stopped), but they do
// not change a verdict.
func (s *Status) Apply(r shadow.Report, now time.Time) bool {
	if s.Proxies == nil {
		s.Proxies = map[string]Proxy{}
	}
	p, seen := s.Proxies[r.Instance]
	if seen && r.Sequence != 0 && r.Sequence <= p.Sequence {
		return false
	}
	if !seen && len(s.Proxies) >= maxProxies {
		s.forgetOldestProxy()
	}
	s.Proxies[r.Instance] = Proxy{Sequence: r.Sequence, LastReport: now, Revision: string(r.Revision), ConfigError: r.ConfigError}
	samples := r.Stats.Samples
	r.Stats.Samples = nil
	s.Totals.Merge(r.Stats, 0)
	s.Totals.Samples = nil
	for _, d := range samples {
		s.Samples = append(s.Samples, Sample{Instance: r.Instance, Diff: d})
	}
	s.Expire(now)
	return true
}

// Expire drops sample diffs older than DiffRetention, and the oldest beyond
// MaxSamples.
func (s *Status) Expire(now time.Time) {
	keep := s.Samples[:0]
	for _, d := range s.Samples {
		if d.Time.IsZero() || now.Sub(d.Time) < DiffRetention {
			keep = append(keep, d)
		}
	}
	if len(keep) > MaxSamples {
		keep = keep[len(keep)-MaxSamples:]
	}
	s.Samples = keep
}

func (s *Status) forgetOldestProxy() {
	var oldest string
	var at time.Time
	for k, p := range s.Proxies {
		if oldest == "" || p.LastReport.Before(at) {
			oldest, at = k, p.LastReport
		}
	}
	delete(s.Proxies, oldest)
}

// Figures are the live figures people read.
type Figures struct {
	Requests   int64          `json:"requests"`
	Synthetic  int64          `json:"synthetic"`
	Errors     int64          `json:"errors"`
	ErrorRate  float64        `json:"error_rate"`
	P50Latency model.Duration `json:"p50_latency"`
	P99Latency model.Duration `json:"p99_latency"`
	Compared   int64          `json:"compared"`
	Diffs      int64          `json:"diffs"`
	DiffRate   float64        `json:"diff_rate"`
	Dropped    int64          `json:"dropped"`
	Skipped    int64          `json:"skipped"`
}

// Figures sums up the totals.
func (s Status) Figures() Figures {
	t := s.Totals
	return Figures{
		Requests: t.Requests, Synthetic: t.Synthetic, Errors: t.Errors, ErrorRate: t.ErrorRate(),
		P50Latency: model.Duration(t.Latency.Quantile(0.5)), P99Latency: model.Duration(t.Latency.Quantile(0.99)),
		Compared: t.Compared, Diffs: t.Diffs, DiffRate: t.DiffRate(), Dropped: t.Dropped, Skipped: t.Skipped,
	}
}

// Progress says how far collecting has come, as a held toggle's refusal
// shows it: "3,200 of 10,000 requests, error rate 0.4 %".
func (s Status) Progress(a model.DarkAcceptance) string {
	return model.DarkProgress(s.Totals.Requests, a.MinRequests, s.Totals.ErrorRate())
}

// Decide moves a collecting launch to proven or failed once min_requests
// copies reached the dark backend, and returns the audit message of the
// transition ("" when nothing changed).
func Decide(spec model.DarkLaunchSpec, s *Status, now time.Time) string {
	if s.State != model.DarkCollecting {
		return ""
	}
	a := spec.Acceptance
	t := s.Totals
	if t.Requests < max(a.MinRequests, 1) {
		s.Message = "collecting: " + s.Progress(a)
		return ""
	}
	f := s.Figures()
	var violated string
	switch {
	case f.ErrorRate > a.MaxErrorRate:
		violated = fmt.Sprintf("error rate %s exceeds max_error_rate %s (%d of %d requests failed)", pct(f.ErrorRate), pct(a.MaxErrorRate), t.Errors, t.Requests)
	case a.MaxP99Latency > 0 && f.P99Latency > a.MaxP99Latency:
		violated = fmt.Sprintf("p99 latency %s exceeds max_p99_latency %s", time.Duration(f.P99Latency).Round(time.Millisecond), time.Duration(a.MaxP99Latency))
	case spec.Compare.IsEnabled() && f.DiffRate > a.MaxDiffRate:
		violated = fmt.Sprintf("diff rate %s exceeds max_diff_rate %s (%d of %d compared responses differ)", pct(f.DiffRate), pct(a.MaxDiffRate), t.Diffs, t.Compared)
	}
	if violated != "" {
		s.State, s.FailedAt = model.DarkFailed, now
		s.Message = "failed after " + fmt.Sprint(t.Requests) + " requests: " + violated + "; fix the dark backend, then `progressive dark reset " + spec.Name + "`"
		return "dark launch failed: " + violated
	}
	s.State, s.ProvenAt = model.DarkProven, now
	s.Message = fmt.Sprintf("proven after %d requests: error rate %s, p99 %s, diff rate %s", t.Requests, pct(f.ErrorRate),
		time.Duration(f.P99Latency).Round(time.Millisecond), pct(f.DiffRate))
	msg := "dark launch proven: " + s.Message
	if spec.ReleaseToggle != "" {
		msg += "; toggle " + spec.ReleaseToggle + " is no longer held"
	}
	return msg
}

// Pause stops mirroring and synthetic load; Resume restarts them where they
// were; Reset starts collecting afresh.
func (s *Status) Pause(actor string) string {
	if s.State == model.DarkPaused {
		return ""
	}
	s.State, s.Message = model.DarkPaused, "paused by "+actor+": nothing is mirrored or generated"
	return s.Message
}

// Resume continues collecting after a pause (a proven launch stays proven).
func (s *Status) Resume(actor string) string {
	if s.State != model.DarkPaused {
		return ""
	}
	s.State, s.Message = model.DarkCollecting, "resumed by "+actor
	if !s.ProvenAt.IsZero() {
		s.State = model.DarkProven
	}
	return s.Message
}

// Reset starts collecting afresh, with empty figures. A launch that was
// proven stays proven for its release toggle: a reset never takes back a
// toggle that customers may already see.
func (s *Status) Reset(actor string, now time.Time) string {
	epoch := s.Epoch + 1
	preview, pm, provenAt := s.Preview, s.PreviewMessage, s.ProvenAt
	*s = Initial(now)
	s.Epoch, s.Preview, s.PreviewMessage, s.ProvenAt = epoch, preview, pm, provenAt
	s.Message = "reset by " + actor + ": collecting afresh"
	if !provenAt.IsZero() {
		s.Message += "; the release toggle stays released (proven at " + provenAt.UTC().Format(time.RFC3339) + ")"
	}
	return s.Message
}

func pct(f float64) string {
	return fmt.Sprintf("%.2f%%", f*100)
}

// StatusOf decodes a stored status; an empty one is a new launch's.
func StatusOf(raw []byte, createdAt time.Time) Status {
	var st Status
	if len(raw) == 0 || json.Unmarshal(raw, &st) != nil || st.State == "" {
		return Initial(createdAt)
	}
	return st
}

// ApplyReport adds rep to the stored status cur and decides the verdict:
// the new status, the audit message of a transition ("" without one), and
// whether anything changed (false for a report already counted).
func ApplyReport(spec model.DarkLaunchSpec, cur []byte, createdAt time.Time, rep shadow.Report, now time.Time) (next []byte, msg string, changed bool, err error) {
	st := StatusOf(cur, createdAt)
	if !st.Apply(rep, now) {
		return nil, "", false, nil
	}
	msg = Decide(spec, &st, now)
	next, err = json.Marshal(st)
	return next, msg, true, err
}
