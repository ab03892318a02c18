package release

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// TestRandomObservations drives blue-green releases through random
// observations, time jumps and restarts, and checks the machine's
// invariants on every tick.
func TestRandomObservations(t *testing.T) {
	specs := []Spec{
		albSpec(),
		{BakeTime: time.Minute, CheckInterval: 5 * time.Second, Settle: 30 * time.Second, SmokeTest: true}, // Route 53
		{CheckInterval: time.Second}, // no checks, no bake
		{BakeTime: 20 * time.Second, CheckInterval: 10 * time.Second, MinHealthyTargets: 2, CheckErrorLimit: 1},
	}
	const sequences, ticks = 1500, 80
	outcomes := map[model.ReleasePhase]int{}
	for seq := range sequences {
		rng := rand.New(rand.NewPCG(uint64(seq), 7))
		spec := specs[seq%len(specs)]
		r := newRelease()
		if rng.IntN(2) == 0 {
			r = model.NewRelease("rel-2", "default", "checkout", model.SlotBlue, "", t0)
		}
		target, from := model.AllTo(r.TargetSlot), model.AllTo(r.FromSlot)
		now := t0
		var persisted model.Weights
		for tick := range ticks {
			if rng.IntN(20) == 0 { // restart: resume from what was stored
				r = roundTrip(t, r)
			}
			now = now.Add(randomGap(rng))
			obs := randomObservations(rng, r, target, from)

			next, actions := Step(r, spec, obs, now)
			again, actions2 := Step(r, spec, obs, now)
			if !reflect.DeepEqual(next, again) || !reflect.DeepEqual(actions, actions2) {
				t.Fatalf("seq %d tick %d: Step is not deterministic", seq, tick)
			}
			checkTick(t, r, next, actions, &persisted)
			checkInvariants(t, spec, r, next, obs, actions, now, target, from)
			r = next
		}
		outcomes[r.Phase]++
	}
	// The generator must reach every outcome, or the test proves little.
	for _, p := range []model.ReleasePhase{model.PhaseReleased, model.PhaseRolledBack, model.PhaseFailed} {
		if outcomes[p] == 0 {
			t.Fatalf("no sequence ended %s: %v", p, outcomes)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

func checkInvariants(t *testing.T, spec Spec, prev, next model.Release, obs Observations, actions []Action, now time.Time, target, from model.Weights) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s -> %s, actions %v: "+format, append([]any{prev.Phase, next.Phase, actions}, args...)...)
	}
	rollingBack := prev.Phase == model.PhaseRollingBack || next.Phase == model.PhaseRollingBack
	for _, a := range actions {
		switch a := a.(type) {
		case SetWeights:
			if a.Weights != target && a.Weights != from {
				fail("SetWeights(%s) is neither all to the target nor all to the from slot", a.Weights)
			}
			if a.Rollback != (a.Weights == from) {
				fail("rollback flag %v on %s", a.Rollback, a.Weights)
			}
			if a.DisableStickiness != (a.Rollback && spec.Stickiness) {
				fail("DisableStickiness %v", a.DisableStickiness)
			}
			if rollingBack && !a.Rollback {
				fail("a forward write during a rollback")
			}
		case VerifyWeights:
			if a.Weights != target && a.Weights != from {
				fail("VerifyWeights(%s)", a.Weights)
			}
		case CheckHealth, RunSmokeTest, ReadGates:
			if rollingBack {
				fail("%v during a rollback", a)
			}
		}
	}
	if prev.Phase == model.PhaseRollingBack && next.Phase != model.PhaseRollingBack && next.Phase != model.PhaseRolledBack {
		fail("left rolling_back for %s", next.Phase)
	}
	if prev.Phase == model.PhaseRollingBack && next.Reason != prev.Reason {
		fail("the rollback's reason changed from %q to %q", prev.Reason, next.Reason)
	}
	if next.Phase == model.PhaseRolledBack && prev.Phase != model.PhaseRolledBack &&
		(prev.Phase != model.PhaseRollingBack || !obs.Traffic.Verified || obs.Traffic.VerifiedWeights != from) {
		fail("rolled back without a verified rollback")
	}
	if next.Phase == model.PhaseReleased && prev.Phase != model.PhaseReleased &&
		(!obs.Traffic.Verified || obs.Traffic.VerifiedWeights != target) {
		fail("released without a verified 100%% on the target")
	}
	if next.Phase == model.PhaseFailed && !next.IntendedWeights.IsZero() {
		fail("failed after traffic may have moved (intent %s)", next.IntendedWeights)
	}
	if prev.TrafficMayHaveMoved() && !next.TrafficMayHaveMoved() {
		fail("intent forgotten")
	}
	if next.Phase.Terminal() && !prev.Phase.Terminal() && next.FinishedAt.IsZero() {
		fail("finished without finished_at")
	}
	if prev.Phase == next.Phase && prev.StageIndex == next.StageIndex && next.Baked < prev.Baked {
		fail("bake went back from %s to %s", time.Duration(prev.Baked), time.Duration(next.Baked))
	}
	switch next.Status() {
	case model.ReleaseStatusProgressing, model.ReleaseStatusPaused, model.ReleaseStatusReleased,
		model.ReleaseStatusRolledBack, model.ReleaseStatusFailed:
	default:
		fail("status %q", next.Status())
	}
	// Every phase change is told by a chain of events.
	at := prev.Phase
	if at == "" {
		at = model.PhasePending
	}
	for _, e := range events(actions) {
		if e.From != at {
			fail("event from %s while at %s", e.From, at)
		}
		if e.Actor == "" || e.Message == "" || !e.Time.Equal(now) {
			fail("event without actor, message or time: %v", e)
		}
		at = e.To
	}
	if at != next.Phase {
		fail("events end at %s, release at %s", at, next.Phase)
	}
}

func randomGap(rng *rand.Rand) time.Duration {
	switch rng.IntN(30) {
	case 0:
		return 20 * time.Minute
	case 1:
		return 0
	default:
		return time.Duration(rng.IntN(12000)) * time.Millisecond
	}
}

// randomObservations mostly answers what the release waits for (so that
// releases progress), with random failures, noise and requests.
func randomObservations(rng *rand.Rand, r model.Release, target, from model.Weights) Observations {
	var o Observations
	pick := func(ws ...model.Weights) model.Weights { return ws[rng.IntN(len(ws))] }
	if rng.IntN(3) > 0 {
		o.Health = Health{Checked: true, Healthy: pick2(rng, 3, 0, -1)}
		if rng.IntN(8) == 0 {
			o.Health.Err = "throttled"
		}
	}
	if rng.IntN(3) > 0 {
		o.Smoke.Result = []SmokeResult{SmokePassed, SmokePassed, SmokePassed, SmokeFailed, SmokeNotConfigured}[rng.IntN(5)]
	}
	if rng.IntN(2) == 0 {
		o.Traffic.Verified = true
		o.Traffic.VerifiedWeights = pick(r.IntendedWeights, r.IntendedWeights, target, from, model.Weights{Blue: 50, Green: 50})
	}
	if rng.IntN(6) == 0 {
		o.Traffic.Read = true
		o.Traffic.Weights = pick(r.IntendedWeights, target, from, model.Weights{Blue: 30, Green: 70})
	}
	if rng.IntN(10) == 0 {
		o.Traffic.Err = "ThrottlingException"
	}
	o.Gates.Result = []GateResult{GatesNotRead, GatesPassed, GatesPassed, GatesPassed, GatesPassed, GatesInconclusive}[rng.IntN(6)]
	if rng.IntN(40) == 0 {
		o.Gates = Gates{Result: GatesFailed, Gate: "checkout-5xx", Value: "ALARM", Bound: "OK"}
	}
	if rng.IntN(60) == 0 {
		o.Requests.Abort = "alice"
	}
	if rng.IntN(25) == 0 {
		o.Requests.Pause = "bob"
	}
	if rng.IntN(15) == 0 {
		o.Requests.Resume = "carol"
	}
	if rng.IntN(30) == 0 {
		o.Requests.Promote = "dave"
	}
	return o
}

// pick2 returns a with probability 8/10, else b or c.
func pick2(rng *rand.Rand, a, b, c int) int {
	switch rng.IntN(10) {
	case 0:
		return b
	case 1:
		return c
	default:
		return a
	}
}
