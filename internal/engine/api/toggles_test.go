package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

const togglesPath = "/v1/projects/default/toggles"

// toggleObjects lists every toggle the store holds, across projects.
func (e *env) toggleObjects() []model.Object {
	e.t.Helper()
	objs, err := e.store.ListObjectsByKind(context.Background(), model.KindToggle)
	if err != nil {
		e.t.Fatal(err)
	}
	return objs
}

// toggleState is what the store holds, toggles included.
type toggleState struct {
	state
	toggles []model.Object
}

func (e *env) toggleState() toggleState {
	e.t.Helper()
	return toggleState{state: e.state(), toggles: e.toggleObjects()}
}

// wantTogglesUnchanged proves that a refused request stored nothing: no
// toggle, no event, no revision.
func (e *env) wantTogglesUnchanged(before toggleState) {
	e.t.Helper()
	e.wantUnchanged(before.state)
	if after := e.toggleObjects(); !reflect.DeepEqual(after, before.toggles) {
		e.t.Errorf("the refused request changed toggles:\nbefore %+v\nafter  %+v", before.toggles, after)
	}
}

// createToggle creates a toggle through the API and returns it.
func (e *env) createToggle(project, body string) wire.Toggle {
	e.t.Helper()
	var out wire.Toggle
	wantJSON(e.t, e.do("POST", "/v1/projects/"+project+"/toggles", e.write, body), http.StatusCreated, &out)
	return out
}

func boolPtr(v bool) *bool { return &v }

// statusOf reads a toggle's status.
func statusOf(t *testing.T, e *env, project, key string) wire.ToggleStatus {
	t.Helper()
	var out wire.ToggleStatus
	wantJSON(t, e.do("GET", "/v1/projects/"+project+"/toggles/"+key+"/status", e.write, ""), http.StatusOK, &out)
	return out
}

// toggleOf decodes a toggle answer into a fresh value (decoding into a used
// one would keep the fields an answer omits).
func toggleOf(t *testing.T, r response, status int) wire.Toggle {
	t.Helper()
	var out wire.Toggle
	wantJSON(t, r, status, &out)
	return out
}

func TestToggleCRUD(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.open)
			const create = `{
				"key": "new-checkout",
				"description": "New checkout flow",
				"variants": {"on": true, "off": false},
				"default_variant": "off",
				"rule": [{"name": "employees", "variant": "on",
				          "condition": [{"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}],
				"rollout": {"weights": {"on": 10, "off": 90}}
			}`
			revBefore := e.state().revision

			// Create: defaults are filled in, and the variant order is sorted.
			r := e.do("POST", togglesPath, e.write, create)
			var created wire.Toggle
			wantJSON(t, r, http.StatusCreated, &created)
			if got := r.header.Get("ETag"); got != `"1"` {
				t.Errorf("ETag %q, want \"1\"", got)
			}
			if got := r.header.Get("Location"); got != togglesPath+"/new-checkout" {
				t.Errorf("Location %q, want %s/new-checkout", got, togglesPath)
			}
			want := wire.Toggle{
				Project: model.DefaultProject, Version: 1, CreatedAt: t0, UpdatedAt: t0,
				ToggleSpec: model.ToggleSpec{
					Key: "new-checkout", Description: "New checkout flow", Kind: model.ToggleRelease, Enabled: boolPtr(true),
					Variants:       map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)},
					DefaultVariant: "off", OffVariant: "off", OnVariant: "on",
					Rules: []model.ToggleRule{{Name: "employees", Variant: "on",
						Conditions: []model.Condition{{Attribute: "email", Operator: "ends_with", Values: []string{"@example.com"}}}}},
					Rollout:      &model.Rollout{Weights: map[string]float64{"on": 10, "off": 90}, BucketBy: "targetingKey", Salt: "new-checkout"},
					VariantOrder: []string{"off", "on"},
				},
			}
			if !reflect.DeepEqual(created, want) {
				t.Fatalf("created\n%+v\nwant\n%+v", created, want)
			}
			evs := e.events(store.EventFilter{ObjectKind: model.KindToggle, ObjectName: "new-checkout"})
			if len(evs) != 1 || evs[0].Action != model.ActionCreate || evs[0].Actor != writeName || evs[0].Project != model.DefaultProject {
				t.Fatalf("events after create: %+v", evs)
			}
			if rev := e.state().revision; rev <= revBefore {
				t.Errorf("creating a toggle did not move the revision (%d → %d)", revBefore, rev)
			}
			// What is stored is the normalized spec, so evaluation reads the same.
			var stored model.ToggleSpec
			o, err := e.store.GetObject(context.Background(), model.Ref{Project: model.DefaultProject, Kind: model.KindToggle, Name: "new-checkout"})
			if err != nil || json.Unmarshal(o.Spec, &stored) != nil || !reflect.DeepEqual(stored, want.ToggleSpec) {
				t.Errorf("stored spec %s (%v); want the normalized spec", o.Spec, err)
			}

			// Read.
			r = e.do("GET", togglesPath+"/new-checkout", e.write, "")
			var got wire.Toggle
			got = toggleOf(t, r, http.StatusOK)
			if r.header.Get("ETag") != `"1"` || !reflect.DeepEqual(got, created) {
				t.Errorf("GET: ETag %q, toggle %+v", r.header.Get("ETag"), got)
			}
			wantProblem(t, e.do("GET", togglesPath+"/nope", e.write, ""), http.StatusNotFound, problem.TypeNotFound)

			// List, by key.
			e.clock.Advance(time.Minute)
			e.createToggle(model.DefaultProject, `{"key":"a-banner","variants":{"red":"red","blue":"blue"},"default_variant":"red"}`)
			var list wire.ToggleList
			wantJSON(t, e.do("GET", togglesPath, e.write, ""), http.StatusOK, &list)
			var keys []string
			for _, tg := range list.Toggles {
				keys = append(keys, tg.Key)
				if tg.Project != model.DefaultProject || tg.Version != 1 {
					t.Errorf("listed %+v", tg)
				}
			}
			if !slices.Equal(keys, []string{"a-banner", "new-checkout"}) {
				t.Errorf("listed keys %q, want [a-banner new-checkout]", keys)
			}
			if list.Toggles[1].OnVariant != "on" || list.Toggles[0].OnVariant != "" || list.Toggles[0].OffVariant != "red" {
				t.Errorf("listed toggles lack their defaults: %+v", list.Toggles)
			}
			wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusCreated, nil)
			wantJSON(t, e.do("GET", "/v1/projects/team-a/toggles", e.write, ""), http.StatusOK, &list)
			if len(list.Toggles) != 0 || list.Toggles == nil {
				t.Errorf("team-a's toggles: %+v; want an empty list", list.Toggles)
			}
			p := wantProblem(t, e.do("GET", "/v1/projects/nope/toggles", e.write, ""), http.StatusNotFound, problem.TypeNotFound)
			if !strings.Contains(p.Detail, `"nope"`) {
				t.Errorf("detail %q does not name the project", p.Detail)
			}

			// Re-sending the create body (as Terraform does on a no-op apply)
			// is not a change: no version, no event, no revision.
			before := e.toggleState()
			r = e.do("PUT", togglesPath+"/new-checkout", e.write, create, "If-Match", `"1"`)
			got = toggleOf(t, r, http.StatusOK)
			if got.Version != 1 || r.header.Get("ETag") != `"1"` || !got.UpdatedAt.Equal(t0) {
				t.Errorf("unchanged PUT: version %d, ETag %q, updated_at %v", got.Version, r.header.Get("ETag"), got.UpdatedAt)
			}
			e.wantTogglesUnchanged(before)
			// Without the key in the body, it comes from the URL.
			noKey := strings.Replace(create, `"key": "new-checkout",`, "", 1)
			r = e.do("PUT", togglesPath+"/new-checkout", e.write, noKey)
			got = toggleOf(t, r, http.StatusOK)
			if got.Version != 1 || got.Key != "new-checkout" {
				t.Errorf("PUT without a key: %+v", got)
			}
			e.wantTogglesUnchanged(before)

			// Adding a variant appends it to the stored order, whatever its
			// name and whatever order the caller sends.
			e.clock.Advance(time.Hour)
			const withBeta = `{
				"key": "new-checkout",
				"description": "New checkout flow",
				"variants": {"on": true, "off": false, "beta": false},
				"default_variant": "off",
				"on_variant": "on",
				"rollout": {"weights": {"on": 10, "beta": 10, "off": 80}},
				"variant_order": ["beta", "on", "off"]
			}`
			r = e.do("PUT", togglesPath+"/new-checkout", e.write, withBeta, "If-Match", `"1"`)
			got = toggleOf(t, r, http.StatusOK)
			if got.Version != 2 || r.header.Get("ETag") != `"2"` || !got.UpdatedAt.Equal(t0.Add(time.Hour+time.Minute)) || !got.CreatedAt.Equal(t0) {
				t.Errorf("update: version %d, ETag %q, created %v, updated %v", got.Version, r.header.Get("ETag"), got.CreatedAt, got.UpdatedAt)
			}
			if !slices.Equal(got.VariantOrder, []string{"off", "on", "beta"}) {
				t.Errorf("variant order %q, want [off on beta]", got.VariantOrder)
			}
			if got.Rules != nil || got.Rollout == nil || got.Rollout.Weights["beta"] != 10 || got.Rollout.Salt != "new-checkout" || got.Rollout.BucketBy != "targetingKey" {
				t.Errorf("update: rules %+v, rollout %+v", got.Rules, got.Rollout)
			}
			evs = e.events(store.EventFilter{ObjectKind: model.KindToggle, ObjectName: "new-checkout"})
			if len(evs) != 2 || evs[0].Action != model.ActionUpdate || evs[0].Actor != writeName || len(evs[0].Before) == 0 || len(evs[0].After) == 0 {
				t.Fatalf("events after update: %+v", evs)
			}
			// Removing a variant and adding another keeps the survivors' order.
			r = e.do("PUT", togglesPath+"/new-checkout", e.write,
				`{"variants":{"on":true,"off":false,"alpha":false},"default_variant":"off","on_variant":"on"}`, "If-Match", `"2"`)
			got = toggleOf(t, r, http.StatusOK)
			if got.Version != 3 || !slices.Equal(got.VariantOrder, []string{"off", "on", "alpha"}) {
				t.Errorf("after replacing beta with alpha: version %d, order %q; want 3, [off on alpha]", got.Version, got.VariantOrder)
			}

			// A stale If-Match is refused with the current version.
			before = e.toggleState()
			p = wantProblem(t, e.do("PUT", togglesPath+"/new-checkout", e.write, create, "If-Match", `"2"`), http.StatusConflict, problem.TypeVersionConflict)
			if p.CurrentVersion != 3 || !strings.Contains(p.Detail, "new-checkout") {
				t.Errorf("stale PUT: current_version %d, detail %q", p.CurrentVersion, p.Detail)
			}
			wantProblem(t, e.do("PUT", togglesPath+"/new-checkout", e.write, create, "If-Match", "x"), http.StatusBadRequest, problem.TypeMalformed)
			wantProblem(t, e.do("PUT", togglesPath+"/nope", e.write, `{"variants":{"a":1},"default_variant":"a"}`), http.StatusNotFound, problem.TypeNotFound)
			e.wantTogglesUnchanged(before)

			// Status: the kill switch as configured, and what is served.
			st := statusOf(t, e, model.DefaultProject, "new-checkout")
			if st != (wire.ToggleStatus{Project: model.DefaultProject, Key: "new-checkout", Version: 3, Enabled: true, EffectiveEnabled: true}) {
				t.Errorf("status %+v", st)
			}
			r = e.do("PUT", togglesPath+"/new-checkout", e.write,
				`{"enabled":false,"variants":{"on":true,"off":false,"alpha":false},"default_variant":"off","on_variant":"on"}`)
			got = toggleOf(t, r, http.StatusOK)
			if got.Enabled == nil || *got.Enabled || got.Version != 4 {
				t.Errorf("kill switch: %+v", got)
			}
			st = statusOf(t, e, model.DefaultProject, "new-checkout")
			if st.Enabled || st.EffectiveEnabled || st.Hold != nil || st.Version != 4 {
				t.Errorf("status when disabled: %+v", st)
			}
			st = statusOf(t, e, model.DefaultProject, "a-banner")
			if !st.Enabled || !st.EffectiveEnabled || st.Key != "a-banner" {
				t.Errorf("a-banner status %+v", st)
			}
			setHold(t, e, model.DefaultProject, "a-banner", "p99")
			st = statusOf(t, e, model.DefaultProject, "a-banner")
			if !st.Enabled || st.EffectiveEnabled || st.Hold == nil || st.Hold.Kind != "alarm" || st.Hold.Name != "p99" || !st.Hold.Since.Equal(t0) || st.Version != 1 {
				t.Errorf("status while an alarm holds the toggle: %+v (hold %+v)", st, st.Hold)
			}
			wantProblem(t, e.do("GET", togglesPath+"/nope/status", e.write, ""), http.StatusNotFound, problem.TypeNotFound)

			// sdk tokens may not manage toggles.
			before = e.toggleState()
			for _, c := range []struct{ method, path, body string }{
				{"GET", togglesPath, ""},
				{"POST", togglesPath, `{"key":"x","variants":{"a":1},"default_variant":"a"}`},
				{"GET", togglesPath + "/new-checkout", ""},
				{"PUT", togglesPath + "/new-checkout", create},
				{"DELETE", togglesPath + "/new-checkout", ""},
				{"GET", togglesPath + "/new-checkout/status", ""},
			} {
				p := wantProblem(t, e.do(c.method, c.path, e.sdk, c.body), http.StatusForbidden, problem.TypeForbidden)
				if p.RequiredKind != "write" || p.TokenKind != "sdk" {
					t.Errorf("%s %s with an sdk token: %+v", c.method, c.path, p)
				}
			}
			e.wantTogglesUnchanged(before)

			// Delete: a stale If-Match is refused, then it goes.
			p = wantProblem(t, e.do("DELETE", togglesPath+"/new-checkout", e.write, "", "If-Match", `"3"`), http.StatusConflict, problem.TypeVersionConflict)
			if p.CurrentVersion != 4 {
				t.Errorf("current_version %d, want 4", p.CurrentVersion)
			}
			e.wantTogglesUnchanged(before)
			r = e.do("DELETE", togglesPath+"/new-checkout", e.write, "", "If-Match", `"4"`)
			if r.status != http.StatusNoContent || len(r.body) != 0 {
				t.Fatalf("delete: %d %q; want 204 without a body", r.status, r.body)
			}
			p = wantProblem(t, e.do("GET", togglesPath+"/new-checkout", e.write, ""), http.StatusNotFound, problem.TypeNotFound)
			if !strings.Contains(p.Detail, `"new-checkout"`) {
				t.Errorf("not-found detail %q does not name the toggle", p.Detail)
			}
			evs = e.events(store.EventFilter{ObjectKind: model.KindToggle, ObjectName: "new-checkout"})
			if len(evs) != 5 || evs[0].Action != model.ActionDelete || evs[0].Actor != writeName {
				t.Errorf("events after delete: %+v", evs)
			}
			before = e.toggleState()
			wantProblem(t, e.do("DELETE", togglesPath+"/new-checkout", e.write, ""), http.StatusNotFound, problem.TypeNotFound)
			e.wantTogglesUnchanged(before)
			// A deleted key may be created again, at version 1.
			if again := e.createToggle(model.DefaultProject, create); again.Version != 1 || !slices.Equal(again.VariantOrder, []string{"off", "on"}) {
				t.Errorf("re-created: %+v", again)
			}
		})
	}
}

// setHold sets an alarm hold on a toggle the way the controller does, through a
// fenced status write, and refreshes the server's flag snapshot.
func setHold(t *testing.T, e *env, project, key, alarm string) {
	t.Helper()
	ctx := context.Background()
	l, err := e.store.AcquireLease(ctx, "controller", "test-controller", time.Minute)
	if err != nil || !l.Held {
		t.Fatalf("acquire the controller lease: %+v, %v", l, err)
	}
	status := `{"hold":{"kind":"alarm","name":"` + alarm + `","since":"` + t0.Format(time.RFC3339) + `"}}`
	if err := e.store.SetObjectStatus(ctx, model.Ref{Project: project, Kind: model.KindToggle, Name: key}, json.RawMessage(status),
		store.Fence{Lease: l.Name, Epoch: l.Epoch}, model.Audit{Actor: "controller", Time: t0}); err != nil {
		t.Fatalf("set the hold: %v", err)
	}
	if err := e.srv.Flags.Sync(ctx); err != nil {
		t.Fatalf("sync flags: %v", err)
	}
}

func TestToggleBadInput(t *testing.T) {
	// rule builds a one-rule toggle around a rule body.
	rule := func(r string) string {
		return `{"key":"t","variants":{"on":true,"off":false},"default_variant":"off","rule":[` + r + `]}`
	}
	const cond = `"condition":[{"attribute":"email","operator":"ends_with","values":["@example.com"]}]`
	cases := []struct {
		name, method, path, body string
		pointers                 []string
		detail                   string // a phrase the first field error holds
	}{
		{name: "mixed variant types", body: `{"key":"t","variants":{"a":true,"b":"yes"},"default_variant":"a"}`,
			pointers: []string{"/variants/b"}, detail: "one JSON type"},
		{name: "unknown default variant", body: `{"key":"t","variants":{"on":true,"off":false},"default_variant":"maybe"}`,
			pointers: []string{"/default_variant"}, detail: `"maybe"`},
		{name: "missing default variant", body: `{"key":"t","variants":{"on":true,"off":false}}`,
			pointers: []string{"/default_variant"}, detail: "required"},
		{name: "unknown off variant", body: `{"key":"t","variants":{"on":true,"off":false},"default_variant":"off","off_variant":"nope"}`,
			pointers: []string{"/off_variant"}, detail: `"nope"`},
		{name: "unknown on variant", body: `{"key":"t","variants":{"on":true,"off":false},"default_variant":"off","on_variant":"nope"}`,
			pointers: []string{"/on_variant"}, detail: `"nope"`},
		{name: "no variants", body: `{"key":"t","variants":{},"default_variant":"a"}`,
			pointers: []string{"/variants"}, detail: "at least one variant"},
		{name: "weights not summing to 100", body: `{"key":"t","variants":{"on":true,"off":false},"default_variant":"off","rollout":{"weights":{"on":10,"off":80}}}`,
			pointers: []string{"/rollout/weights"}, detail: "add up to 90"},
		{name: "more than 3 decimals", body: `{"key":"t","variants":{"on":true,"off":false},"default_variant":"off","rollout":{"weights":{"on":10.0005,"off":90}}}`,
			pointers: []string{"/rollout/weights/on"}, detail: "3 decimals"},
		{name: "negative weight", body: `{"key":"t","variants":{"on":true,"off":false},"default_variant":"off","rollout":{"weights":{"on":-10,"off":110}}}`,
			pointers: []string{"/rollout/weights/on"}, detail: "negative"},
		{name: "weight of an unknown variant", body: `{"key":"t","variants":{"on":true,"off":false},"default_variant":"off","rollout":{"weights":{"maybe":100}}}`,
			pointers: []string{"/rollout/weights/maybe"}, detail: `"maybe"`},
		{name: "unknown variant in a rule", body: rule(`{"name":"r","variant":"maybe",` + cond + `}`),
			pointers: []string{"/rule/0/variant"}, detail: `"maybe"`},
		{name: "rule with a variant and a rollout", body: rule(`{"name":"r","variant":"on","rollout":{"weights":{"on":50,"off":50}},` + cond + `}`),
			pointers: []string{"/rule/0"}, detail: "both"},
		{name: "rule with neither variant nor rollout", body: rule(`{"name":"r",` + cond + `}`),
			pointers: []string{"/rule/0"}, detail: "neither"},
		{name: "rule rollout not summing to 100", body: rule(`{"name":"r","rollout":{"weights":{"on":50,"off":40}},` + cond + `}`),
			pointers: []string{"/rule/0/rollout/weights"}, detail: "add up to 90"},
		{name: "invalid regex", body: rule(`{"name":"r","variant":"on","condition":[{"attribute":"email","operator":"matches","values":["(unclosed"]}]}`),
			pointers: []string{"/rule/0/condition/0/values/0"}, detail: "regular expression"},
		{name: "invalid semver", body: rule(`{"name":"r","variant":"on","condition":[{"attribute":"appVersion","operator":"semver_gte","values":["1.x"]}]}`),
			pointers: []string{"/rule/0/condition/0/values/0"}, detail: "semantic version"},
		{name: "unknown operator", body: rule(`{"name":"r","variant":"on","condition":[{"attribute":"email","operator":"like","values":["a"]}]}`),
			pointers: []string{"/rule/0/condition/0/operator"}, detail: `"like"`},
		{name: "rule without conditions", body: rule(`{"name":"r","variant":"on","condition":[]}`),
			pointers: []string{"/rule/0/condition"}, detail: "no condition"},
		{name: "duplicate rule names", body: rule(`{"name":"r","variant":"on",` + cond + `},{"name":"r","variant":"off",` + cond + `}`),
			pointers: []string{"/rule/1/name"}, detail: "already used"},
		{name: "empty key", body: `{"key":"","variants":{"on":true,"off":false},"default_variant":"off"}`,
			pointers: []string{"/key"}, detail: "required"},
		{name: "missing key", body: `{"variants":{"on":true,"off":false},"default_variant":"off"}`,
			pointers: []string{"/key"}, detail: "required"},
		{name: "invalid key", body: `{"key":"New Checkout","variants":{"on":true,"off":false},"default_variant":"off"}`,
			pointers: []string{"/key"}, detail: "not valid"},
		{name: "unknown kind", body: `{"key":"t","kind":"forever","variants":{"on":true,"off":false},"default_variant":"off"}`,
			pointers: []string{"/kind"}, detail: "release"},
		{name: "every invalid field", body: `{"key":"","variants":{"a":1,"b":"x"},"default_variant":"c","rule":[{"name":"r","variant":"zz","condition":[{"attribute":"v","operator":"semver_gt","values":["x"]}]}]}`,
			pointers: []string{"/key", "/variants/b", "/default_variant", "/rule/0/variant", "/rule/0/condition/0/values/0"}, detail: "fix each one"},
		{name: "unknown field", body: `{"key":"t","variants":{"on":true},"default_variant":"on","colour":"red"}`,
			pointers: []string{"/colour"}, detail: "spelling"},
		{name: "PUT: key differs from the URL", method: "PUT", path: togglesPath + "/existing",
			body: `{"key":"renamed","variants":{"on":true,"off":false},"default_variant":"off"}`, pointers: []string{"/key"}, detail: "cannot change"},
		{name: "PUT: invalid spec", method: "PUT", path: togglesPath + "/existing",
			body: `{"variants":{"on":true,"off":false},"default_variant":"off","rollout":{"weights":{"on":1}}}`, pointers: []string{"/rollout/weights"}, detail: "add up to 1"},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.open)
			e.createToggle(model.DefaultProject, `{"key":"existing","variants":{"on":true,"off":false},"default_variant":"off"}`)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e.t = t
					if c.method == "" {
						c.method, c.path = "POST", togglesPath
					}
					before := e.toggleState()
					p := wantProblem(t, e.do(c.method, c.path, e.write, c.body), http.StatusBadRequest, problem.TypeValidation)
					wantPointers(t, p, c.pointers...)
					if !strings.Contains(p.Detail, c.detail) {
						t.Errorf("detail %q does not say %q", p.Detail, c.detail)
					}
					e.wantTogglesUnchanged(before)
				})
			}

			e.t = t
			before := e.toggleState()
			// A toggle in a project that does not exist.
			p := wantProblem(t, e.do("POST", "/v1/projects/nope/toggles", e.write, `{"key":"t","variants":{"on":true},"default_variant":"on"}`), http.StatusNotFound, problem.TypeNotFound)
			if !strings.Contains(p.Detail, `Project "nope"`) {
				t.Errorf("detail %q does not name the missing project", p.Detail)
			}
			e.wantTogglesUnchanged(before)
			// A key that is taken: the detail points at import.
			p = wantProblem(t, e.do("POST", togglesPath, e.write, `{"key":"existing","variants":{"on":true},"default_variant":"on"}`), http.StatusConflict, problem.TypeExists)
			if !strings.Contains(p.Detail, `"existing"`) || !strings.Contains(p.Detail, "import") {
				t.Errorf("already-exists detail %q should name the toggle and mention import", p.Detail)
			}
			e.wantTogglesUnchanged(before)
			if o, err := e.store.GetObject(context.Background(), model.Ref{Project: model.DefaultProject, Kind: model.KindToggle, Name: "existing"}); err != nil || o.Version != 1 {
				t.Errorf("the existing toggle: %+v, %v; want it untouched at version 1", o, err)
			}
			// A key taken in another project is free here.
			wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusCreated, nil)
			if tg := e.createToggle("team-a", `{"key":"existing","variants":{"on":true},"default_variant":"on"}`); tg.Project != "team-a" {
				t.Errorf("created %+v", tg)
			}
			// A project that holds toggles cannot be deleted.
			wantProblem(t, e.do("DELETE", "/v1/projects/team-a", e.write, ""), http.StatusConflict, problem.TypeConflict)
			if _, err := e.project("team-a"); errors.Is(err, store.ErrNotFound) {
				t.Error("a project with toggles was deleted")
			}
		})
	}
}
