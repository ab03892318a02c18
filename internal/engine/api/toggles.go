package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

func toggleRef(project, key string) model.Ref {
	return model.Ref{Project: project, Kind: model.KindToggle, Name: key}
}

func toggleWhat(project, key string) string {
	return "toggle " + strconv.Quote(key) + " in project " + strconv.Quote(project)
}

func toWireToggle(o model.Object) (wire.Toggle, error) {
	t := wire.Toggle{Project: o.Project, Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	err := json.Unmarshal(o.Spec, &t.ToggleSpec)
	return t, err
}

// writeToggle answers with a toggle object and its ETag.
func (s *Server) writeToggle(w http.ResponseWriter, r *http.Request, status int, o model.Object) {
	t, err := toWireToggle(o)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	w.Header().Set("ETag", etag(o.Version))
	writeJSON(w, status, t)
}

// afterChange brings this replica's flag snapshot up to date at once, so
// that a caller evaluates what it just wrote; other replicas follow within
// their poll interval.
func (s *Server) afterChange(r *http.Request) {
	if s.Flags == nil {
		return
	}
	if err := s.Flags.Sync(r.Context()); err != nil {
		s.Log.Warn("could not refresh the flag snapshot after a change", "error", err)
	}
}

func (s *Server) listToggles(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	if _, err := s.Store.GetProject(r.Context(), project); err != nil {
		s.fail(w, r, err, projectWhat(project))
		return
	}
	objs, err := s.Store.ListObjects(r.Context(), project, model.KindToggle)
	if err != nil {
		s.fail(w, r, err, "toggles")
		return
	}
	out := wire.ToggleList{Toggles: []wire.Toggle{}}
	for _, o := range objs {
		t, err := toWireToggle(o)
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		out.Toggles = append(out.Toggles, t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getToggle(w http.ResponseWriter, r *http.Request) {
	project, key := r.PathValue("project"), r.PathValue("key")
	o, err := s.Store.GetObject(r.Context(), toggleRef(project, key))
	if err != nil {
		s.fail(w, r, err, toggleWhat(project, key))
		return
	}
	s.writeToggle(w, r, http.StatusOK, o)
}

// decodeToggle reads and validates a toggle spec.
func (s *Server) decodeToggle(w http.ResponseWriter, r *http.Request, key string) (*model.ToggleSpec, bool) {
	var spec model.ToggleSpec
	body, p := readBody(w, r, s.MaxBodyBytes)
	if p == nil {
		p = decode(body, &spec)
	}
	if p == nil && key != "" {
		if spec.Key == "" {
			spec.Key = key
		}
		if spec.Key != key {
			p = invalid(model.FieldError{Pointer: "/key", Detail: fmt.Sprintf("the key %q does not match the toggle in the URL (%q); a toggle's key cannot change", spec.Key, key)})
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

func (s *Server) createToggle(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	spec, ok := s.decodeToggle(w, r, "")
	if !ok {
		return
	}
	spec.Normalize(nil)
	body, _ := json.Marshal(spec)
	o, err := s.Store.CreateObject(r.Context(), toggleRef(project, spec.Key), body, s.audit(r))
	if err != nil {
		what := toggleWhat(project, spec.Key)
		if errors.Is(err, store.ErrNotFound) {
			what = projectWhat(project)
		}
		s.fail(w, r, err, what)
		return
	}
	s.afterChange(r)
	w.Header().Set("Location", "/v1/projects/"+project+"/toggles/"+spec.Key)
	s.writeToggle(w, r, http.StatusCreated, o)
}

func (s *Server) updateToggle(w http.ResponseWriter, r *http.Request) {
	project, key := r.PathValue("project"), r.PathValue("key")
	ifVersion, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	spec, ok := s.decodeToggle(w, r, key)
	if !ok {
		return
	}
	ref := toggleRef(project, key)
	// The variant order continues from the stored version, so read it
	// first; a concurrent change in between is caught by the version check.
	cur, err := s.Store.GetObject(r.Context(), ref)
	if err != nil {
		s.fail(w, r, err, toggleWhat(project, key))
		return
	}
	if ifVersion == 0 {
		ifVersion = cur.Version
	}
	var prev model.ToggleSpec
	_ = json.Unmarshal(cur.Spec, &prev)
	spec.Normalize(prev.VariantOrder)
	body, _ := json.Marshal(spec)
	o, err := s.Store.UpdateObject(r.Context(), ref, body, ifVersion, s.audit(r))
	if err != nil {
		s.fail(w, r, err, toggleWhat(project, key))
		return
	}
	s.afterChange(r)
	s.writeToggle(w, r, http.StatusOK, o)
}

func (s *Server) deleteToggle(w http.ResponseWriter, r *http.Request) {
	project, key := r.PathValue("project"), r.PathValue("key")
	version, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	if err := s.Store.DeleteObject(r.Context(), toggleRef(project, key), version, s.audit(r)); err != nil {
		s.fail(w, r, err, toggleWhat(project, key))
		return
	}
	s.afterChange(r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) toggleStatus(w http.ResponseWriter, r *http.Request) {
	project, key := r.PathValue("project"), r.PathValue("key")
	o, err := s.Store.GetObject(r.Context(), toggleRef(project, key))
	if err != nil {
		s.fail(w, r, err, toggleWhat(project, key))
		return
	}
	var spec model.ToggleSpec
	var status model.ToggleStatus
	_ = json.Unmarshal(o.Spec, &spec)
	_ = json.Unmarshal(o.Status, &status)
	writeJSON(w, http.StatusOK, wire.ToggleStatus{
		Project: project, Key: key, Version: o.Version,
		Enabled: spec.IsEnabled(), EffectiveEnabled: spec.IsEnabled() && status.Hold == nil, Hold: status.Hold,
	})
}
