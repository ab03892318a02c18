// Package release is the release state machine: a pure function from
// (release, spec, observations, now) to (next release, actions).
//
//	next, actions := release.Step(r, spec, obs, now)
//
// Step does no I/O and never reads the clock: the controller gathers
// Observations, calls Step, executes the returned Actions in order and stores
// next. The same inputs always give the same outputs, so the machine is
// tested one tick at a time with a hand-advanced now.
//
// # States
//
//	pending -> checking -> shifting[i] -verified-> baking[i] -stage done-> promoting -verified-> released
//	              |            ^                      |   (last stage)
//	              |            +---- next stage ------+
//	              |            +---- drift -----------+
//	              +-- check fails, or abort (no traffic moved) --> failed
//
//	shifting, baking, paused, promoting -- gate fails, or abort --> rolling_back -verified-> rolled_back
//
//	pending, checking, shifting, baking -- pause --> paused -- resume, promote -->
//	        checking (checks rerun) | shifting (intent not yet verified) | baking
//
// What each phase asks for, every tick until it moves on:
//
//	checking      CheckHealth, then RunSmokeTest (each skipped when the Spec has none)
//	shifting[i]   SetWeights + VerifyWeights of stage i's weights (idempotent), ReadGates
//	baking[i]     ReadGates every check_interval; bake accrues on passing reads
//	paused        ReadGates; SetWeights + VerifyWeights only while the intent is unverified
//	promoting     VerifyWeights of 100 % on the target (SetWeights too if that fails)
//	rolling_back  SetWeights (rollback, stickiness off) + VerifyWeights of 100 % on
//	              the from slot, and nothing else: rollback goes ahead of every other call
//
// released, rolled_back and failed are terminal: Step returns the release
// unchanged and no actions.
//
// # Protocol
//
// Actions that read (CheckHealth, RunSmokeTest, VerifyWeights, ReadGates)
// produce the Observations of the next Step; SetWeights results show up only
// through a VerifyWeights read-back. A zero Observation means "not observed",
// so after a restart, with nothing observed, Step re-emits whatever the
// persisted release still waits for: the checks, or the idempotent
// SetWeights and VerifyWeights of a persisted, unverified intent.
//
// Step's actions always start with Persist (whenever the release changed),
// then the audit Events of this tick, then AWS calls. So intent is stored,
// under the controller's fence, before every weight write, and an event is
// written only for a transition that was stored. If Persist fails the
// controller must stop executing that tick's actions. Persist carries the
// release to store, which is the release Step returned.
//
// A tick's reads are seen by the next Step. To keep a gate failure's rollback
// within one check_interval plus the write, a controller may call Step again
// at once after executing a tick's reads, rather than on its next tick.
//
// # Rules where the design left a choice
//
//   - Traffic "may have moved" once an intent was persisted
//     (Release.IntendedWeights is not zero): from then on an abort or a gate
//     failure rolls back; before that it ends the release as failed.
//   - Gates are read (paced at check_interval) in shifting, baking and paused,
//     never before traffic may have moved; a failed verdict in any phase after
//     that (promoting too) rolls back. Paused stops progress, not protection.
//   - Bake accrues, on a passing gate read at now, the part of (previous
//     passing read, now] after the shift settled (ShiftedAt + Settle), and
//     only when the previous passing read is at most 2 x check_interval
//     old. An inconclusive read breaks the chain, so neither interval next
//     to it counts; a pause, a resume and a new shift break it too. An engine
//     that was down for 20 minutes has therefore not baked for 20 minutes.
//     The controller must call Step at least once per check_interval.
//   - A stage is done when it is promoted, or when it has settled, baked its
//     bake time and is not manual. Promote skips the rest of the current
//     stage (bake, settle and manual approval), never the checks; given
//     before the shift, it applies once the shift is verified.
//   - A rollback does not wait for the Route 53 TTL: rolled_back means AWS
//     holds the old weights (INSYNC), and clients follow within the TTL.
//   - Requests: abort wins over everything; then one of promote, resume,
//     pause, in that order. A request that does not apply in the current
//     phase is recorded as an Event and otherwise ignored; during
//     rolling_back every request is ignored silently.
//   - A health read error is retried every tick; after Spec.CheckErrorLimit
//     consecutive errors the release fails. A failed smoke test fails at
//     once (the smoke test has its own attempts).
//   - Drift: when the weights read from AWS differ from a verified intent,
//     baking goes back to shifting (settle and the bake chain restart;
//     the bake already accrued is kept), and paused re-asserts in place.
package release
