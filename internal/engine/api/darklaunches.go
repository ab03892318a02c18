package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/darklaunch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/alb"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

func (s *Server) darkLaunchAPI() *kindAPI[model.DarkLaunchSpec] {
	return &kindAPI[model.DarkLaunchSpec]{
		kind: model.KindDarkLaunch, noun: "dark launch", plural: "dark-launches", nameField: "/name",
		name:         func(d *model.DarkLaunchSpec) string { return d.Name },
		setName:      func(d *model.DarkLaunchSpec, n string) { d.Name = n },
		normalize:    func(d *model.DarkLaunchSpec, _ *model.DarkLaunchSpec) { d.Normalize() },
		check:        s.checkDarkLaunch,
		beforeDelete: s.beforeDeleteDarkLaunch,
		afterChange:  s.afterChange,
		wire: func(o model.Object, d *model.DarkLaunchSpec) any {
			st := darkStatus(o)
			return wire.DarkLaunch{Project: o.Project, DarkLaunchSpec: *d, Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
				Status: st.State, Message: st.Message, ProvenAt: st.ProvenAt}
		},
	}
}

func (s *Server) registerDarkLaunches() {
	s.darkLaunchAPI().register(s)
	base := "/v1/projects/{project}/dark-launches/{name}"
	s.handle("GET "+base+"/status", model.TokenWrite, s.darkLaunchStatus)
	s.handle("GET "+base+"/diffs", model.TokenWrite, s.darkLaunchDiffs)
	for _, action := range []string{"pause", "resume", "reset"} {
		s.handle("POST "+base+"/"+action, model.TokenWrite, func(w http.ResponseWriter, r *http.Request) { s.darkLaunchAction(w, r, action) })
	}
	s.handle("GET "+base+"/config", model.TokenShadow, s.darkLaunchConfig)
	s.handle("POST "+base+"/reports", model.TokenShadow, s.darkLaunchReport)
}

// darkStatus decodes a dark launch's status; a new one is collecting.
func darkStatus(o model.Object) darklaunch.Status { return darklaunch.StatusOf(o.Status, o.CreatedAt) }

// checkDarkLaunch refuses a release toggle that does not exist, or that
// already serves anything but its off variant while the launch is unproven.
func (s *Server) checkDarkLaunch(ctx context.Context, project string, d *model.DarkLaunchSpec, prev *model.DarkLaunchSpec) *problem.Problem {
	if d.ReleaseToggle == "" || (prev != nil && prev.ReleaseToggle == d.ReleaseToggle) {
		return nil
	}
	o, err := s.Store.GetObject(ctx, model.Ref{Project: project, Kind: model.KindToggle, Name: d.ReleaseToggle})
	if errors.Is(err, store.ErrNotFound) {
		return invalid(model.FieldError{Pointer: "/release_toggle", Detail: fmt.Sprintf("no toggle named %q exists in project %q; create it first (serving its off variant) or fix the key", d.ReleaseToggle, project)})
	}
	if err != nil {
		return fromError(err, "")
	}
	var t model.ToggleSpec
	if err := json.Unmarshal(o.Spec, &t); err != nil {
		return fromError(err, "")
	}
	if !t.ServesOnlyOff() {
		st := darklaunch.Initial(s.Clock.Now())
		if prev != nil {
			if cur, err := s.Store.GetObject(ctx, model.Ref{Project: project, Kind: model.KindDarkLaunch, Name: d.Name}); err == nil {
				st = darkStatus(cur)
			}
		}
		if st.ProvenAt.IsZero() {
			return &problem.Problem{Type: problem.TypeConflict, Title: "Toggle Already On", Status: http.StatusConflict,
				Errors: []model.FieldError{{Pointer: "/release_toggle", Detail: "the toggle serves more than its off variant"}},
				Detail: fmt.Sprintf("%s already serves more than its off variant (%q), so dark launch %s cannot hold it: %s; switch the toggle off (enabled = false) until the dark launch is proven",
					d.ReleaseToggle, t.OffVariant, d.Name, st.Progress(d.Acceptance))}
		}
	}
	return nil
}

// beforeDeleteDarkLaunch removes the preview rule, and records that
// deleting the launch releases its hold.
func (s *Server) beforeDeleteDarkLaunch(w http.ResponseWriter, r *http.Request, o model.Object, d *model.DarkLaunchSpec) bool {
	if d.ALB != nil && s.Previews != nil {
		if err := s.Previews(d.ALB.ListenerARN).Remove(r.Context(), alb.PreviewFor(s.ClusterID, o.Project, d)); err != nil {
			writeProblem(w, r, &problem.Problem{Type: problem.TypeUnavailable, Title: "Preview Rule Not Removed", Status: http.StatusBadGateway,
				Detail: "could not remove the dark launch's preview rule, so it was not deleted: " + err.Error() + "; try again"})
			return true
		}
	}
	if d.ReleaseToggle == "" || !darkStatus(o).ProvenAt.IsZero() {
		return false
	}
	err := s.Store.UpdateObjectStatus(r.Context(), o.Ref, func(cur json.RawMessage) (json.RawMessage, string, error) {
		return cur, "deleting the dark launch releases its hold on toggle " + d.ReleaseToggle, nil
	}, s.audit(r))
	if err != nil {
		s.fail(w, r, err, "dark launch "+strconv.Quote(o.Name))
		return true
	}
	return false
}

// holdOn returns the unproven dark launch holding toggle key in project,
// with its status, or nil.
func (s *Server) holdOn(ctx context.Context, project, key string) (*model.DarkLaunchSpec, darklaunch.Status, error) {
	objs, err := s.Store.ListObjects(ctx, project, model.KindDarkLaunch)
	if err != nil {
		return nil, darklaunch.Status{}, err
	}
	for _, o := range objs {
		var d model.DarkLaunchSpec
		if json.Unmarshal(o.Spec, &d) != nil || d.ReleaseToggle != key {
			continue
		}
		if st := darkStatus(o); st.ProvenAt.IsZero() {
			return &d, st, nil
		}
	}
	return nil, darklaunch.Status{}, nil
}

// checkToggleHold refuses a toggle change that would serve anything but the
// off variant while an unproven dark launch holds the toggle.
func (s *Server) checkToggleHold(ctx context.Context, project string, t *model.ToggleSpec, _ *model.ToggleSpec) *problem.Problem {
	if t.ServesOnlyOff() {
		return nil
	}
	d, st, err := s.holdOn(ctx, project, t.Key)
	if err != nil {
		return fromError(err, "")
	}
	if d == nil {
		return nil
	}
	return &problem.Problem{Type: problem.TypeConflict, Title: "Held By Dark Launch", Status: http.StatusConflict,
		Detail: fmt.Sprintf("%s is held by dark launch %s: %s; it may serve only its off variant (%q) until the dark launch is proven (`progressive dark status %s`)",
			t.Key, d.Name, st.Progress(d.Acceptance), t.OffVariant, d.Name)}
}

// darkLaunchObject loads a dark launch for a route, answering the problem
// itself when it cannot; shadow tokens reach only the launches they name.
func (s *Server) darkLaunchObject(w http.ResponseWriter, r *http.Request) (model.Object, *model.DarkLaunchSpec, bool) {
	project, name := r.PathValue("project"), r.PathValue("name")
	what := s.darkLaunchAPI().what(project, name)
	if !tokenFrom(r.Context()).ServesDarkLaunch(project, name) {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeForbidden, Title: "Forbidden", Status: http.StatusForbidden,
			Detail: "this shadow token does not serve " + what + "; create one with `progressive token create --kind shadow --project " + project + " --dark-launch " + name + "`"})
		return model.Object{}, nil, false
	}
	o, err := s.Store.GetObject(r.Context(), model.Ref{Project: project, Kind: model.KindDarkLaunch, Name: name})
	if err != nil {
		s.fail(w, r, err, what)
		return o, nil, false
	}
	var d model.DarkLaunchSpec
	if err := json.Unmarshal(o.Spec, &d); err != nil {
		s.fail(w, r, err, what)
		return o, nil, false
	}
	return o, &d, true
}

func (s *Server) darkLaunchStatus(w http.ResponseWriter, r *http.Request) {
	o, d, ok := s.darkLaunchObject(w, r)
	if !ok {
		return
	}
	st := darkStatus(o)
	proxies := st.Proxies
	if proxies == nil {
		proxies = map[string]darklaunch.Proxy{}
	}
	writeJSON(w, http.StatusOK, wire.DarkLaunchStatus{Project: o.Project, Name: o.Name, Status: st.State, Message: st.Message,
		CollectingSince: st.CollectingSince, ProvenAt: st.ProvenAt, FailedAt: st.FailedAt, MinRequests: d.Acceptance.MinRequests,
		ReleaseToggle: d.ReleaseToggle, Held: d.ReleaseToggle != "" && st.ProvenAt.IsZero(),
		Figures: st.Figures(), Proxies: proxies, Preview: st.Preview, PreviewMessage: st.PreviewMessage})
}

func (s *Server) darkLaunchDiffs(w http.ResponseWriter, r *http.Request) {
	o, _, ok := s.darkLaunchObject(w, r)
	if !ok {
		return
	}
	st := darkStatus(o)
	st.Expire(s.Clock.Now())
	diffs := st.Samples
	if diffs == nil {
		diffs = []darklaunch.Sample{}
	}
	writeJSON(w, http.StatusOK, wire.DarkLaunchDiffs{Diffs: diffs})
}

func (s *Server) darkLaunchAction(w http.ResponseWriter, r *http.Request, action string) {
	o, _, ok := s.darkLaunchObject(w, r)
	if !ok {
		return
	}
	a := s.audit(r)
	var after darklaunch.Status
	err := s.Store.UpdateObjectStatus(r.Context(), o.Ref, func(cur json.RawMessage) (json.RawMessage, string, error) {
		st := darkStatus(model.Object{Status: cur, CreatedAt: o.CreatedAt})
		var msg string
		switch action {
		case "pause":
			msg = st.Pause(a.Actor)
		case "resume":
			msg = st.Resume(a.Actor)
		case "reset":
			msg = st.Reset(a.Actor, a.Time)
		}
		after = st
		if msg == "" {
			return nil, "", store.ErrNoChange
		}
		b, err := json.Marshal(st)
		return b, msg, err
	}, a)
	if err != nil {
		s.fail(w, r, err, "dark launch "+strconv.Quote(o.Name))
		return
	}
	if after.State == "" {
		after = darkStatus(o)
	}
	s.afterChange(r)
	writeJSON(w, http.StatusOK, map[string]string{"status": after.State, "message": after.Message})
}

// darkConfig is what `progressive shadow` runs: the spec with the state
// folded in (paused unless collecting or proven).
func darkConfig(o model.Object, d *model.DarkLaunchSpec) shadow.Config {
	st := darkStatus(o)
	return shadow.Config{
		Name: d.Name, LiveURL: d.LiveURL, DarkURL: d.DarkURL, MirrorPercent: d.MirrorPercent, Methods: d.Methods,
		StripHeaders: d.StripHeaders, Paused: !st.Active(),
		Compare: shadow.Compare{Enabled: d.Compare.IsEnabled(), IgnoreHeaders: d.Compare.IgnoreHeaders,
			IgnoreJSONPaths: d.Compare.IgnoreJSONPaths, NoiseURL: d.Compare.NoiseURL},
		Revision: shadow.Revision(fmt.Sprintf("%d.%d.%s", o.Version, st.Epoch, st.State)),
	}
}

func (s *Server) darkLaunchConfig(w http.ResponseWriter, r *http.Request) {
	o, d, ok := s.darkLaunchObject(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, darkConfig(o, d))
}

// darkLaunchReport adds a proxy's report to the figures and decides the
// verdict; a report already counted is acknowledged and ignored.
func (s *Server) darkLaunchReport(w http.ResponseWriter, r *http.Request) {
	o, _, ok := s.darkLaunchObject(w, r)
	if !ok {
		return
	}
	var rep darkReport
	if !s.decodeSpec(w, r, &rep) {
		return
	}
	changed, err := s.applyDarkReport(r.Context(), o, rep.Report, s.audit(r))
	if err != nil {
		s.fail(w, r, err, "dark launch "+strconv.Quote(o.Name))
		return
	}
	if changed {
		s.afterChange(r)
	}
	w.WriteHeader(http.StatusNoContent)
}

// darkReport is a proxy's report as the API reads it.
type darkReport struct{ shadow.Report }

// Validate checks what the figures cannot: who made the report.
func (d *darkReport) Validate() error {
	var p model.Problems
	if d.Instance == "" {
		p.Add("/instance", "a report names the proxy instance that made it")
	}
	if d.Stats.Requests < 0 || d.Stats.Errors < 0 || d.Stats.Compared < 0 || d.Stats.Diffs < 0 {
		p.Add("/stats", "counts cannot be negative")
	}
	return p.Err()
}

// applyDarkReport adds rep to a dark launch's status and decides the
// verdict, in one transaction; it reports whether the state changed.
func (s *Server) applyDarkReport(ctx context.Context, o model.Object, rep shadow.Report, a model.Audit) (bool, error) {
	var d model.DarkLaunchSpec
	if err := json.Unmarshal(o.Spec, &d); err != nil {
		return false, err
	}
	stateChanged := false
	err := s.Store.UpdateObjectStatus(ctx, o.Ref, func(cur json.RawMessage) (json.RawMessage, string, error) {
		next, msg, changed, err := darklaunch.ApplyReport(d, cur, o.CreatedAt, rep, a.Time)
		if err == nil && !changed {
			err = store.ErrNoChange
		}
		stateChanged = msg != ""
		return next, msg, err
	}, a)
	return stateChanged, err
}
