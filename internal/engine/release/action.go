package release

import (
	"fmt"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Action is one thing Step asks the controller to do. It is a closed sum
// type: Persist, Event, CheckHealth, RunSmokeTest, SetWeights, VerifyWeights
// and ReadGates. The controller executes a tick's actions in order and stops
// at the first Persist that fails.
type Action interface {
	fmt.Stringer
	action()
}

// Persist stores Release, under the controller's fence. It comes first
// whenever the release changed, so intent is stored before any AWS call.
type Persist struct {
	Release model.Release
}

// Event appends an audit event: who or what moved the release from one phase
// to another (From == To for a note, such as an ignored request), when, why,
// and the intended weights before and after.
type Event struct {
	Time    time.Time
	Actor   string
	From    model.ReleasePhase
	To      model.ReleasePhase
	Message string
	Before  model.Weights
	After   model.Weights
}

// CheckHealth counts the healthy targets behind Slot (result: Health).
type CheckHealth struct {
	Slot string
	Min  int
}

// RunSmokeTest runs the smoke test of Slot (result: Smoke).
type RunSmokeTest struct {
	Slot string
}

// SetWeights writes Weights (idempotent). Rollback marks a rollback write,
// which goes ahead of every other AWS call; DisableStickiness turns
// target-group stickiness off in the same write.
type SetWeights struct {
	Weights           model.Weights
	DisableStickiness bool
	Rollback          bool
	// Audience, when set, is routed to Target by the audience rule; nil
	// means no audience rule (it is removed if present).
	Audience *model.Audience
	Target   string
}

// VerifyWeights reads AWS back until it shows Weights (result:
// Traffic.Verified and Traffic.VerifiedWeights).
type VerifyWeights struct {
	Weights  model.Weights
	Audience *model.Audience
	Target   string
}

// ReadGates evaluates the release's gates (result: Gates).
type ReadGates struct{}

func (Persist) action()       {}
func (Event) action()         {}
func (CheckHealth) action()   {}
func (RunSmokeTest) action()  {}
func (SetWeights) action()    {}
func (VerifyWeights) action() {}
func (ReadGates) action()     {}

func (a Persist) String() string {
	return fmt.Sprintf("Persist(%s, intent %s)", a.Release.Phase, a.Release.IntendedWeights)
}

func (a Event) String() string {
	return fmt.Sprintf("Event(%s -> %s by %s: %s; %s -> %s)", a.From, a.To, a.Actor, a.Message, a.Before, a.After)
}

func (a CheckHealth) String() string { return fmt.Sprintf("CheckHealth(%s, min %d)", a.Slot, a.Min) }

func (a RunSmokeTest) String() string { return "RunSmokeTest(" + a.Slot + ")" }

func (a SetWeights) String() string {
	s := "SetWeights(" + a.Weights.String()
	if a.Rollback {
		s += ", rollback"
	}
	if a.DisableStickiness {
		s += ", stickiness off"
	}
	if a.Audience != nil {
		s += ", audience to " + a.Target
	}
	return s + ")"
}

func (a VerifyWeights) String() string {
	s := "VerifyWeights(" + a.Weights.String()
	if a.Audience != nil {
		s += ", audience to " + a.Target
	}
	return s + ")"
}

func (ReadGates) String() string { return "ReadGates" }
