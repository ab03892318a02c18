package model

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Object kinds of blue-green releases.
const (
	KindEnvironment  = "environment"
	KindRelease      = "release"
	KindCanaryPolicy = "canary-policy"
)

// Slot names.
const (
	SlotBlue  = "blue"
	SlotGreen = "green"
)

// OtherSlot returns the slot that is not s.
func OtherSlot(s string) string {
	if s == SlotGreen {
		return SlotBlue
	}
	return SlotGreen
}

// On-destroy behaviours of an environment.
const (
	OnDestroyRetain        = "retain"
	OnDestroyRemoveRouting = "remove_routing"
)

// ALB limits that apply to the rules the engine owns.
const (
	MinRulePriority = 10
	MaxRulePriority = 50000
	// RulePriorityBlock is how many priorities an environment owns:
	// rule_priority-9 .. rule_priority.
	RulePriorityBlock = 10
	// MaxConditionValues is ALB's limit of values per rule.
	MaxConditionValues = 5
	MaxRoute53TTL      = 172800
)

var envNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
var elbARNRE = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:(listener|targetgroup)/.+$`)

// EnvironmentSpec is a blue-green environment as its owner writes it: the
// two slots, what is deployed in each, and how traffic reaches them.
type EnvironmentSpec struct {
	Name            string    `json:"name"`
	InitialLiveSlot string    `json:"initial_live_slot,omitempty"`
	Blue            Slot      `json:"blue"`
	Green           Slot      `json:"green"`
	ALB             *ALB      `json:"alb,omitempty"`
	Route53         *Route53  `json:"route53,omitempty"`
	SmokeTest       SmokeTest `json:"smoke_test"`
	CanaryPolicy    string    `json:"canary_policy,omitempty"`
	BakeTime        Duration  `json:"bake_time"`
	RollbackAlarms  []string  `json:"rollback_alarms"`
	CheckInterval   Duration  `json:"check_interval"`
	OnDestroy       string    `json:"on_destroy,omitempty"`
	// Deleting is set by the engine when a delete waits for the leader to
	// remove the routing (on_destroy = remove_routing); callers' values are
	// ignored.
	Deleting bool `json:"deleting,omitempty"`
}

// Slot is one of the two production slots.
type Slot struct {
	Version        string `json:"version"`
	TargetGroupARN string `json:"target_group_arn,omitempty"`
	DNSValue       string `json:"dns_value,omitempty"`
	SmokeTestURL   string `json:"smoke_test_url,omitempty"`
}

// ALB routes through engine-owned listener rules with weighted target groups.
type ALB struct {
	ListenerARN        string   `json:"listener_arn"`
	RulePriority       int      `json:"rule_priority"`
	HostHeaders        []string `json:"host_headers,omitempty"`
	PathPatterns       []string `json:"path_patterns,omitempty"`
	StickinessDuration Duration `json:"stickiness_duration"`
	MinHealthyTargets  int      `json:"min_healthy_targets"`
}

// Route53 routes through two weighted records.
type Route53 struct {
	ZoneID     string `json:"zone_id"`
	RecordName string `json:"record_name"`
	RecordType string `json:"record_type"`
	TTL        int    `json:"ttl"`
}

// SmokeTest is the HTTP check of a slot before it takes traffic.
type SmokeTest struct {
	ExpectedStatus int      `json:"expected_status"`
	ExpectVersion  bool     `json:"expect_version"`
	Timeout        Duration `json:"timeout"`
	Attempts       int      `json:"attempts"`
	Interval       Duration `json:"interval"`
}

// SlotSpec returns the named slot.
func (s *EnvironmentSpec) SlotSpec(name string) Slot {
	if name == SlotGreen {
		return s.Green
	}
	return s.Blue
}

// Normalize fills defaulted fields.
func (s *EnvironmentSpec) Normalize() {
	if s.InitialLiveSlot == "" {
		s.InitialLiveSlot = SlotBlue
	}
	if s.OnDestroy == "" {
		s.OnDestroy = OnDestroyRetain
	}
	if s.CheckInterval == 0 {
		s.CheckInterval = Duration(10 * time.Second)
	}
	if s.RollbackAlarms == nil {
		s.RollbackAlarms = []string{}
	}
	st := &s.SmokeTest
	if st.ExpectedStatus == 0 {
		st.ExpectedStatus = 200
	}
	if st.Timeout == 0 {
		st.Timeout = Duration(5 * time.Second)
	}
	if st.Attempts == 0 {
		st.Attempts = 3
	}
	if st.Interval == 0 {
		st.Interval = Duration(2 * time.Second)
	}
	if s.ALB != nil {
		if len(s.ALB.PathPatterns) == 0 {
			s.ALB.PathPatterns = []string{"/*"}
		}
		if s.ALB.MinHealthyTargets == 0 {
			s.ALB.MinHealthyTargets = 1
		}
	}
}

// Validate checks an environment, reporting every problem with a pointer.
func (s *EnvironmentSpec) Validate() error {
	var p Problems
	switch {
	case s.Name == "":
		p.Add("/name", "the environment name is required: 1 to 63 lower-case letters, digits and hyphens, such as \"checkout\"")
	case !envNameRE.MatchString(s.Name):
		p.Add("/name", "the environment name "+quote(s.Name)+" is not valid: use 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	if s.InitialLiveSlot != "" && s.InitialLiveSlot != SlotBlue && s.InitialLiveSlot != SlotGreen {
		p.Add("/initial_live_slot", "the slot "+quote(s.InitialLiveSlot)+" is not valid: use blue or green")
	}
	switch {
	case s.ALB != nil && s.Route53 != nil:
		p.Add("", "set exactly one of alb and route53, not both")
	case s.ALB == nil && s.Route53 == nil:
		p.Add("", "set exactly one of alb and route53: how traffic reaches the slots")
	}
	for _, slot := range []string{SlotBlue, SlotGreen} {
		sl := s.SlotSpec(slot)
		base := "/" + slot
		if s.ALB != nil {
			switch {
			case sl.TargetGroupARN == "":
				p.Add(base+"/target_group_arn", "the "+slot+" slot needs target_group_arn with alb")
			case !elbARNRE.MatchString(sl.TargetGroupARN) || !strings.Contains(sl.TargetGroupARN, ":targetgroup/"):
				p.Add(base+"/target_group_arn", quote(sl.TargetGroupARN)+" is not a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)")
			}
		}
		if s.Route53 != nil && sl.DNSValue == "" {
			p.Add(base+"/dns_value", "the "+slot+" slot needs dns_value with route53 (a CNAME target or an address)")
		}
		if u := sl.SmokeTestURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			p.Add(base+"/smoke_test_url", quote(u)+" is not an http:// or https:// URL")
		}
	}
	if s.Blue.TargetGroupARN != "" && s.Blue.TargetGroupARN == s.Green.TargetGroupARN {
		p.Add("/green/target_group_arn", "blue and green use the same target group; each slot needs its own")
	}
	if a := s.ALB; a != nil {
		switch {
		case a.ListenerARN == "":
			p.Add("/alb/listener_arn", "listener_arn is required")
		case !elbARNRE.MatchString(a.ListenerARN) || !strings.Contains(a.ListenerARN, ":listener/"):
			p.Add("/alb/listener_arn", quote(a.ListenerARN)+" is not a listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<lb>/<id>/<id>)")
		}
		if a.RulePriority < MinRulePriority || a.RulePriority > MaxRulePriority {
			p.Add("/alb/rule_priority", fmt.Sprintf("rule_priority %d is outside %d..%d; the engine owns the block rule_priority-9..rule_priority", a.RulePriority, MinRulePriority, MaxRulePriority))
		}
		if len(a.HostHeaders) > MaxConditionValues {
			p.Add("/alb/host_headers", fmt.Sprintf("%d host headers is more than ALB's limit of %d values per rule", len(a.HostHeaders), MaxConditionValues))
		}
		if len(a.PathPatterns) > MaxConditionValues {
			p.Add("/alb/path_patterns", fmt.Sprintf("%d path patterns is more than ALB's limit of %d values per rule", len(a.PathPatterns), MaxConditionValues))
		}
		if a.StickinessDuration < 0 || time.Duration(a.StickinessDuration) > 7*24*time.Hour {
			p.Add("/alb/stickiness_duration", "stickiness_duration must be from 0s (off) to 168h")
		}
		if a.MinHealthyTargets < 0 {
			p.Add("/alb/min_healthy_targets", "min_healthy_targets cannot be negative")
		}
	}
	if r := s.Route53; r != nil {
		if r.ZoneID == "" {
			p.Add("/route53/zone_id", "zone_id is required")
		}
		if r.RecordName == "" {
			p.Add("/route53/record_name", "record_name is required")
		}
		switch r.RecordType {
		case "CNAME", "A", "AAAA":
		default:
			p.Add("/route53/record_type", "the record type "+quote(r.RecordType)+" is not valid: use CNAME, A or AAAA")
		}
		if r.TTL < 0 || r.TTL > MaxRoute53TTL {
			p.Add("/route53/ttl", fmt.Sprintf("ttl %d is outside 0..%d seconds", r.TTL, MaxRoute53TTL))
		} else if s.BakeTime > 0 && time.Duration(s.BakeTime) < time.Duration(r.TTL)*time.Second {
			p.Add("/bake_time", fmt.Sprintf("bake_time %s is shorter than the record's TTL of %ds: clients would still resolve the old slot when the bake ends; bake at least %ds", time.Duration(s.BakeTime), r.TTL, r.TTL))
		}
	}
	for ptr, d := range map[string]Duration{"/bake_time": s.BakeTime, "/smoke_test/timeout": s.SmokeTest.Timeout, "/smoke_test/interval": s.SmokeTest.Interval} {
		if d < 0 {
			p.Add(ptr, "the duration cannot be negative")
		}
	}
	if s.CheckInterval != 0 && time.Duration(s.CheckInterval) < time.Second {
		p.Add("/check_interval", "check_interval must be at least 1s")
	}
	if st := s.SmokeTest; st.ExpectedStatus != 0 && (st.ExpectedStatus < 100 || st.ExpectedStatus > 599) {
		p.Add("/smoke_test/expected_status", fmt.Sprintf("expected_status %d is not an HTTP status code", st.ExpectedStatus))
	}
	if s.SmokeTest.Attempts < 0 {
		p.Add("/smoke_test/attempts", "attempts cannot be negative")
	}
	switch s.OnDestroy {
	case "", OnDestroyRetain, OnDestroyRemoveRouting:
	default:
		p.Add("/on_destroy", "on_destroy "+quote(s.OnDestroy)+" is not valid: use retain or remove_routing")
	}
	for i, a := range s.RollbackAlarms {
		if strings.TrimSpace(a) == "" || len(a) > 255 {
			p.Add(Pointer("rollback_alarms", i), "an alarm name must be 1 to 255 characters")
		}
	}
	return p.Err()
}

// Duration is a time.Duration written as a Go duration string ("5m").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30s, 5m or 1h30m", s)
	}
	*d = Duration(v)
	return nil
}

// Routing states of an environment.
const (
	RoutingPending = "pending" // the leader has not created or adopted the routing objects yet
	RoutingReady   = "ready"
	RoutingError   = "error"
)

// EnvironmentStatus is what the engine records about an environment.
type EnvironmentStatus struct {
	// ActiveSlot serves customers now; it changes only when a release ends.
	ActiveSlot string `json:"active_slot,omitempty"`
	// Routing says whether the engine's routing objects exist on AWS.
	Routing        string `json:"routing,omitempty"`
	RoutingMessage string `json:"routing_message,omitempty"`
	// LastReleaseID is the most recent release attempt.
	LastReleaseID string `json:"last_release_id,omitempty"`
	// RoutedVersion is the environment version the routing on AWS reflects.
	RoutedVersion int64 `json:"routed_version,omitempty"`
}

// IdleSlot is the slot to deploy to.
func (s EnvironmentStatus) IdleSlot() string {
	if s.ActiveSlot == "" {
		return ""
	}
	return OtherSlot(s.ActiveSlot)
}
