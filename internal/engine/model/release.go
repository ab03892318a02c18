package model

import (
	"fmt"
	"time"
)

// ReleasePhase is where a release stands in the release state machine
// (package release documents the machine).
type ReleasePhase string

// Release phases.
const (
	PhasePending     ReleasePhase = "pending"      // created, not yet picked up by the controller
	PhaseChecking    ReleasePhase = "checking"     // target health, then the smoke test
	PhaseShifting    ReleasePhase = "shifting"     // a stage's weights are written and not yet read back
	PhaseBaking      ReleasePhase = "baking"       // a stage's weights are verified; gates are read every check_interval
	PhasePromoting   ReleasePhase = "promoting"    // all stages done; 100 % on the target is being verified
	PhaseReleased    ReleasePhase = "released"     // terminal: the target slot is live
	PhasePaused      ReleasePhase = "paused"       // held at the intended weights by an operator
	PhaseRollingBack ReleasePhase = "rolling_back" // restoring 100 % to the slot that was live
	PhaseRolledBack  ReleasePhase = "rolled_back"  // terminal: the slot that was live serves again
	PhaseFailed      ReleasePhase = "failed"       // terminal: stopped before any traffic moved
)

// Terminal reports whether the phase is an outcome: nothing moves any more.
func (p ReleasePhase) Terminal() bool {
	return p == PhaseReleased || p == PhaseRolledBack || p == PhaseFailed
}

// ReleaseStatus is the release status Terraform shows.
type ReleaseStatus string

// Release statuses. Idle is an environment's status when it has no release.
const (
	ReleaseStatusIdle        ReleaseStatus = "idle"
	ReleaseStatusProgressing ReleaseStatus = "progressing"
	ReleaseStatusPaused      ReleaseStatus = "paused"
	ReleaseStatusReleased    ReleaseStatus = "released"
	ReleaseStatusRolledBack  ReleaseStatus = "rolled_back"
	ReleaseStatusFailed      ReleaseStatus = "failed"
)

// Sub-steps of the checking phase.
const (
	CheckStepHealth = "health"
	CheckStepSmoke  = "smoke"
)

// ActorEngine is the actor of transitions the engine makes by itself.
const ActorEngine = "engine"

// Weights are percentages of customer traffic per slot; they sum to 100. The
// zero value means "no intent": nothing was ever written. It converts to and
// from traffic.Weights, which has the same fields.
type Weights struct {
	Blue  int `json:"blue"`
	Green int `json:"green"`
}

// AllTo returns the weights that send everything to slot.
func AllTo(slot string) Weights {
	if slot == SlotGreen {
		return Weights{Green: 100}
	}
	return Weights{Blue: 100}
}

// Split returns the weights that send percent to slot and the rest to the
// other slot; percent is clamped to 0..100.
func Split(slot string, percent int) Weights {
	percent = min(max(percent, 0), 100)
	if slot == SlotGreen {
		return Weights{Blue: 100 - percent, Green: percent}
	}
	return Weights{Blue: percent, Green: 100 - percent}
}

// Of returns the weight of slot.
func (w Weights) Of(slot string) int {
	if slot == SlotGreen {
		return w.Green
	}
	return w.Blue
}

// IsZero reports whether w is the zero value (no intent).
func (w Weights) IsZero() bool { return w == Weights{} }

// Valid reports whether w is a split of 100 percent.
func (w Weights) Valid() bool { return w.Blue >= 0 && w.Green >= 0 && w.Blue+w.Green == 100 }

func (w Weights) String() string {
	if w.IsZero() {
		return "none"
	}
	return fmt.Sprintf("blue %d%% / green %d%%", w.Blue, w.Green)
}

// Release is one attempt to move customers of an environment to a slot. It is
// stored as an engine object, written only by the controller (under its
// fence) with what release.Step returns, and outlives terraform apply.
type Release struct {
	ID          string `json:"id"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	// TargetSlot is the slot customers should get.
	TargetSlot string `json:"target_slot"`
	// FromSlot was the active slot when the release started; rollback
	// restores it to 100 %.
	FromSlot string `json:"from_slot"`
	// Trigger is the progressive_release trigger this attempt answers.
	Trigger string `json:"trigger,omitempty"`

	Phase ReleasePhase `json:"phase"`
	// Message says, for a person, what is happening or what happened.
	Message string `json:"message,omitempty"`
	// Reason is why a release failed or rolled back ("aborted by alice",
	// or the gate with its value and bound); empty otherwise.
	Reason     string    `json:"reason,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`

	// Check is the sub-step of the checking phase: health, then smoke.
	Check string `json:"check,omitempty"`
	// CheckErrors counts consecutive errors of the current check.
	CheckErrors int `json:"check_errors,omitempty"`

	// StageIndex is the current stage (0 for blue-green's single stage).
	StageIndex int `json:"stage_index"`
	// IntendedWeights is persisted before every weight write; zero means no
	// write was ever attempted, so no traffic can have moved.
	IntendedWeights Weights `json:"intended_weights,omitzero"`
	// Writes counts the weight writes made for the current intent.
	Writes int `json:"writes,omitempty"`
	// ShiftedAt is when AWS was read back showing IntendedWeights; zero
	// while the current intent is unverified.
	ShiftedAt time.Time `json:"shifted_at,omitzero"`
	// FirstShiftVerifiedAt is when the first stage's weights were first read
	// back: wait_for = "start" returns from then on.
	FirstShiftVerifiedAt time.Time `json:"first_shift_verified_at,omitzero"`

	// Baked is the bake time of the current stage, accrued only over
	// intervals bounded by two passing gate reads at most two check
	// intervals apart, and only after the shift settled.
	Baked Duration `json:"baked"`
	// LastGateReadAt is the last passing gate read of an unbroken chain;
	// zero when the chain is broken (inconclusive read, pause, new shift).
	LastGateReadAt time.Time `json:"last_gate_read_at,omitzero"`
	// GatesRequestedAt is when gates were last asked for, to pace reads
	// at check_interval.
	GatesRequestedAt time.Time `json:"gates_requested_at,omitzero"`

	// PromotedBy is set when an operator promoted the current stage: its
	// remaining bake (or its manual approval) is skipped.
	PromotedBy string `json:"promoted_by,omitempty"`

	// Policy is the canary policy the release runs under, pinned at the
	// version it started with; nil for a blue-green release.
	Policy *PinnedPolicy `json:"policy,omitempty"`
	// Audience is set when the current intent includes the stage's audience
	// rule (sending matching requests to the target slot).
	Audience bool `json:"audience,omitempty"`
	// GateFailures counts consecutive failed gate checks; GateErrors
	// consecutive errors reading them.
	GateFailures int `json:"gate_failures,omitempty"`
	GateErrors   int `json:"gate_errors,omitempty"`
	// Gates are the last reading of each gate, for people watching.
	Gates []GateReading `json:"gates,omitempty"`
	// GatesReadAt is when Gates were read.
	GatesReadAt time.Time `json:"gates_read_at,omitzero"`
	// AwaitingApproval is set while a baked manual stage waits for promote.
	AwaitingApproval bool `json:"awaiting_approval,omitempty"`
}

// PinnedPolicy is a canary policy as a release started with it: later
// changes to the policy do not reach a running release.
type PinnedPolicy struct {
	Name    string           `json:"name"`
	Version int64            `json:"version"`
	Spec    CanaryPolicySpec `json:"spec"`
}

// Gate reading states.
const (
	GateOK           = "ok"
	GateFailing      = "failing"
	GateInsufficient = "insufficient_data"
	GateError        = "error"
)

// GateReading is one gate's last reading.
type GateReading struct {
	// Name is the alarm name, or the metric gate's name.
	Name string `json:"name"`
	// Kind is alarm or metric.
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Value is what was observed ("ALARM", "0.11", "0.11 vs baseline 0.2").
	Value string `json:"value,omitempty"`
	// Bound is what the gate requires ("OK", "min 0.15").
	Bound string `json:"bound,omitempty"`
}

// Stages returns the release's stages: its policy's, or nil for blue-green.
func (r Release) Stages() []CanaryStage {
	if r.Policy == nil {
		return nil
	}
	return r.Policy.Spec.Stages
}

// NewRelease returns a pending release of env to target, started at now.
func NewRelease(id, project, env, target, trigger string, now time.Time) Release {
	return Release{
		ID: id, Project: project, Environment: env,
		TargetSlot: target, FromSlot: OtherSlot(target), Trigger: trigger,
		Phase: PhasePending, Message: "waiting for the controller", StartedAt: now,
	}
}

// Status maps the phase to the status Terraform shows.
func (r Release) Status() ReleaseStatus {
	switch r.Phase {
	case PhasePaused:
		return ReleaseStatusPaused
	case PhaseReleased:
		return ReleaseStatusReleased
	case PhaseRolledBack:
		return ReleaseStatusRolledBack
	case PhaseFailed:
		return ReleaseStatusFailed
	default:
		return ReleaseStatusProgressing
	}
}

// TrafficMayHaveMoved reports whether a weight write was ever attempted:
// from then on, ending the release means rolling back.
func (r Release) TrafficMayHaveMoved() bool { return !r.IntendedWeights.IsZero() }

// Validate checks the fields a release is created with.
func (r Release) Validate() error {
	var p Problems
	if r.ID == "" {
		p.Add("/id", "the release id is required")
	}
	if !envNameRE.MatchString(r.Environment) {
		p.Add("/environment", "the environment name "+quote(r.Environment)+" is not valid: use 1 to 63 lower-case letters, digits and hyphens")
	}
	if r.TargetSlot != SlotBlue && r.TargetSlot != SlotGreen {
		p.Add("/target_slot", "the slot "+quote(r.TargetSlot)+" is not valid: use blue or green")
	}
	if r.FromSlot != OtherSlot(r.TargetSlot) {
		p.Add("/from_slot", "from_slot must be the other slot than "+quote(r.TargetSlot))
	}
	switch r.Phase {
	case PhasePending, PhaseChecking, PhaseShifting, PhaseBaking, PhasePromoting, PhaseReleased,
		PhasePaused, PhaseRollingBack, PhaseRolledBack, PhaseFailed:
	default:
		p.Add("/phase", "unknown phase "+quote(string(r.Phase)))
	}
	return p.Err()
}
