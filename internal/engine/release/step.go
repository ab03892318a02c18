package release

import (
	"fmt"
	"reflect"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Step advances r by one tick: given what the controller observed since the
// previous Step and the time now, it returns the next release and the
// actions to execute in order (see the package doc). It is pure and
// deterministic; terminal releases come back unchanged, with no actions.
func Step(r model.Release, spec Spec, obs Observations, now time.Time) (model.Release, []Action) {
	if r.Phase.Terminal() {
		return r, nil
	}
	m := machine{r: r, spec: spec.normalized(), obs: obs, now: now}
	m.step()
	var actions []Action
	if !reflect.DeepEqual(m.r, r) {
		actions = append(actions, Persist{Release: m.r})
	}
	actions = append(actions, m.events...)
	actions = append(actions, m.calls...)
	return m.r, actions
}

// machine is the state of one Step.
type machine struct {
	r      model.Release
	spec   Spec
	obs    Observations
	now    time.Time
	events []Action // audit events, after Persist
	calls  []Action // AWS and HTTP calls, after the events
	// late is the gap between two passing gate reads that was too long to
	// count as bake time, when this tick saw one.
	late time.Duration
}

// step is a flat list of small steps; each may end the tick.
func (m *machine) step() {
	if m.r.Phase == "" {
		m.r.Phase = model.PhasePending
	}
	if m.r.StartedAt.IsZero() {
		m.r.StartedAt = m.now
	}
	if m.abort() {
		return
	}
	if m.r.Phase == model.PhaseRollingBack {
		m.rollingBack()
		return
	}
	if m.gateFailed() {
		return
	}
	if m.requests() {
		return
	}
	switch m.r.Phase {
	case model.PhasePending:
		m.start()
	case model.PhaseChecking:
		m.checking()
	case model.PhaseShifting:
		m.shifting()
	case model.PhaseBaking:
		m.baking()
	case model.PhasePaused:
		m.paused()
	case model.PhasePromoting:
		m.promoting()
	default:
		m.end(model.ActorEngine, fmt.Sprintf("unknown phase %q", m.r.Phase))
	}
}

// --- transitions and actions ---

func (m *machine) call(a Action) { m.calls = append(m.calls, a) }

// current is the intended weights, or (before any intent) the weights the
// release started from.
func (m *machine) current() model.Weights {
	if m.r.IntendedWeights.IsZero() {
		return model.AllTo(m.r.FromSlot)
	}
	return m.r.IntendedWeights
}

func (m *machine) event(actor string, to model.ReleasePhase, msg string, before, after model.Weights) {
	m.events = append(m.events, Event{Time: m.now, Actor: actor, From: m.r.Phase, To: to, Message: msg, Before: before, After: after})
}

// to moves the release to phase p, with a message and an audit event.
func (m *machine) to(p model.ReleasePhase, actor, msg string) {
	w := m.current()
	m.event(actor, p, msg, w, w)
	m.r.Phase = p
	m.r.Message = msg
}

// toIntent moves the release to phase p with a new, unverified intent.
func (m *machine) toIntent(p model.ReleasePhase, actor, msg string, w model.Weights) {
	m.event(actor, p, msg, m.current(), w)
	m.r.Phase = p
	m.r.Message = msg
	m.r.IntendedWeights = w
	m.r.Audience = false
	m.r.AwaitingApproval = false
	m.r.Writes = 0
	m.r.ShiftedAt = time.Time{}
	m.r.LastGateReadAt = time.Time{}
}

// note records an event that changes no phase.
func (m *machine) note(actor, msg string) {
	w := m.current()
	m.event(actor, m.r.Phase, msg, w, w)
}

// assert writes the intent and reads it back.
func (m *machine) assert(rollback bool) {
	m.r.Writes++
	aud := m.audience()
	m.call(SetWeights{Weights: m.r.IntendedWeights, Rollback: rollback, DisableStickiness: rollback && m.spec.Stickiness, Audience: aud, Target: m.r.TargetSlot})
	m.call(VerifyWeights{Weights: m.r.IntendedWeights, Audience: aud, Target: m.r.TargetSlot})
}

// verify reads the intent back without writing it.
func (m *machine) verify() {
	m.call(VerifyWeights{Weights: m.r.IntendedWeights, Audience: m.audience(), Target: m.r.TargetSlot})
}

// audience is the audience rule the intent includes, or nil.
func (m *machine) audience() *model.Audience {
	if !m.r.Audience {
		return nil
	}
	return m.stage().Audience
}

// verified reports whether a read-back showed the intent.
func (m *machine) verified() bool {
	t := m.obs.Traffic
	return t.Verified && t.VerifiedWeights == m.r.IntendedWeights && !m.r.IntendedWeights.IsZero()
}

// drifted reports whether AWS holds other weights than a verified intent.
func (m *machine) drifted() bool {
	t := m.obs.Traffic
	return t.Read && !m.r.ShiftedAt.IsZero() && (t.Weights != m.r.IntendedWeights || t.AudienceDrift)
}

// readGatesIfDue asks for a gate read once per check interval (see
// GatesDue).
func (m *machine) readGatesIfDue() {
	if !GatesDue(m.r.GatesRequestedAt, m.now, m.spec.CheckInterval) {
		return
	}
	m.r.GatesRequestedAt = m.now
	m.call(ReadGates{})
}

// GatesDue reports whether gates last asked for at last are due again at
// now. A read counts as due half a second (at most half the interval)
// early: controller ticks jitter, and a tick that starts a little late
// must not push the next one's read a whole tick later.
func GatesDue(last, now time.Time, interval time.Duration) bool {
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	early := min(interval/2, 500*time.Millisecond)
	return last.IsZero() || now.Before(last) || now.Sub(last) >= interval-early
}

func (m *machine) stage() Stage {
	i := min(max(m.r.StageIndex, 0), len(m.spec.Stages)-1)
	return m.spec.Stages[i]
}

func (m *machine) finish(p model.ReleasePhase, actor, msg string) {
	m.to(p, actor, msg)
	m.r.FinishedAt = m.now
	m.r.Check = ""
	m.r.PromotedBy = ""
}

// end stops the release for reason: a rollback once traffic may have moved,
// failed before.
func (m *machine) end(actor, reason string) {
	if m.r.TrafficMayHaveMoved() {
		m.rollBack(actor, reason)
		return
	}
	m.r.Reason = reason
	m.finish(model.PhaseFailed, actor, "failed, no traffic moved: "+reason)
}

// --- operator requests and gates, before the phase ---

func (m *machine) abort() bool {
	actor := m.obs.Requests.Abort
	if actor == "" || m.r.Phase == model.PhaseRollingBack {
		return false
	}
	m.end(actor, "aborted by "+actor)
	return true
}

// gateFailed takes a gate verdict: it keeps the readings, counts failures
// and errors, and rolls back once they pass their limits. It reports whether
// the tick is over.
func (m *machine) gateFailed() bool {
	g := m.obs.Gates
	if g.Result == GatesNotRead {
		return false
	}
	if g.Readings != nil {
		m.r.Gates = g.Readings
		m.r.GatesReadAt = m.now
	}
	switch g.Result {
	case GatesPassed:
		m.r.GateFailures, m.r.GateErrors = 0, 0
		return false
	case GatesError:
		m.r.GateErrors++
		if m.spec.GateErrorLimit <= 0 || m.r.GateErrors < m.spec.GateErrorLimit {
			return false
		}
		m.r.GateErrors = 0
		g = Gates{Result: GatesFailed, Gate: "gate reads", Message: fmt.Sprintf("%d consecutive errors reading the gates, the last: %s", m.spec.GateErrorLimit, g.Message)}
	case GatesFailed:
		m.r.GateErrors = 0
	default:
		return false
	}
	if !m.r.TrafficMayHaveMoved() {
		return false
	}
	m.r.GateFailures++
	if m.r.GateFailures <= m.spec.FailureLimit {
		m.note(model.ActorEngine, fmt.Sprintf("%s (failed check %d, %d tolerated)", gateReason(g), m.r.GateFailures, m.spec.FailureLimit))
		return false
	}
	m.rollBack(model.ActorEngine, gateReason(g))
	return true
}

func gateReason(g Gates) string {
	s := "a gate failed"
	if g.Gate != "" {
		s = fmt.Sprintf("gate %q failed", g.Gate)
	}
	if g.Value != "" {
		s += ": value " + g.Value
	}
	if g.Bound != "" {
		s += ", bound " + g.Bound
	}
	if g.Message != "" {
		s += " (" + g.Message + ")"
	}
	return s
}

// requests handles one of promote, resume and pause; it reports whether the
// tick is over.
func (m *machine) requests() bool {
	q := m.obs.Requests
	switch {
	case q.Promote != "":
		return m.promote(q.Promote)
	case q.Resume != "":
		return m.resume(q.Resume, "resumed by "+q.Resume)
	case q.Pause != "":
		return m.pause(q.Pause)
	}
	return false
}

func (m *machine) promote(actor string) bool {
	if m.r.Phase == model.PhasePromoting {
		m.note(actor, "promote by "+actor+" ignored: the release is already promoting")
		return false
	}
	m.r.PromotedBy = actor
	if m.r.Phase == model.PhasePaused {
		return m.resume(actor, "promoted by "+actor+": resumed, the rest of the stage is skipped")
	}
	m.note(actor, "promoted by "+actor+": the rest of the stage is skipped")
	return false
}

func (m *machine) pause(actor string) bool {
	if m.r.Phase == model.PhasePaused || m.r.Phase == model.PhasePromoting {
		m.note(actor, fmt.Sprintf("pause by %s ignored: the release is %s", actor, m.r.Phase))
		return false
	}
	m.to(model.PhasePaused, actor, "paused by "+actor)
	m.r.Check = ""
	m.r.LastGateReadAt = time.Time{}
	m.paused()
	return true
}

// resume leaves paused for the phase the release's state implies: checks
// again from the start before any traffic moved, shifting while the intent
// is unverified, else baking.
func (m *machine) resume(actor, msg string) bool {
	if m.r.Phase != model.PhasePaused {
		m.note(actor, fmt.Sprintf("resume by %s ignored: the release is %s, not paused", actor, m.r.Phase))
		return false
	}
	m.r.LastGateReadAt = time.Time{}
	switch {
	case !m.r.TrafficMayHaveMoved():
		m.to(model.PhaseChecking, actor, msg)
		m.enterChecking()
	case m.r.ShiftedAt.IsZero():
		m.to(model.PhaseShifting, actor, msg)
		m.shifting()
	default:
		m.to(model.PhaseBaking, actor, msg)
		m.baking()
	}
	return true
}

// --- phases ---

func (m *machine) start() {
	m.to(model.PhaseChecking, model.ActorEngine, "checking "+m.r.TargetSlot+" before it takes traffic")
	m.enterChecking()
}

func (m *machine) enterChecking() {
	m.r.CheckErrors = 0
	if m.spec.MinHealthyTargets <= 0 {
		m.enterSmoke()
		return
	}
	m.r.Check = model.CheckStepHealth
	m.r.Message = fmt.Sprintf("checking %s: counting healthy targets (needs %d)", m.r.TargetSlot, m.spec.MinHealthyTargets)
	m.call(CheckHealth{Slot: m.r.TargetSlot, Min: m.spec.MinHealthyTargets})
}

func (m *machine) enterSmoke() {
	m.r.CheckErrors = 0
	if !m.spec.SmokeTest {
		m.checksPassed()
		return
	}
	m.r.Check = model.CheckStepSmoke
	m.r.Message = "checking " + m.r.TargetSlot + ": smoke test"
	m.call(RunSmokeTest{Slot: m.r.TargetSlot})
}

func (m *machine) checksPassed() {
	m.r.Check = ""
	m.r.CheckErrors = 0
	m.enterStage(0)
}

func (m *machine) checking() {
	if m.r.Check == model.CheckStepSmoke {
		m.checkSmoke()
		return
	}
	if m.spec.MinHealthyTargets <= 0 {
		m.enterSmoke()
		return
	}
	h := m.obs.Health
	switch {
	case !h.Checked:
		m.call(CheckHealth{Slot: m.r.TargetSlot, Min: m.spec.MinHealthyTargets})
	case h.Err != "":
		m.r.CheckErrors++
		if m.r.CheckErrors >= m.spec.CheckErrorLimit {
			m.end(model.ActorEngine, fmt.Sprintf("could not count the healthy targets of %s (%d attempts): %s", m.r.TargetSlot, m.r.CheckErrors, h.Err))
			return
		}
		m.r.Message = fmt.Sprintf("checking %s: could not count healthy targets (attempt %d of %d): %s", m.r.TargetSlot, m.r.CheckErrors, m.spec.CheckErrorLimit, h.Err)
		m.call(CheckHealth{Slot: m.r.TargetSlot, Min: m.spec.MinHealthyTargets})
	case h.Healthy >= 0 && h.Healthy < m.spec.MinHealthyTargets:
		m.end(model.ActorEngine, fmt.Sprintf("%s has %d healthy targets and needs at least %d before it takes traffic", m.r.TargetSlot, h.Healthy, m.spec.MinHealthyTargets))
	default:
		m.enterSmoke()
	}
}

func (m *machine) checkSmoke() {
	if !m.spec.SmokeTest {
		m.checksPassed()
		return
	}
	s := m.obs.Smoke
	switch s.Result {
	case SmokeNotRun:
		m.call(RunSmokeTest{Slot: m.r.TargetSlot})
	case SmokeFailed:
		reason := m.r.TargetSlot + " failed its smoke test"
		if s.Message != "" {
			reason += ": " + s.Message
		}
		m.end(model.ActorEngine, reason)
	default:
		m.checksPassed()
	}
}

// enterStage shifts to stage i: persist the intent, then write and verify.
func (m *machine) enterStage(i int) {
	m.r.StageIndex = i
	m.r.Baked = 0
	st := m.stage()
	w := model.Split(m.r.TargetSlot, st.TrafficPercent)
	msg := fmt.Sprintf("shifting %d%% to %s", st.TrafficPercent, m.r.TargetSlot)
	if len(m.spec.Stages) > 1 {
		msg = fmt.Sprintf("stage %d/%d %s: %s", i+1, len(m.spec.Stages), st.Name, msg)
	}
	if st.Audience != nil {
		msg += " and the stage's audience"
	}
	m.toIntent(model.PhaseShifting, model.ActorEngine, msg, w)
	m.r.Audience = st.Audience != nil
	m.assert(false)
	m.readGatesIfDue()
}

func (m *machine) shifting() {
	if m.verified() || !m.r.ShiftedAt.IsZero() {
		if m.r.ShiftedAt.IsZero() {
			m.r.ShiftedAt = m.now
		}
		if m.r.FirstShiftVerifiedAt.IsZero() {
			m.r.FirstShiftVerifiedAt = m.r.ShiftedAt
		}
		m.to(model.PhaseBaking, model.ActorEngine, fmt.Sprintf("AWS shows %s; baking", m.r.IntendedWeights))
		m.recordGates(false)
		m.bake()
		return
	}
	m.recordGates(false)
	msg := fmt.Sprintf("shifting to %s: waiting for AWS to show it (write %d)", m.r.IntendedWeights, m.r.Writes+1)
	if e := m.obs.Traffic.Err; e != "" {
		msg += ": " + e
	}
	m.r.Message = msg
	m.assert(false)
	m.readGatesIfDue()
}

func (m *machine) baking() {
	if m.drifted() {
		msg := fmt.Sprintf("AWS held %s instead of %s: restoring", m.obs.Traffic.Weights, m.r.IntendedWeights)
		m.event(model.ActorEngine, model.PhaseShifting, msg, m.obs.Traffic.Weights, m.r.IntendedWeights)
		m.r.Phase = model.PhaseShifting
		m.r.Message = msg
		m.r.Writes = 0
		m.r.ShiftedAt = time.Time{}
		m.r.LastGateReadAt = time.Time{}
		m.assert(false)
		return
	}
	m.recordGates(true)
	m.bake()
}

// recordGates takes a gate verdict other than a failure (handled earlier).
func (m *machine) recordGates(accrue bool) {
	switch m.obs.Gates.Result {
	case GatesNotRead:
	case GatesInconclusive, GatesError, GatesFailed: // a failure here is one tolerated by failure_limit
		m.r.LastGateReadAt = time.Time{}
	case GatesPassed:
		last := m.r.LastGateReadAt
		if accrue && !last.IsZero() && m.now.Sub(last) > 2*m.spec.CheckInterval {
			m.late = m.now.Sub(last)
		}
		if accrue && !last.IsZero() && !m.r.ShiftedAt.IsZero() && m.now.Sub(last) <= 2*m.spec.CheckInterval {
			from := last
			if settled := m.r.ShiftedAt.Add(m.spec.Settle); settled.After(from) {
				from = settled
			}
			if m.now.After(from) {
				m.r.Baked += model.Duration(m.now.Sub(from))
			}
		}
		m.r.LastGateReadAt = m.now
	}
}

func (m *machine) settled() bool {
	return !m.r.ShiftedAt.IsZero() && !m.now.Before(m.r.ShiftedAt.Add(m.spec.Settle))
}

// bake ends the stage when it is done, or reports progress and reads gates.
func (m *machine) bake() {
	st := m.stage()
	baked := time.Duration(m.r.Baked)
	switch {
	case m.r.PromotedBy != "":
		m.stageDone(m.r.PromotedBy)
		return
	case !m.settled():
		m.r.Message = fmt.Sprintf("%s is live at %s; bake time counts once the %s TTL has passed", m.r.TargetSlot, m.r.IntendedWeights, m.spec.Settle)
	case baked >= st.BakeTime && !st.Manual:
		m.stageDone(model.ActorEngine)
		return
	case baked >= st.BakeTime:
		m.r.AwaitingApproval = true
		m.r.Message = fmt.Sprintf("stage %s baked; waiting for promote (manual approval): progressive promote %s", st.Name, m.r.Environment)
	default:
		m.r.Message = fmt.Sprintf("baking %s at %s: %s of %s with gates passing", m.r.TargetSlot, m.r.IntendedWeights, model.ShortDuration(baked.Truncate(time.Second)), model.ShortDuration(st.BakeTime))
		if m.late > 0 {
			m.r.Message += fmt.Sprintf("; the gates were read %s apart, more than twice check_interval (%s), so that time did not count: the engine is overloaded or AWS is slow",
				m.late.Round(100*time.Millisecond), model.ShortDuration(m.spec.CheckInterval))
		}
	}
	m.readGatesIfDue()
}

func (m *machine) stageDone(actor string) {
	m.r.PromotedBy = ""
	m.r.AwaitingApproval = false
	if next := m.r.StageIndex + 1; next < len(m.spec.Stages) {
		m.enterStage(next)
		return
	}
	m.enterPromoting(actor)
}

func (m *machine) enterPromoting(actor string) {
	w := model.AllTo(m.r.TargetSlot)
	msg := "promoting " + m.r.TargetSlot + ": verifying 100% on it"
	if w == m.r.IntendedWeights && !m.r.ShiftedAt.IsZero() {
		// Already written and read back: one more read-back suffices.
		m.to(model.PhasePromoting, actor, msg)
		m.r.ShiftedAt = time.Time{}
		m.r.Audience = false
		m.verify()
		return
	}
	m.toIntent(model.PhasePromoting, actor, msg, w)
	m.assert(false)
}

func (m *machine) promoting() {
	if m.verified() {
		m.r.ShiftedAt = m.now
		m.finish(model.PhaseReleased, model.ActorEngine, "released: "+m.r.TargetSlot+" is live")
		return
	}
	m.assert(false)
}

func (m *machine) paused() {
	if !m.r.TrafficMayHaveMoved() {
		return // checks rerun on resume
	}
	switch {
	case m.r.ShiftedAt.IsZero() && m.verified():
		m.r.ShiftedAt = m.now
		if m.r.FirstShiftVerifiedAt.IsZero() {
			m.r.FirstShiftVerifiedAt = m.now
		}
	case m.r.ShiftedAt.IsZero():
		m.assert(false)
	case m.drifted():
		m.note(model.ActorEngine, fmt.Sprintf("AWS held %s instead of %s: restoring while paused", m.obs.Traffic.Weights, m.r.IntendedWeights))
		m.r.ShiftedAt = time.Time{}
		m.r.Writes = 0
		m.assert(false)
	}
	m.readGatesIfDue()
}

// rollBack restores the slot the release started from, with stickiness off.
func (m *machine) rollBack(actor, reason string) {
	m.r.Reason = reason
	m.r.Check = ""
	m.r.PromotedBy = ""
	m.toIntent(model.PhaseRollingBack, actor, "rolling back to "+m.r.FromSlot+": "+reason, model.AllTo(m.r.FromSlot))
	m.assert(true)
}

func (m *machine) rollingBack() {
	if m.verified() {
		m.r.ShiftedAt = m.now
		m.finish(model.PhaseRolledBack, model.ActorEngine, "rolled back to "+m.r.FromSlot+": "+m.r.Reason)
		return
	}
	msg := fmt.Sprintf("rolling back to %s: %s (write %d)", m.r.FromSlot, m.r.Reason, m.r.Writes+1)
	if e := m.obs.Traffic.Err; e != "" {
		msg += "; last error: " + e
	}
	m.r.Message = msg
	m.assert(true)
}
