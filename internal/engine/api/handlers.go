package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.EvaluationOnly {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeUnavailable, Title: "Not Ready", Status: http.StatusServiceUnavailable,
			Detail: fmt.Sprintf("the store is unreachable; serving flag evaluations from the disk snapshot of revision %d until it answers", s.Flags.Current().Revision)})
		return
	}
	if s.Ready != nil && !s.Ready() {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeUnavailable, Title: "Not Ready", Status: http.StatusServiceUnavailable, Detail: "the engine is still starting"})
		return
	}
	if err := s.Store.Ping(ctx); err != nil {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeUnavailable, Title: "Not Ready", Status: http.StatusServiceUnavailable,
			Detail: "the " + s.Store.Backend() + " store does not answer: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) engineInfo(w http.ResponseWriter, r *http.Request) {
	info := wire.EngineInfo{Version: s.Version, Backend: s.Store.Backend(), Healthy: true}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	rev, err := s.Store.Revision(ctx)
	if err != nil {
		info.Healthy = false
	}
	info.Revision = rev
	if s.Leading != nil {
		info.Leader = s.Leading()
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	t := tokenFrom(r.Context())
	writeJSON(w, http.StatusOK, wire.WhoAmI{ID: t.ID, Name: t.Name, Kind: t.Kind})
}

// ---- projects ----

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Store.ListProjects(r.Context())
	if err != nil {
		s.fail(w, r, err, "projects")
		return
	}
	writeJSON(w, http.StatusOK, wire.ProjectList{Projects: ps})
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	p, err := s.Store.GetProject(r.Context(), name)
	if err != nil {
		s.fail(w, r, err, projectWhat(name))
		return
	}
	w.Header().Set("ETag", etag(p.Version))
	writeJSON(w, http.StatusOK, p)
}

func projectWhat(name string) string { return "project " + strconv.Quote(name) }

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	var spec model.ProjectSpec
	if !s.decodeSpec(w, r, &spec) {
		return
	}
	p, err := s.Store.CreateProject(r.Context(), spec, s.audit(r))
	if err != nil {
		s.fail(w, r, err, projectWhat(spec.Name))
		return
	}
	w.Header().Set("ETag", etag(p.Version))
	w.Header().Set("Location", "/v1/projects/"+p.Name)
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	version, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	var spec model.ProjectSpec
	body, p := readBody(w, r, s.MaxBodyBytes)
	if p == nil {
		p = decode(body, &spec)
	}
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if spec.Name != name {
		writeProblem(w, r, invalid(model.FieldError{Pointer: "/name", Detail: fmt.Sprintf("the name %q does not match the project in the URL (%q); a project cannot be renamed", spec.Name, name)}))
		return
	}
	if err := spec.Validate(); err != nil {
		writeProblem(w, r, fromError(err, ""))
		return
	}
	out, err := s.Store.UpdateProject(r.Context(), spec, version, s.audit(r))
	if err != nil {
		s.fail(w, r, err, projectWhat(name))
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	if name == model.DefaultProject {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeConflict, Title: "Protected Project", Status: http.StatusConflict,
			Detail: "the default project cannot be deleted; it is where objects go when no project is named"})
		return
	}
	version, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	if err := s.Store.DeleteProject(r.Context(), name, version, s.audit(r)); err != nil {
		s.fail(w, r, err, projectWhat(name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeSpec reads, decodes and validates a request body into v.
func (s *Server) decodeSpec(w http.ResponseWriter, r *http.Request, v interface{ Validate() error }) bool {
	body, p := readBody(w, r, s.MaxBodyBytes)
	if p == nil {
		p = decode(body, v)
	}
	if p == nil {
		if err := v.Validate(); err != nil {
			p = fromError(err, "")
		}
	}
	if p != nil {
		writeProblem(w, r, p)
		return false
	}
	return true
}

// fail answers with the problem for err, logging unexpected errors.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, what string) {
	p := fromError(err, what)
	if p.Status >= 500 {
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeProblem(w, r, p)
}

// ---- tokens ----

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Store.ListTokens(r.Context())
	if err != nil {
		s.fail(w, r, err, "tokens")
		return
	}
	writeJSON(w, http.StatusOK, wire.TokenList{Tokens: ts})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var spec model.TokenSpec
	if !s.decodeSpec(w, r, &spec) {
		return
	}
	secret := model.NewTokenSecret()
	a := s.audit(r)
	t := model.Token{ID: model.NewTokenID(), Name: spec.Name, Kind: spec.Kind, Hash: model.HashToken(secret), Hint: model.TokenHint(secret),
		CreatedAt: a.Time.UTC().Truncate(time.Millisecond), CreatedBy: a.Actor, Project: spec.Project, AllOn: spec.AllOn, DarkLaunches: spec.DarkLaunches}
	if spec.Project != "" {
		if _, err := s.Store.GetProject(r.Context(), spec.Project); err != nil {
			s.fail(w, r, err, projectWhat(spec.Project))
			return
		}
	}
	if err := s.Store.CreateToken(r.Context(), t, a); err != nil {
		var exists *store.ExistsError
		if errors.As(err, &exists) {
			writeProblem(w, r, &problem.Problem{Type: problem.TypeExists, Title: "Already Exists", Status: http.StatusConflict,
				Detail: exists.Error() + "; choose another name, or revoke that token first (`progressive token revoke " + spec.Name + "`)"})
			return
		}
		s.fail(w, r, err, "token "+strconv.Quote(spec.Name))
		return
	}
	if err := s.Auth.Refresh(r.Context()); err != nil {
		s.Log.Warn("could not refresh tokens after a create", "error", err)
	}
	s.afterChange(r) // the disk snapshot carries the tokens
	w.Header().Set("Location", "/v1/tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, wire.CreatedToken{Token: t, Secret: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t, err := s.Store.RevokeToken(r.Context(), id, s.audit(r))
	if err != nil {
		s.fail(w, r, err, "active token "+strconv.Quote(id))
		return
	}
	// Forget at once, then reload: a refresh that was already under way may
	// have read the token before the revoke, and the reload runs after it.
	s.Auth.Forget(t.ID)
	if err := s.Auth.Refresh(r.Context()); err != nil {
		s.Log.Warn("could not refresh tokens after a revoke", "error", err)
	}
	s.afterChange(r) // the disk snapshot carries the tokens
	writeJSON(w, http.StatusOK, t)
}

// ---- events ----

// DefaultEventPage is the page size when no limit is given.
const DefaultEventPage = 100

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.EventFilter{Project: q.Get("project"), ObjectKind: q.Get("object_kind"), ObjectName: q.Get("object_name"), Actor: q.Get("actor"), Limit: DefaultEventPage}
	var errs []model.FieldError
	parseTime := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs = append(errs, model.FieldError{Pointer: "/" + name, Detail: fmt.Sprintf("the query parameter %s=%q is not an RFC 3339 time such as 2026-11-26T09:00:00Z", name, v)})
		}
		return t
	}
	f.Since, f.Until = parseTime("since"), parseTime("until")
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, model.FieldError{Pointer: "/limit", Detail: fmt.Sprintf("the query parameter limit=%q must be a whole number from 1 to 1000", v)})
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			errs = append(errs, model.FieldError{Pointer: "/cursor", Detail: fmt.Sprintf("the query parameter cursor=%q is not a cursor from a previous page's next_cursor", v)})
		}
		f.Before = n
	}
	if len(errs) > 0 {
		writeProblem(w, r, invalid(errs...))
		return
	}
	// Ask for one more than a page to know whether another page exists.
	limit := f.Limit
	f.Limit++
	evs, err := s.Store.ListEvents(r.Context(), f)
	if err != nil {
		s.fail(w, r, err, "events")
		return
	}
	out := wire.EventList{Events: evs}
	if len(evs) > limit {
		out.Events = evs[:limit]
		out.NextCursor = strconv.FormatInt(out.Events[limit-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}
