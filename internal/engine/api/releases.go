package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

// Release routes live under their environment:
// /v1/projects/{project}/environments/{name}/release.
func (s *Server) registerReleases() {
	base := "/v1/projects/{project}/environments/{name}/release"
	s.handle("GET "+base, model.TokenWrite, s.getRelease)
	s.handle("POST "+base, model.TokenWrite, s.idempotent(s.createRelease))
	s.handle("PUT "+base, model.TokenWrite, s.updateRelease)
	s.handle("DELETE "+base, model.TokenWrite, s.deleteRelease)
	s.handle("POST "+base+"/{action}", model.TokenWrite, s.releaseRequest)
}

func releaseRef(project, env string) model.Ref {
	return model.Ref{Project: project, Kind: model.KindRelease, Name: env}
}

func releaseWhat(project, env string) string {
	return "the release of environment " + strconv.Quote(env) + " in project " + strconv.Quote(project)
}

func toWireRelease(o model.Object) (wire.Release, error) {
	var spec model.ReleaseSpec
	var st model.ReleaseState
	if err := json.Unmarshal(o.Spec, &spec); err != nil {
		return wire.Release{}, err
	}
	_ = json.Unmarshal(o.Status, &st)
	out := wire.Release{Project: o.Project, Environment: o.Name, Slot: spec.Slot, Trigger: spec.Trigger, Version: o.Version,
		Applied: st.AppliedVersion >= o.Version, Status: model.ReleaseStatusIdle, Current: st.Current}
	if st.Current != nil {
		out.Status = st.Current.Status()
	}
	return out, nil
}

func (s *Server) writeRelease(w http.ResponseWriter, r *http.Request, status int, o model.Object) {
	out, err := toWireRelease(o)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	w.Header().Set("ETag", etag(o.Version))
	writeJSON(w, status, out)
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) {
	project, env := r.PathValue("project"), r.PathValue("name")
	o, err := s.Store.GetObject(r.Context(), releaseRef(project, env))
	if err != nil {
		s.fail(w, r, err, releaseWhat(project, env))
		return
	}
	s.writeRelease(w, r, http.StatusOK, o)
}

func (s *Server) decodeRelease(w http.ResponseWriter, r *http.Request) (*model.ReleaseSpec, bool) {
	env := r.PathValue("name")
	var spec model.ReleaseSpec
	body, p := readBody(w, r, s.MaxBodyBytes)
	if p == nil {
		p = decode(body, &spec)
	}
	if p == nil {
		if spec.Environment == "" {
			spec.Environment = env
		}
		if spec.Environment != env {
			p = invalid(model.FieldError{Pointer: "/environment", Detail: fmt.Sprintf("the environment %q does not match the one in the URL (%q)", spec.Environment, env)})
		}
	}
	if p == nil {
		if err := spec.Validate(); err != nil {
			p = fromError(err, "")
		}
	}
	if p != nil {
		writeProblem(w, r, p)
		return nil, false
	}
	return &spec, true
}

// checkRelease refuses a release change that cannot be applied now: the
// environment is missing, a release is in progress, or the plan was made
// against an environment that has changed since.
func (s *Server) checkRelease(ctx context.Context, project string, spec *model.ReleaseSpec, prev *model.ReleaseSpec, state model.ReleaseState) *problem.Problem {
	eo, err := s.Store.GetObject(ctx, model.Ref{Project: project, Kind: model.KindEnvironment, Name: spec.Environment})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("environment " + strconv.Quote(spec.Environment) + " does not exist in project " + strconv.Quote(project) + "; create the progressive_release_environment first")
	}
	if err != nil {
		return fromError(err, "")
	}
	var env model.EnvironmentSpec
	var est model.EnvironmentStatus
	_ = json.Unmarshal(eo.Spec, &env)
	_ = json.Unmarshal(eo.Status, &est)
	active := est.ActiveSlot
	if active == "" {
		active = env.InitialLiveSlot
	}
	changes := prev == nil || prev.Slot != spec.Slot || prev.Trigger != spec.Trigger
	if cur := state.Current; cur != nil && !cur.Phase.Terminal() && changes {
		return &problem.Problem{Type: problem.TypeConflict, Title: "Release In Progress", Status: http.StatusConflict,
			Detail: fmt.Sprintf("release %s of environment %q is %s (%s); one release runs at a time: wait for it (`progressive wait %s`), promote it (`progressive promote %s`) or abort it (`progressive abort %s`), then apply again",
				cur.ID, spec.Environment, cur.Phase, cur.Message, spec.Environment, spec.Environment, spec.Environment)}
	}
	if spec.ExpectActiveSlot != "" && spec.ExpectActiveSlot != active {
		return &problem.Problem{Type: problem.TypeConflict, Title: "Stale Plan", Status: http.StatusConflict,
			Detail: fmt.Sprintf("this change was planned when %s was the active slot of %q, and now %s is; plan again", spec.ExpectActiveSlot, spec.Environment, active)}
	}
	if want := spec.ExpectLastReleaseID; want != nil && *want != est.LastReleaseID {
		since := "before any release"
		if *want != "" {
			since = "after release " + *want
		}
		return &problem.Problem{Type: problem.TypeConflict, Title: "Stale Plan", Status: http.StatusConflict,
			Detail: fmt.Sprintf("this change was planned %s of %q, and release %s has run since; plan again", since, spec.Environment, est.LastReleaseID)}
	}
	return nil
}

func releaseBody(spec *model.ReleaseSpec) json.RawMessage {
	// The expectations guard one write; they are not part of the intent.
	stored := *spec
	stored.ExpectActiveSlot, stored.ExpectLastReleaseID = "", nil
	b, _ := json.Marshal(stored)
	return b
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	spec, ok := s.decodeRelease(w, r)
	if !ok {
		return
	}
	if p := s.checkRelease(r.Context(), project, spec, nil, model.ReleaseState{}); p != nil {
		writeProblem(w, r, p)
		return
	}
	o, err := s.Store.CreateObject(r.Context(), releaseRef(project, spec.Environment), releaseBody(spec), s.audit(r))
	var exists *store.ExistsError
	if errors.As(err, &exists) {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeExists, Title: "Already Exists", Status: http.StatusConflict,
			Detail: "environment " + strconv.Quote(spec.Environment) + " already has a release; an environment has at most one progressive_release: import it (by the environment's name) instead of creating a second"})
		return
	}
	if err != nil {
		s.fail(w, r, err, releaseWhat(project, spec.Environment))
		return
	}
	w.Header().Set("Location", "/v1/projects/"+project+"/environments/"+spec.Environment+"/release")
	s.writeRelease(w, r, http.StatusCreated, o)
}

func (s *Server) updateRelease(w http.ResponseWriter, r *http.Request) {
	project, env := r.PathValue("project"), r.PathValue("name")
	ifVersion, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	spec, ok := s.decodeRelease(w, r)
	if !ok {
		return
	}
	cur, err := s.Store.GetObject(r.Context(), releaseRef(project, env))
	if err != nil {
		s.fail(w, r, err, releaseWhat(project, env))
		return
	}
	var prev model.ReleaseSpec
	var state model.ReleaseState
	_ = json.Unmarshal(cur.Spec, &prev)
	_ = json.Unmarshal(cur.Status, &state)
	if p := s.checkRelease(r.Context(), project, spec, &prev, state); p != nil {
		writeProblem(w, r, p)
		return
	}
	if ifVersion == 0 {
		ifVersion = cur.Version
	}
	o, err := s.Store.UpdateObject(r.Context(), releaseRef(project, env), releaseBody(spec), ifVersion, s.audit(r))
	if err != nil {
		s.fail(w, r, err, releaseWhat(project, env))
		return
	}
	s.writeRelease(w, r, http.StatusOK, o)
}

// deleteRelease forgets the release intent; it moves no traffic. A release
// in progress must end first.
func (s *Server) deleteRelease(w http.ResponseWriter, r *http.Request) {
	project, env := r.PathValue("project"), r.PathValue("name")
	version, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	cur, err := s.Store.GetObject(r.Context(), releaseRef(project, env))
	if err != nil {
		s.fail(w, r, err, releaseWhat(project, env))
		return
	}
	var state model.ReleaseState
	_ = json.Unmarshal(cur.Status, &state)
	if c := state.Current; c != nil && !c.Phase.Terminal() {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeConflict, Title: "Release In Progress", Status: http.StatusConflict,
			Detail: fmt.Sprintf("release %s of %q is %s; wait for it (`progressive wait %s`) or abort it (`progressive abort %s`) before deleting", c.ID, env, c.Phase, env, env)})
		return
	}
	if err := s.Store.DeleteObject(r.Context(), releaseRef(project, env), version, s.audit(r)); err != nil {
		s.fail(w, r, err, releaseWhat(project, env))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// releaseRequest records an operator's abort, pause, resume or promote for
// the running attempt; the controller hands it to the state machine.
func (s *Server) releaseRequest(w http.ResponseWriter, r *http.Request) {
	project, env, action := r.PathValue("project"), r.PathValue("name"), r.PathValue("action")
	switch action {
	case "abort", "pause", "resume", "promote":
	default:
		writeProblem(w, r, notFound("there is no release action "+strconv.Quote(action)+"; use abort, pause, resume or promote"))
		return
	}
	o, err := s.Store.GetObject(r.Context(), releaseRef(project, env))
	if err != nil {
		s.fail(w, r, err, releaseWhat(project, env))
		return
	}
	var state model.ReleaseState
	_ = json.Unmarshal(o.Status, &state)
	c := state.Current
	if c == nil || c.Phase.Terminal() {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeConflict, Title: "No Release In Progress", Status: http.StatusConflict,
			Detail: fmt.Sprintf("environment %q has no release in progress to %s", env, action)})
		return
	}
	ref := model.Ref{Project: project, Kind: model.KindReleaseRequest, Name: env}
	req := model.ReleaseRequest{Action: action, Actor: tokenFrom(r.Context()).Name, ReleaseID: c.ID}
	prev, err := s.Store.GetObject(r.Context(), ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		req.Seq = 1
		body, _ := json.Marshal(req)
		_, err = s.Store.CreateObject(r.Context(), ref, body, s.audit(r))
	case err == nil:
		var last model.ReleaseRequest
		_ = json.Unmarshal(prev.Spec, &last)
		req.Seq = last.Seq + 1
		body, _ := json.Marshal(req)
		_, err = s.Store.UpdateObject(r.Context(), ref, body, prev.Version, s.audit(r))
	}
	if err != nil {
		s.fail(w, r, err, releaseWhat(project, env))
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"release_id": c.ID, "action": action, "seq": req.Seq})
}
