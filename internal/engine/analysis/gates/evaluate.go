package gates

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Gate kinds in readings.
const (
	KindAlarm  = "alarm"
	KindMetric = "metric"
)

// CloudWatch alarm states.
const (
	alarmOK           = "OK"
	alarmAlarm        = "ALARM"
	alarmInsufficient = "INSUFFICIENT_DATA"
)

// noData is a metric reading's value when its window has no datapoint.
const noData = "no data"

// percentSlack keeps a change of exactly the limit (20% against
// max_drop_percent 20) from failing on floating-point noise.
const percentSlack = 1e-9

// inputs are what ReadAll read for all the requests of a tick.
type inputs struct {
	states    map[string]string
	alarmErr  error
	values    map[string]cloudwatch.Datapoint
	metricErr error
}

// outcome is one gate's part of a verdict.
type outcome struct {
	result  Result
	reading model.GateReading
	message string
}

// evaluate returns a request's verdict: the first failing gate, else the
// first that could not be read, else the first holding, else a pass.
func (in inputs) evaluate(r Request, now time.Time) Verdict {
	insufficient := r.Acceptance.InsufficientData
	outs := make([]outcome, 0, len(r.Alarms)+len(r.Acceptance.Metrics))
	seen := map[string]bool{}
	for _, a := range r.Alarms {
		if !seen[a] {
			seen[a] = true
			outs = append(outs, in.alarm(a, insufficient))
		}
	}
	for _, m := range r.Acceptance.Metrics {
		outs = append(outs, in.metric(m, now, insufficient))
	}
	v := Verdict{Result: Pass, Readings: make([]model.GateReading, len(outs))}
	for i, o := range outs {
		v.Readings[i] = o.reading
	}
	for _, want := range []Result{Fail, Error, Hold} {
		for _, o := range outs {
			if o.result == want {
				v.Result, v.Gate, v.Value, v.Bound, v.Message = want, o.reading.Name, o.reading.Value, o.reading.Bound, o.message
				return v
			}
		}
	}
	return v
}

// alarm evaluates one alarm: OK passes, ALARM fails, INSUFFICIENT_DATA
// follows insufficient_data, and a missing alarm is an error.
func (in inputs) alarm(name, insufficient string) outcome {
	r := model.GateReading{Name: name, Kind: KindAlarm, Bound: alarmOK}
	if in.alarmErr != nil {
		r.State, r.Value = model.GateError, "unreadable"
		return outcome{Error, r, in.alarmErr.Error()}
	}
	state, ok := in.states[name]
	r.Value = state
	switch {
	case !ok:
		r.State, r.Value = model.GateError, "does not exist"
		return outcome{Error, r, fmt.Sprintf("alarm %s does not exist", name)}
	case state == alarmOK:
		r.State = model.GateOK
		return outcome{Pass, r, ""}
	case state == alarmAlarm:
		r.State = model.GateFailing
		return outcome{Fail, r, ""}
	case state == alarmInsufficient:
		return insufficientData(r, insufficient, fmt.Sprintf("alarm %s has insufficient data", name))
	default:
		r.State = model.GateError
		return outcome{Error, r, fmt.Sprintf("alarm %s is in the unknown state %q", name, state)}
	}
}

// insufficientData applies insufficient_data to a gate without data: why
// says which.
func insufficientData(r model.GateReading, insufficient, why string) outcome {
	switch insufficient {
	case model.InsufficientFail:
		r.State = model.GateFailing
		return outcome{Fail, r, why + " (insufficient_data = fail)"}
	case model.InsufficientHold:
		r.State = model.GateInsufficient
		return outcome{Hold, r, why + "; the release holds until it has data (insufficient_data = hold)"}
	default:
		r.State = model.GateInsufficient
		return outcome{Pass, r, why + " (insufficient_data = ignore)"}
	}
}

// metric evaluates one metric gate over the last complete period: against
// min, then max, then the baseline.
func (in inputs) metric(m model.MetricGate, now time.Time, insufficient string) outcome {
	cur, base, hasBase := metricQueries(m, now)
	r := model.GateReading{Name: m.Name, Kind: KindMetric, Bound: bounds(m)}
	if in.metricErr != nil {
		r.State, r.Value = model.GateError, "unreadable"
		return outcome{Error, r, in.metricErr.Error()}
	}
	d := in.values[cur.Key()]
	if !d.Found {
		r.Value = noData
		return insufficientData(r, insufficient, "no datapoint of "+window(cur))
	}
	v := d.Value
	r.Value = Number(v)
	fail := func(bound string) outcome {
		r.State, r.Bound = model.GateFailing, bound
		return outcome{Fail, r, window(cur)}
	}
	if m.Min != nil && v < *m.Min {
		return fail("min " + Number(*m.Min))
	}
	if m.Max != nil && v > *m.Max {
		return fail("max " + Number(*m.Max))
	}
	if !hasBase {
		r.State = model.GateOK
		return outcome{Pass, r, ""}
	}
	ago := model.ShortDuration(time.Duration(m.Baseline.Offset))
	bd := in.values[base.Key()]
	if !bd.Found {
		r.Value = fmt.Sprintf("%s (no baseline datapoint of %s ago)", Number(v), ago)
		return insufficientData(r, insufficient, "no baseline datapoint of "+window(base))
	}
	change := percentChange(v, bd.Value)
	r.Value = fmt.Sprintf("%s (%s the baseline %s of %s ago)", Number(v), describeChange(change), Number(bd.Value), ago)
	if lim := m.Baseline.MaxDropPercent; lim != nil && -change > *lim+percentSlack {
		return fail(dropBound(*lim))
	}
	if lim := m.Baseline.MaxRisePercent; lim != nil && change > *lim+percentSlack {
		return fail(riseBound(*lim))
	}
	r.State = model.GateOK
	return outcome{Pass, r, ""}
}

// percentChange is how far v is from base, in percent of |base|: positive
// above it, negative below. From a base of 0 any change is infinite.
func percentChange(v, base float64) float64 {
	switch {
	case v == base:
		return 0
	case base == 0 && v > 0:
		return math.Inf(1)
	case base == 0:
		return math.Inf(-1)
	}
	return (v - base) / math.Abs(base) * 100
}

// describeChange says "45% below", "12% above", "equal to", or "above" and
// "below" for a change from 0.
func describeChange(change float64) string {
	switch {
	case change == 0:
		return "equal to"
	case math.IsInf(change, 1):
		return "above"
	case math.IsInf(change, -1):
		return "below"
	case change > 0:
		return Number(change) + "% above"
	default:
		return Number(-change) + "% below"
	}
}

func dropBound(p float64) string { return "at most " + Number(p) + "% below the baseline" }
func riseBound(p float64) string { return "at most " + Number(p) + "% above the baseline" }

// bounds describes everything a metric gate requires, for its reading:
// "min 0.15, max 0.9, at most 20% below the baseline".
func bounds(m model.MetricGate) string {
	var parts []string
	if m.Min != nil {
		parts = append(parts, "min "+Number(*m.Min))
	}
	if m.Max != nil {
		parts = append(parts, "max "+Number(*m.Max))
	}
	if b := m.Baseline; b != nil {
		if b.MaxDropPercent != nil {
			parts = append(parts, dropBound(*b.MaxDropPercent))
		}
		if b.MaxRisePercent != nil {
			parts = append(parts, riseBound(*b.MaxRisePercent))
		}
	}
	return strings.Join(parts, ", ")
}

// window names a query and its time range for messages.
func window(q cloudwatch.MetricQuery) string {
	return fmt.Sprintf("%s from %s to %s", q, q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
}

// Number formats a gate value with up to 4 significant digits ("0.11",
// "0.1235", "1234"), except that whole digits are never rounded away
// ("12346" for 12345.6); very small or very large values use an exponent
// ("1.5e-05").
func Number(f float64) string {
	a := math.Abs(f)
	switch {
	case f == 0:
		return "0"
	case math.IsNaN(f) || math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'g', -1, 64)
	case a >= 1e4 && a < 1e15:
		return strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	default: // 'g' uses an exponent only below 1e-4 and from 1e4
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
}
