// Package gates evaluates the acceptance gates of releases: CloudWatch
// alarms, and metric bounds and baselines.
//
// The controller reads every release due for a gate check in one tick with
// one ReadAll. ReadAll asks CloudWatch once for the distinct alarms of all
// the requests (States batches them 100 names a call) and once for their
// distinct metric queries (Values groups them by window, 500 a call), so AWS
// calls grow with distinct alarms and metrics, not with releases. Each
// request then gets its own Verdict.
//
// A verdict is, in this order of precedence:
//   - Fail: a gate is beyond its bound (the first one: alarms in request
//     order, then metric gates in policy order); with insufficient_data =
//     fail, a gate without data fails too;
//   - Error: a gate could not be read (CloudWatch unreachable, an alarm that
//     does not exist, AWS not configured);
//   - Hold: a gate has no data and insufficient_data = hold;
//   - Pass: everything else, including gates without data under
//     insufficient_data = ignore (the default, and the zero value).
//
// A metric gate reads the last complete period, aligned to period
// boundaries (cloudwatch.Window); its baseline reads the same window offset
// earlier. A window without a datapoint is insufficient data, for the metric
// and for its baseline alike.
//
// Baseline changes are relative to |baseline|: drop% = (baseline − value) /
// |baseline| × 100, and rise% the opposite. A baseline of 0 has no relative
// scale: a value equal to it is no change, any value above it is an
// unbounded rise (which fails whenever max_rise_percent is set), any value
// below it an unbounded drop (which fails whenever max_drop_percent is set;
// for counts and rates, which are never negative, a drop from 0 cannot
// happen).
package gates

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// AlarmStates reads CloudWatch alarm states by name; alarms that do not
// exist are absent from the answer. cloudwatch.Alarms is one.
type AlarmStates interface {
	States(ctx context.Context, names []string) (map[string]string, error)
}

// MetricValues reads metric datapoints by query key. cloudwatch.Metrics is
// one.
type MetricValues interface {
	Values(ctx context.Context, queries []cloudwatch.MetricQuery) (map[string]cloudwatch.Datapoint, error)
}

// Request is one release's gates.
type Request struct {
	// Alarms are every alarm to check: the policy's alarm_names and the
	// environment's rollback_alarms, merged by the caller
	// (Acceptance.AlarmNames is not read).
	Alarms []string
	// Acceptance holds the metric gates and insufficient_data, which
	// applies to alarms and metrics alike. A release without a policy sends
	// the zero value: no metric gates, insufficient data ignored.
	Acceptance model.Acceptance
}

// Result is a verdict's outcome.
type Result int

// Results, from the best to the worst news for a release's progress; see
// the package documentation for their precedence.
const (
	Pass  Result = iota // every gate holds
	Fail                // a gate is beyond its bound
	Hold                // a gate has no data and insufficient_data = hold: no progression
	Error               // a gate could not be read
)

func (r Result) String() string {
	switch r {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	case Hold:
		return "hold"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Verdict is a request's outcome. Unless it passes, Gate names the gate
// that decided it (an alarm name or a metric gate's name), Value and Bound
// say what it read and required ("0.11", "min 0.15"), and Message adds
// detail: the error, why data is missing, or which metric and window.
type Verdict struct {
	Result  Result
	Gate    string
	Value   string
	Bound   string
	Message string
	// Readings are every gate's reading: alarms in request order, then
	// metric gates.
	Readings []model.GateReading
}

// Errors for gates that need a reader the engine does not have.
var (
	ErrNoAlarms  = errors.New("AWS is not configured, so alarms cannot be read")
	ErrNoMetrics = errors.New("AWS is not configured, so metrics cannot be read")
)

// Reader reads and evaluates gates. A nil Alarms or Metrics is allowed:
// requests whose gates need it get an Error verdict.
type Reader struct {
	Alarms  AlarmStates
	Metrics MetricValues
}

// Read evaluates one request; ReadAll is the batched form.
func (rd Reader) Read(ctx context.Context, now time.Time, req Request) Verdict {
	return rd.ReadAll(ctx, now, []Request{req})[0]
}

// ReadAll evaluates every request at now, and returns their verdicts in
// the same order. It makes at most one States call (for the distinct alarm
// names of all requests) and one Values call (for their distinct metric
// queries: each gate's current window and its baseline window), the two
// concurrently.
func (rd Reader) ReadAll(ctx context.Context, now time.Time, reqs []Request) []Verdict {
	var names []string
	var queries []cloudwatch.MetricQuery
	seenAlarm, seenQuery := map[string]bool{}, map[string]bool{}
	addQuery := func(q cloudwatch.MetricQuery) {
		if k := q.Key(); !seenQuery[k] {
			seenQuery[k] = true
			queries = append(queries, q)
		}
	}
	for _, r := range reqs {
		for _, a := range r.Alarms {
			if !seenAlarm[a] {
				seenAlarm[a] = true
				names = append(names, a)
			}
		}
		for _, m := range r.Acceptance.Metrics {
			cur, base, hasBase := metricQueries(m, now)
			addQuery(cur)
			if hasBase {
				addQuery(base)
			}
		}
	}

	// Alarms and metrics are read side by side: a tick waits for the
	// slower of the two, not their sum.
	var in inputs
	var wg sync.WaitGroup
	if len(names) > 0 {
		if rd.Alarms == nil {
			in.alarmErr = ErrNoAlarms
		} else {
			wg.Go(func() { in.states, in.alarmErr = rd.Alarms.States(ctx, names) })
		}
	}
	if len(queries) > 0 {
		if rd.Metrics == nil {
			in.metricErr = ErrNoMetrics
		} else {
			wg.Go(func() { in.values, in.metricErr = rd.Metrics.Values(ctx, queries) })
		}
	}
	wg.Wait()

	out := make([]Verdict, len(reqs))
	for i, r := range reqs {
		out[i] = in.evaluate(r, now)
	}
	return out
}

// metricQueries returns a metric gate's query over the last complete period
// and, when it has a baseline, the same window offset earlier.
func metricQueries(m model.MetricGate, now time.Time) (cur, base cloudwatch.MetricQuery, hasBase bool) {
	period := m.Period
	if period <= 0 {
		period = 60
	}
	stat := m.Statistic
	if stat == "" {
		stat = "Average"
	}
	cur = cloudwatch.MetricQuery{
		Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: m.Dimensions,
		Statistic: stat, Period: period,
	}
	cur.Start, cur.End = cloudwatch.Window(now, period, 0)
	if m.Baseline == nil {
		return cur, base, false
	}
	base = cur
	base.Start, base.End = cloudwatch.Window(now, period, time.Duration(m.Baseline.Offset))
	return cur, base, true
}
