package api

import (
	"encoding/json"
	"net/http"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

func (s *Server) toggleAPI() *kindAPI[model.ToggleSpec] {
	return &kindAPI[model.ToggleSpec]{
		kind: model.KindToggle, noun: "toggle", plural: "toggles", nameField: "/key",
		name:    func(t *model.ToggleSpec) string { return t.Key },
		setName: func(t *model.ToggleSpec, n string) { t.Key = n },
		normalize: func(t *model.ToggleSpec, prev *model.ToggleSpec) {
			var order []string
			if prev != nil {
				order = prev.VariantOrder
			}
			t.Normalize(order)
		},
		wire: func(o model.Object, t *model.ToggleSpec) any {
			return wire.Toggle{Project: o.Project, ToggleSpec: *t, Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
		},
		check:       s.checkToggleHold,
		afterChange: s.afterChange,
	}
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

func (s *Server) toggleStatus(w http.ResponseWriter, r *http.Request) {
	project, key := r.PathValue("project"), r.PathValue("name")
	o, err := s.Store.GetObject(r.Context(), model.Ref{Project: project, Kind: model.KindToggle, Name: key})
	if err != nil {
		s.fail(w, r, err, s.toggleAPI().what(project, key))
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
