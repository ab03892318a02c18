package release

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func TestHappyPathBlueToGreen(t *testing.T) {
	k := newMachine(t, albSpec())

	wantActions(t, k.tick(noObs), "Persist", "Event pending->checking", "CheckHealth(green, min 1)")
	wantPhase(t, k.r, model.PhaseChecking)
	if k.r.Status() != model.ReleaseStatusProgressing {
		t.Fatalf("status %s", k.r.Status())
	}

	k.advance(time.Second)
	wantActions(t, k.tick(healthy), "Persist", "RunSmokeTest(green)")
	if k.r.Check != model.CheckStepSmoke {
		t.Fatalf("check %q", k.r.Check)
	}

	k.advance(time.Second)
	wantActions(t, k.tick(smokePassed),
		"Persist", "Event checking->shifting",
		"SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)", "ReadGates")
	wantPhase(t, k.r, model.PhaseShifting)
	if k.r.IntendedWeights != allGreen || k.r.Writes != 1 {
		t.Fatalf("intent %s, writes %d", k.r.IntendedWeights, k.r.Writes)
	}
	if !k.r.FirstShiftVerifiedAt.IsZero() {
		t.Fatal("first shift verified before any read-back")
	}

	// The read-back and the first gate read arrive together.
	k.advance(time.Second)
	shiftedAt := k.now
	obs := with(verified(allGreen), func(o *Observations) { o.Gates = gatesPass.Gates })
	wantActions(t, k.tick(obs), "Persist", "Event shifting->baking")
	wantPhase(t, k.r, model.PhaseBaking)
	if !k.r.ShiftedAt.Equal(shiftedAt) || !k.r.FirstShiftVerifiedAt.Equal(shiftedAt) {
		t.Fatalf("shifted at %s, first %s", k.r.ShiftedAt, k.r.FirstShiftVerifiedAt)
	}

	// Gates every 10s; bake 5m accrues in 30 passing reads.
	for i := 1; i <= 29; i++ {
		k.advance(10 * time.Second)
		acts := k.tick(gatesPass)
		wantActions(t, acts, "Persist", "ReadGates")
		if got := time.Duration(k.r.Baked); got != time.Duration(i)*10*time.Second {
			t.Fatalf("after %d reads baked %s", i, got)
		}
	}
	k.advance(10 * time.Second)
	wantActions(t, k.tick(gatesPass), "Persist", "Event baking->promoting", "VerifyWeights(blue 0% / green 100%)")
	wantPhase(t, k.r, model.PhasePromoting)

	k.advance(time.Second)
	wantActions(t, k.tick(verified(allGreen)), "Persist", "Event promoting->released")
	wantPhase(t, k.r, model.PhaseReleased)
	if k.r.Status() != model.ReleaseStatusReleased || !k.r.FinishedAt.Equal(k.now) || k.r.Message != "released: green is live" {
		t.Fatalf("released: %+v", k.r)
	}

	k.advance(time.Hour)
	wantActions(t, k.tick(gatesFail))
}

func TestPromotingReassertsUntilVerified(t *testing.T) {
	k := newMachine(t, Spec{CheckInterval: 10 * time.Second})
	k.toBaking()
	wantPhase(t, k.r, model.PhasePromoting) // no bake: promoted at once
	k.advance(time.Second)
	wantActions(t, k.tick(verified(allBlue)), "Persist", "SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)")
	k.advance(time.Second)
	wantActions(t, k.tick(verified(allGreen)), "Persist", "Event promoting->released")
}

func TestFailedChecksMoveNothing(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		ticks []Observations
		msg   string
	}{
		{
			name:  "no healthy targets",
			spec:  albSpec(),
			ticks: []Observations{noObs, {Health: Health{Checked: true, Healthy: 0}}},
			msg:   "failed, no traffic moved: green has 0 healthy targets and needs at least 1 before it takes traffic",
		},
		{
			name: "health unreadable three times",
			spec: albSpec(),
			ticks: []Observations{noObs,
				{Health: Health{Checked: true, Err: "throttled"}},
				{Health: Health{Checked: true, Err: "throttled"}},
				{Health: Health{Checked: true, Err: "throttled"}}},
			msg: "failed, no traffic moved: could not count the healthy targets of green (3 attempts): throttled",
		},
		{
			name:  "smoke test fails",
			spec:  albSpec(),
			ticks: []Observations{noObs, healthy, {Smoke: Smoke{Result: SmokeFailed, Message: "status 500, want 200"}}},
			msg:   "failed, no traffic moved: green failed its smoke test: status 500, want 200",
		},
		{
			name:  "smoke test fails without health check",
			spec:  Spec{SmokeTest: true},
			ticks: []Observations{noObs, {Smoke: Smoke{Result: SmokeFailed}}},
			msg:   "failed, no traffic moved: green failed its smoke test",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newMachine(t, tt.spec)
			var all []string
			for _, o := range tt.ticks {
				k.advance(time.Second)
				all = append(all, k.tick(o)...)
			}
			wantPhase(t, k.r, model.PhaseFailed)
			if k.r.Message != tt.msg {
				t.Fatalf("message %q, want %q", k.r.Message, tt.msg)
			}
			if has(all, "SetWeights") || has(all, "VerifyWeights") || !k.r.IntendedWeights.IsZero() {
				t.Fatalf("traffic touched: %v", all)
			}
			if k.r.Status() != model.ReleaseStatusFailed || k.r.FinishedAt.IsZero() {
				t.Fatalf("status %s finished %s", k.r.Status(), k.r.FinishedAt)
			}
		})
	}
}

func TestChecksThatPass(t *testing.T) {
	t.Run("health error then healthy", func(t *testing.T) {
		k := newMachine(t, albSpec())
		k.tick(noObs)
		wantActions(t, k.tick(Observations{Health: Health{Checked: true, Err: "throttled"}}), "Persist", "CheckHealth(green, min 1)")
		if !strings.Contains(k.r.Message, "attempt 1 of 3") {
			t.Fatalf("message %q", k.r.Message)
		}
		wantActions(t, k.tick(healthy), "Persist", "RunSmokeTest(green)")
		if k.r.CheckErrors != 0 {
			t.Fatalf("check errors %d", k.r.CheckErrors)
		}
	})
	t.Run("router cannot count targets", func(t *testing.T) {
		k := newMachine(t, albSpec())
		k.tick(noObs)
		wantActions(t, k.tick(Observations{Health: Health{Checked: true, Healthy: -1}}), "Persist", "RunSmokeTest(green)")
	})
	t.Run("smoke test not configured on the slot", func(t *testing.T) {
		k := newMachine(t, albSpec())
		k.tick(noObs)
		k.tick(healthy)
		k.tick(Observations{Smoke: Smoke{Result: SmokeNotConfigured}})
		wantPhase(t, k.r, model.PhaseShifting)
	})
	t.Run("no checks at all", func(t *testing.T) {
		k := newMachine(t, Spec{})
		wantActions(t, k.tick(noObs), "Persist", "Event pending->checking", "Event checking->shifting",
			"SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)", "ReadGates")
	})
	t.Run("results not observed are asked for again", func(t *testing.T) {
		k := newMachine(t, albSpec())
		k.tick(noObs)
		wantActions(t, k.tick(noObs), "CheckHealth(green, min 1)")
		k.tick(healthy)
		wantActions(t, k.tick(noObs), "RunSmokeTest(green)")
	})
}

func TestGateFailDuringBakeRollsBack(t *testing.T) {
	k := newMachine(t, albSpec())
	k.toBaking()
	for range 3 {
		k.advance(10 * time.Second)
		k.tick(gatesPass)
	}
	k.advance(10 * time.Second)
	next, actions := Step(k.r, k.spec, gatesFail, k.now)
	wantActions(t, summarize(actions), "Persist", "Event baking->rolling_back",
		"SetWeights(blue 100% / green 0%, rollback, stickiness off)", "VerifyWeights(blue 100% / green 0%)")
	ev := events(actions)[0]
	if ev.Actor != model.ActorEngine || ev.Before != allGreen || ev.After != allBlue {
		t.Fatalf("event %v", ev)
	}
	k.tick(gatesFail)
	wantPhase(t, next, model.PhaseRollingBack)
	if k.r.Status() != model.ReleaseStatusProgressing {
		t.Fatalf("status %s", k.r.Status())
	}

	k.advance(time.Second)
	wantActions(t, k.tick(verified(allBlue)), "Persist", "Event rolling_back->rolled_back")
	wantPhase(t, k.r, model.PhaseRolledBack)
	const msg = `rolled back to blue: gate "checkout-5xx" failed: value ALARM, bound OK`
	if k.r.Message != msg || k.r.Status() != model.ReleaseStatusRolledBack || k.r.FinishedAt.IsZero() {
		t.Fatalf("message %q status %s", k.r.Message, k.r.Status())
	}
}

func TestRollbackWithoutStickiness(t *testing.T) {
	spec := albSpec()
	spec.Stickiness = false
	k := newMachine(t, spec)
	k.toBaking()
	wantActions(t, k.tick(gatesFail), "Persist", "Event baking->rolling_back",
		"SetWeights(blue 100% / green 0%, rollback)", "VerifyWeights(blue 100% / green 0%)")
}

func TestRollbackRetriesUntilVerifiedAndDoesNothingElse(t *testing.T) {
	k := newMachine(t, albSpec())
	k.toBaking()
	k.tick(gatesFail)
	wantPhase(t, k.r, model.PhaseRollingBack)

	noise := []Observations{
		noObs,
		gatesFail,
		gatesPass,
		healthy,
		verified(allGreen), // a read-back of the wrong weights
		{Traffic: Traffic{Read: true, Weights: allGreen}},
		{Traffic: Traffic{Err: "ThrottlingException"}, Requests: Requests{Pause: "alice", Resume: "bob", Promote: "carol", Abort: "dave"}},
	}
	for i, o := range noise {
		k.advance(time.Second)
		wantActions(t, k.tick(o), "Persist",
			"SetWeights(blue 100% / green 0%, rollback, stickiness off)", "VerifyWeights(blue 100% / green 0%)")
		wantPhase(t, k.r, model.PhaseRollingBack)
		if k.r.Writes != i+2 {
			t.Fatalf("writes %d", k.r.Writes)
		}
	}
	if !strings.Contains(k.r.Message, "write 8") || !strings.Contains(k.r.Message, "ThrottlingException") {
		t.Fatalf("message %q", k.r.Message)
	}

	// A restart mid-rollback resumes from the stored release.
	k.r = roundTrip(t, k.r)
	wantActions(t, k.tick(noObs), "Persist",
		"SetWeights(blue 100% / green 0%, rollback, stickiness off)", "VerifyWeights(blue 100% / green 0%)")
	k.tick(verified(allBlue))
	wantPhase(t, k.r, model.PhaseRolledBack)
}

func TestBakeAccrual(t *testing.T) {
	type read struct {
		after time.Duration // since the previous read (the first: since the shift was verified)
		obs   Observations
		baked time.Duration // total after this tick
	}
	tests := []struct {
		name   string
		settle time.Duration
		reads  []read
	}{
		{"reads every interval", 0, []read{
			{10 * time.Second, gatesPass, 0}, // first read of the chain: nothing before it
			{10 * time.Second, gatesPass, 10 * time.Second},
			{10 * time.Second, gatesPass, 20 * time.Second},
		}},
		{"a 20 minute gap adds nothing", 0, []read{
			{10 * time.Second, gatesPass, 0},
			{10 * time.Second, gatesPass, 10 * time.Second},
			{20 * time.Minute, gatesPass, 10 * time.Second},
			{10 * time.Second, gatesPass, 20 * time.Second},
		}},
		{"a gap of exactly two intervals counts", 0, []read{
			{10 * time.Second, gatesPass, 0},
			{20 * time.Second, gatesPass, 20 * time.Second},
			{21 * time.Second, gatesPass, 20 * time.Second},
		}},
		{"inconclusive reads add nothing on either side", 0, []read{
			{10 * time.Second, gatesPass, 0},
			{10 * time.Second, gatesPass, 10 * time.Second},
			{10 * time.Second, gatesUnsure, 10 * time.Second},
			{10 * time.Second, gatesPass, 10 * time.Second},
			{10 * time.Second, gatesPass, 20 * time.Second},
		}},
		{"ticks without a read neither add nor break the chain", 0, []read{
			{10 * time.Second, gatesPass, 0},
			{5 * time.Second, noObs, 0},
			{5 * time.Second, gatesPass, 10 * time.Second},
		}},
		{"bake counts only after the settle time", 30 * time.Second, []read{
			{10 * time.Second, gatesPass, 0},
			{10 * time.Second, gatesPass, 0},
			{10 * time.Second, gatesPass, 0},                // at the settle instant
			{10 * time.Second, gatesPass, 10 * time.Second}, // (30s, 40s]
		}},
		{"settle ends inside an interval", 25 * time.Second, []read{
			{10 * time.Second, gatesPass, 0},
			{10 * time.Second, gatesPass, 0},
			{10 * time.Second, gatesPass, 5 * time.Second}, // (25s, 30s]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{BakeTime: time.Hour, CheckInterval: 10 * time.Second, Settle: tt.settle}
			k := newMachine(t, spec)
			k.toBaking()
			for i, rd := range tt.reads {
				k.advance(rd.after)
				k.tick(rd.obs)
				wantPhase(t, k.r, model.PhaseBaking)
				if got := time.Duration(k.r.Baked); got != rd.baked {
					t.Fatalf("read %d: baked %s, want %s", i, got, rd.baked)
				}
			}
		})
	}
}

func TestGateReadsArePacedAtCheckInterval(t *testing.T) {
	k := newMachine(t, Spec{BakeTime: time.Hour, CheckInterval: 10 * time.Second})
	k.toBaking() // gates were asked for when the shift started, 1s ago
	var reads int
	for range 60 { // one controller tick per second for a minute
		k.advance(time.Second)
		if has(k.tick(noObs), "ReadGates") {
			reads++
		}
	}
	if reads != 6 {
		t.Fatalf("%d gate reads in 60s at a 10s interval", reads)
	}
}

func TestSettleTime(t *testing.T) {
	k := newMachine(t, Spec{CheckInterval: 10 * time.Second, Settle: time.Minute})
	k.toBaking()
	for range 5 {
		k.advance(10 * time.Second)
		k.tick(gatesPass)
		wantPhase(t, k.r, model.PhaseBaking)
		if !strings.Contains(k.r.Message, "TTL") {
			t.Fatalf("message %q", k.r.Message)
		}
	}
	k.advance(10 * time.Second) // 60s after the verified shift
	wantActions(t, k.tick(noObs), "Persist", "Event baking->promoting", "VerifyWeights(blue 0% / green 100%)")
}

func TestUnverifiedShiftReemits(t *testing.T) {
	k := newMachine(t, Spec{CheckInterval: 10 * time.Second})
	k.tick(noObs)
	wantPhase(t, k.r, model.PhaseShifting)
	for i, o := range []Observations{
		noObs,
		verified(allBlue), // a read-back of other weights does not count
		{Traffic: Traffic{Err: "ValidationError"}},
		{Traffic: Traffic{Read: true, Weights: allGreen}}, // a plain read is not a verification
	} {
		k.advance(time.Second)
		acts := k.tick(o)
		if !has(acts, "SetWeights(blue 0% / green 100%)") || !has(acts, "VerifyWeights(blue 0% / green 100%)") {
			t.Fatalf("tick %d: %v", i, acts)
		}
		if acts[0] != "Persist" || k.r.Writes != i+2 {
			t.Fatalf("tick %d: %v writes %d", i, acts, k.r.Writes)
		}
		wantPhase(t, k.r, model.PhaseShifting)
	}

	// Restart: the stored release has the intent and no verification.
	k.r = roundTrip(t, k.r)
	k.advance(5 * time.Minute)
	wantActions(t, k.tick(noObs), "Persist",
		"SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)", "ReadGates")
	k.tick(verified(allGreen))
	wantPhase(t, k.r, model.PhasePromoting)
}

func TestGateFailWhileShiftingRollsBack(t *testing.T) {
	k := newMachine(t, Spec{CheckInterval: 10 * time.Second})
	k.tick(noObs)
	k.advance(time.Second)
	k.tick(gatesFail)
	wantPhase(t, k.r, model.PhaseRollingBack)
}

func TestDriftDuringBakeIsRepaired(t *testing.T) {
	k := newMachine(t, Spec{BakeTime: time.Hour, CheckInterval: 10 * time.Second})
	k.toBaking()
	k.advance(10 * time.Second)
	k.tick(gatesPass)
	k.advance(10 * time.Second)
	k.tick(gatesPass)
	baked := k.r.Baked

	k.advance(10 * time.Second)
	next, actions := Step(k.r, k.spec, Observations{Traffic: Traffic{Read: true, Weights: model.Weights{Blue: 50, Green: 50}}}, k.now)
	wantActions(t, summarize(actions), "Persist", "Event baking->shifting", "SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)")
	if ev := events(actions)[0]; ev.Before != (model.Weights{Blue: 50, Green: 50}) || ev.After != allGreen {
		t.Fatalf("event %v", ev)
	}
	k.tick(Observations{Traffic: Traffic{Read: true, Weights: model.Weights{Blue: 50, Green: 50}}})
	wantPhase(t, next, model.PhaseShifting)

	k.advance(time.Second)
	k.tick(verified(allGreen))
	wantPhase(t, k.r, model.PhaseBaking)
	if k.r.Baked != baked {
		t.Fatalf("baked %s, want the %s accrued before the drift kept", time.Duration(k.r.Baked), time.Duration(baked))
	}
}

func TestAbortInEachPhase(t *testing.T) {
	abort := Observations{Requests: Requests{Abort: "alice"}}
	tests := []struct {
		name  string
		setup func(k *machineT)
		want  model.ReleasePhase
	}{
		{"pending", func(k *machineT) {}, model.PhaseFailed},
		{"checking health", func(k *machineT) { k.tick(noObs) }, model.PhaseFailed},
		{"checking smoke", func(k *machineT) { k.tick(noObs); k.tick(healthy) }, model.PhaseFailed},
		{"paused before traffic", func(k *machineT) {
			k.tick(noObs)
			k.tick(Observations{Requests: Requests{Pause: "bob"}})
		}, model.PhaseFailed},
		{"shifting", func(k *machineT) { k.tick(noObs); k.tick(healthy); k.tick(smokePassed) }, model.PhaseRollingBack},
		{"baking", func(k *machineT) { k.toBaking() }, model.PhaseRollingBack},
		{"paused while baking", func(k *machineT) {
			k.toBaking()
			k.tick(Observations{Requests: Requests{Pause: "bob"}})
		}, model.PhaseRollingBack},
		{"promoting", func(k *machineT) {
			k.toBaking()
			k.tick(Observations{Requests: Requests{Promote: "bob"}})
		}, model.PhaseRollingBack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newMachine(t, albSpec())
			tt.setup(k)
			from := k.r.Phase
			k.advance(time.Second)
			next, actions := Step(k.r, k.spec, abort, k.now)
			k.tick(abort)
			wantPhase(t, next, tt.want)
			ev := events(actions)
			if len(ev) != 1 || ev[0].Actor != "alice" || ev[0].From != from || ev[0].To != tt.want {
				t.Fatalf("events %v", ev)
			}
			if next.Reason != "aborted by alice" || !strings.Contains(next.Message, "aborted by alice") {
				t.Fatalf("reason %q message %q", next.Reason, next.Message)
			}
			if tt.want == model.PhaseFailed && has(summarize(actions), "SetWeights") {
				t.Fatalf("abort before traffic wrote weights: %v", actions)
			}
			if tt.want == model.PhaseRollingBack {
				wantActions(t, summarize(actions), "Persist", "Event "+string(from)+"->rolling_back",
					"SetWeights(blue 100% / green 0%, rollback, stickiness off)", "VerifyWeights(blue 100% / green 0%)")
				k.tick(verified(allBlue))
				wantPhase(t, k.r, model.PhaseRolledBack)
				if k.r.Message != "rolled back to blue: aborted by alice" {
					t.Fatalf("message %q", k.r.Message)
				}
			}
		})
	}
}

func TestPause(t *testing.T) {
	pause := Observations{Requests: Requests{Pause: "alice"}}
	resume := Observations{Requests: Requests{Resume: "bob"}}

	t.Run("while baking: holds, keeps reading gates, accrues nothing", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Minute, CheckInterval: 10 * time.Second})
		k.toBaking()
		k.advance(10 * time.Second)
		k.tick(gatesPass)
		wantActions(t, k.tick(pause), "Persist", "Event baking->paused")
		if k.r.Status() != model.ReleaseStatusPaused || k.r.Message != "paused by alice" {
			t.Fatalf("status %s message %q", k.r.Status(), k.r.Message)
		}
		for range 30 {
			k.advance(10 * time.Second)
			acts := k.tick(gatesPass)
			wantActions(t, acts, "Persist", "ReadGates")
		}
		if k.r.Baked != 0 {
			t.Fatalf("baked %s while paused", time.Duration(k.r.Baked))
		}
		k.advance(time.Second)
		wantActions(t, k.tick(resume), "Persist", "Event paused->baking")
		wantPhase(t, k.r, model.PhaseBaking)
		k.advance(10 * time.Second)
		k.tick(gatesPass) // first read after resume starts a new chain
		k.advance(10 * time.Second)
		k.tick(gatesPass)
		if time.Duration(k.r.Baked) != 10*time.Second {
			t.Fatalf("baked %s", time.Duration(k.r.Baked))
		}
	})

	t.Run("a failed gate while paused rolls back", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Minute, CheckInterval: 10 * time.Second})
		k.toBaking()
		k.tick(pause)
		k.advance(10 * time.Second)
		k.tick(gatesFail)
		wantPhase(t, k.r, model.PhaseRollingBack)
	})

	t.Run("while checking: checks rerun on resume", func(t *testing.T) {
		k := newMachine(t, albSpec())
		k.tick(noObs)
		k.tick(healthy)
		wantActions(t, k.tick(pause), "Persist", "Event checking->paused")
		wantActions(t, k.tick(smokePassed)) // results while paused are dropped
		wantActions(t, k.tick(resume), "Persist", "Event paused->checking", "CheckHealth(green, min 1)")
	})

	t.Run("while shifting: keeps asserting the intent", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Minute, CheckInterval: 10 * time.Second})
		k.tick(noObs)
		k.advance(time.Second)
		wantActions(t, k.tick(pause), "Persist", "Event shifting->paused", "SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)")
		k.advance(time.Second)
		wantActions(t, k.tick(verified(allGreen)), "Persist")
		if k.r.ShiftedAt.IsZero() || k.r.FirstShiftVerifiedAt.IsZero() {
			t.Fatal("verification while paused not recorded")
		}
		k.advance(time.Second)
		wantActions(t, k.tick(resume), "Persist", "Event paused->baking") // gates read 3s ago
	})

	t.Run("drift while paused is repaired in place", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Minute, CheckInterval: 10 * time.Second})
		k.toBaking()
		k.tick(pause)
		wantActions(t, k.tick(Observations{Traffic: Traffic{Read: true, Weights: allBlue}}),
			"Persist", "Event paused->paused", "SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)")
		wantPhase(t, k.r, model.PhasePaused)
	})

	t.Run("ignored requests are recorded", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Minute, CheckInterval: 10 * time.Second})
		k.toBaking()
		next, actions := Step(k.r, k.spec, resume, k.now)
		ev := events(actions)
		if len(ev) != 1 || ev[0].From != ev[0].To || !strings.Contains(ev[0].Message, "resume by bob ignored") {
			t.Fatalf("events %v", ev)
		}
		wantPhase(t, next, model.PhaseBaking)
		k.tick(pause)
		next, actions = Step(k.r, k.spec, pause, k.now)
		if ev := events(actions); len(ev) != 1 || !strings.Contains(ev[0].Message, "pause by alice ignored") {
			t.Fatalf("events %v", ev)
		}
		wantPhase(t, next, model.PhasePaused)
	})
}

func TestPromote(t *testing.T) {
	promote := Observations{Requests: Requests{Promote: "carol"}}

	t.Run("while baking skips the rest of the bake", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Hour, CheckInterval: 10 * time.Second})
		k.toBaking()
		next, actions := Step(k.r, k.spec, promote, k.now)
		wantActions(t, summarize(actions), "Persist", "Event baking->baking", "Event baking->promoting", "VerifyWeights(blue 0% / green 100%)")
		if ev := events(actions); ev[1].Actor != "carol" {
			t.Fatalf("events %v", ev)
		}
		wantPhase(t, next, model.PhasePromoting)
	})

	t.Run("while paused resumes and promotes", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Hour, CheckInterval: 10 * time.Second})
		k.toBaking()
		k.tick(Observations{Requests: Requests{Pause: "alice"}})
		wantActions(t, k.tick(promote), "Persist", "Event paused->baking", "Event baking->promoting", "VerifyWeights(blue 0% / green 100%)")
	})

	t.Run("before the shift applies once it is verified; checks still run", func(t *testing.T) {
		k := newMachine(t, Spec{BakeTime: time.Hour, CheckInterval: 10 * time.Second, SmokeTest: true})
		k.tick(noObs)
		wantActions(t, k.tick(promote), "Persist", "Event checking->checking", "RunSmokeTest(green)")
		if k.r.PromotedBy != "carol" {
			t.Fatalf("promoted by %q", k.r.PromotedBy)
		}
		k.tick(smokePassed)
		wantPhase(t, k.r, model.PhaseShifting)
		k.tick(verified(allGreen))
		wantPhase(t, k.r, model.PhasePromoting)
		if k.r.PromotedBy != "" {
			t.Fatalf("promoted by %q after the stage", k.r.PromotedBy)
		}
	})

	t.Run("while promoting is ignored", func(t *testing.T) {
		k := newMachine(t, Spec{CheckInterval: 10 * time.Second})
		k.toBaking()
		wantPhase(t, k.r, model.PhasePromoting)
		acts := k.tick(promote)
		wantActions(t, acts, "Persist", "Event promoting->promoting", "SetWeights(blue 0% / green 100%)", "VerifyWeights(blue 0% / green 100%)")
	})
}

func TestTerminalReleasesEmitNothing(t *testing.T) {
	all := []Observations{
		noObs, healthy, smokePassed, gatesFail, verified(allBlue),
		{Requests: Requests{Abort: "a", Pause: "b", Resume: "c", Promote: "d"}},
		{Traffic: Traffic{Read: true, Weights: model.Weights{Blue: 50, Green: 50}}},
	}
	for _, p := range []model.ReleasePhase{model.PhaseReleased, model.PhaseRolledBack, model.PhaseFailed} {
		r := newRelease()
		r.Phase = p
		r.IntendedWeights = allGreen
		for _, o := range all {
			next, actions := Step(r, albSpec(), o, t0.Add(time.Hour))
			if len(actions) != 0 || !reflect.DeepEqual(next, r) {
				t.Fatalf("%s: %v", p, actions)
			}
		}
	}
}

func TestStagesShiftOneAfterAnother(t *testing.T) {
	spec := Spec{CheckInterval: 10 * time.Second, Stages: []Stage{
		{Name: "employees", TrafficPercent: 0, BakeTime: 0},
		{Name: "early", TrafficPercent: 5, BakeTime: 10 * time.Second},
		{Name: "fleet", TrafficPercent: 100, BakeTime: 0, Manual: true},
	}}
	k := newMachine(t, spec)
	wantActions(t, k.tick(noObs), "Persist", "Event pending->checking", "Event checking->shifting",
		"SetWeights(blue 100% / green 0%)", "VerifyWeights(blue 100% / green 0%)", "ReadGates")
	k.advance(time.Second)
	wantActions(t, k.tick(verified(allBlue)), "Persist", "Event shifting->baking", "Event baking->shifting",
		"SetWeights(blue 95% / green 5%)", "VerifyWeights(blue 95% / green 5%)")
	if k.r.StageIndex != 1 || !strings.HasPrefix(k.r.Message, "stage 2/3 early") {
		t.Fatalf("stage %d message %q", k.r.StageIndex, k.r.Message)
	}
	k.advance(time.Second)
	k.tick(with(verified(model.Weights{Blue: 95, Green: 5}), func(o *Observations) { o.Gates = gatesPass.Gates }))
	k.advance(10 * time.Second)
	k.tick(gatesPass)
	wantPhase(t, k.r, model.PhaseShifting)
	if k.r.StageIndex != 2 || k.r.Baked != 0 {
		t.Fatalf("stage %d baked %s", k.r.StageIndex, time.Duration(k.r.Baked))
	}
	k.advance(time.Second)
	k.tick(verified(allGreen))
	for range 3 { // a manual stage waits for promote
		k.advance(10 * time.Second)
		k.tick(gatesPass)
		wantPhase(t, k.r, model.PhaseBaking)
	}
	if !strings.Contains(k.r.Message, "waiting for promote") {
		t.Fatalf("message %q", k.r.Message)
	}
	k.tick(Observations{Requests: Requests{Promote: "carol"}})
	wantPhase(t, k.r, model.PhasePromoting)
}

func TestSpecFor(t *testing.T) {
	env := model.EnvironmentSpec{
		Name:          "checkout",
		Green:         model.Slot{SmokeTestURL: "http://green/healthz"},
		BakeTime:      model.Duration(5 * time.Minute),
		CheckInterval: model.Duration(time.Second),
		ALB:           &model.ALB{StickinessDuration: model.Duration(time.Hour), MinHealthyTargets: 2},
	}
	got := SpecFor(env, newRelease())
	want := Spec{BakeTime: 5 * time.Minute, CheckInterval: time.Second, Stickiness: true, MinHealthyTargets: 2, SmokeTest: true}
	if got.BakeTime != want.BakeTime || got.CheckInterval != want.CheckInterval || got.Stickiness != want.Stickiness ||
		got.MinHealthyTargets != want.MinHealthyTargets || got.SmokeTest != want.SmokeTest || got.Settle != 0 {
		t.Fatalf("alb: %+v", got)
	}

	env.ALB = nil
	env.Route53 = &model.Route53{TTL: 60}
	r := newRelease()
	r.TargetSlot, r.FromSlot = model.SlotBlue, model.SlotGreen
	got = SpecFor(env, r)
	if got.Settle != time.Minute || got.Stickiness || got.MinHealthyTargets != 0 || got.SmokeTest {
		t.Fatalf("route53: %+v", got)
	}
}
