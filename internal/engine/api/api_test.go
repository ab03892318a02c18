package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/api"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/postgres"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// t0 is the fake clock's starting time.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// Names of the tokens every test environment starts with; the audit log
// records them as actors.
const (
	adminName = "ops-admin"
	writeName = "ci-writer"
	sdkName   = "app-sdk"
)

type backend struct {
	name string
	open func(t *testing.T) store.Store
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	return s
}

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testenv.PostgresDSN(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	return s
}

var backends = []backend{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// env is an engine API served over HTTP from a real store.
type env struct {
	t     *testing.T
	store store.Store
	srv   *api.Server
	ts    *httptest.Server
	clock *clock.Fake
	// Secrets of an admin, a write and an sdk token.
	admin, write, sdk string
	tokens            map[string]model.Token // by name
}

func newEnv(t *testing.T, open func(*testing.T) store.Store, configure ...func(*api.Server)) *env {
	t.Helper()
	ctx := context.Background()
	st := open(t)
	t.Cleanup(func() { _ = st.Close() })
	clk := clock.NewFake(t0)
	e := &env{t: t, store: st, clock: clk, tokens: map[string]model.Token{}}
	mint := func(name string, kind model.TokenKind) string {
		secret := model.NewTokenSecret()
		tok := model.Token{ID: model.NewTokenID(), Name: name, Kind: kind, Hash: model.HashToken(secret), Hint: model.TokenHint(secret), CreatedAt: t0, CreatedBy: "test"}
		if err := st.CreateToken(ctx, tok, model.Audit{Actor: "test", Time: t0}); err != nil {
			t.Fatalf("create token %s: %v", name, err)
		}
		e.tokens[name] = tok
		return secret
	}
	e.admin = mint(adminName, model.TokenAdmin)
	e.write = mint(writeName, model.TokenWrite)
	e.sdk = mint(sdkName, model.TokenSDK)
	authn := auth.New(st, hclog.NewNullLogger())
	if err := authn.Refresh(ctx); err != nil {
		t.Fatalf("refresh tokens: %v", err)
	}
	e.srv = &api.Server{Store: st, Auth: authn, Clock: clk, Log: hclog.NewNullLogger(), Version: "test-1.2.3"}
	for _, c := range configure {
		c(e.srv)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. headers are name/value pairs; a body is sent as
// application/json unless headers set a Content-Type.
func (e *env) do(method, path, token, body string, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// wantJSON checks a successful JSON answer and decodes it into out.
func wantJSON(t *testing.T, r response, status int, out any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if out == nil {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", r.header.Get("Content-Type"))
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// wantProblem checks that r is a problem document of the given status and
// type with a detail a person can act on, and returns it.
func wantProblem(t *testing.T, r response, status int, typ string) problem.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type %q, want %s", ct, problem.ContentType)
	}
	var p problem.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.body, err)
	}
	if p.Type != typ {
		t.Fatalf("problem type %q, want %q; body: %s", p.Type, typ, r.body)
	}
	if p.Status != status {
		t.Errorf("problem status %d, want %d", p.Status, status)
	}
	if p.Title == "" {
		t.Errorf("problem has no title: %s", r.body)
	}
	if len(strings.Fields(p.Detail)) < 4 {
		t.Errorf("problem detail %q does not say what to do", p.Detail)
	}
	return p
}

// wantPointers checks that p lists a field error for each pointer, in order.
func wantPointers(t *testing.T, p problem.Problem, pointers ...string) {
	t.Helper()
	var got []string
	for _, f := range p.Errors {
		got = append(got, f.Pointer)
		if f.Detail == "" {
			t.Errorf("field error %s has no detail", f.Pointer)
		}
	}
	if !slices.Equal(got, pointers) {
		t.Fatalf("error pointers %q, want %q; problem: %+v", got, pointers, p)
	}
}

// state is what the store holds, to prove that a refused request wrote nothing.
type state struct {
	events   []model.Event
	projects []model.Project
	tokens   []model.Token
	revision int64
}

func (e *env) state() state {
	e.t.Helper()
	ctx := context.Background()
	var s state
	var err error
	if s.events, err = e.store.ListEvents(ctx, store.EventFilter{Limit: 1000}); err != nil {
		e.t.Fatal(err)
	}
	if s.projects, err = e.store.ListProjects(ctx); err != nil {
		e.t.Fatal(err)
	}
	if s.tokens, err = e.store.ListTokens(ctx); err != nil {
		e.t.Fatal(err)
	}
	if s.revision, err = e.store.Revision(ctx); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) wantUnchanged(before state) {
	e.t.Helper()
	after := e.state()
	if len(after.events) != len(before.events) {
		e.t.Errorf("the refused request appended %d audit events: %+v", len(after.events)-len(before.events), after.events[:len(after.events)-len(before.events)])
	}
	if !reflect.DeepEqual(after.projects, before.projects) {
		e.t.Errorf("the refused request changed projects:\nbefore %+v\nafter  %+v", before.projects, after.projects)
	}
	if !reflect.DeepEqual(after.tokens, before.tokens) {
		e.t.Errorf("the refused request changed tokens:\nbefore %+v\nafter  %+v", before.tokens, after.tokens)
	}
	if after.revision != before.revision {
		e.t.Errorf("the refused request bumped the store revision from %d to %d", before.revision, after.revision)
	}
}

// events lists the audit events that match f, newest first.
func (e *env) events(f store.EventFilter) []model.Event {
	e.t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	evs, err := e.store.ListEvents(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) project(name string) (model.Project, error) {
	return e.store.GetProject(context.Background(), name)
}

func TestProjectCRUD(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.open)

			// Create.
			r := e.do("POST", "/v1/projects", e.write, `{"name":"team-a","description":"Team A"}`)
			var created model.Project
			wantJSON(t, r, http.StatusCreated, &created)
			if got := r.header.Get("ETag"); got != `"1"` {
				t.Errorf("ETag %q, want \"1\"", got)
			}
			if got := r.header.Get("Location"); got != "/v1/projects/team-a" {
				t.Errorf("Location %q, want /v1/projects/team-a", got)
			}
			if created.Name != "team-a" || created.Description != "Team A" || created.Version != 1 || !created.CreatedAt.Equal(t0) || !created.UpdatedAt.Equal(t0) {
				t.Errorf("created %+v", created)
			}
			evs := e.events(store.EventFilter{ObjectKind: model.KindProject, ObjectName: "team-a"})
			if len(evs) != 1 || evs[0].Action != model.ActionCreate || evs[0].Actor != writeName || evs[0].Project != "team-a" || !evs[0].Time.Equal(t0) {
				t.Fatalf("events after create: %+v", evs)
			}

			// Read: the ETag is the version.
			r = e.do("GET", "/v1/projects/team-a", e.write, "")
			var got model.Project
			wantJSON(t, r, http.StatusOK, &got)
			if r.header.Get("ETag") != `"1"` || !reflect.DeepEqual(got, created) {
				t.Errorf("GET: ETag %q, project %+v; want \"1\", %+v", r.header.Get("ETag"), got, created)
			}
			var list wire.ProjectList
			wantJSON(t, e.do("GET", "/v1/projects", e.write, ""), http.StatusOK, &list)
			var names []string
			for _, p := range list.Projects {
				names = append(names, p.Name)
			}
			if !slices.Contains(names, model.DefaultProject) || !slices.Contains(names, "team-a") || len(names) != 2 {
				t.Errorf("projects %q, want default and team-a", names)
			}

			// An update that changes nothing keeps the version and writes no event.
			before := e.state()
			r = e.do("PUT", "/v1/projects/team-a", e.write, `{"description":"Team A"}`, "If-Match", `"1"`)
			wantJSON(t, r, http.StatusOK, &got)
			if got.Version != 1 || r.header.Get("ETag") != `"1"` {
				t.Errorf("unchanged update: version %d, ETag %q; want 1", got.Version, r.header.Get("ETag"))
			}
			e.wantUnchanged(before)

			// A real update bumps the version.
			e.clock.Advance(time.Hour)
			r = e.do("PUT", "/v1/projects/team-a", e.write, `{"name":"team-a","description":"Team A, payments"}`, "If-Match", `"1"`)
			wantJSON(t, r, http.StatusOK, &got)
			if got.Version != 2 || got.Description != "Team A, payments" || r.header.Get("ETag") != `"2"` || !got.UpdatedAt.Equal(t0.Add(time.Hour)) || !got.CreatedAt.Equal(t0) {
				t.Errorf("update: %+v, ETag %q", got, r.header.Get("ETag"))
			}
			r = e.do("GET", "/v1/projects/team-a", e.write, "")
			wantJSON(t, r, http.StatusOK, &got)
			if r.header.Get("ETag") != `"2"` || got.Version != 2 {
				t.Errorf("GET after update: ETag %q, version %d; want \"2\"", r.header.Get("ETag"), got.Version)
			}
			evs = e.events(store.EventFilter{ObjectKind: model.KindProject, ObjectName: "team-a"})
			if len(evs) != 2 || evs[0].Action != model.ActionUpdate || evs[0].Actor != writeName || len(evs[0].Before) == 0 || len(evs[0].After) == 0 {
				t.Fatalf("events after update: %+v", evs)
			}

			// A stale If-Match is refused with the current version.
			before = e.state()
			p := wantProblem(t, e.do("PUT", "/v1/projects/team-a", e.write, `{"description":"lost update"}`, "If-Match", `"1"`), http.StatusConflict, problem.TypeVersionConflict)
			if p.CurrentVersion != 2 {
				t.Errorf("current_version %d, want 2", p.CurrentVersion)
			}
			if !strings.Contains(p.Detail, "team-a") || !strings.Contains(p.Detail, "read it again") {
				t.Errorf("detail %q should name the project and say to read it again", p.Detail)
			}
			e.wantUnchanged(before)
			if cur, _ := e.project("team-a"); cur.Description != "Team A, payments" {
				t.Errorf("the stale update was applied: %+v", cur)
			}

			// A malformed If-Match is refused.
			for _, bad := range []string{"abc", `"0"`, `"-3"`, `"1.5"`} {
				p = wantProblem(t, e.do("PUT", "/v1/projects/team-a", e.write, `{"description":"x"}`, "If-Match", bad), http.StatusBadRequest, problem.TypeMalformed)
				if !strings.Contains(p.Detail, "If-Match") {
					t.Errorf("If-Match %s: detail %q does not name the header", bad, p.Detail)
				}
				p = wantProblem(t, e.do("DELETE", "/v1/projects/team-a", e.write, "", "If-Match", bad), http.StatusBadRequest, problem.TypeMalformed)
			}
			e.wantUnchanged(before)

			// The name in the body must match the URL.
			p = wantProblem(t, e.do("PUT", "/v1/projects/team-a", e.write, `{"name":"team-b","description":"x"}`), http.StatusBadRequest, problem.TypeValidation)
			wantPointers(t, p, "/name")
			e.wantUnchanged(before)

			// Updating a project that does not exist.
			p = wantProblem(t, e.do("PUT", "/v1/projects/nope", e.write, `{"description":"x"}`), http.StatusNotFound, problem.TypeNotFound)
			if !strings.Contains(p.Detail, `"nope"`) {
				t.Errorf("detail %q does not name the project", p.Detail)
			}

			// Creating an existing project points at import.
			p = wantProblem(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusConflict, problem.TypeExists)
			if !strings.Contains(p.Detail, "import") || !strings.Contains(p.Detail, "team-a") {
				t.Errorf("already-exists detail %q should name the project and mention import", p.Detail)
			}
			e.wantUnchanged(before)

			// The default project is protected.
			p = wantProblem(t, e.do("DELETE", "/v1/projects/default", e.write, ""), http.StatusConflict, problem.TypeConflict)
			if !strings.Contains(p.Detail, "default") {
				t.Errorf("detail %q does not say why", p.Detail)
			}
			e.wantUnchanged(before)
			if _, err := e.project(model.DefaultProject); err != nil {
				t.Errorf("the default project is gone: %v", err)
			}

			// Delete with a stale If-Match, then with the current one.
			p = wantProblem(t, e.do("DELETE", "/v1/projects/team-a", e.write, "", "If-Match", `"1"`), http.StatusConflict, problem.TypeVersionConflict)
			if p.CurrentVersion != 2 {
				t.Errorf("current_version %d, want 2", p.CurrentVersion)
			}
			e.wantUnchanged(before)
			r = e.do("DELETE", "/v1/projects/team-a", e.write, "", "If-Match", `"2"`)
			if r.status != http.StatusNoContent || len(r.body) != 0 {
				t.Fatalf("delete: status %d, body %q; want 204 and no body", r.status, r.body)
			}
			if _, err := e.project("team-a"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after delete, GetProject: %v; want not found", err)
			}
			evs = e.events(store.EventFilter{ObjectKind: model.KindProject, ObjectName: "team-a"})
			if len(evs) != 3 || evs[0].Action != model.ActionDelete || evs[0].Actor != writeName {
				t.Errorf("events after delete: %+v", evs)
			}
			p = wantProblem(t, e.do("GET", "/v1/projects/team-a", e.write, ""), http.StatusNotFound, problem.TypeNotFound)
			if !strings.Contains(p.Detail, `"team-a"`) {
				t.Errorf("not-found detail %q does not name the project", p.Detail)
			}
			before = e.state()
			wantProblem(t, e.do("DELETE", "/v1/projects/team-a", e.write, ""), http.StatusNotFound, problem.TypeNotFound)
			e.wantUnchanged(before)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.open)
			const body = `{"name":"team-a","description":"Team A"}`

			first := e.do("POST", "/v1/projects", e.write, body, "Idempotency-Key", "key-1")
			wantJSON(t, first, http.StatusCreated, &model.Project{})
			if first.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("the first request is marked as replayed")
			}
			e.clock.Advance(time.Minute)
			again := e.do("POST", "/v1/projects", e.write, body, "Idempotency-Key", "key-1")
			if again.status != first.status || string(again.body) != string(first.body) {
				t.Fatalf("replay: %d %s; want %d %s", again.status, again.body, first.status, first.body)
			}
			if again.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("Idempotent-Replayed %q, want true", again.header.Get("Idempotent-Replayed"))
			}
			for _, h := range []string{"Content-Type", "ETag", "Location"} {
				if again.header.Get(h) != first.header.Get(h) {
					t.Errorf("replayed %s %q, want %q", h, again.header.Get(h), first.header.Get(h))
				}
			}
			if evs := e.events(store.EventFilter{ObjectName: "team-a"}); len(evs) != 1 || evs[0].Action != model.ActionCreate {
				t.Errorf("events for team-a: %+v; want one create", evs)
			}

			// The same key with another request is refused, and runs nothing.
			before := e.state()
			p := wantProblem(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-b"}`, "Idempotency-Key", "key-1"), http.StatusUnprocessableEntity, problem.TypeIdempotencyReuse)
			if !strings.Contains(p.Detail, "new key") {
				t.Errorf("detail %q should say to use a new key", p.Detail)
			}
			e.wantUnchanged(before)
			if _, err := e.project("team-b"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("team-b was created under a reused key: %v", err)
			}

			// Keys belong to a token: another token's identical request runs.
			other := e.do("POST", "/v1/projects", e.admin, body, "Idempotency-Key", "key-1")
			wantProblem(t, other, http.StatusConflict, problem.TypeExists)
			if other.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("another token's request was replayed")
			}

			// A refused first attempt is replayed as the same refusal.
			before = e.state()
			bad := e.do("POST", "/v1/projects", e.write, `{"name":"Bad Name"}`, "Idempotency-Key", "key-2")
			wantPointers(t, wantProblem(t, bad, http.StatusBadRequest, problem.TypeValidation), "/name")
			badAgain := e.do("POST", "/v1/projects", e.write, `{"name":"Bad Name"}`, "Idempotency-Key", "key-2")
			wantProblem(t, badAgain, http.StatusBadRequest, problem.TypeValidation)
			if badAgain.header.Get("Idempotent-Replayed") != "true" || string(badAgain.body) != string(bad.body) {
				t.Errorf("refusal not replayed: %q %s", badAgain.header.Get("Idempotent-Replayed"), badAgain.body)
			}
			e.wantUnchanged(before)

			// A replay answers what happened then, even when a new run
			// would now succeed: it is not run again.
			conflict := e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`, "Idempotency-Key", "key-3")
			wantProblem(t, conflict, http.StatusConflict, problem.TypeExists)
			wantJSON(t, e.do("DELETE", "/v1/projects/team-a", e.write, ""), http.StatusNoContent, nil)
			before = e.state()
			replayed := e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`, "Idempotency-Key", "key-3")
			wantProblem(t, replayed, http.StatusConflict, problem.TypeExists)
			if replayed.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("the 409 was not replayed")
			}
			e.wantUnchanged(before)

			// An oversized key is refused before anything runs.
			wantProblem(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-c"}`, "Idempotency-Key", strings.Repeat("k", 256)), http.StatusBadRequest, problem.TypeMalformed)
			e.wantUnchanged(before)

			// Token creation is idempotent too: one token, one secret.
			t1 := e.do("POST", "/v1/tokens", e.admin, `{"name":"deployer","kind":"write"}`, "Idempotency-Key", "key-4")
			var ct wire.CreatedToken
			wantJSON(t, t1, http.StatusCreated, &ct)
			t2 := e.do("POST", "/v1/tokens", e.admin, `{"name":"deployer","kind":"write"}`, "Idempotency-Key", "key-4")
			if t2.status != http.StatusCreated || string(t2.body) != string(t1.body) || t2.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("token create replay: %d %q %s", t2.status, t2.header.Get("Idempotent-Replayed"), t2.body)
			}
			if evs := e.events(store.EventFilter{ObjectKind: model.KindToken, ObjectName: "deployer"}); len(evs) != 1 {
				t.Errorf("token events: %+v; want one", evs)
			}
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, openSQLite)
	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		typ                      string
		pointers                 []string
		detail                   string // a phrase the detail must hold
	}{
		{name: "malformed JSON", method: "POST", path: "/v1/projects", body: `{"name":`, status: 400, typ: problem.TypeMalformed, detail: "not valid JSON"},
		{name: "syntax error", method: "POST", path: "/v1/projects", body: `{"name" "a"}`, status: 400, typ: problem.TypeMalformed, detail: "not valid JSON"},
		{name: "unknown field", method: "POST", path: "/v1/projects", body: `{"nme":"team-a"}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/nme"}, detail: "spelling"},
		{name: "wrong type", method: "POST", path: "/v1/projects", body: `{"name":"team-a","description":5}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/description"}, detail: "expected a string"},
		{name: "not an object", method: "POST", path: "/v1/projects", body: `["team-a"]`, status: 400, typ: problem.TypeValidation},
		{name: "empty body", method: "POST", path: "/v1/projects", headers: []string{"Content-Type", "application/json"}, status: 400, typ: problem.TypeMalformed, detail: "empty"},
		{name: "blank body", method: "POST", path: "/v1/projects", body: "  \n", status: 400, typ: problem.TypeMalformed, detail: "empty"},
		{name: "two documents", method: "POST", path: "/v1/projects", body: `{"name":"team-a"} {"name":"team-b"}`, status: 400, typ: problem.TypeMalformed, detail: "exactly one"},
		{name: "trailing data", method: "POST", path: "/v1/projects", body: `{"name":"team-a"} x`, status: 400, typ: problem.TypeMalformed},
		{name: "invalid name", method: "POST", path: "/v1/projects", body: `{"name":"Team A"}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/name"}, detail: "lower-case"},
		{name: "missing name", method: "POST", path: "/v1/projects", body: `{"description":"x"}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/name"}, detail: "required"},
		{name: "every invalid field", method: "POST", path: "/v1/projects", body: `{"name":"-x","description":"` + strings.Repeat("d", model.MaxDescriptionLength+1) + `"}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/name", "/description"}, detail: "fix each one"},
		{name: "wrong content type", method: "POST", path: "/v1/projects", body: `{"name":"team-a"}`, headers: []string{"Content-Type", "text/plain"}, status: 415, typ: problem.TypeUnsupportedMedia, detail: "application/json"},
		{name: "form content type", method: "POST", path: "/v1/projects", body: `name=team-a`, headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, typ: problem.TypeUnsupportedMedia, detail: "application/x-www-form-urlencoded"},
		{name: "no content type", method: "POST", path: "/v1/projects", body: `{"name":"team-a"}`, headers: []string{"Content-Type", ""}, status: 415, typ: problem.TypeUnsupportedMedia, detail: "got none"},
		{name: "wrong content type with a key", method: "POST", path: "/v1/projects", body: `{"name":"team-a"}`, headers: []string{"Content-Type", "text/plain", "Idempotency-Key", "k-415"}, status: 415, typ: problem.TypeUnsupportedMedia},
		{name: "update: unknown field", method: "PUT", path: "/v1/projects/default", body: `{"nme":"x"}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/nme"}},
		{name: "update: wrong type", method: "PUT", path: "/v1/projects/default", body: `{"description":["x"]}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/description"}},
		{name: "update: malformed", method: "PUT", path: "/v1/projects/default", body: `{`, status: 400, typ: problem.TypeMalformed},
		{name: "update: empty body", method: "PUT", path: "/v1/projects/default", headers: []string{"Content-Type", "application/json"}, status: 400, typ: problem.TypeMalformed},
		{name: "update: wrong content type", method: "PUT", path: "/v1/projects/default", body: `{"description":"x"}`, headers: []string{"Content-Type", "text/plain"}, status: 415, typ: problem.TypeUnsupportedMedia},
		{name: "token: unknown kind", method: "POST", path: "/v1/tokens", body: `{"name":"x","kind":"root"}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/kind"}, detail: "admin, write, sdk or shadow"},
		{name: "token: unknown field", method: "POST", path: "/v1/tokens", body: `{"name":"x","kind":"sdk","secret":"s"}`, status: 400, typ: problem.TypeValidation, pointers: []string{"/secret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			before := e.state()
			r := e.do(c.method, c.path, e.admin, c.body, c.headers...)
			p := wantProblem(t, r, c.status, c.typ)
			if c.pointers != nil {
				wantPointers(t, p, c.pointers...)
			}
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, c.detail)
			}
			if p.Instance != c.path {
				t.Errorf("instance %q, want %q", p.Instance, c.path)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
			}
			e.wantUnchanged(before)
		})
	}
}

func TestOversizedBody(t *testing.T) {
	e := newEnv(t, openSQLite, func(s *api.Server) { s.MaxBodyBytes = 64 })
	big := `{"name":"team-a","description":"` + strings.Repeat("x", 200) + `"}`
	for _, c := range []struct {
		name, method, path string
		headers            []string
	}{
		{"create", "POST", "/v1/projects", nil},
		{"create with a key", "POST", "/v1/projects", []string{"Idempotency-Key", "k1"}},
		{"update", "PUT", "/v1/projects/default", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			before := e.state()
			p := wantProblem(t, e.do(c.method, c.path, e.write, big, c.headers...), http.StatusRequestEntityTooLarge, problem.TypeTooLarge)
			if !strings.Contains(p.Detail, "64 bytes") {
				t.Errorf("detail %q does not state the limit", p.Detail)
			}
			e.wantUnchanged(before)
		})
	}
	// A body within the limit is accepted.
	e.t = t
	wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusCreated, &model.Project{})
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, openSQLite)
	const create = `{"name":"team-a"}`

	t.Run("missing token", func(t *testing.T) {
		e.t = t
		before := e.state()
		for _, rq := range []struct{ method, path, body string }{
			{"GET", "/v1/projects", ""}, {"POST", "/v1/projects", create}, {"GET", "/v1/engine", ""}, {"GET", "/metrics", ""}, {"GET", "/v1/tokens", ""},
		} {
			r := e.do(rq.method, rq.path, "", rq.body)
			p := wantProblem(t, r, http.StatusUnauthorized, problem.TypeUnauthenticated)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: WWW-Authenticate %q, want a Bearer challenge", rq.method, rq.path, r.header.Get("WWW-Authenticate"))
			}
			if !strings.Contains(p.Detail, "Authorization: Bearer") {
				t.Errorf("detail %q does not say how to send a token", p.Detail)
			}
		}
		for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", e.write} {
			r := e.do("POST", "/v1/projects", "", create, "Authorization", h)
			wantProblem(t, r, http.StatusUnauthorized, problem.TypeUnauthenticated)
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("Authorization %q: no WWW-Authenticate", h)
			}
		}
		e.wantUnchanged(before)
	})

	t.Run("invalid token", func(t *testing.T) {
		e.t = t
		before := e.state()
		r := e.do("POST", "/v1/projects", model.NewTokenSecret(), create)
		p := wantProblem(t, r, http.StatusUnauthorized, problem.TypeUnauthenticated)
		if r.header.Get("WWW-Authenticate") == "" || !strings.Contains(p.Detail, "not valid") {
			t.Errorf("WWW-Authenticate %q, detail %q", r.header.Get("WWW-Authenticate"), p.Detail)
		}
		// The scheme is case-insensitive; the secret is not.
		wantJSON(t, e.do("GET", "/v1/token", "", "", "Authorization", "bearer "+e.write), http.StatusOK, &wire.WhoAmI{})
		wantProblem(t, e.do("GET", "/v1/token", strings.ToUpper(e.write), ""), http.StatusUnauthorized, problem.TypeUnauthenticated)
		e.wantUnchanged(before)
	})

	t.Run("revoked token", func(t *testing.T) {
		e.t = t
		var ct wire.CreatedToken
		r := e.do("POST", "/v1/tokens", e.admin, `{"name":"temp","kind":"write"}`)
		wantJSON(t, r, http.StatusCreated, &ct)
		if ct.Secret == "" || ct.Token.Kind != model.TokenWrite || ct.Token.Name != "temp" || ct.Token.CreatedBy != adminName || r.header.Get("Location") != "/v1/tokens/"+ct.Token.ID {
			t.Fatalf("created token %+v, Location %q", ct, r.header.Get("Location"))
		}
		if strings.Contains(string(e.do("GET", "/v1/tokens", e.admin, "").body), ct.Secret) {
			t.Fatal("the token list shows a secret")
		}
		var who wire.WhoAmI
		wantJSON(t, e.do("GET", "/v1/token", ct.Secret, ""), http.StatusOK, &who)
		if who.Name != "temp" || who.Kind != model.TokenWrite || who.ID != ct.Token.ID {
			t.Errorf("whoami %+v", who)
		}
		var revoked model.Token
		wantJSON(t, e.do("DELETE", "/v1/tokens/"+ct.Token.ID, e.admin, ""), http.StatusOK, &revoked)
		if revoked.ID != ct.Token.ID || revoked.RevokedAt == nil {
			t.Errorf("revoked %+v", revoked)
		}
		before := e.state()
		r = e.do("POST", "/v1/projects", ct.Secret, create)
		wantProblem(t, r, http.StatusUnauthorized, problem.TypeUnauthenticated)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Error("no WWW-Authenticate")
		}
		// Revoking twice, or a token that never existed, is not found.
		p := wantProblem(t, e.do("DELETE", "/v1/tokens/"+ct.Token.ID, e.admin, ""), http.StatusNotFound, problem.TypeNotFound)
		if !strings.Contains(p.Detail, ct.Token.ID) {
			t.Errorf("detail %q does not name the token", p.Detail)
		}
		wantProblem(t, e.do("DELETE", "/v1/tokens/tok_nope", e.admin, ""), http.StatusNotFound, problem.TypeNotFound)
		e.wantUnchanged(before)
		evs := e.events(store.EventFilter{ObjectKind: model.KindToken, ObjectName: "temp"})
		if len(evs) != 2 || evs[0].Action != model.ActionRevoke || evs[1].Action != model.ActionCreate || evs[0].Actor != adminName || evs[1].Actor != adminName {
			t.Errorf("token events: %+v", evs)
		}
	})

	t.Run("wrong kind", func(t *testing.T) {
		e.t = t
		before := e.state()
		for _, c := range []struct {
			method, path, token, body, need, has string
		}{
			{"GET", "/v1/projects", e.sdk, "", "write", "sdk"},
			{"POST", "/v1/projects", e.sdk, create, "write", "sdk"},
			{"DELETE", "/v1/projects/default", e.sdk, "", "write", "sdk"},
			{"GET", "/v1/events", e.sdk, "", "write", "sdk"},
			{"GET", "/metrics", e.sdk, "", "write", "sdk"},
			{"GET", "/v1/tokens", e.write, "", "admin", "write"},
			{"POST", "/v1/tokens", e.write, `{"name":"x","kind":"admin"}`, "admin", "write"},
			{"DELETE", "/v1/tokens/" + e.tokens[adminName].ID, e.write, "", "admin", "write"},
		} {
			r := e.do(c.method, c.path, c.token, c.body)
			p := wantProblem(t, r, http.StatusForbidden, problem.TypeForbidden)
			if p.RequiredKind != c.need || p.TokenKind != c.has {
				t.Errorf("%s %s: required_kind %q, token_kind %q; want %q, %q", c.method, c.path, p.RequiredKind, p.TokenKind, c.need, c.has)
			}
			if !strings.Contains(p.Detail, c.need+" token") {
				t.Errorf("%s %s: detail %q does not name the kind needed", c.method, c.path, p.Detail)
			}
			if r.header.Get("WWW-Authenticate") != "" {
				t.Errorf("%s %s: a 403 carries WWW-Authenticate", c.method, c.path)
			}
		}
		e.wantUnchanged(before)
	})

	t.Run("stronger kinds", func(t *testing.T) {
		e.t = t
		for _, tok := range []string{e.sdk, e.write, e.admin} {
			wantJSON(t, e.do("GET", "/v1/engine", tok, ""), http.StatusOK, &wire.EngineInfo{})
		}
		for _, tok := range []string{e.write, e.admin} {
			wantJSON(t, e.do("GET", "/v1/projects", tok, ""), http.StatusOK, &wire.ProjectList{})
		}
	})

	t.Run("whoami", func(t *testing.T) {
		e.t = t
		for name, secret := range map[string]string{adminName: e.admin, writeName: e.write, sdkName: e.sdk} {
			var who wire.WhoAmI
			wantJSON(t, e.do("GET", "/v1/token", secret, ""), http.StatusOK, &who)
			want := e.tokens[name]
			if who.ID != want.ID || who.Name != name || who.Kind != want.Kind {
				t.Errorf("whoami with %s: %+v", name, who)
			}
			if strings.Contains(string(e.do("GET", "/v1/token", secret, "").body), secret) {
				t.Error("whoami echoes the secret")
			}
		}
	})
}

func TestProbesAndEngineInfo(t *testing.T) {
	e := newEnv(t, openSQLite)
	var status map[string]string
	wantJSON(t, e.do("GET", "/healthz", "", ""), http.StatusOK, &status)
	if status["status"] != "ok" {
		t.Errorf("healthz %v", status)
	}
	wantJSON(t, e.do("GET", "/readyz", "", ""), http.StatusOK, &status)
	if status["status"] != "ready" {
		t.Errorf("readyz %v", status)
	}

	var info wire.EngineInfo
	wantJSON(t, e.do("GET", "/v1/engine", e.sdk, ""), http.StatusOK, &info)
	rev, err := e.store.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "test-1.2.3" || info.Backend != "sqlite" || !info.Healthy || info.Leader || info.Revision != rev {
		t.Errorf("engine info %+v; want version test-1.2.3, backend sqlite, healthy, revision %d", info, rev)
	}
	wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusCreated, nil)
	wantJSON(t, e.do("GET", "/v1/engine", e.sdk, ""), http.StatusOK, &info)
	if info.Revision <= rev {
		t.Errorf("revision %d did not move past %d after a project was created", info.Revision, rev)
	}
}

func TestReadyzAndLeader(t *testing.T) {
	ready, leading := false, true
	e := newEnv(t, openSQLite, func(s *api.Server) {
		s.Ready = func() bool { return ready }
		s.Leading = func() bool { return leading }
	})
	p := wantProblem(t, e.do("GET", "/readyz", "", ""), http.StatusServiceUnavailable, problem.TypeUnavailable)
	if !strings.Contains(p.Detail, "starting") {
		t.Errorf("detail %q", p.Detail)
	}
	var info wire.EngineInfo
	wantJSON(t, e.do("GET", "/v1/engine", e.sdk, ""), http.StatusOK, &info)
	if !info.Leader {
		t.Errorf("engine info %+v: want leader", info)
	}
	r := e.do("GET", "/metrics", e.write, "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "progressive_leader 1") {
		t.Errorf("metrics do not report the leader: %d\n%s", r.status, r.body)
	}

	// A store that no longer answers makes the engine not ready.
	e2 := newEnv(t, openSQLite)
	if err := e2.store.Close(); err != nil {
		t.Fatal(err)
	}
	p = wantProblem(t, e2.do("GET", "/readyz", "", ""), http.StatusServiceUnavailable, problem.TypeUnavailable)
	if !strings.Contains(p.Detail, "sqlite") {
		t.Errorf("detail %q does not name the store", p.Detail)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, openSQLite)
	wantJSON(t, e.do("GET", "/v1/projects", e.write, ""), http.StatusOK, nil)
	wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusCreated, nil)
	wantProblem(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusConflict, problem.TypeExists)

	r := e.do("GET", "/metrics", e.write, "")
	if r.status != http.StatusOK {
		t.Fatalf("metrics: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want Prometheus text", ct)
	}
	text := string(r.body)
	for _, want := range []string{
		"# TYPE progressive_http_requests_total counter",
		`progressive_http_requests_total{code="200",route="GET /v1/projects"} 1`,
		`progressive_http_requests_total{code="201",route="POST /v1/projects"} 1`,
		`progressive_http_requests_total{code="409",route="POST /v1/projects"} 1`,
		"progressive_http_request_duration_seconds_bucket",
		"progressive_store_revision",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// An admin token may read them too.
	wantJSON(t, e.do("GET", "/metrics", e.admin, ""), http.StatusOK, nil)
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, openSQLite)
	before := e.state()
	for _, path := range []string{"/v1/nope", "/", "/v2/projects", "/v1/projects/default/unknown"} {
		p := wantProblem(t, e.do("GET", path, e.admin, ""), http.StatusNotFound, problem.TypeNotFound)
		if !strings.Contains(p.Detail, path) || !strings.Contains(p.Detail, "/v1") {
			t.Errorf("GET %s: detail %q should name the path and where the API lives", path, p.Detail)
		}
	}
	for _, c := range []struct {
		method, path string
		allow        []string
	}{
		{"PATCH", "/v1/projects/default", []string{"GET", "PUT", "DELETE"}},
		{"DELETE", "/v1/projects", []string{"GET", "POST"}},
		{"POST", "/healthz", []string{"GET"}},
		{"PUT", "/v1/tokens/tok_1", []string{"DELETE"}},
	} {
		r := e.do(c.method, c.path, e.admin, "")
		p := wantProblem(t, r, http.StatusMethodNotAllowed, problem.TypeMethodNotAllowed)
		allow := r.header.Get("Allow")
		for _, m := range c.allow {
			if !strings.Contains(allow, m) {
				t.Errorf("%s %s: Allow %q lacks %s", c.method, c.path, allow, m)
			}
		}
		if !strings.Contains(p.Detail, c.method) || !strings.Contains(p.Detail, c.allow[0]) {
			t.Errorf("%s %s: detail %q should name the method sent and those accepted", c.method, c.path, p.Detail)
		}
	}
	e.wantUnchanged(before)
}

func TestAuditEvents(t *testing.T) {
	e := newEnv(t, openSQLite)
	// Three hours of changes, one hour apart.
	wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusCreated, nil)
	wantJSON(t, e.do("POST", "/v1/projects", e.admin, `{"name":"team-b"}`), http.StatusCreated, nil)
	e.clock.Advance(time.Hour)
	wantJSON(t, e.do("PUT", "/v1/projects/team-a", e.write, `{"description":"A"}`), http.StatusOK, nil)
	wantJSON(t, e.do("POST", "/v1/tokens", e.admin, `{"name":"deployer","kind":"sdk"}`), http.StatusCreated, nil)
	e.clock.Advance(time.Hour)
	wantJSON(t, e.do("DELETE", "/v1/projects/team-b", e.admin, ""), http.StatusNoContent, nil)

	type ev struct{ actor, action, project, kind, name string }
	want := []ev{ // newest first
		{adminName, model.ActionDelete, "team-b", model.KindProject, "team-b"},
		{adminName, model.ActionCreate, "", model.KindToken, "deployer"},
		{writeName, model.ActionUpdate, "team-a", model.KindProject, "team-a"},
		{adminName, model.ActionCreate, "team-b", model.KindProject, "team-b"},
		{writeName, model.ActionCreate, "team-a", model.KindProject, "team-a"},
	}
	list := func(query string) wire.EventList {
		t.Helper()
		var out wire.EventList
		wantJSON(t, e.do("GET", "/v1/events?"+query, e.write, ""), http.StatusOK, &out)
		return out
	}
	all := list("")
	if len(all.Events) < len(want) {
		t.Fatalf("%d events, want at least %d", len(all.Events), len(want))
	}
	for i, w := range want {
		g := all.Events[i]
		if (ev{g.Actor, g.Action, g.Project, g.ObjectKind, g.ObjectName}) != w {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
	}
	if all.NextCursor != "" {
		t.Errorf("a complete page has next_cursor %q", all.NextCursor)
	}

	names := func(l wire.EventList) []string {
		var out []string
		for _, e := range l.Events {
			out = append(out, e.Action+" "+e.ObjectKind+"/"+e.ObjectName)
		}
		return out
	}
	since1h := url.QueryEscape(t0.Add(time.Hour).Format(time.RFC3339))
	since2h := url.QueryEscape(t0.Add(2 * time.Hour).Format(time.RFC3339))
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"project=team-a", []string{"update project/team-a", "create project/team-a"}},
		{"object_kind=token&object_name=deployer", []string{"create token/deployer"}},
		{"object_name=team-b", []string{"delete project/team-b", "create project/team-b"}},
		{"actor=" + writeName, []string{"update project/team-a", "create project/team-a"}},
		{"actor=" + adminName + "&object_kind=project", []string{"delete project/team-b", "create project/team-b"}},
		{"since=" + since1h, []string{"delete project/team-b", "create token/deployer", "update project/team-a"}},
		{"since=" + since1h + "&until=" + since2h, []string{"create token/deployer", "update project/team-a"}},
		{"project=nope", nil},
	} {
		if got := names(list(c.query)); !slices.Equal(got, c.want) {
			t.Errorf("?%s: %q, want %q", c.query, got, c.want)
		}
	}

	// Paging with next_cursor visits every event once, newest first.
	var paged []int64
	cursor, pages := "", 0
	for {
		q := "limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		page := list(q)
		if len(page.Events) > 2 {
			t.Fatalf("page of %d events with limit=2", len(page.Events))
		}
		for _, ev := range page.Events {
			paged = append(paged, ev.ID)
		}
		pages++
		if page.NextCursor == "" {
			break
		}
		if pages > len(all.Events) {
			t.Fatalf("paging does not end: cursor %s", page.NextCursor)
		}
		cursor = page.NextCursor
	}
	var ids []int64
	for _, ev := range all.Events {
		ids = append(ids, ev.ID)
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("paged IDs %v, want %v", paged, ids)
	}

	// Bad query parameters name each one.
	before := e.state()
	for _, c := range []struct {
		query    string
		pointers []string
	}{
		{"limit=0", []string{"/limit"}},
		{"limit=1001", []string{"/limit"}},
		{"limit=ten", []string{"/limit"}},
		{"since=yesterday", []string{"/since"}},
		{"until=2026-11-26", []string{"/until"}},
		{"cursor=abc", []string{"/cursor"}},
		{"since=yesterday&limit=0", []string{"/since", "/limit"}},
	} {
		p := wantProblem(t, e.do("GET", "/v1/events?"+c.query, e.write, ""), http.StatusBadRequest, problem.TypeValidation)
		wantPointers(t, p, c.pointers...)
		for _, f := range p.Errors {
			if !strings.Contains(f.Detail, strings.TrimPrefix(f.Pointer, "/")) {
				t.Errorf("?%s: field detail %q does not name the parameter", c.query, f.Detail)
			}
		}
	}
	e.wantUnchanged(before)
}

func TestClient(t *testing.T) {
	e := newEnv(t, openSQLite)
	ctx := context.Background()
	w, err := client.New(e.ts.URL+"/", e.write, client.WithUserAgent("api-test"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Endpoint() != e.ts.URL {
		t.Errorf("endpoint %q, want %q", w.Endpoint(), e.ts.URL)
	}

	info, err := w.Engine(ctx)
	if err != nil || info.Version != "test-1.2.3" || info.Backend != "sqlite" || !info.Healthy {
		t.Fatalf("Engine: %+v, %v", info, err)
	}
	who, err := w.WhoAmI(ctx)
	if err != nil || who.Name != writeName || who.Kind != model.TokenWrite {
		t.Fatalf("WhoAmI: %+v, %v", who, err)
	}

	key := client.NewIdempotencyKey()
	if key == client.NewIdempotencyKey() || len(key) < 16 {
		t.Errorf("idempotency keys are not random: %q", key)
	}
	p1, err := w.CreateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "A"}, key)
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	p2, err := w.CreateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "A"}, key)
	if err != nil || !reflect.DeepEqual(p1, p2) {
		t.Fatalf("retried CreateProject: %+v, %v; want %+v", p2, err, p1)
	}
	if n := len(e.events(store.EventFilter{ObjectName: "team-a"})); n != 1 {
		t.Errorf("%d events for team-a after a retried create, want 1", n)
	}
	got, err := w.GetProject(ctx, "team-a")
	if err != nil || !reflect.DeepEqual(got, p1) {
		t.Fatalf("GetProject: %+v, %v", got, err)
	}
	ps, err := w.ListProjects(ctx)
	if err != nil || len(ps) != 2 {
		t.Fatalf("ListProjects: %+v, %v", ps, err)
	}
	up, err := w.UpdateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "B"}, 1)
	if err != nil || up.Version != 2 || up.Description != "B" {
		t.Fatalf("UpdateProject: %+v, %v", up, err)
	}

	// Errors are problems that callers branch on.
	_, err = w.UpdateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "C"}, 1)
	var p *problem.Problem
	if !errors.As(err, &p) || p.Type != problem.TypeVersionConflict || p.CurrentVersion != 2 || p.Status != http.StatusConflict {
		t.Fatalf("stale update: %v (%#v)", err, p)
	}
	if !client.IsType(err, problem.TypeVersionConflict) || client.IsType(err, problem.TypeNotFound) {
		t.Error("IsType does not match the problem type")
	}
	if !strings.Contains(err.Error(), "HTTP 409") {
		t.Errorf("error text %q does not give the status", err)
	}
	_, err = w.CreateProject(ctx, model.ProjectSpec{Name: "Bad"}, client.NewIdempotencyKey())
	if !errors.As(err, &p) || p.Type != problem.TypeValidation || len(p.Errors) != 1 || p.Errors[0].Pointer != "/name" || !strings.Contains(err.Error(), "/name") {
		t.Errorf("invalid create: %v", err)
	}
	if err := w.DeleteProject(ctx, "team-a", 2); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	_, err = w.GetProject(ctx, "team-a")
	if !errors.Is(err, &problem.Problem{Type: problem.TypeNotFound}) {
		t.Errorf("GetProject after delete: %v; want not-found", err)
	}
	if _, err := w.ListTokens(ctx); !client.IsType(err, problem.TypeForbidden) {
		t.Errorf("ListTokens with a write token: %v; want forbidden", err)
	}

	// Tokens, with an admin client.
	a, err := client.New(e.ts.URL, e.admin)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := a.CreateToken(ctx, model.TokenSpec{Name: "terraform", Kind: model.TokenWrite}, client.NewIdempotencyKey())
	if err != nil || ct.Secret == "" || ct.Token.Name != "terraform" {
		t.Fatalf("CreateToken: %+v, %v", ct, err)
	}
	tf, err := client.New(e.ts.URL, ct.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := tf.WhoAmI(ctx); err != nil || who.Name != "terraform" {
		t.Fatalf("WhoAmI with the new token: %+v, %v", who, err)
	}
	tokens, err := a.ListTokens(ctx)
	if err != nil || !slices.ContainsFunc(tokens, func(t model.Token) bool { return t.ID == ct.Token.ID }) {
		t.Fatalf("ListTokens: %+v, %v", tokens, err)
	}
	if _, err := a.RevokeToken(ctx, ct.Token.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := tf.WhoAmI(ctx); !client.IsType(err, problem.TypeUnauthenticated) {
		t.Errorf("WhoAmI with a revoked token: %v; want unauthenticated", err)
	}

	// Events through the client.
	page, err := w.ListEvents(ctx, client.EventQuery{Project: "team-a"})
	if err != nil || len(page.Events) != 3 || page.Events[0].Action != model.ActionDelete {
		t.Fatalf("ListEvents(project): %+v, %v", page, err)
	}
	page, err = w.ListEvents(ctx, client.EventQuery{ObjectKind: model.KindToken, ObjectName: "terraform", Actor: adminName, Since: t0, Until: t0.Add(time.Second), Limit: 1})
	if err != nil || len(page.Events) != 1 || page.Events[0].Action != model.ActionRevoke || page.NextCursor == "" {
		t.Fatalf("ListEvents(filters, limit 1): %+v, %v", page, err)
	}
	page, err = w.ListEvents(ctx, client.EventQuery{ObjectKind: model.KindToken, ObjectName: "terraform", Limit: 1, Cursor: page.NextCursor})
	if err != nil || len(page.Events) != 1 || page.Events[0].Action != model.ActionCreate {
		t.Fatalf("ListEvents(next page): %+v, %v", page, err)
	}
	if _, err := w.ListEvents(ctx, client.EventQuery{Cursor: "x"}); !client.IsType(err, problem.TypeValidation) {
		t.Errorf("ListEvents with a bad cursor: %v", err)
	}
}

func TestClientTransportErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := client.New("ftp://example.com", "t"); err == nil || !strings.Contains(err.Error(), "http://") {
		t.Errorf("New(ftp://…): %v; want an error that names http://", err)
	}
	if _, err := client.New("127.0.0.1:8181", "t"); err == nil {
		t.Error("New without a scheme: no error")
	}

	// Nothing listens at the address of a closed listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := client.New("http://"+addr, "t")
	if err != nil {
		t.Fatal(err)
	}
	c.Retries = 0
	_, err = c.Engine(ctx)
	var te *client.TransportError
	if !errors.As(err, &te) || te.Endpoint != "http://"+addr || te.Err == nil {
		t.Fatalf("Engine at a closed port: %v; want a *client.TransportError", err)
	}
	if !strings.Contains(err.Error(), "could not reach") || !strings.Contains(err.Error(), addr) {
		t.Errorf("transport error text %q", err)
	}
	var p *problem.Problem
	if errors.As(err, &p) {
		t.Errorf("a transport error is also a problem: %v", p)
	}

	// A cancelled context is a context error, not a transport error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Engine(cctx); !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Errorf("cancelled: %v; want context.Canceled", err)
	}

	// Something that is not the engine answers without a problem document.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>")
	}))
	defer proxy.Close()
	c, err = client.New(proxy.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	c.Retries = 0
	_, err = c.Engine(ctx)
	if !errors.As(err, &p) || p.Status != http.StatusBadGateway || !strings.Contains(p.Detail, "Progressive engine") || !strings.Contains(p.Detail, "bad gateway") {
		t.Errorf("non-engine answer: %v", err)
	}
}
