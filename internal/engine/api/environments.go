package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

func (s *Server) environmentAPI() *kindAPI[model.EnvironmentSpec] {
	return &kindAPI[model.EnvironmentSpec]{
		kind: model.KindEnvironment, noun: "environment", plural: "environments", nameField: "/name",
		name:    func(e *model.EnvironmentSpec) string { return e.Name },
		setName: func(e *model.EnvironmentSpec, n string) { e.Name = n },
		normalize: func(e *model.EnvironmentSpec, prev *model.EnvironmentSpec) {
			e.Normalize()
			e.Deleting = prev != nil && prev.Deleting // the engine's to set
		},
		check:        s.checkEnvironment,
		beforeDelete: s.beforeDeleteEnvironment,
		wire: func(o model.Object, e *model.EnvironmentSpec) any {
			var st model.EnvironmentStatus
			_ = json.Unmarshal(o.Status, &st)
			if st.ActiveSlot == "" {
				st.ActiveSlot = e.InitialLiveSlot
			}
			if st.Routing == "" {
				st.Routing = model.RoutingPending
			}
			return wire.Environment{Project: o.Project, EnvironmentSpec: *e, Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
				ActiveSlot: st.ActiveSlot, IdleSlot: st.IdleSlot(), LastReleaseID: st.LastReleaseID, Routing: st.Routing, RoutingMessage: st.RoutingMessage}
		},
	}
}

// checkEnvironment refuses what the spec alone cannot show: on update, a
// change to the serving slot's routing (that is a release, not a deploy), or
// a switch between alb and route53.
func (s *Server) checkEnvironment(ctx context.Context, project string, e *model.EnvironmentSpec, prev *model.EnvironmentSpec) *problem.Problem {
	if p := s.checkPriorityBlock(ctx, project, e); p != nil {
		return p
	}
	if e.CanaryPolicy != "" {
		if p := s.environmentPolicy(ctx, project, e); p != nil {
			return p
		}
	}
	if prev == nil {
		return nil
	}
	if (prev.ALB == nil) != (e.ALB == nil) {
		return invalid(model.FieldError{Pointer: "", Detail: "an environment cannot switch between alb and route53; create a new environment for the other routing"})
	}
	o, err := s.Store.GetObject(ctx, model.Ref{Project: project, Kind: model.KindEnvironment, Name: e.Name})
	if err != nil {
		return fromError(err, "")
	}
	var st model.EnvironmentStatus
	_ = json.Unmarshal(o.Status, &st)
	active := st.ActiveSlot
	if active == "" {
		active = prev.InitialLiveSlot
	}
	was, now := prev.SlotSpec(active), e.SlotSpec(active)
	if was.TargetGroupARN != now.TargetGroupARN || was.DNSValue != now.DNSValue {
		return &problem.Problem{Type: problem.TypeConflict, Title: "Serving Slot Changed", Status: http.StatusConflict,
			Errors: []model.FieldError{{Pointer: "/" + active, Detail: "the " + active + " slot serves customers now"}},
			Detail: "the " + active + " slot serves customers now, so its target group and DNS value cannot change: deploy to the idle slot (" + model.OtherSlot(active) + ") and release it with progressive_release"}
	}
	return nil
}

// environmentTraffic reads the live weights from AWS (any replica may read).
func (s *Server) environmentTraffic(w http.ResponseWriter, r *http.Request) {
	project, name := r.PathValue("project"), r.PathValue("name")
	o, err := s.Store.GetObject(r.Context(), model.Ref{Project: project, Kind: model.KindEnvironment, Name: name})
	if err != nil {
		s.fail(w, r, err, s.environmentAPI().what(project, name))
		return
	}
	var spec model.EnvironmentSpec
	_ = json.Unmarshal(o.Spec, &spec)
	if s.Routers == nil {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeUnavailable, Title: "Traffic Unavailable", Status: http.StatusServiceUnavailable,
			Detail: "this engine has no AWS configuration, so it cannot read live weights; set AWS_REGION and credentials"})
		return
	}
	router, err := s.Routers.For(project, spec)
	if err == nil {
		var wts traffic.Weights
		if wts, err = router.Weights(r.Context()); err == nil {
			writeJSON(w, http.StatusOK, wire.Traffic{Blue: wts.Blue, Green: wts.Green, ReadAt: s.Clock.Now().UTC()})
			return
		}
	}
	writeProblem(w, r, &problem.Problem{Type: problem.TypeUnavailable, Title: "Traffic Unavailable", Status: http.StatusBadGateway,
		Detail: "could not read the weights of " + name + " from AWS: " + err.Error()})
}

// beforeDeleteEnvironment refuses to delete an environment while its release
// runs, and hands the delete to the leader when on_destroy = remove_routing:
// the environment is marked deleting (202), and the controller removes the
// engine's routing and then the environment.
func (s *Server) beforeDeleteEnvironment(w http.ResponseWriter, r *http.Request, o model.Object, e *model.EnvironmentSpec) bool {
	ro, err := s.Store.GetObject(r.Context(), releaseRef(o.Project, o.Name))
	if err == nil {
		var st model.ReleaseState
		_ = json.Unmarshal(ro.Status, &st)
		if c := st.Current; c != nil && !c.Phase.Terminal() {
			writeProblem(w, r, &problem.Problem{Type: problem.TypeConflict, Title: "Release In Progress", Status: http.StatusConflict,
				Detail: fmt.Sprintf("release %s of %q is %s; wait for it (`progressive wait %s`) or abort it (`progressive abort %s`) before deleting the environment", c.ID, o.Name, c.Phase, o.Name, o.Name)})
			return true
		}
	}
	if e.OnDestroy != model.OnDestroyRemoveRouting {
		return false
	}
	if !e.Deleting {
		e.Deleting = true
		body, _ := json.Marshal(e)
		if _, err := s.Store.UpdateObject(r.Context(), o.Ref, body, o.Version, s.audit(r)); err != nil {
			s.fail(w, r, err, "environment "+o.Name)
			return true
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "deleting", "detail": "the engine removes its routing, then the environment"})
	return true
}

// checkPriorityBlock refuses an ALB environment whose block of listener rule
// priorities overlaps another environment's on the same listener.
func (s *Server) checkPriorityBlock(ctx context.Context, project string, e *model.EnvironmentSpec) *problem.Problem {
	if e.ALB == nil {
		return nil
	}
	others, err := s.Store.ListObjectsByKind(ctx, model.KindEnvironment)
	if err != nil {
		return fromError(err, "")
	}
	lo, hi := e.ALB.RulePriority-model.RulePriorityBlock+1, e.ALB.RulePriority
	for _, o := range others {
		if o.Project == project && o.Name == e.Name {
			continue
		}
		var other model.EnvironmentSpec
		if json.Unmarshal(o.Spec, &other) != nil || other.ALB == nil || other.ALB.ListenerARN != e.ALB.ListenerARN {
			continue
		}
		olo, ohi := other.ALB.RulePriority-model.RulePriorityBlock+1, other.ALB.RulePriority
		if lo <= ohi && olo <= hi {
			return &problem.Problem{Type: problem.TypeConflict, Title: "Priority Block Taken", Status: http.StatusConflict,
				Errors: []model.FieldError{{Pointer: "/alb/rule_priority", Detail: fmt.Sprintf("overlaps %s/%s", o.Project, o.Name)}},
				Detail: fmt.Sprintf("rule priorities %d..%d on this listener overlap environment %s/%s, which owns %d..%d; choose a rule_priority at least %d away",
					lo, hi, o.Project, o.Name, olo, ohi, model.RulePriorityBlock)}
		}
	}
	return nil
}
