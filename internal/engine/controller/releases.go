package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/gates"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/smoke"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/ratelimit"
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
	// Gates reads acceptance gates (alarms and metrics) of every release due
	// in a tick in one batch; nil: releases with gates get errors.
	Gates GateReader
	Smoke smoke.Tester
	Clock clock.Clock
	Log   hclog.Logger
	// Parallel is how many releases are stepped at once (default 16).
	Parallel int
	// AfterSetWeights, when set, runs after each weight write and before its
	// verification; tests use it to stop the engine in between.
	AfterSetWeights func(releaseID string)
	// AfterGateFailure, when set, runs when a gate verdict fails; the
	// benchmark measures from it to the rollback read back.
	AfterGateFailure func(releaseID string)

	// ProgressInterval is how often bake progress alone is written to the
	// store (default 5s): in between it is kept in memory, so that a tick
	// over many baking releases is not a store write per release. A new
	// leader resumes from the last write, with at most that much less bake.
	ProgressInterval time.Duration
	// DriftInterval is how often a running release's weights are read back
	// to catch out-of-band changes (default 30s: 200 releases then take a
	// third of the default ELB budget of 20 calls a second).
	DriftInterval time.Duration

	mu        sync.Mutex
	obs       map[string]release.Observations
	lastDrift map[string]time.Time
	driftRead map[string]time.Time
	progress  map[string]progressCache
}

// driftDue reports whether release id's weights are due a drift read.
func (r *Releases) driftDue(id string, now time.Time) bool {
	every := r.DriftInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.driftRead == nil {
		r.driftRead = map[string]time.Time{}
	}
	if last, ok := r.driftRead[id]; ok && now.Sub(last) < every-every/20 {
		return false
	}
	r.driftRead[id] = now
	return true
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GateReader evaluates acceptance gates; ReadAll answers one verdict per
// request, in order, reading each distinct alarm and metric once.
type GateReader interface {
	ReadAll(ctx context.Context, now time.Time, reqs []gates.Request) []gates.Verdict
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
	var jobs []releaseJob
	for _, o := range rels {
		e := envs[o.Project+"/"+o.Name]
		if e == nil || e.status.Routing != model.RoutingReady {
			continue
		}
		jobs = append(jobs, releaseJob{obj: o, env: e})
	}
	// One time for the whole tick: the prefetch decides which gates are due
	// at it, and every Step runs at it, so that a release stepped late in
	// the tick is not due again, alone, early in the next one.
	now := r.Clock.Now()
	r.prefetchGates(ctx, term, jobs, now)
	// Releases whose gates failed go first: their rollback writes must not
	// wait for other releases' reads.
	slices.SortStableFunc(jobs, func(a, b releaseJob) int {
		return boolRank(b.verdict != nil && b.verdict.Result == gates.Fail) - boolRank(a.verdict != nil && a.verdict.Result == gates.Fail)
	})
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.parallel())
	for i := range jobs {
		j := &jobs[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			j.running, j.err = r.reconcileRelease(ctx, term, j.obj, j.env, j.verdict, now)
		}()
	}
	wg.Wait()
	busy := map[string]bool{}
	for _, j := range jobs {
		if j.err != nil {
			errs = append(errs, fmt.Errorf("release of %s/%s: %w", j.obj.Project, j.obj.Name, j.err))
		}
		busy[j.obj.Project+"/"+j.obj.Name] = j.running
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

// releaseJob is one release stepped in a tick.
type releaseJob struct {
	obj     model.Object
	env     *envEntry
	verdict *gates.Verdict // read ahead of the tick, if its gates were due
	running bool
	err     error
}

func (r *Releases) parallel() int {
	if r.Parallel > 0 {
		return r.Parallel
	}
	return 16
}

// gateRequest is what a release's gates read: the policy's alarms and the
// environment's rollback alarms, and the policy's metrics.
func gateRequest(env model.EnvironmentSpec, cur *model.Release) gates.Request {
	req := gates.Request{Alarms: slices.Clone(env.RollbackAlarms)}
	if p := cur.Policy; p != nil {
		req.Acceptance = p.Spec.Acceptance
		for _, a := range p.Spec.Acceptance.AlarmNames {
			if !slices.Contains(req.Alarms, a) {
				req.Alarms = append(req.Alarms, a)
			}
		}
	}
	return req
}

// prefetchGates reads, in one batch, the gates of every running release
// whose gates fall due this tick, so that AWS calls grow with the distinct
// alarms and metrics, not with the releases.
func (r *Releases) prefetchGates(ctx context.Context, term *lease.Term, jobs []releaseJob, now time.Time) {
	if r.Gates == nil {
		return
	}
	var reqs []gates.Request
	var idx []int
	for i, j := range jobs {
		var state model.ReleaseState
		if json.Unmarshal(j.obj.Status, &state) != nil {
			continue
		}
		// The state Step will see: bake progress may be ahead of the store.
		if state = r.latest(j.obj, term, state); state.Current == nil {
			continue
		}
		cur := state.Current
		switch cur.Phase {
		case model.PhaseShifting, model.PhaseBaking, model.PhasePaused:
		default:
			continue
		}
		if !release.GatesDue(cur.GatesRequestedAt, now, release.SpecFor(j.env.spec, *cur).CheckInterval) {
			continue
		}
		req := gateRequest(j.env.spec, cur)
		if len(req.Alarms) == 0 && len(req.Acceptance.Metrics) == 0 {
			continue
		}
		reqs = append(reqs, req)
		idx = append(idx, i)
	}
	if len(reqs) == 0 {
		return
	}
	for k, v := range r.Gates.ReadAll(ctx, now, reqs) {
		jobs[idx[k]].verdict = &v
	}
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
func (r *Releases) reconcileRelease(ctx context.Context, term *lease.Term, o model.Object, e *envEntry, prefetched *gates.Verdict, now time.Time) (bool, error) {
	var spec model.ReleaseSpec
	var state model.ReleaseState
	if err := json.Unmarshal(o.Spec, &spec); err != nil {
		return false, err
	}
	_ = json.Unmarshal(o.Status, &state)
	state = r.latest(o, term, state)
	changed := false
	var startMsg string
	if state.AppliedVersion < o.Version {
		cur := state.Current
		if (cur == nil || cur.Phase.Terminal()) && spec.Slot != e.active() &&
			(cur == nil || cur.TargetSlot != spec.Slot || cur.Trigger != spec.Trigger || cur.Phase == model.PhaseReleased) {
			next := model.NewRelease(newReleaseID(), o.Project, o.Name, spec.Slot, spec.Trigger, now)
			next.FromSlot = e.active()
			startMsg = fmt.Sprintf("release %s started: %s → %s (trigger %q)", next.ID, next.FromSlot, next.TargetSlot, spec.Trigger)
			if name := e.spec.CanaryPolicy; name != "" {
				pinned, err := r.pinPolicy(ctx, o.Project, name)
				if err != nil {
					return false, err
				}
				next.Policy = pinned
				startMsg += fmt.Sprintf(" under canary policy %s version %d: %s", name, pinned.Version, pinned.Spec.Summary())
			}
			state.Current = &next
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
	r.mu.Lock()
	obs := r.obs[cur.ID]
	r.mu.Unlock()
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
				prev := state.Current
				state.Current = &a.Release
				msg := strings.Join(append([]string{startMsg}, events...), "; ")
				startMsg = ""
				if msg == "" && !changed && r.progressOnly(o, prev, &a.Release, now) {
					// Bake progress only: kept in memory, written every
					// ProgressInterval (see latest).
					r.remember(o, term, state, false, now)
					break
				}
				if err := r.writeRelease(ctx, term, o.Ref, state, strings.TrimPrefix(msg, "; ")); err != nil {
					r.forget(o)
					return true, err // never act on AWS without the persisted intent
				}
				r.remember(o, term, state, true, now)
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
				r.setWeights(ctx, router, cur, a)
				if r.AfterSetWeights != nil {
					r.AfterSetWeights(cur.ID)
				}
			case release.VerifyWeights:
				reads = true
				obs.Traffic = r.verify(ctx, router, cur, a)
			case release.ReadGates:
				reads = true
				var v gates.Verdict
				switch {
				case prefetched != nil:
					v, prefetched = *prefetched, nil
				case r.Gates != nil:
					v = r.Gates.ReadAll(ctx, now, []gates.Request{gateRequest(e.spec, cur)})[0]
				default:
					v = gates.Verdict{Result: gates.Error, Message: "AWS is not configured, so alarms and metrics cannot be read"}
					if req := gateRequest(e.spec, cur); len(req.Alarms) == 0 && len(req.Acceptance.Metrics) == 0 {
						v = gates.Verdict{Result: gates.Pass}
					}
				}
				obs.Gates = gatesObservation(v)
				if v.Result == gates.Fail && r.AfterGateFailure != nil {
					r.AfterGateFailure(cur.ID)
				}
				// Read the live weights with the gates, at most every
				// DriftInterval, so that Step sees an out-of-band change
				// (drift) while the release bakes or is paused; missing
				// routing reads as no weights at all. A failed gate skips
				// it: the rollback writes at once.
				if v.Result == gates.Fail || !r.driftDue(cur.ID, now) {
					break
				}
				w, err := router.Weights(ctx)
				switch {
				case err == nil:
					obs.Traffic.Read, obs.Traffic.Weights = true, model.Weights(w)
				case routing.Missing(err):
					obs.Traffic.Read, obs.Traffic.Weights = true, model.Weights{}
				}
				if obs.Traffic.Read && usesAudiences(cur) {
					if ar, ok := router.(traffic.AudienceRouter); ok {
						if got, err := ar.Audience(ctx); err == nil {
							obs.Traffic.AudienceDrift = !traffic.SameAudience(got, wantAudience(cur))
						}
					}
				}
			}
		}
		cur = state.Current
		if cur.Phase.Terminal() {
			r.mu.Lock()
			delete(r.obs, cur.ID)
			delete(r.driftRead, cur.ID)
			r.mu.Unlock()
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
	r.mu.Lock()
	r.obs[cur.ID] = obs
	r.mu.Unlock()
	if changed {
		err := r.writeRelease(ctx, term, o.Ref, state, "")
		if err == nil {
			r.remember(o, term, state, true, now)
		}
		return true, err
	}
	return true, nil
}

// progressCache is a release's state as this leader last computed it,
// ahead of the store by bake progress at most ProgressInterval old.
type progressCache struct {
	epoch   int64
	state   model.ReleaseState
	written time.Time
}

// latest returns the cached state of a release when it is this term's and
// the store still holds what this leader last wrote (only the leader
// writes release status), else the stored state.
func (r *Releases) latest(o model.Object, term *lease.Term, stored model.ReleaseState) model.ReleaseState {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.progress[o.Project+"/"+o.Name]
	if !ok || c.epoch != term.Epoch() || c.state.Current == nil || stored.Current == nil ||
		c.state.Current.ID != stored.Current.ID || c.state.AppliedVersion != stored.AppliedVersion ||
		c.state.HandledRequest != stored.HandledRequest || c.state.Current.Phase != stored.Current.Phase {
		return stored
	}
	return c.state
}

// remember caches a release's state; written says it is what the store
// holds now.
func (r *Releases) remember(o model.Object, term *lease.Term, state model.ReleaseState, written bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.progress == nil {
		r.progress = map[string]progressCache{}
	}
	key := o.Project + "/" + o.Name
	c := r.progress[key]
	if written || c.epoch != term.Epoch() {
		c.written = now
	}
	c.epoch, c.state = term.Epoch(), state
	if cur := state.Current; cur != nil {
		cp := *cur
		c.state.Current = &cp
	}
	r.progress[key] = c
}

func (r *Releases) forget(o model.Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.progress, o.Project+"/"+o.Name)
}

// progressOnly reports whether next differs from prev only by bake
// progress (bake time, gate readings and times, the message), and the
// last write is recent enough to skip this one. Intent, phase, stage and
// counts that matter after a restart are always written at once.
func (r *Releases) progressOnly(o model.Object, prev, next *model.Release, now time.Time) bool {
	if prev == nil {
		return false
	}
	every := r.ProgressInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	r.mu.Lock()
	c, ok := r.progress[o.Project+"/"+o.Name]
	r.mu.Unlock()
	if !ok || now.Sub(c.written) >= every {
		return false
	}
	a, b := *prev, *next
	for _, x := range []*model.Release{&a, &b} {
		x.Baked, x.LastGateReadAt, x.GatesRequestedAt, x.Gates, x.GatesReadAt, x.Message, x.GateErrors = 0, time.Time{}, time.Time{}, nil, time.Time{}, "", 0
	}
	return reflect.DeepEqual(a, b)
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

// gatesObservation turns a verdict into what Step takes.
func gatesObservation(v gates.Verdict) release.Gates {
	g := release.Gates{Gate: v.Gate, Value: v.Value, Bound: v.Bound, Message: v.Message, Readings: v.Readings}
	switch v.Result {
	case gates.Pass:
		g.Result = release.GatesPassed
	case gates.Fail:
		g.Result = release.GatesFailed
	case gates.Hold:
		g.Result = release.GatesInconclusive
	default:
		g.Result = release.GatesError
	}
	if g.Readings == nil {
		g.Readings = []model.GateReading{}
	}
	return g
}

// usesAudiences reports whether the release's policy routes audiences.
func usesAudiences(cur *model.Release) bool {
	return cur.Policy != nil && cur.Policy.Spec.HasAudiences()
}

// wantAudience is the audience rule the release's intent includes, or nil.
func wantAudience(cur *model.Release) *traffic.Audience {
	stages := cur.Stages()
	if !cur.Audience || cur.StageIndex < 0 || cur.StageIndex >= len(stages) {
		return nil
	}
	return traffic.AudienceFrom(stages[cur.StageIndex].Audience, cur.TargetSlot)
}

// setWeights writes a release's intent: the weights and the audience rule.
// A rollback writes the weights first, at high priority, then removes the
// audience; a stage adds its audience first.
func (r *Releases) setWeights(ctx context.Context, router traffic.Router, cur *model.Release, a release.SetWeights) {
	if a.Rollback {
		ctx = ratelimit.WithPriority(ctx, ratelimit.High)
	}
	audience := func() {
		if a.Audience == nil && !usesAudiences(cur) {
			return
		}
		ar, ok := router.(traffic.AudienceRouter)
		if !ok {
			r.Log.Warn("this environment's routing cannot route an audience", "release", cur.ID)
			return
		}
		if err := ar.SetAudience(ctx, traffic.AudienceFrom(a.Audience, a.Target)); err != nil {
			r.Log.Warn("audience rule write failed; retrying next tick", "release", cur.ID, "error", err)
		}
	}
	if !a.Rollback {
		audience()
	}
	if err := router.SetWeights(ctx, traffic.Weights(a.Weights), traffic.Options{DisableStickiness: a.DisableStickiness}); err != nil {
		r.Log.Warn("weight write failed; retrying next tick", "release", cur.ID, "weights", a.Weights.String(), "error", err)
	}
	if a.Rollback {
		audience()
	}
}

// verify reads a release's intent back: the weights, and the audience rule
// when its policy routes audiences.
func (r *Releases) verify(ctx context.Context, router traffic.Router, cur *model.Release, a release.VerifyWeights) release.Traffic {
	if cur.Phase == model.PhaseRollingBack {
		ctx = ratelimit.WithPriority(ctx, ratelimit.High)
	}
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok, err := router.Verify(vctx, traffic.Weights(a.Weights))
	t := release.Traffic{Read: err == nil, Verified: ok}
	if ok {
		t.VerifiedWeights = a.Weights
		t.Weights = a.Weights
	}
	if err != nil {
		t.Err = err.Error()
	}
	if ok && (a.Audience != nil || usesAudiences(cur)) {
		want := traffic.AudienceFrom(a.Audience, a.Target)
		ar, isAR := router.(traffic.AudienceRouter)
		var got *traffic.Audience
		var aerr error
		if isAR {
			got, aerr = ar.Audience(vctx)
		} else {
			aerr = errors.New("this environment's routing cannot route an audience (it needs alb)")
		}
		if aerr != nil || !traffic.SameAudience(got, want) {
			t.Verified = false
			t.VerifiedWeights = model.Weights{}
			switch {
			case aerr != nil:
				t.Err = "reading the audience rule: " + aerr.Error()
			default:
				t.Err = fmt.Sprintf("AWS shows %s, want %s", got, want)
			}
		}
	}
	return t
}

// pinPolicy loads the canary policy a release starts under.
func (r *Releases) pinPolicy(ctx context.Context, project, name string) (*model.PinnedPolicy, error) {
	o, err := r.Store.GetObject(ctx, model.Ref{Project: project, Kind: model.KindCanaryPolicy, Name: name})
	if err != nil {
		return nil, fmt.Errorf("load canary policy %q: %w", name, err)
	}
	var spec model.CanaryPolicySpec
	if err := json.Unmarshal(o.Spec, &spec); err != nil {
		return nil, fmt.Errorf("canary policy %q does not decode: %w", name, err)
	}
	spec.Normalize()
	return &model.PinnedPolicy{Name: name, Version: o.Version, Spec: spec}, nil
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
