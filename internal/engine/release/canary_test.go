package release

import (
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func canarySpec() Spec {
	return Spec{CheckInterval: 10 * time.Second, FailureLimit: 1, GateErrorLimit: 2, Stages: []Stage{
		{Name: "employees", TrafficPercent: 0, BakeTime: time.Minute, Audience: &model.Audience{SourceIPs: []string{"10.0.0.0/8"}}},
		{Name: "fleet", TrafficPercent: 100, BakeTime: time.Minute},
	}}
}

// A stage with an audience writes and verifies it with the weights, to the
// target slot; the next stage's intent drops it.
func TestStageAudienceIsPartOfTheIntent(t *testing.T) {
	k := newMachine(t, canarySpec())
	_, actions := Step(k.r, k.spec, noObs, k.now)
	var set *SetWeights
	var verify *VerifyWeights
	for _, a := range actions {
		switch a := a.(type) {
		case SetWeights:
			set = &a
		case VerifyWeights:
			verify = &a
		}
	}
	if set == nil || set.Audience == nil || set.Target != model.SlotGreen || verify == nil || verify.Audience == nil {
		t.Fatalf("stage 1 actions %v", actions)
	}
	k.tick(noObs)
	if !k.r.Audience {
		t.Fatal("the release does not record the audience in its intent")
	}
	k.advance(time.Second)
	k.tick(verified(allBlue))
	// A read that finds the audience rule missing is drift, restored.
	k.advance(10 * time.Second)
	k.tick(gatesPass)
	k.advance(10 * time.Second)
	got := k.tick(with(gatesPass, func(o *Observations) { o.Traffic = Traffic{Read: true, Weights: allBlue, AudienceDrift: true} }))
	wantPhase(t, k.r, model.PhaseShifting)
	if !strings.Contains(strings.Join(got, " "), "SetWeights") {
		t.Fatalf("audience drift not restored: %v", got)
	}
}

// failure_limit tolerates that many failed checks in a row; the next one
// rolls back. A passing check resets the count.
func TestFailureLimit(t *testing.T) {
	k := newMachine(t, canarySpec())
	k.tick(noObs)
	k.advance(time.Second)
	k.tick(verified(allBlue))
	k.advance(10 * time.Second)
	k.tick(gatesFail)
	wantPhase(t, k.r, model.PhaseBaking)
	if k.r.GateFailures != 1 {
		t.Fatalf("failures %d", k.r.GateFailures)
	}
	k.advance(10 * time.Second)
	k.tick(gatesPass)
	if k.r.GateFailures != 0 {
		t.Fatalf("a pass did not reset the failures: %d", k.r.GateFailures)
	}
	k.advance(10 * time.Second)
	k.tick(gatesFail)
	k.advance(10 * time.Second)
	k.tick(gatesFail)
	wantPhase(t, k.r, model.PhaseRollingBack)
	if !strings.Contains(k.r.Reason, `gate "checkout-5xx" failed`) {
		t.Fatalf("reason %q", k.r.Reason)
	}
}

// error_limit consecutive errors count as one failure (fail closed); with
// failure_limit 0 that rolls back.
func TestGateErrorsFailClosed(t *testing.T) {
	spec := canarySpec()
	spec.FailureLimit = 0
	k := newMachine(t, spec)
	k.tick(noObs)
	k.advance(time.Second)
	k.tick(verified(allBlue))
	gateErr := Observations{Gates: Gates{Result: GatesError, Message: "connection refused"}}
	k.advance(10 * time.Second)
	k.tick(gateErr)
	wantPhase(t, k.r, model.PhaseBaking)
	k.advance(10 * time.Second)
	k.tick(gateErr)
	wantPhase(t, k.r, model.PhaseRollingBack)
	if !strings.Contains(k.r.Reason, "2 consecutive errors reading the gates, the last: connection refused") {
		t.Fatalf("reason %q", k.r.Reason)
	}
}

// Without an error limit (blue-green), errors never roll back: they only
// stop bake time from accruing.
func TestGateErrorsWithoutLimit(t *testing.T) {
	spec := albSpec()
	spec.MinHealthyTargets, spec.SmokeTest = 0, false
	k := newMachine(t, spec)
	k.tick(noObs)
	k.advance(time.Second)
	k.tick(verified(allGreen))
	for range 5 {
		k.advance(10 * time.Second)
		k.tick(Observations{Gates: Gates{Result: GatesError, Message: "throttled"}})
		wantPhase(t, k.r, model.PhaseBaking)
	}
	if k.r.Baked != 0 {
		t.Fatalf("baked %s over unread gates", time.Duration(k.r.Baked))
	}
}

// A baked manual stage says it awaits approval until promoted.
func TestAwaitingApproval(t *testing.T) {
	spec := canarySpec()
	spec.Stages[0].Manual, spec.Stages[0].BakeTime = true, 0
	k := newMachine(t, spec)
	k.tick(noObs)
	k.advance(time.Second)
	k.tick(verified(allBlue))
	k.advance(10 * time.Second)
	k.tick(gatesPass)
	if !k.r.AwaitingApproval || !strings.Contains(k.r.Message, "progressive promote checkout") {
		t.Fatalf("awaiting approval %v, message %q", k.r.AwaitingApproval, k.r.Message)
	}
	k.tick(Observations{Requests: Requests{Promote: "carol"}})
	if k.r.AwaitingApproval || k.r.StageIndex != 1 {
		t.Fatalf("after promote: awaiting %v stage %d", k.r.AwaitingApproval, k.r.StageIndex)
	}
}
