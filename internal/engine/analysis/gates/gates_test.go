package gates_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/gates"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// now is mid-minute, so the current window of a 60s metric is 11:59–12:00.
var now = time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)

// fakeAlarms answers States from a fixed map, leaving out unknown names as
// CloudWatch does, and records each call's names.
type fakeAlarms struct {
	states map[string]string
	err    error
	calls  [][]string
}

func (f *fakeAlarms) States(_ context.Context, names []string) (map[string]string, error) {
	f.calls = append(f.calls, slices.Clone(names))
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]string{}
	for _, n := range names {
		if s, ok := f.states[n]; ok {
			out[n] = s
		}
	}
	return out, nil
}

// fakeMetrics answers Values by metric name: cur holds the values of the
// current window, base those of any earlier (baseline) window; a name
// absent from the map has no datapoint. It records each call's queries.
type fakeMetrics struct {
	cur, base map[string]float64
	err       error
	calls     [][]cloudwatch.MetricQuery
}

func (f *fakeMetrics) Values(_ context.Context, qs []cloudwatch.MetricQuery) (map[string]cloudwatch.Datapoint, error) {
	f.calls = append(f.calls, slices.Clone(qs))
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]cloudwatch.Datapoint{}
	for _, q := range qs {
		values := f.base
		if _, end := cloudwatch.Window(now, q.Period, 0); q.End.Equal(end) {
			values = f.cur
		}
		if v, ok := values[q.MetricName]; ok {
			out[q.Key()] = cloudwatch.Datapoint{Found: true, Value: v, Timestamp: q.Start}
		} else {
			out[q.Key()] = cloudwatch.Datapoint{}
		}
	}
	return out, nil
}

func ptr(f float64) *float64 { return &f }

// conversion is a metric gate on Shop Conversions with the given bounds.
func conversion(min, max *float64, baseline *model.Baseline) model.MetricGate {
	return model.MetricGate{
		Name: "conversion", Namespace: "Shop", MetricName: "Conversions", Dimensions: map[string]string{"Service": "checkout"},
		Statistic: "Average", Period: 60, Min: min, Max: max, Baseline: baseline,
	}
}

func week(drop, rise *float64) *model.Baseline {
	return &model.Baseline{Offset: model.Duration(168 * time.Hour), MaxDropPercent: drop, MaxRisePercent: rise}
}

func acceptance(insufficient string, metrics ...model.MetricGate) model.Acceptance {
	return model.Acceptance{InsufficientData: insufficient, Metrics: metrics}
}

// reading is a compact GateReading for comparisons: "name kind state value | bound".
func reading(r model.GateReading) string {
	return fmt.Sprintf("%s %s %s %s | %s", r.Name, r.Kind, r.State, r.Value, r.Bound)
}

func TestVerdicts(t *testing.T) {
	const window = "Shop Conversions Average (60s, Service=checkout) from 2025-03-01T11:59:00Z to 2025-03-01T12:00:00Z"
	const baseWindow = "Shop Conversions Average (60s, Service=checkout) from 2025-02-22T11:59:00Z to 2025-02-22T12:00:00Z"
	readErr := errors.New("CloudWatch DescribeAlarms: connection refused")
	cases := []struct {
		name      string
		req       gates.Request
		states    map[string]string
		alarmErr  error
		cur, base map[string]float64
		metricErr error
		noAlarms  bool // Reader without Alarms
		noMetrics bool // Reader without Metrics

		result   gates.Result
		gate     string
		value    string
		bound    string
		message  string
		readings []string
	}{
		{
			name:     "no gates pass",
			result:   gates.Pass,
			readings: []string{},
		},
		{
			name:     "alarms OK pass",
			req:      gates.Request{Alarms: []string{"a", "b"}},
			states:   map[string]string{"a": "OK", "b": "OK"},
			result:   gates.Pass,
			readings: []string{"a alarm ok OK | OK", "b alarm ok OK | OK"},
		},
		{
			name:   "an alarm in ALARM fails",
			req:    gates.Request{Alarms: []string{"a", "b", "c"}},
			states: map[string]string{"a": "OK", "b": "ALARM", "c": "ALARM"},
			result: gates.Fail, gate: "b", value: "ALARM", bound: "OK",
			readings: []string{"a alarm ok OK | OK", "b alarm failing ALARM | OK", "c alarm failing ALARM | OK"},
		},
		{
			name:     "a duplicated alarm is read once",
			req:      gates.Request{Alarms: []string{"a", "a"}},
			states:   map[string]string{"a": "OK"},
			result:   gates.Pass,
			readings: []string{"a alarm ok OK | OK"},
		},
		{
			name:     "insufficient alarm with the zero value passes",
			req:      gates.Request{Alarms: []string{"a"}},
			states:   map[string]string{"a": "INSUFFICIENT_DATA"},
			result:   gates.Pass,
			readings: []string{"a alarm insufficient_data INSUFFICIENT_DATA | OK"},
		},
		{
			name:     "insufficient alarm with ignore passes",
			req:      gates.Request{Alarms: []string{"a"}, Acceptance: acceptance(model.InsufficientIgnore)},
			states:   map[string]string{"a": "INSUFFICIENT_DATA"},
			result:   gates.Pass,
			readings: []string{"a alarm insufficient_data INSUFFICIENT_DATA | OK"},
		},
		{
			name:   "insufficient alarm with hold holds",
			req:    gates.Request{Alarms: []string{"ok", "a"}, Acceptance: acceptance(model.InsufficientHold)},
			states: map[string]string{"ok": "OK", "a": "INSUFFICIENT_DATA"},
			result: gates.Hold, gate: "a", value: "INSUFFICIENT_DATA", bound: "OK",
			message:  "alarm a has insufficient data; the release holds until it has data (insufficient_data = hold)",
			readings: []string{"ok alarm ok OK | OK", "a alarm insufficient_data INSUFFICIENT_DATA | OK"},
		},
		{
			name:   "insufficient alarm with fail fails",
			req:    gates.Request{Alarms: []string{"a"}, Acceptance: acceptance(model.InsufficientFail)},
			states: map[string]string{"a": "INSUFFICIENT_DATA"},
			result: gates.Fail, gate: "a", value: "INSUFFICIENT_DATA", bound: "OK",
			message:  "alarm a has insufficient data (insufficient_data = fail)",
			readings: []string{"a alarm failing INSUFFICIENT_DATA | OK"},
		},
		{
			name:   "a deleted alarm is an error",
			req:    gates.Request{Alarms: []string{"a", "gone"}},
			states: map[string]string{"a": "OK"},
			result: gates.Error, gate: "gone", value: "does not exist", bound: "OK",
			message:  "alarm gone does not exist",
			readings: []string{"a alarm ok OK | OK", "gone alarm error does not exist | OK"},
		},
		{
			name:   "an unknown alarm state is an error",
			req:    gates.Request{Alarms: []string{"a"}},
			states: map[string]string{"a": "MAYBE"},
			result: gates.Error, gate: "a", value: "MAYBE", bound: "OK",
			message:  `alarm a is in the unknown state "MAYBE"`,
			readings: []string{"a alarm error MAYBE | OK"},
		},
		{
			name:     "a failed alarm read is an error",
			req:      gates.Request{Alarms: []string{"a", "b"}},
			alarmErr: readErr,
			result:   gates.Error, gate: "a", value: "unreadable", bound: "OK",
			message:  readErr.Error(),
			readings: []string{"a alarm error unreadable | OK", "b alarm error unreadable | OK"},
		},
		{
			name:     "alarms without AWS are an error",
			req:      gates.Request{Alarms: []string{"a"}},
			noAlarms: true,
			result:   gates.Error, gate: "a", value: "unreadable", bound: "OK",
			message:  "AWS is not configured, so alarms cannot be read",
			readings: []string{"a alarm error unreadable | OK"},
		},
		{
			name:   "a fail wins over an earlier error",
			req:    gates.Request{Alarms: []string{"gone", "a"}},
			states: map[string]string{"a": "ALARM"},
			result: gates.Fail, gate: "a", value: "ALARM", bound: "OK",
			readings: []string{"gone alarm error does not exist | OK", "a alarm failing ALARM | OK"},
		},
		{
			name:   "an error wins over an earlier hold",
			req:    gates.Request{Alarms: []string{"a", "gone"}, Acceptance: acceptance(model.InsufficientHold)},
			states: map[string]string{"a": "INSUFFICIENT_DATA"},
			result: gates.Error, gate: "gone", value: "does not exist", bound: "OK",
			message:  "alarm gone does not exist",
			readings: []string{"a alarm insufficient_data INSUFFICIENT_DATA | OK", "gone alarm error does not exist | OK"},
		},
		{
			name:   "an alarm fails before a metric",
			req:    gates.Request{Alarms: []string{"a"}, Acceptance: acceptance("", conversion(ptr(0.15), nil, nil))},
			states: map[string]string{"a": "ALARM"},
			cur:    map[string]float64{"Conversions": 0.11},
			result: gates.Fail, gate: "a", value: "ALARM", bound: "OK",
			readings: []string{"a alarm failing ALARM | OK", "conversion metric failing 0.11 | min 0.15"},
		},
		{
			name:     "a metric fail wins over an alarm read error",
			req:      gates.Request{Alarms: []string{"a"}, Acceptance: acceptance("", conversion(ptr(0.15), nil, nil))},
			alarmErr: readErr,
			cur:      map[string]float64{"Conversions": 0.11},
			result:   gates.Fail, gate: "conversion", value: "0.11", bound: "min 0.15", message: window,
			readings: []string{"a alarm error unreadable | OK", "conversion metric failing 0.11 | min 0.15"},
		},
		{
			name:     "a metric within its bounds passes",
			req:      gates.Request{Acceptance: acceptance("", conversion(ptr(0.15), ptr(0.9), nil))},
			cur:      map[string]float64{"Conversions": 0.5},
			result:   gates.Pass,
			readings: []string{"conversion metric ok 0.5 | min 0.15, max 0.9"},
		},
		{
			name:     "a metric at its bounds passes",
			req:      gates.Request{Acceptance: acceptance("", conversion(ptr(0.15), ptr(0.15), nil))},
			cur:      map[string]float64{"Conversions": 0.15},
			result:   gates.Pass,
			readings: []string{"conversion metric ok 0.15 | min 0.15, max 0.15"},
		},
		{
			name:   "a metric below min fails",
			req:    gates.Request{Acceptance: acceptance("", conversion(ptr(0.15), ptr(0.9), nil))},
			cur:    map[string]float64{"Conversions": 0.11},
			result: gates.Fail, gate: "conversion", value: "0.11", bound: "min 0.15", message: window,
			readings: []string{"conversion metric failing 0.11 | min 0.15"},
		},
		{
			name:   "a metric above max fails",
			req:    gates.Request{Acceptance: acceptance("", conversion(ptr(0.15), ptr(0.9), nil))},
			cur:    map[string]float64{"Conversions": 0.912345},
			result: gates.Fail, gate: "conversion", value: "0.9123", bound: "max 0.9", message: window,
			readings: []string{"conversion metric failing 0.9123 | max 0.9"},
		},
		{
			name:     "a metric without data is ignored by default",
			req:      gates.Request{Acceptance: acceptance("", conversion(ptr(0.15), nil, nil))},
			result:   gates.Pass,
			readings: []string{"conversion metric insufficient_data no data | min 0.15"},
		},
		{
			name:   "a metric without data holds",
			req:    gates.Request{Acceptance: acceptance(model.InsufficientHold, conversion(ptr(0.15), nil, nil))},
			result: gates.Hold, gate: "conversion", value: "no data", bound: "min 0.15",
			message:  "no datapoint of " + window + "; the release holds until it has data (insufficient_data = hold)",
			readings: []string{"conversion metric insufficient_data no data | min 0.15"},
		},
		{
			name:   "a metric without data fails",
			req:    gates.Request{Acceptance: acceptance(model.InsufficientFail, conversion(ptr(0.15), nil, nil))},
			result: gates.Fail, gate: "conversion", value: "no data", bound: "min 0.15",
			message:  "no datapoint of " + window + " (insufficient_data = fail)",
			readings: []string{"conversion metric failing no data | min 0.15"},
		},
		{
			name:   "a drop beyond max_drop_percent fails",
			req:    gates.Request{Acceptance: acceptance("", conversion(ptr(0.05), nil, week(ptr(20), nil)))},
			cur:    map[string]float64{"Conversions": 0.11},
			base:   map[string]float64{"Conversions": 0.2},
			result: gates.Fail, gate: "conversion",
			value: "0.11 (45% below the baseline 0.2 of 168h ago)", bound: "at most 20% below the baseline", message: window,
			readings: []string{"conversion metric failing 0.11 (45% below the baseline 0.2 of 168h ago) | at most 20% below the baseline"},
		},
		{
			name:     "a drop of exactly max_drop_percent passes",
			req:      gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(20), nil)))},
			cur:      map[string]float64{"Conversions": 0.16},
			base:     map[string]float64{"Conversions": 0.2},
			result:   gates.Pass,
			readings: []string{"conversion metric ok 0.16 (20% below the baseline 0.2 of 168h ago) | at most 20% below the baseline"},
		},
		{
			name:   "a rise beyond max_rise_percent fails",
			req:    gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(20), ptr(25))))},
			cur:    map[string]float64{"Conversions": 0.3},
			base:   map[string]float64{"Conversions": 0.2},
			result: gates.Fail, gate: "conversion",
			value: "0.3 (50% above the baseline 0.2 of 168h ago)", bound: "at most 25% above the baseline", message: window,
			readings: []string{"conversion metric failing 0.3 (50% above the baseline 0.2 of 168h ago) | at most 25% above the baseline"},
		},
		{
			name:     "a rise passes without max_rise_percent",
			req:      gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(20), nil)))},
			cur:      map[string]float64{"Conversions": 0.3},
			base:     map[string]float64{"Conversions": 0.2},
			result:   gates.Pass,
			readings: []string{"conversion metric ok 0.3 (50% above the baseline 0.2 of 168h ago) | at most 20% below the baseline"},
		},
		{
			name:     "a drop passes without max_drop_percent",
			req:      gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(nil, ptr(10))))},
			cur:      map[string]float64{"Conversions": 0.01},
			base:     map[string]float64{"Conversions": 0.2},
			result:   gates.Pass,
			readings: []string{"conversion metric ok 0.01 (95% below the baseline 0.2 of 168h ago) | at most 10% above the baseline"},
		},
		{
			name:   "a negative baseline compares against its magnitude",
			req:    gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(20), nil)))},
			cur:    map[string]float64{"Conversions": -15},
			base:   map[string]float64{"Conversions": -10},
			result: gates.Fail, gate: "conversion",
			value: "-15 (50% below the baseline -10 of 168h ago)", bound: "at most 20% below the baseline", message: window,
			readings: []string{"conversion metric failing -15 (50% below the baseline -10 of 168h ago) | at most 20% below the baseline"},
		},
		{
			name:     "zero against a zero baseline is no change",
			req:      gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(0), ptr(0))))},
			cur:      map[string]float64{"Conversions": 0},
			base:     map[string]float64{"Conversions": 0},
			result:   gates.Pass,
			readings: []string{"conversion metric ok 0 (equal to the baseline 0 of 168h ago) | at most 0% below the baseline, at most 0% above the baseline"},
		},
		{
			name:   "any rise from a zero baseline fails max_rise_percent",
			req:    gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(20), ptr(1000))))},
			cur:    map[string]float64{"Conversions": 0.001},
			base:   map[string]float64{"Conversions": 0},
			result: gates.Fail, gate: "conversion",
			value: "0.001 (above the baseline 0 of 168h ago)", bound: "at most 1000% above the baseline", message: window,
			readings: []string{"conversion metric failing 0.001 (above the baseline 0 of 168h ago) | at most 1000% above the baseline"},
		},
		{
			name:     "a rise from a zero baseline passes with only max_drop_percent",
			req:      gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(20), nil)))},
			cur:      map[string]float64{"Conversions": 3},
			base:     map[string]float64{"Conversions": 0},
			result:   gates.Pass,
			readings: []string{"conversion metric ok 3 (above the baseline 0 of 168h ago) | at most 20% below the baseline"},
		},
		{
			name:   "a fall below a zero baseline fails max_drop_percent",
			req:    gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(100), nil)))},
			cur:    map[string]float64{"Conversions": -1},
			base:   map[string]float64{"Conversions": 0},
			result: gates.Fail, gate: "conversion",
			value: "-1 (below the baseline 0 of 168h ago)", bound: "at most 100% below the baseline", message: window,
			readings: []string{"conversion metric failing -1 (below the baseline 0 of 168h ago) | at most 100% below the baseline"},
		},
		{
			name:   "a missing baseline is insufficient data",
			req:    gates.Request{Acceptance: acceptance(model.InsufficientHold, conversion(ptr(0.1), nil, week(ptr(20), nil)))},
			cur:    map[string]float64{"Conversions": 0.2},
			result: gates.Hold, gate: "conversion",
			value: "0.2 (no baseline datapoint of 168h ago)", bound: "min 0.1, at most 20% below the baseline",
			message:  "no baseline datapoint of " + baseWindow + "; the release holds until it has data (insufficient_data = hold)",
			readings: []string{"conversion metric insufficient_data 0.2 (no baseline datapoint of 168h ago) | min 0.1, at most 20% below the baseline"},
		},
		{
			name:     "a missing baseline is ignored by default",
			req:      gates.Request{Acceptance: acceptance("", conversion(nil, nil, week(ptr(20), nil)))},
			cur:      map[string]float64{"Conversions": 0.2},
			result:   gates.Pass,
			readings: []string{"conversion metric insufficient_data 0.2 (no baseline datapoint of 168h ago) | at most 20% below the baseline"},
		},
		{
			name:   "min fails even without a baseline datapoint",
			req:    gates.Request{Acceptance: acceptance(model.InsufficientHold, conversion(ptr(0.15), nil, week(ptr(20), nil)))},
			cur:    map[string]float64{"Conversions": 0.11},
			result: gates.Fail, gate: "conversion", value: "0.11", bound: "min 0.15", message: window,
			readings: []string{"conversion metric failing 0.11 | min 0.15"},
		},
		{
			name: "metric gates fail in order",
			req: gates.Request{Acceptance: acceptance("",
				model.MetricGate{Name: "latency", Namespace: "Shop", MetricName: "Latency", Statistic: "p99", Period: 60, Max: ptr(0.5)},
				model.MetricGate{Name: "errors", Namespace: "Shop", MetricName: "Errors", Statistic: "Sum", Period: 60, Max: ptr(10)},
				model.MetricGate{Name: "orders", Namespace: "Shop", MetricName: "Orders", Statistic: "Sum", Period: 60, Min: ptr(1)},
			)},
			cur:    map[string]float64{"Latency": 0.25, "Errors": 12345.6, "Orders": 0},
			result: gates.Fail, gate: "errors", value: "12346", bound: "max 10",
			message:  "Shop Errors Sum (60s) from 2025-03-01T11:59:00Z to 2025-03-01T12:00:00Z",
			readings: []string{"latency metric ok 0.25 | max 0.5", "errors metric failing 12346 | max 10", "orders metric failing 0 | min 1"},
		},
		{
			name:      "a failed metric read is an error",
			req:       gates.Request{Acceptance: acceptance("", conversion(ptr(0.15), nil, nil))},
			metricErr: errors.New("CloudWatch GetMetricData: throttled"),
			result:    gates.Error, gate: "conversion", value: "unreadable", bound: "min 0.15",
			message:  "CloudWatch GetMetricData: throttled",
			readings: []string{"conversion metric error unreadable | min 0.15"},
		},
		{
			name:      "metrics without AWS are an error",
			req:       gates.Request{Alarms: []string{"a"}, Acceptance: acceptance("", conversion(ptr(0.15), nil, nil))},
			states:    map[string]string{"a": "OK"},
			noMetrics: true,
			result:    gates.Error, gate: "conversion", value: "unreadable", bound: "min 0.15",
			message:  "AWS is not configured, so metrics cannot be read",
			readings: []string{"a alarm ok OK | OK", "conversion metric error unreadable | min 0.15"},
		},
		{
			name:      "a blue-green release without gates needs no AWS",
			req:       gates.Request{},
			noAlarms:  true,
			noMetrics: true,
			result:    gates.Pass,
			readings:  []string{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rd gates.Reader
			if !c.noAlarms {
				rd.Alarms = &fakeAlarms{states: c.states, err: c.alarmErr}
			}
			if !c.noMetrics {
				rd.Metrics = &fakeMetrics{cur: c.cur, base: c.base, err: c.metricErr}
			}
			v := rd.Read(context.Background(), now, c.req)
			if v.Result != c.result || v.Gate != c.gate || v.Value != c.value || v.Bound != c.bound {
				t.Errorf("verdict = %s gate %q value %q bound %q, want %s gate %q value %q bound %q",
					v.Result, v.Gate, v.Value, v.Bound, c.result, c.gate, c.value, c.bound)
			}
			if v.Message != c.message {
				t.Errorf("message = %q\n want %q", v.Message, c.message)
			}
			if v.Readings == nil {
				t.Error("readings are nil; they should be empty when there are no gates")
			}
			got := make([]string, len(v.Readings))
			for i, r := range v.Readings {
				got[i] = reading(r)
			}
			if !slices.Equal(got, c.readings) {
				t.Errorf("readings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.readings, "\n"))
			}
		})
	}
}

// A metric gate reads the last complete period aligned to its period, and
// its baseline the same window offset earlier; the period and statistic
// default to 60 and Average.
func TestMetricWindows(t *testing.T) {
	m := &fakeMetrics{}
	at := time.Date(2025, 3, 1, 12, 7, 30, 0, time.UTC)
	rd := gates.Reader{Metrics: m}
	rd.Read(context.Background(), at, gates.Request{Acceptance: acceptance("",
		model.MetricGate{Name: "orders", Namespace: "Shop", MetricName: "Orders", Statistic: "Sum", Period: 300, Min: ptr(1),
			Baseline: &model.Baseline{Offset: model.Duration(24 * time.Hour), MaxDropPercent: ptr(10)}},
		model.MetricGate{Name: "defaults", Namespace: "Shop", MetricName: "Conversions", Max: ptr(1)},
	)})
	if len(m.calls) != 1 {
		t.Fatalf("%d Values calls, want 1", len(m.calls))
	}
	var got []string
	for _, q := range m.calls[0] {
		got = append(got, fmt.Sprintf("%s %s %d %s..%s", q.MetricName, q.Statistic, q.Period, q.Start.Format("01-02T15:04"), q.End.Format("01-02T15:04")))
	}
	want := []string{
		"Orders Sum 300 03-01T12:00..03-01T12:05",
		"Orders Sum 300 02-28T12:00..02-28T12:05",
		"Conversions Average 60 03-01T12:06..03-01T12:07",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("queries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// 200 releases, each with its own alarm and its own metric gate, and all
// with one shared alarm and one shared metric gate with a baseline: one
// States call for the 201 distinct alarms, one Values call for the 202
// distinct queries (the shared gate's current and baseline windows, and
// each release's own), and one verdict per release in order.
func TestReadAllBatches(t *testing.T) {
	const n = 200
	states := map[string]string{"shared": "OK"}
	cur := map[string]float64{"Conversions": 0.2}
	base := map[string]float64{"Conversions": 0.2}
	var reqs []gates.Request
	for i := range n {
		own := fmt.Sprintf("release-%03d-5xx", i)
		states[own] = "OK"
		cur[fmt.Sprintf("Errors%03d", i)] = 1
		reqs = append(reqs, gates.Request{
			Alarms: []string{own, "shared"},
			Acceptance: acceptance(model.InsufficientHold,
				conversion(nil, nil, week(ptr(20), nil)),
				model.MetricGate{Name: "errors", Namespace: "Shop", MetricName: fmt.Sprintf("Errors%03d", i), Statistic: "Sum", Period: 60, Max: ptr(5)},
			),
		})
	}
	states["release-007-5xx"] = "ALARM"
	cur["Errors042"] = 9
	alarms, metrics := &fakeAlarms{states: states}, &fakeMetrics{cur: cur, base: base}

	verdicts := gates.Reader{Alarms: alarms, Metrics: metrics}.ReadAll(context.Background(), now, reqs)

	if len(alarms.calls) != 1 || len(alarms.calls[0]) != n+1 {
		t.Fatalf("States calls = %d, names in the first = %d; want 1 call with %d names", len(alarms.calls), len(alarms.calls[0]), n+1)
	}
	if distinct := len(slices.Compact(slices.Sorted(slices.Values(alarms.calls[0])))); distinct != n+1 {
		t.Fatalf("%d distinct names in %d", distinct, len(alarms.calls[0]))
	}
	if len(metrics.calls) != 1 || len(metrics.calls[0]) != n+2 {
		t.Fatalf("Values calls = %d, queries in the first = %d; want 1 call with %d queries", len(metrics.calls), len(metrics.calls[0]), n+2)
	}
	keys := map[string]bool{}
	for _, q := range metrics.calls[0] {
		keys[q.Key()] = true
	}
	if len(keys) != n+2 {
		t.Fatalf("%d distinct query keys in %d queries: %v", len(keys), n+2, slices.Collect(maps.Keys(keys))[:3])
	}
	if len(verdicts) != n {
		t.Fatalf("%d verdicts for %d requests", len(verdicts), n)
	}
	for i, v := range verdicts {
		want, gate := gates.Pass, ""
		switch i {
		case 7:
			want, gate = gates.Fail, "release-007-5xx"
		case 42:
			want, gate = gates.Fail, "errors"
		}
		if v.Result != want || v.Gate != gate || len(v.Readings) != 4 {
			t.Errorf("verdict %d = %s %q with %d readings, want %s %q with 4", i, v.Result, v.Gate, len(v.Readings), want, gate)
		}
	}
}

// Requests without gates call nothing.
func TestReadAllWithoutGatesCallsNothing(t *testing.T) {
	alarms, metrics := &fakeAlarms{}, &fakeMetrics{}
	vs := gates.Reader{Alarms: alarms, Metrics: metrics}.ReadAll(context.Background(), now, []gates.Request{{}, {}})
	if len(alarms.calls)+len(metrics.calls) != 0 || len(vs) != 2 || vs[0].Result != gates.Pass || vs[1].Result != gates.Pass {
		t.Fatalf("calls %d+%d, verdicts %+v", len(alarms.calls), len(metrics.calls), vs)
	}
}

func TestNumber(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", 0.11: "0.11", 0.2: "0.2", 0.123456: "0.1235", 1: "1", 45: "45", 44.99999999: "45", 1234.5678: "1235",
		12345.6: "12346", -0.5: "-0.5", 0.00001234: "1.234e-05", 0.0001234: "0.0001234", 2e20: "2e+20", 100: "100",
	} {
		if got := gates.Number(f); got != want {
			t.Errorf("Number(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[gates.Result]string{gates.Pass: "pass", gates.Fail: "fail", gates.Hold: "hold", gates.Error: "error", 9: "Result(9)"} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(r), r.String(), want)
		}
	}
}
