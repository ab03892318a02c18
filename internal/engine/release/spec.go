package release

import (
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Defaults applied by Step to a Spec that leaves them zero.
const (
	DefaultCheckInterval   = 10 * time.Second
	DefaultCheckErrorLimit = 3
)

// Spec is what Step needs from the environment (and, later, from its canary
// policy). The slots come from the Release, which fixed them when it started.
type Spec struct {
	// Stages in order. Nil means blue-green's single stage: 100 % to the
	// target at once, baked for BakeTime.
	Stages []Stage
	// BakeTime is the bake of the single blue-green stage.
	BakeTime time.Duration
	// CheckInterval paces gate reads; bake accrues only between passing
	// reads at most 2 x CheckInterval apart. Default 10s.
	CheckInterval time.Duration
	// Settle must elapse after a shift is verified before bake time counts
	// (the Route 53 TTL; 0 for ALB).
	Settle time.Duration
	// Stickiness is on: a rollback switches it off in the same write.
	Stickiness bool
	// MinHealthyTargets the target slot needs before it takes traffic;
	// 0 skips the health check.
	MinHealthyTargets int
	// SmokeTest is configured for the target slot.
	SmokeTest bool
	// CheckErrorLimit is how many consecutive errors reading target health
	// fail the release. Default 3.
	CheckErrorLimit int
	// FailureLimit is how many consecutive failed gate checks are tolerated
	// before a rollback (0: the first one rolls back).
	FailureLimit int
	// GateErrorLimit is how many consecutive errors reading the gates count
	// as one failed check (fail closed); 0 means errors never count (they
	// only stop bake time from accruing).
	GateErrorLimit int
}

// Stage is one step of a rollout: a share of traffic on the target slot,
// held while the gates pass for BakeTime.
type Stage struct {
	Name string
	// TrafficPercent of ordinary traffic on the target slot, 0..100.
	TrafficPercent int
	BakeTime       time.Duration
	// Manual stages wait for promote once baked.
	Manual bool
	// Audience, when set, is routed to the target slot during the stage.
	Audience *model.Audience
}

// SpecFor derives the Spec of a blue-green release from its (normalized)
// environment.
func SpecFor(env model.EnvironmentSpec, r model.Release) Spec {
	s := Spec{
		BakeTime:      time.Duration(env.BakeTime),
		CheckInterval: time.Duration(env.CheckInterval),
		SmokeTest:     env.SlotSpec(r.TargetSlot).SmokeTestURL != "",
	}
	if a := env.ALB; a != nil {
		s.Stickiness = a.StickinessDuration > 0
		s.MinHealthyTargets = a.MinHealthyTargets
	}
	if r53 := env.Route53; r53 != nil {
		s.Settle = time.Duration(r53.TTL) * time.Second
	}
	if p := r.Policy; p != nil {
		s.CheckInterval = time.Duration(p.Spec.CheckInterval)
		s.FailureLimit = p.Spec.Acceptance.FailureLimit
		s.GateErrorLimit = p.Spec.Acceptance.ErrorLimit
		for _, st := range p.Spec.Stages {
			s.Stages = append(s.Stages, Stage{Name: st.Name, TrafficPercent: st.TrafficPercent,
				BakeTime: time.Duration(st.BakeTime), Manual: st.Manual(), Audience: st.Audience})
		}
	}
	return s
}

func (s Spec) normalized() Spec {
	if s.CheckInterval <= 0 {
		s.CheckInterval = DefaultCheckInterval
	}
	if s.CheckErrorLimit <= 0 {
		s.CheckErrorLimit = DefaultCheckErrorLimit
	}
	if len(s.Stages) == 0 {
		s.Stages = []Stage{{Name: "all", TrafficPercent: 100, BakeTime: s.BakeTime}}
	}
	return s
}

// Observations are what the controller saw since the previous Step: the
// results of the reads that Step asked for, and operator requests. The zero
// value of each field means "not observed".
type Observations struct {
	Health   Health
	Smoke    Smoke
	Traffic  Traffic
	Gates    Gates
	Requests Requests
}

// Health is the result of a CheckHealth action.
type Health struct {
	// Checked is set when the controller ran CheckHealth.
	Checked bool
	// Healthy is the count of healthy targets behind the slot, or -1 when the
	// router cannot tell (Route 53): then the check passes.
	Healthy int
	// Err is set when the count could not be read.
	Err string
}

// SmokeResult is the outcome of a RunSmokeTest action.
type SmokeResult int

// Smoke test outcomes.
const (
	SmokeNotRun SmokeResult = iota
	SmokePassed
	SmokeFailed
	SmokeNotConfigured // passes
)

// Smoke is the result of a RunSmokeTest action.
type Smoke struct {
	Result SmokeResult
	// Message says why it failed ("status 500, want 200").
	Message string
}

// Traffic is what the controller knows about the weights on AWS.
type Traffic struct {
	// Read is set when the controller read the weights AWS holds, and the
	// read succeeded; Weights is what it saw. Used to detect drift.
	Read    bool
	Weights model.Weights
	// Verified is set when the last VerifyWeights saw VerifiedWeights on AWS
	// (for Route 53: INSYNC), and the audience rule as asked. Only this
	// completes a shift or a rollback.
	Verified        bool
	VerifiedWeights model.Weights
	// AudienceDrift is set when a read found the audience rule other than
	// the intent says (missing, present, or forwarding elsewhere).
	AudienceDrift bool
	// Err is the last error of a weight write or read, for the message.
	Err string
}

// GateResult is the verdict of a ReadGates action.
type GateResult int

// Gate verdicts.
const (
	GatesNotRead GateResult = iota // nothing read since the last Step
	GatesPassed
	GatesFailed
	// GatesInconclusive: read attempted, no verdict (insufficient data to
	// hold on). Adds no bake time and breaks the chain.
	GatesInconclusive
	// GatesError: the gates could not be read. Counts towards
	// Spec.GateErrorLimit; otherwise like GatesInconclusive.
	GatesError
)

// Gates is the verdict of a ReadGates action. On failure, Gate, Value and
// Bound name the gate that failed.
type Gates struct {
	Result  GateResult
	Gate    string // "checkout-5xx"
	Value   string // "ALARM", "0.11"
	Bound   string // "OK", "min 0.15"
	Message string // optional detail
	// Readings are every gate's reading, kept on the release for people
	// watching (nil: keep the previous ones).
	Readings []model.GateReading
}

// Requests are operator requests since the last Step; each holds the actor
// who asked, empty when not asked.
type Requests struct {
	Abort   string
	Pause   string
	Resume  string
	Promote string
}
