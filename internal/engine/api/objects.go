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
)

// kindAPI serves the management routes of one kind of project object
// (toggles, environments, …): list, get, create, update and delete, with
// strict decoding, the model's validation, ETags and If-Match, and audit
// events. S is the kind's spec type; *S must validate itself.
type kindAPI[S any] struct {
	kind   string // model kind, e.g. model.KindToggle
	noun   string // "toggle", for messages
	plural string // URL segment, e.g. "toggles"
	// nameField is the spec's identity field as a JSON Pointer ("/key").
	nameField string
	name      func(*S) string
	setName   func(*S, string)
	// normalize fills defaults; prev is the stored spec on update, nil on create.
	normalize func(s *S, prev *S)
	// check runs extra checks that need more than the spec (optional).
	check func(ctx context.Context, project string, s *S, prev *S) *problem.Problem
	// wire builds the answer for a stored object.
	wire func(o model.Object, s *S) any
	// afterChange runs after every successful write (optional).
	afterChange func(r *http.Request)
	// beforeDelete may refuse a delete, or take it over (done = true) when
	// deleting needs the controller (optional).
	beforeDelete func(w http.ResponseWriter, r *http.Request, o model.Object, s *S) (done bool)
}

func (k *kindAPI[S]) register(s *Server) {
	base := "/v1/projects/{project}/" + k.plural
	s.handle("GET "+base, model.TokenWrite, func(w http.ResponseWriter, r *http.Request) { k.list(s, w, r) })
	s.handle("POST "+base, model.TokenWrite, s.idempotent(func(w http.ResponseWriter, r *http.Request) { k.create(s, w, r) }))
	s.handle("GET "+base+"/{name}", model.TokenWrite, func(w http.ResponseWriter, r *http.Request) { k.get(s, w, r) })
	s.handle("PUT "+base+"/{name}", model.TokenWrite, func(w http.ResponseWriter, r *http.Request) { k.update(s, w, r) })
	s.handle("DELETE "+base+"/{name}", model.TokenWrite, func(w http.ResponseWriter, r *http.Request) { k.delete(s, w, r) })
}

func (k *kindAPI[S]) ref(project, name string) model.Ref {
	return model.Ref{Project: project, Kind: k.kind, Name: name}
}

func (k *kindAPI[S]) what(project, name string) string {
	return k.noun + " " + strconv.Quote(name) + " in project " + strconv.Quote(project)
}

func (k *kindAPI[S]) decodeStored(o model.Object) (*S, error) {
	var spec S
	if err := json.Unmarshal(o.Spec, &spec); err != nil {
		return nil, fmt.Errorf("stored %s %s does not decode: %w", k.noun, o.Ref, err)
	}
	return &spec, nil
}

func (k *kindAPI[S]) write(s *Server, w http.ResponseWriter, r *http.Request, status int, o model.Object) {
	spec, err := k.decodeStored(o)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	w.Header().Set("ETag", etag(o.Version))
	writeJSON(w, status, k.wire(o, spec))
}

func (k *kindAPI[S]) changed(r *http.Request) {
	if k.afterChange != nil {
		k.afterChange(r)
	}
}

func (k *kindAPI[S]) list(s *Server, w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	if _, err := s.Store.GetProject(r.Context(), project); err != nil {
		s.fail(w, r, err, projectWhat(project))
		return
	}
	objs, err := s.Store.ListObjects(r.Context(), project, k.kind)
	if err != nil {
		s.fail(w, r, err, k.plural)
		return
	}
	out := make([]any, 0, len(objs))
	for _, o := range objs {
		spec, err := k.decodeStored(o)
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		out = append(out, k.wire(o, spec))
	}
	writeJSON(w, http.StatusOK, map[string]any{k.plural: out})
}

func (k *kindAPI[S]) get(s *Server, w http.ResponseWriter, r *http.Request) {
	project, name := r.PathValue("project"), r.PathValue("name")
	o, err := s.Store.GetObject(r.Context(), k.ref(project, name))
	if err != nil {
		s.fail(w, r, err, k.what(project, name))
		return
	}
	k.write(s, w, r, http.StatusOK, o)
}

// decode reads and validates a spec; urlName is the name in the URL on update.
func (k *kindAPI[S]) decode(s *Server, w http.ResponseWriter, r *http.Request, urlName string) (*S, bool) {
	var spec S
	body, p := readBody(w, r, s.MaxBodyBytes)
	if p == nil {
		p = decode(body, &spec)
	}
	if p == nil && urlName != "" {
		if k.name(&spec) == "" {
			k.setName(&spec, urlName)
		}
		if n := k.name(&spec); n != urlName {
			p = invalid(model.FieldError{Pointer: k.nameField, Detail: fmt.Sprintf("%q does not match the %s in the URL (%q); it cannot change", n, k.noun, urlName)})
		}
	}
	if p == nil {
		if v, ok := any(&spec).(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				p = fromError(err, "")
			}
		}
	}
	if p != nil {
		writeProblem(w, r, p)
		return nil, false
	}
	return &spec, true
}

func (k *kindAPI[S]) create(s *Server, w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	spec, ok := k.decode(s, w, r, "")
	if !ok {
		return
	}
	k.normalize(spec, nil)
	name := k.name(spec)
	if k.check != nil {
		if p := k.check(r.Context(), project, spec, nil); p != nil {
			writeProblem(w, r, p)
			return
		}
	}
	body, _ := json.Marshal(spec)
	o, err := s.Store.CreateObject(r.Context(), k.ref(project, name), body, s.audit(r))
	if err != nil {
		what := k.what(project, name)
		if errors.Is(err, store.ErrNotFound) {
			what = projectWhat(project)
		}
		s.fail(w, r, err, what)
		return
	}
	k.changed(r)
	w.Header().Set("Location", "/v1/projects/"+project+"/"+k.plural+"/"+name)
	k.write(s, w, r, http.StatusCreated, o)
}

func (k *kindAPI[S]) update(s *Server, w http.ResponseWriter, r *http.Request) {
	project, name := r.PathValue("project"), r.PathValue("name")
	ifVersion, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	spec, ok := k.decode(s, w, r, name)
	if !ok {
		return
	}
	ref := k.ref(project, name)
	// Defaults may continue from the stored version (a toggle's variant
	// order), so read it first; a concurrent change in between is caught by
	// the version check.
	cur, err := s.Store.GetObject(r.Context(), ref)
	if err != nil {
		s.fail(w, r, err, k.what(project, name))
		return
	}
	if ifVersion == 0 {
		ifVersion = cur.Version
	}
	prev, err := k.decodeStored(cur)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	k.normalize(spec, prev)
	if k.check != nil {
		if p := k.check(r.Context(), project, spec, prev); p != nil {
			writeProblem(w, r, p)
			return
		}
	}
	body, _ := json.Marshal(spec)
	o, err := s.Store.UpdateObject(r.Context(), ref, body, ifVersion, s.audit(r))
	if err != nil {
		s.fail(w, r, err, k.what(project, name))
		return
	}
	k.changed(r)
	k.write(s, w, r, http.StatusOK, o)
}

func (k *kindAPI[S]) delete(s *Server, w http.ResponseWriter, r *http.Request) {
	project, name := r.PathValue("project"), r.PathValue("name")
	version, p := ifMatch(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	if k.beforeDelete != nil {
		o, err := s.Store.GetObject(r.Context(), k.ref(project, name))
		if err != nil {
			s.fail(w, r, err, k.what(project, name))
			return
		}
		if version != 0 && version != o.Version {
			s.fail(w, r, &store.VersionError{Current: o.Version, Given: version}, k.what(project, name))
			return
		}
		spec, err := k.decodeStored(o)
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		if k.beforeDelete(w, r, o, spec) {
			return
		}
	}
	if err := s.Store.DeleteObject(r.Context(), k.ref(project, name), version, s.audit(r)); err != nil {
		s.fail(w, r, err, k.what(project, name))
		return
	}
	k.changed(r)
	w.WriteHeader(http.StatusNoContent)
}
