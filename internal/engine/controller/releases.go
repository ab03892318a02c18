package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/smoke"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/release"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/routing"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
)

// Releases runs blue-green environments: it creates or adopts their routing,
// drives each running release through release.Step, executing the actions
// it returns in order, and repairs weights changed out of band.
//
// Results of the reads a tick asks for (health, smoke, verify, gates) are
// given to the next Step at once, in the same tick, so a failing gate rolls
// back within one check interval.
type Releases struct {
	Store   store.Store
	Routers traffic.Source
	Alarms  AlarmStates // nil: environments with rollback_alarms get inconclusive gates
	Smoke   smoke.Tester
	Clock   clock.Clock
	Log     hclog.Logger
	// AfterSetWeights, when set, runs after each weight write and before its
	// verification; tests use it to stop the engine in between.
	AfterSetWeights func(releaseID string)

	obs       map[string]release.Observations
	lastDrift map[string]time.Time
}

// Name identifies the step.
func (r *Releases) Name() string { return "releases" }

type envEntry struct {
	obj    model.Object
	spec   model.EnvironmentSpec
	status model.EnvironmentStatus
}

func (e *envEntry) active() string {
	if e.status.ActiveSlot != "" {
		return e.status.ActiveSlot
	}
	return e.spec.InitialLiveSlot
}

// Reconcile does one pass over every environment and release.
func (r *Releases) Reconcile(ctx context.Context, term *lease.Term) error {
	if r.obs == nil {
		r.obs = map[string]release.Observations{}
		r.lastDrift = map[string]time.Time{}
	}
	envObjs, err := r.Store.ListObjectsByKind(ctx, model.KindEnvironment)
	if err != nil {
		return err
	}
	envs := map[string]*envEntry{}
	var errs []error
	for _, o := range envObjs {
		e := &envEntry{obj: o}
		if json.Unmarshal(o.Spec, &e.spec) != nil {
			continue
		}
		_ = json.Unmarshal(o.Status, &e.status)
		if e.spec.Deleting {
			if err := r.removeRouting(ctx, e); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		envs[o.Project+"/"+o.Name] = e
		if err := r.ensureRouting(ctx, term, e); err != nil {
			errs = append(errs, err)
		}
	}
	rels, err := r.Store.ListObjectsByKind(ctx, model.KindRelease)
	if err != nil {
		return err
	}
	busy := map[string]bool{}
	for _, o := range rels {
		e := envs[o.Project+"/"+o.Name]
		if e == nil || e.status.Routing != model.RoutingReady {
			continue
		}
		running, err := r.reconcileRelease(ctx, term, o, e)
		if err != nil {
			errs = append(errs, fmt.Errorf("release of %s/%s: %w", o.Project, o.Name, err))
		}
		busy[o.Project+"/"+o.Name] = running
	}
	for key, e := range envs {
		if e.status.Routing == model.RoutingReady && !busy[key] {
			if err := r.repairDrift(ctx, term, e); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeRouting deletes the engine's routing objects of an environment being
// deleted with on_destroy = remove_routing, then the environment.
func (r *Releases) removeRouting(ctx context.Context, e *envEntry) error {
	router, err := r.Routers.For(e.obj.Project, e.spec)
	if err != nil {
		return err
	}
	if err := router.Remove(ctx); err != nil {
		return fmt.Errorf("remove the routing of %s/%s: %w", e.obj.Project, e.obj.Name, err)
	}
	err = r.Store.DeleteObject(ctx, e.obj.Ref, e.obj.Version, model.Audit{Actor: "controller", Time: r.Clock.Now(),
		Message: "routing removed (on_destroy = remove_routing); environment deleted"})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// ensureRouting creates or adopts an environment's routing objects once.
func (r *Releases) ensureRouting(ctx context.Context, term *lease.Term, e *envEntry) error {
	if e.status.Routing == model.RoutingReady {
		return nil
	}
	router, err := r.Routers.For(e.obj.Project, e.spec)
	next := e.status
	if err == nil {
		err = router.Ensure(ctx, e.active())
	}
	msg := ""
	if err != nil {
		next.Routing, next.RoutingMessage = model.RoutingError, err.Error()
		msg = "routing could not be set up: " + err.Error()
	} else {
		next.Routing, next.RoutingMessage = model.RoutingReady, ""
		next.ActiveSlot = e.active()
		next.RoutedVersion = e.obj.Version
		msg = "routing ready: all traffic to " + next.ActiveSlot
		if e.status.ActiveSlot == "" {
			// Adopted routing (a retained environment created again) keeps
			// serving whichever slot has all the traffic: creating an
			// environment never moves customers.
			if w, werr := router.Weights(ctx); werr == nil && w != traffic.All(next.ActiveSlot) {
				for _, s := range []string{traffic.Blue, traffic.Green} {
					if w == traffic.All(s) {
						next.ActiveSlot = s
						msg = "routing ready: adopted the engine's routing, which sends all traffic to " + s
					}
				}
			}
		}
	}
	if next == e.status {
		return err
	}
	if werr := r.writeEnv(ctx, term, e, next, msg); werr != nil {
		return werr
	}
	return err
}

func (r *Releases) writeEnv(ctx context.Context, term *lease.Term, e *envEntry, next model.EnvironmentStatus, msg string) error {
	body, _ := json.Marshal(next)
	if err := r.Store.SetObjectStatus(ctx, e.obj.Ref, body, term.Fence(), model.Audit{Actor: "controller", Time: r.Clock.Now(), Message: msg}); err != nil {
		return err
	}
	e.status = next
	return nil
}

// reconcileRelease starts an attempt when the intent asks for one and steps
// the running attempt. It reports whether an attempt is running.
func (r *Releases) reconcileRelease(ctx context.Context, term *lease.Term, o model.Object, e *envEntry) (bool, error) {
	var spec model.ReleaseSpec
	var state model.ReleaseState
	if err := json.Unmarshal(o.Spec, &spec); err != nil {
		return false, err
	}
	_ = json.Unmarshal(o.Status, &state)
	now := r.Clock.Now()
	changed := false
	var startMsg string
	if state.AppliedVersion < o.Version {
		cur := state.Current
		if (cur == nil || cur.Phase.Terminal()) && spec.Slot != e.active() &&
			(cur == nil || cur.TargetSlot != spec.Slot || cur.Trigger != spec.Trigger || cur.Phase == model.PhaseReleased) {
			next := model.NewRelease(newReleaseID(), o.Project, o.Name, spec.Slot, spec.Trigger, now)
			next.FromSlot = e.active()
			state.Current = &next
			startMsg = fmt.Sprintf("release %s started: %s → %s (trigger %q)", next.ID, next.FromSlot, next.TargetSlot, spec.Trigger)
			es := e.status
			es.LastReleaseID = next.ID
			if err := r.writeEnv(ctx, term, e, es, startMsg); err != nil {
				return false, err
			}
		}
		state.AppliedVersion = o.Version
		changed = true
	}
	cur := state.Current
	if cur == nil || cur.Phase.Terminal() {
		if changed {
			return false, r.writeRelease(ctx, term, o.Ref, state, startMsg)
		}
		return false, nil
	}
	obs := r.obs[cur.ID]
	if req, err := r.pendingRequest(ctx, o, state); err == nil && req != nil && req.ReleaseID == cur.ID {
		switch req.Action {
		case "abort":
			obs.Requests.Abort = req.Actor
		case "pause":
			obs.Requests.Pause = req.Actor
		case "resume":
			obs.Requests.Resume = req.Actor
		case "promote":
			obs.Requests.Promote = req.Actor
		}
		state.HandledRequest = req.Seq
		changed = true
	}
	router, err := r.Routers.For(o.Project, e.spec)
	if err != nil {
		return true, err
	}
	rs := release.SpecFor(e.spec, *cur)
	// A few Steps per tick: the reads one Step asks for feed the next.
	for range 4 {
		_, actions := release.Step(*cur, rs, obs, now)
		var events []string
		for _, a := range actions {
			if ev, ok := a.(release.Event); ok {
				events = append(events, eventText(ev))
			}
		}
		obs = release.Observations{}
		reads := false
		for _, a := range actions {
			switch a := a.(type) {
			case release.Persist:
				state.Current = &a.Release
				msg := strings.Join(append([]string{startMsg}, events...), "; ")
				startMsg = ""
				if err := r.writeRelease(ctx, term, o.Ref, state, strings.TrimPrefix(msg, "; ")); err != nil {
					return true, err // never act on AWS without the persisted intent
				}
				changed = false
			case release.CheckHealth:
				reads = true
				n, err := router.HealthyTargets(ctx, a.Slot)
				obs.Health = release.Health{Checked: err == nil, Healthy: n}
				if err != nil {
					obs.Health.Err = err.Error()
				}
			case release.RunSmokeTest:
				reads = true
				slot := e.spec.SlotSpec(a.Slot)
				if slot.SmokeTestURL == "" {
					obs.Smoke = release.Smoke{Result: release.SmokeNotConfigured}
					break
				}
				ok, msg := r.Smoke.Run(ctx, slot.SmokeTestURL, slot.Version, e.spec.SmokeTest)
				obs.Smoke = release.Smoke{Result: release.SmokeFailed, Message: msg}
				if ok {
					obs.Smoke.Result = release.SmokePassed
				}
			case release.SetWeights:
				if err := router.SetWeights(ctx, traffic.Weights(a.Weights), traffic.Options{DisableStickiness: a.DisableStickiness}); err != nil {
					r.Log.Warn("weight write failed; retrying next tick", "release", cur.ID, "weights", a.Weights.String(), "error", err)
				}
				if r.AfterSetWeights != nil {
					r.AfterSetWeights(cur.ID)
				}
			case release.VerifyWeights:
				reads = true
				vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				ok, err := router.Verify(vctx, traffic.Weights(a.Weights))
				cancel()
				obs.Traffic = release.Traffic{Read: err == nil, Verified: ok}
				if ok {
					obs.Traffic.VerifiedWeights = a.Weights
					obs.Traffic.Weights = a.Weights
				}
				if err != nil {
					obs.Traffic.Err = err.Error()
				}
			case release.ReadGates:
				reads = true
				obs.Gates = r.readGates(ctx, e.spec.RollbackAlarms)
				// Read the live weights with the gates, so that Step sees
				// an out-of-band change (drift) while the release bakes or
				// is paused; missing routing reads as no weights at all.
				w, err := router.Weights(ctx)
				switch {
				case err == nil:
					obs.Traffic.Read, obs.Traffic.Weights = true, model.Weights(w)
				case routing.Missing(err):
					obs.Traffic.Read, obs.Traffic.Weights = true, model.Weights{}
				}
			}
		}
		cur = state.Current
		if cur.Phase.Terminal() {
			delete(r.obs, cur.ID)
			if cur.Phase == model.PhaseReleased {
				es := e.status
				es.ActiveSlot = cur.TargetSlot
				if err := r.writeEnv(ctx, term, e, es, fmt.Sprintf("release %s released: %s serves customers", cur.ID, cur.TargetSlot)); err != nil {
					return false, err
				}
			}
			return false, nil
		}
		if !reads {
			break
		}
	}
	r.obs[cur.ID] = obs
	if changed {
		return true, r.writeRelease(ctx, term, o.Ref, state, "")
	}
	return true, nil
}

func eventText(ev release.Event) string {
	s := string(ev.From) + " → " + string(ev.To)
	if ev.Message != "" {
		s += ": " + ev.Message
	}
	if ev.Before != ev.After {
		s += " (" + ev.Before.String() + " → " + ev.After.String() + ")"
	}
	return s
}

// writeRelease persists a release's state; msg, when set, is the audit
// event's message (transitions have one; bake progress does not, and writes
// no event).
func (r *Releases) writeRelease(ctx context.Context, term *lease.Term, ref model.Ref, state model.ReleaseState, msg string) error {
	body, _ := json.Marshal(state)
	return r.Store.SetObjectStatus(ctx, ref, body, term.Fence(), model.Audit{Actor: "controller", Time: r.Clock.Now(), Message: msg})
}

// pendingRequest returns an operator request not yet handed to Step.
func (r *Releases) pendingRequest(ctx context.Context, o model.Object, state model.ReleaseState) (*model.ReleaseRequest, error) {
	ro, err := r.Store.GetObject(ctx, model.Ref{Project: o.Project, Kind: model.KindReleaseRequest, Name: o.Name})
	if err != nil {
		return nil, err
	}
	var req model.ReleaseRequest
	if err := json.Unmarshal(ro.Spec, &req); err != nil || req.Seq <= state.HandledRequest {
		return nil, err
	}
	return &req, nil
}

func (r *Releases) readGates(ctx context.Context, alarms []string) release.Gates {
	if len(alarms) == 0 {
		return release.Gates{Result: release.GatesPassed}
	}
	if r.Alarms == nil {
		return release.Gates{Result: release.GatesInconclusive, Message: "AWS is not configured, so rollback_alarms cannot be read"}
	}
	states, err := r.Alarms.States(ctx, alarms)
	if err != nil {
		return release.Gates{Result: release.GatesInconclusive, Message: err.Error()}
	}
	for _, a := range alarms {
		if states[a] == "ALARM" {
			return release.Gates{Result: release.GatesFailed, Gate: a, Value: "ALARM", Bound: "OK"}
		}
	}
	return release.Gates{Result: release.GatesPassed}
}

// repairDrift restores the active slot's weights when someone changed them
// out of band, at most once per check interval, and audits it.
func (r *Releases) repairDrift(ctx context.Context, term *lease.Term, e *envEntry) error {
	key := e.obj.Project + "/" + e.obj.Name
	now := r.Clock.Now()
	if last, ok := r.lastDrift[key]; ok && now.Sub(last) < time.Duration(e.spec.CheckInterval) {
		return nil
	}
	r.lastDrift[key] = now
	router, err := r.Routers.For(e.obj.Project, e.spec)
	if err != nil {
		return err
	}
	want := traffic.All(e.active())
	// A deploy (a new environment version) may have changed what the
	// routing points at (target groups, record values, rule conditions):
	// rewrite it with the same weights.
	deployed := e.status.RoutedVersion < e.obj.Version
	got, err := router.Weights(ctx)
	saw := got.String()
	switch {
	case routing.Missing(err):
		// Deleted out of band: SetWeights recreates the engine's own.
		saw = "no routing (" + err.Error() + ")"
	case err != nil:
		return fmt.Errorf("read the weights of %s: %w", key, err)
	case got == want && !deployed:
		return nil
	}
	if err := router.SetWeights(ctx, want, traffic.Options{}); err != nil {
		return fmt.Errorf("repair the weights of %s: %w", key, err)
	}
	next := e.status
	next.RoutedVersion = e.obj.Version
	msg := fmt.Sprintf("routing updated to version %d of the environment; weights unchanged (%s)", e.obj.Version, want)
	if got != want {
		msg = fmt.Sprintf("drift repaired: AWS showed %s, which nobody released; restored %s", saw, want)
	}
	return r.writeEnv(ctx, term, e, next, msg)
}

func newReleaseID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "rel_" + hex.EncodeToString(b)
}
