package model

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Approvals of a canary stage.
const (
	ApprovalAutomatic = "automatic"
	ApprovalManual    = "manual"
)

// What a gate does with an alarm in INSUFFICIENT_DATA or a metric without a
// datapoint.
const (
	InsufficientIgnore = "ignore" // the gate passes
	InsufficientHold   = "hold"   // progression pauses: no bake time accrues
	InsufficientFail   = "fail"   // the gate fails
)

// Canary policy limits and defaults.
const (
	DefaultCanaryCheckInterval = 10 * time.Second
	DefaultGateErrorLimit      = 3
	MaxCanaryStages            = 10
	MaxMetricGates             = 20
	MaxAlarmGates              = 100
	MaxRisePercent             = 1000
	// AudienceRuleOffset places an environment's audience rule one priority
	// ahead of its weighted rule (ALB evaluates lower numbers first).
	AudienceRuleOffset = 1
)

var (
	stageNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	headerRE    = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_` + "`" + `|~-]{1,40}$`)
	statRE      = regexp.MustCompile(`^p(\d{1,2}(\.\d{1,2})?|100)$`)
)

// CanaryPolicySpec is a staged rollout with acceptance gates. Environments
// name it in canary_policy; a release pins the version it started with.
type CanaryPolicySpec struct {
	Name          string        `json:"name"`
	CheckInterval Duration      `json:"check_interval"`
	Stages        []CanaryStage `json:"stages"`
	Acceptance    Acceptance    `json:"acceptance"`
}

// CanaryStage is one step of the rollout.
type CanaryStage struct {
	Name string `json:"name"`
	// TrafficPercent of ordinary traffic on the new slot, 0..100.
	TrafficPercent int      `json:"traffic_percent"`
	BakeTime       Duration `json:"bake_time"`
	Approval       string   `json:"approval,omitempty"`
	// Audience, when set, sends matching requests to the new slot through
	// an engine-owned ALB rule ahead of the weighted one.
	Audience *Audience `json:"audience,omitempty"`
}

// Manual reports whether the stage waits for promote once baked.
func (s CanaryStage) Manual() bool { return s.Approval == ApprovalManual }

// Audience is who reaches the new slot during a stage regardless of weights.
// SourceIPs and HTTPHeaders must all match when several are given.
type Audience struct {
	SourceIPs   []string     `json:"source_ips,omitempty"`
	HTTPHeaders []HTTPHeader `json:"http_headers,omitempty"`
}

// HTTPHeader matches a request header against values (any of them).
type HTTPHeader struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// ConditionValues counts the ALB condition values the audience adds to a rule.
func (a *Audience) ConditionValues() int {
	if a == nil {
		return 0
	}
	n := len(a.SourceIPs)
	for _, h := range a.HTTPHeaders {
		n += len(h.Values)
	}
	return n
}

// Acceptance is the gate checked every check_interval in every stage.
type Acceptance struct {
	AlarmNames       []string     `json:"alarm_names"`
	InsufficientData string       `json:"insufficient_data"`
	FailureLimit     int          `json:"failure_limit"`
	ErrorLimit       int          `json:"error_limit"`
	Metrics          []MetricGate `json:"metrics"`
}

// MetricGate bounds one CloudWatch metric over the last complete period.
type MetricGate struct {
	Name       string            `json:"name"`
	Namespace  string            `json:"namespace"`
	MetricName string            `json:"metric_name"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Statistic  string            `json:"statistic"`
	// Period in seconds: 60 or a multiple of 60, or 1, 5, 10, 30 for
	// high-resolution metrics.
	Period   int       `json:"period"`
	Min      *float64  `json:"min,omitempty"`
	Max      *float64  `json:"max,omitempty"`
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Baseline compares a metric with the same window Offset earlier.
type Baseline struct {
	Offset         Duration `json:"offset"`
	MaxDropPercent *float64 `json:"max_drop_percent,omitempty"`
	MaxRisePercent *float64 `json:"max_rise_percent,omitempty"`
}

// Normalize fills defaulted fields.
func (s *CanaryPolicySpec) Normalize() {
	if s.CheckInterval == 0 {
		s.CheckInterval = Duration(DefaultCanaryCheckInterval)
	}
	for i := range s.Stages {
		if s.Stages[i].Approval == "" {
			s.Stages[i].Approval = ApprovalAutomatic
		}
	}
	a := &s.Acceptance
	if a.AlarmNames == nil {
		a.AlarmNames = []string{}
	}
	if a.Metrics == nil {
		a.Metrics = []MetricGate{}
	}
	if a.InsufficientData == "" {
		a.InsufficientData = InsufficientIgnore
	}
	if a.ErrorLimit == 0 {
		a.ErrorLimit = DefaultGateErrorLimit
	}
	for i := range a.Metrics {
		m := &a.Metrics[i]
		if m.Period == 0 {
			m.Period = 60
		}
		if m.Statistic == "" {
			m.Statistic = "Average"
		}
	}
}

// MinDuration is the least time a release under the policy takes: the sum
// of the bake times.
func (s *CanaryPolicySpec) MinDuration() time.Duration {
	var d time.Duration
	for _, st := range s.Stages {
		d += time.Duration(st.BakeTime)
	}
	return d
}

// Summary lists the stages and the minimum duration, as the plan shows it:
// "employees 10m → early-customers 15m → fleet 15m, at least 40m".
func (s *CanaryPolicySpec) Summary() string {
	parts := make([]string, len(s.Stages))
	for i, st := range s.Stages {
		parts[i] = st.Name + " " + ShortDuration(time.Duration(st.BakeTime))
		if st.Manual() {
			parts[i] += " (manual approval)"
		}
	}
	return strings.Join(parts, " → ") + ", at least " + ShortDuration(s.MinDuration())
}

// ShortDuration writes d without zero units: 10m rather than 10m0s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// HasAudiences reports whether any stage has an audience (which needs alb).
func (s *CanaryPolicySpec) HasAudiences() bool {
	for _, st := range s.Stages {
		if st.Audience != nil {
			return true
		}
	}
	return false
}

// Validate checks a canary policy, reporting every problem with a pointer.
func (s *CanaryPolicySpec) Validate() error {
	var p Problems
	switch {
	case s.Name == "":
		p.Add("/name", "the policy name is required: 1 to 63 lower-case letters, digits and hyphens, such as \"standard\"")
	case !envNameRE.MatchString(s.Name):
		p.Add("/name", "the policy name "+quote(s.Name)+" is not valid: use 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	if s.CheckInterval != 0 && time.Duration(s.CheckInterval) < time.Second {
		p.Add("/check_interval", fmt.Sprintf("check_interval %s is under 1s: gates are read at most once a second", time.Duration(s.CheckInterval)))
	}
	s.validateStages(&p)
	s.Acceptance.validate(&p)
	return p.Err()
}

func (s *CanaryPolicySpec) validateStages(p *Problems) {
	switch {
	case len(s.Stages) == 0:
		p.Add("/stages", "a policy needs at least one stage; the last one sends 100% of traffic to the new slot")
		return
	case len(s.Stages) > MaxCanaryStages:
		p.Add("/stages", fmt.Sprintf("%d stages is more than the limit of %d", len(s.Stages), MaxCanaryStages))
	}
	seen := map[string]int{}
	prev := -1
	for i, st := range s.Stages {
		base := Pointer("stages", i)
		switch {
		case !stageNameRE.MatchString(st.Name):
			p.Add(base+"/name", "the stage name "+quote(st.Name)+" is not valid: use 1 to 63 lower-case letters, digits, hyphens and underscores")
		default:
			if j, dup := seen[st.Name]; dup {
				p.Add(base+"/name", fmt.Sprintf("the stage name %q is used by stage %d too; stage names must be unique", st.Name, j+1))
			}
			seen[st.Name] = i
		}
		switch {
		case st.TrafficPercent < 0 || st.TrafficPercent > 100:
			p.Add(base+"/traffic_percent", fmt.Sprintf("traffic_percent %d is outside 0..100", st.TrafficPercent))
		case st.TrafficPercent < prev:
			p.Add(base+"/traffic_percent", fmt.Sprintf("traffic_percent %d is below the previous stage's %d: stages may only send more traffic to the new slot", st.TrafficPercent, prev))
		}
		prev = max(prev, st.TrafficPercent)
		if st.BakeTime < 0 {
			p.Add(base+"/bake_time", "bake_time cannot be negative")
		}
		switch st.Approval {
		case "", ApprovalAutomatic, ApprovalManual:
		default:
			p.Add(base+"/approval", "approval "+quote(st.Approval)+" is not valid: use automatic or manual")
		}
		if st.Audience != nil {
			st.Audience.validate(p, base+"/audience")
		}
	}
	last := s.Stages[len(s.Stages)-1]
	base := Pointer("stages", len(s.Stages)-1)
	if last.TrafficPercent != 100 {
		p.Add(base+"/traffic_percent", fmt.Sprintf("the last stage sends %d%%; it must send 100%% so that the release ends with the new slot serving everyone", last.TrafficPercent))
	}
	if last.Audience != nil {
		p.Add(base+"/audience", "the last stage sends everyone to the new slot, so an audience there has no effect; remove it")
	}
}

func (a *Audience) validate(p *Problems, base string) {
	if len(a.SourceIPs) == 0 && len(a.HTTPHeaders) == 0 {
		p.Add(base, "an audience needs source_ips or an http_header (or both)")
	}
	for i, ip := range a.SourceIPs {
		if _, err := netip.ParsePrefix(ip); err != nil {
			p.Add(base+Pointer("source_ips", i), quote(ip)+" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32")
		}
	}
	for i, h := range a.HTTPHeaders {
		hb := base + Pointer("http_headers", i)
		if !headerRE.MatchString(h.Name) {
			p.Add(hb+"/name", "the header name "+quote(h.Name)+" is not valid: 1 to 40 token characters such as x-employee")
		}
		if len(h.Values) == 0 {
			p.Add(hb+"/values", "an http_header needs at least one value")
		}
		for j, v := range h.Values {
			if v == "" || len(v) > 128 {
				p.Add(hb+Pointer("values", j), "a header value must be 1 to 128 characters (* and ? are wildcards)")
			}
		}
	}
	if n := a.ConditionValues(); n > MaxConditionValues {
		p.Add(base, fmt.Sprintf("the audience has %d condition values; ALB allows %d per rule, together with the environment's host headers and path patterns", n, MaxConditionValues))
	}
}

func (a *Acceptance) validate(p *Problems) {
	switch a.InsufficientData {
	case "", InsufficientIgnore, InsufficientHold, InsufficientFail:
	default:
		p.Add("/acceptance/insufficient_data", "insufficient_data "+quote(a.InsufficientData)+" is not valid: use ignore, hold or fail")
	}
	if a.FailureLimit < 0 {
		p.Add("/acceptance/failure_limit", "failure_limit cannot be negative")
	}
	if a.ErrorLimit < 0 {
		p.Add("/acceptance/error_limit", "error_limit cannot be negative")
	}
	if len(a.AlarmNames) > MaxAlarmGates {
		p.Add("/acceptance/alarm_names", fmt.Sprintf("%d alarms is more than the limit of %d", len(a.AlarmNames), MaxAlarmGates))
	}
	for i, n := range a.AlarmNames {
		if strings.TrimSpace(n) == "" || len(n) > 255 {
			p.Add(Pointer("acceptance", "alarm_names", i), "an alarm name must be 1 to 255 characters")
		}
	}
	if len(a.Metrics) > MaxMetricGates {
		p.Add("/acceptance/metrics", fmt.Sprintf("%d metrics is more than the limit of %d", len(a.Metrics), MaxMetricGates))
	}
	names := map[string]bool{}
	for i, m := range a.Metrics {
		base := Pointer("acceptance", "metrics", i)
		if !stageNameRE.MatchString(m.Name) {
			p.Add(base+"/name", "the metric gate name "+quote(m.Name)+" is not valid: use 1 to 63 lower-case letters, digits, hyphens and underscores")
		} else if names[m.Name] {
			p.Add(base+"/name", fmt.Sprintf("the metric gate name %q is used twice; names must be unique", m.Name))
		}
		names[m.Name] = true
		m.validate(p, base)
	}
}

func (m *MetricGate) validate(p *Problems, base string) {
	if m.Namespace == "" || len(m.Namespace) > 255 {
		p.Add(base+"/namespace", "namespace must be 1 to 255 characters, such as AWS/ApplicationELB")
	}
	if m.MetricName == "" || len(m.MetricName) > 255 {
		p.Add(base+"/metric_name", "metric_name must be 1 to 255 characters")
	}
	if len(m.Dimensions) > 30 {
		p.Add(base+"/dimensions", "CloudWatch allows at most 30 dimensions")
	}
	if !ValidStatistic(m.Statistic) {
		p.Add(base+"/statistic", "statistic "+quote(m.Statistic)+" is not valid: use Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99 or p99.9")
	}
	switch {
	case m.Period == 1 || m.Period == 5 || m.Period == 10 || m.Period == 30:
	case m.Period >= 60 && m.Period%60 == 0 && m.Period <= 86400:
	case m.Period == 0: // default
	default:
		p.Add(base+"/period", fmt.Sprintf("period %d is not valid: use 60 or a multiple of 60 seconds (up to 86400), or 1, 5, 10 or 30 for high-resolution metrics", m.Period))
	}
	for ptr, v := range map[string]*float64{"/min": m.Min, "/max": m.Max} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			p.Add(base+ptr, "the bound must be a finite number")
		}
	}
	if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
		p.Add(base+"/max", fmt.Sprintf("max %s is below min %s", ftoa(*m.Max), ftoa(*m.Min)))
	}
	b := m.Baseline
	if m.Min == nil && m.Max == nil && b == nil {
		p.Add(base, "metric "+quote(m.Name)+" has no bound: set min, max or a baseline")
	}
	if b == nil {
		return
	}
	if b.Offset <= 0 {
		p.Add(base+"/baseline/offset", "offset must be positive, such as 168h to compare with the same window a week ago")
	} else if time.Duration(b.Offset) > 455*24*time.Hour {
		p.Add(base+"/baseline/offset", "offset is beyond CloudWatch's 455 days of retention")
	}
	if b.MaxDropPercent == nil && b.MaxRisePercent == nil {
		p.Add(base+"/baseline", "a baseline needs max_drop_percent or max_rise_percent")
	}
	if d := b.MaxDropPercent; d != nil && (*d < 0 || *d > 100 || math.IsNaN(*d)) {
		p.Add(base+"/baseline/max_drop_percent", fmt.Sprintf("max_drop_percent %s is outside 0..100", ftoa(*d)))
	}
	if r := b.MaxRisePercent; r != nil && (*r < 0 || *r > MaxRisePercent || math.IsNaN(*r)) {
		p.Add(base+"/baseline/max_rise_percent", fmt.Sprintf("max_rise_percent %s is outside 0..%d", ftoa(*r), MaxRisePercent))
	}
}

// ValidStatistic reports whether s is a CloudWatch statistic the gates
// support: the five simple ones or a percentile pNN.
func ValidStatistic(s string) bool {
	switch s {
	case "Average", "Sum", "Minimum", "Maximum", "SampleCount":
		return true
	}
	if m := statRE.FindStringSubmatch(s); m != nil {
		v, err := strconv.ParseFloat(m[1], 64)
		return err == nil && v >= 0 && v <= 100
	}
	return false
}

// ExtendedStatistic reports whether s is a percentile (GetMetricData's
// extended statistics).
func ExtendedStatistic(s string) bool { return strings.HasPrefix(s, "p") }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// CheckAudienceFit checks that every audience of policy fits ALB's limit of
// condition values per rule together with the environment's own conditions,
// and that the environment routes through an ALB at all. It returns field
// errors on the environment's canary_policy.
func CheckAudienceFit(env *EnvironmentSpec, policy *CanaryPolicySpec) []FieldError {
	var errs []FieldError
	for i, st := range policy.Stages {
		if st.Audience == nil {
			continue
		}
		if env.ALB == nil {
			errs = append(errs, FieldError{Pointer: "/canary_policy", Detail: fmt.Sprintf(
				"canary policy %q sends an audience to the new slot in stage %q, which needs an ALB environment; this environment routes with route53: use a policy without audiences",
				policy.Name, st.Name)})
			return errs
		}
		paths := len(env.ALB.PathPatterns)
		if paths == 0 {
			paths = 1
		}
		n := len(env.ALB.HostHeaders) + paths + st.Audience.ConditionValues()
		if n > MaxConditionValues {
			errs = append(errs, FieldError{Pointer: "/canary_policy", Detail: fmt.Sprintf(
				"stage %d (%q) of canary policy %q adds %d audience condition values to this environment's %d host headers and path patterns: %d in all, and ALB allows %d per rule",
				i+1, st.Name, policy.Name, st.Audience.ConditionValues(), n-st.Audience.ConditionValues(), n, MaxConditionValues)})
		}
	}
	return errs
}
