package release

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	allBlue  = model.AllTo(model.SlotBlue)
	allGreen = model.AllTo(model.SlotGreen)
)

func newRelease() model.Release {
	return model.NewRelease("rel-1", "default", "checkout", model.SlotGreen, "v42", t0)
}

// albSpec is a blue-green release on ALB: 1 healthy target, a smoke test,
// stickiness on, 5m bake, 10s checks.
func albSpec() Spec {
	return Spec{BakeTime: 5 * time.Minute, CheckInterval: 10 * time.Second, Stickiness: true, MinHealthyTargets: 1, SmokeTest: true}
}

// machineT drives Step one tick at a time and checks, on every tick, the
// invariants every caller relies on.
type machineT struct {
	t    *testing.T
	r    model.Release
	spec Spec
	now  time.Time
	// persisted is the intent last stored through Persist.
	persisted model.Weights
}

func newMachine(t *testing.T, spec Spec) *machineT {
	t.Helper()
	return &machineT{t: t, r: newRelease(), spec: spec, now: t0}
}

func (k *machineT) advance(d time.Duration) { k.now = k.now.Add(d) }

// tick runs one Step and returns a summary of its actions.
func (k *machineT) tick(obs Observations) []string {
	k.t.Helper()
	next, actions := Step(k.r, k.spec, obs, k.now)
	checkTick(k.t, k.r, next, actions, &k.persisted)
	k.r = next
	return summarize(actions)
}

// checkTick asserts the structural rules of one tick's actions.
func checkTick(t *testing.T, prev, next model.Release, actions []Action, persisted *model.Weights) {
	t.Helper()
	changed := !reflect.DeepEqual(prev, next)
	if changed {
		if len(actions) == 0 {
			t.Fatalf("release changed without Persist")
		}
		p, ok := actions[0].(Persist)
		if !ok || !reflect.DeepEqual(p.Release, next) {
			t.Fatalf("first action is %v, want Persist of the next release", actions[0])
		}
	}
	if prev.Phase.Terminal() && len(actions) > 0 {
		t.Fatalf("terminal release emitted %v", actions)
	}
	seenCall := false
	for i, a := range actions {
		switch a := a.(type) {
		case Persist:
			if i != 0 {
				t.Fatalf("Persist at position %d", i)
			}
			*persisted = a.Release.IntendedWeights
		case Event:
			if seenCall {
				t.Fatalf("event after a call: %v", actions)
			}
		case SetWeights:
			seenCall = true
			if a.Weights != *persisted {
				t.Fatalf("SetWeights(%s) without persisted intent (persisted %s)", a.Weights, *persisted)
			}
		default:
			seenCall = true
		}
	}
	if _, err := json.Marshal(next); err != nil {
		t.Fatal(err)
	}
}

// summarize gives each action a short, stable form for comparisons.
func summarize(actions []Action) []string {
	out := make([]string, 0, len(actions))
	for _, a := range actions {
		switch a := a.(type) {
		case Persist:
			out = append(out, "Persist")
		case Event:
			out = append(out, "Event "+string(a.From)+"->"+string(a.To))
		default:
			out = append(out, a.String())
		}
	}
	return out
}

func events(actions []Action) []Event {
	var out []Event
	for _, a := range actions {
		if e, ok := a.(Event); ok {
			out = append(out, e)
		}
	}
	return out
}

func wantActions(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("actions:\n got  %s\n want %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
}

func wantPhase(t *testing.T, r model.Release, p model.ReleasePhase) {
	t.Helper()
	if r.Phase != p {
		t.Fatalf("phase %s, want %s (message %q)", r.Phase, p, r.Message)
	}
}

func has(actions []string, prefix string) bool {
	for _, a := range actions {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// Observations used throughout.
var (
	noObs       = Observations{}
	healthy     = Observations{Health: Health{Checked: true, Healthy: 2}}
	smokePassed = Observations{Smoke: Smoke{Result: SmokePassed}}
	gatesPass   = Observations{Gates: Gates{Result: GatesPassed}}
	gatesUnsure = Observations{Gates: Gates{Result: GatesInconclusive}}
	gatesFail   = Observations{Gates: Gates{Result: GatesFailed, Gate: "checkout-5xx", Value: "ALARM", Bound: "OK"}}
)

func verified(w model.Weights) Observations {
	return Observations{Traffic: Traffic{Verified: true, VerifiedWeights: w}}
}

func with(o Observations, f func(*Observations)) Observations {
	f(&o)
	return o
}

// toBaking drives a release to its verified shift at k.now: baking, or
// promoting when nothing is left to bake.
func (k *machineT) toBaking() {
	k.t.Helper()
	k.tick(noObs)
	if k.spec.MinHealthyTargets > 0 {
		k.tick(healthy)
	}
	if k.spec.SmokeTest {
		k.tick(smokePassed)
	}
	wantPhase(k.t, k.r, model.PhaseShifting)
	k.advance(time.Second)
	k.tick(verified(k.r.IntendedWeights))
	if k.r.Phase != model.PhaseBaking && k.r.Phase != model.PhasePromoting {
		k.t.Fatalf("phase %s after the verified shift", k.r.Phase)
	}
}

// roundTrip stores and loads the release, as a restart would.
func roundTrip(t *testing.T, r model.Release) model.Release {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out model.Release
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
