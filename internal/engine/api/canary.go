package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

// AlarmStates reads CloudWatch alarm states by name; alarms that do not
// exist are absent from the answer.
type AlarmStates interface {
	States(ctx context.Context, names []string) (map[string]string, error)
}

func (s *Server) canaryPolicyAPI() *kindAPI[model.CanaryPolicySpec] {
	return &kindAPI[model.CanaryPolicySpec]{
		kind: model.KindCanaryPolicy, noun: "canary policy", plural: "canary-policies", nameField: "/name",
		name:         func(p *model.CanaryPolicySpec) string { return p.Name },
		setName:      func(p *model.CanaryPolicySpec, n string) { p.Name = n },
		normalize:    func(p *model.CanaryPolicySpec, _ *model.CanaryPolicySpec) { p.Normalize() },
		check:        s.checkCanaryPolicy,
		beforeDelete: s.beforeDeleteCanaryPolicy,
		wire: func(o model.Object, p *model.CanaryPolicySpec) any {
			return wire.CanaryPolicy{Project: o.Project, CanaryPolicySpec: *p, Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
				Summary: p.Summary(), MinDuration: model.Duration(p.MinDuration())}
		},
	}
}

// checkCanaryPolicy refuses alarms CloudWatch does not know, and, on update,
// stages that no longer fit an environment using the policy.
func (s *Server) checkCanaryPolicy(ctx context.Context, project string, p *model.CanaryPolicySpec, prev *model.CanaryPolicySpec) *problem.Problem {
	if pr := s.checkAlarmsExist(ctx, "/acceptance/alarm_names", p.Acceptance.AlarmNames); pr != nil {
		return pr
	}
	if prev == nil {
		return nil
	}
	envs, err := s.environmentsUsing(ctx, project, p.Name)
	if err != nil {
		return fromError(err, "")
	}
	for _, e := range envs {
		if errs := model.CheckAudienceFit(&e, p); len(errs) > 0 {
			return invalid(model.FieldError{Pointer: "/stages", Detail: "environment " + e.Name + " uses this policy: " + errs[0].Detail})
		}
	}
	return nil
}

// checkAlarmsExist refuses alarm names CloudWatch does not know, naming
// them. Without AWS (no Alarms reader) nothing is checked.
func (s *Server) checkAlarmsExist(ctx context.Context, pointer string, names []string) *problem.Problem {
	if s.Alarms == nil || len(names) == 0 {
		return nil
	}
	states, err := s.Alarms.States(ctx, names)
	if err != nil {
		return &problem.Problem{Type: problem.TypeUnavailable, Title: "CloudWatch Unavailable", Status: http.StatusBadGateway,
			Detail: "could not check that the alarms exist in CloudWatch: " + err.Error() + "; nothing was changed, try again"}
	}
	var missing []string
	for _, n := range names {
		if _, ok := states[n]; !ok && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return invalid(model.FieldError{Pointer: pointer, Detail: fmt.Sprintf("CloudWatch has no alarm named %s in this engine's account and region; create the alarms first or fix the names",
		quoteList(missing))})
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// environmentsUsing lists the project's environments whose canary_policy is
// name.
func (s *Server) environmentsUsing(ctx context.Context, project, name string) ([]model.EnvironmentSpec, error) {
	objs, err := s.Store.ListObjects(ctx, project, model.KindEnvironment)
	if err != nil {
		return nil, err
	}
	var out []model.EnvironmentSpec
	for _, o := range objs {
		var e model.EnvironmentSpec
		if json.Unmarshal(o.Spec, &e) == nil && e.CanaryPolicy == name {
			out = append(out, e)
		}
	}
	return out, nil
}

// beforeDeleteCanaryPolicy refuses to delete a policy environments use.
// Running releases keep the version they started with either way.
func (s *Server) beforeDeleteCanaryPolicy(w http.ResponseWriter, r *http.Request, o model.Object, _ *model.CanaryPolicySpec) bool {
	envs, err := s.environmentsUsing(r.Context(), o.Project, o.Name)
	if err != nil {
		s.fail(w, r, err, "")
		return true
	}
	if len(envs) == 0 {
		return false
	}
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Name
	}
	writeProblem(w, r, &problem.Problem{Type: problem.TypeConflict, Title: "Canary Policy In Use", Status: http.StatusConflict,
		Detail: fmt.Sprintf("canary policy %q is used by environment %s; remove canary_policy from them (or delete them) first", o.Name, quoteList(names))})
	return true
}

// environmentPolicy loads the canary policy an environment names and checks
// that its audiences fit the environment.
func (s *Server) environmentPolicy(ctx context.Context, project string, e *model.EnvironmentSpec) *problem.Problem {
	o, err := s.Store.GetObject(ctx, model.Ref{Project: project, Kind: model.KindCanaryPolicy, Name: e.CanaryPolicy})
	if errors.Is(err, store.ErrNotFound) {
		return invalid(model.FieldError{Pointer: "/canary_policy", Detail: fmt.Sprintf("no canary policy named %q exists in project %q; create it first, or remove canary_policy to release all at once", e.CanaryPolicy, project)})
	}
	if err != nil {
		return fromError(err, "")
	}
	var p model.CanaryPolicySpec
	if err := json.Unmarshal(o.Spec, &p); err != nil {
		return fromError(err, "")
	}
	if errs := model.CheckAudienceFit(e, &p); len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}
