// Package storetest is the conformance suite every store backend passes.
// A backend's test calls Run with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// Opener returns a new, empty store; the test closes it.
type Opener func(t *testing.T) store.Store

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func audit(actor string) model.Audit { return model.Audit{Actor: actor, Time: t0} }

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, store.Store){
		"Projects":           testProjects,
		"ProjectNotEmpty":    testProjectNotEmpty,
		"Objects":            testObjects,
		"StatusIsFenced":     testStatusIsFenced,
		"StatusUpdate":       testStatusUpdate,
		"Tokens":             testTokens,
		"BootstrapOnce":      testBootstrapOnce,
		"Events":             testEvents,
		"Idempotency":        testIdempotency,
		"Lease":              testLease,
		"LeaseOneWinner":     testLeaseOneWinner,
		"RevisionOnlyRoutes": testRevision,
		"ClusterID":          testClusterID,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			fn(t, s)
		})
	}
}

// ok turns a (value, error) pair into the value, failing the test on error:
// ok(s.GetProject(ctx, name))(t).
func ok[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantVersionError(t *testing.T, err error, current int64) {
	t.Helper()
	var ve *store.VersionError
	if !errors.As(err, &ve) {
		t.Fatalf("want *store.VersionError, got %v", err)
	}
	if ve.Current != current {
		t.Fatalf("VersionError.Current = %d, want %d", ve.Current, current)
	}
}

func wantExists(t *testing.T, err error) {
	t.Helper()
	var ee *store.ExistsError
	if !errors.As(err, &ee) {
		t.Fatalf("want *store.ExistsError, got %v", err)
	}
}

func testProjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	def := ok(s.GetProject(ctx, model.DefaultProject))(t)
	if def.Version != 1 {
		t.Fatalf("default project version = %d, want 1", def.Version)
	}
	p := ok(s.CreateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "A"}, audit("alice")))(t)
	if p.Version != 1 || !p.CreatedAt.Equal(t0) {
		t.Fatalf("created project = %+v", p)
	}
	_, err := s.CreateProject(ctx, model.ProjectSpec{Name: "team-a"}, audit("alice"))
	wantExists(t, err)

	same := ok(s.UpdateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "A"}, 1, audit("alice")))(t)
	if same.Version != 1 {
		t.Fatalf("an unchanged spec bumped the version to %d", same.Version)
	}
	up := ok(s.UpdateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "B"}, 1, audit("bob")))(t)
	if up.Version != 2 || up.Description != "B" {
		t.Fatalf("updated project = %+v", up)
	}
	_, err = s.UpdateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "C"}, 1, audit("bob"))
	wantVersionError(t, err, 2)
	if got := ok(s.GetProject(ctx, "team-a"))(t); got.Description != "B" {
		t.Fatalf("a refused update changed the project: %+v", got)
	}
	_, err = s.UpdateProject(ctx, model.ProjectSpec{Name: "nope"}, 0, audit("bob"))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing project: %v", err)
	}
	list := ok(s.ListProjects(ctx))(t)
	if len(list) != 2 || list[0].Name != "default" || list[1].Name != "team-a" {
		t.Fatalf("projects = %+v", list)
	}
	wantVersionError(t, s.DeleteProject(ctx, "team-a", 1, audit("bob")), 2)
	noErr(t, s.DeleteProject(ctx, "team-a", 2, audit("bob")))
	if _, err := s.GetProject(ctx, "team-a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted project still readable: %v", err)
	}
	evs := ok(s.ListEvents(ctx, store.EventFilter{Project: "team-a"}))(t)
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action+"/"+e.Actor)
	}
	if fmt.Sprint(actions) != "[delete/bob update/bob create/alice]" {
		t.Fatalf("events = %v", actions)
	}
	if string(evs[1].Before) != `{"name":"team-a","description":"A"}` || string(evs[1].After) != `{"name":"team-a","description":"B"}` {
		t.Fatalf("update event summary: before %s after %s", evs[1].Before, evs[1].After)
	}
}

func testProjectNotEmpty(t *testing.T, s store.Store) {
	ctx := context.Background()
	ok(s.CreateProject(ctx, model.ProjectSpec{Name: "p"}, audit("a")))(t)
	ref := model.Ref{Project: "p", Kind: "thing", Name: "x"}
	ok(s.CreateObject(ctx, ref, json.RawMessage(`{"a":1}`), audit("a")))(t)
	if err := s.DeleteProject(ctx, "p", 0, audit("a")); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("delete of a non-empty project: %v", err)
	}
	noErr(t, s.DeleteObject(ctx, ref, 0, audit("a")))
	noErr(t, s.DeleteProject(ctx, "p", 0, audit("a")))
}

func testObjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	ref := model.Ref{Project: "default", Kind: "thing", Name: "x"}
	if _, err := s.CreateObject(ctx, model.Ref{Project: "missing", Kind: "thing", Name: "x"}, json.RawMessage(`{}`), audit("a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("create in a missing project: %v", err)
	}
	o := ok(s.CreateObject(ctx, ref, json.RawMessage(`{"a":1,"b":[1,2]}`), audit("a")))(t)
	if o.Version != 1 || string(o.Status) != `{}` {
		t.Fatalf("created = %+v", o)
	}
	_, err := s.CreateObject(ctx, ref, json.RawMessage(`{}`), audit("a"))
	wantExists(t, err)

	// Reordered keys are the same spec.
	o = ok(s.UpdateObject(ctx, ref, json.RawMessage(`{"b":[1,2], "a":1}`), 1, audit("a")))(t)
	if o.Version != 1 {
		t.Fatalf("an equal spec bumped the version to %d", o.Version)
	}
	o = ok(s.UpdateObject(ctx, ref, json.RawMessage(`{"a":2}`), 1, audit("a")))(t)
	if o.Version != 2 {
		t.Fatalf("version after update = %d", o.Version)
	}
	_, err = s.UpdateObject(ctx, ref, json.RawMessage(`{"a":3}`), 1, audit("a"))
	wantVersionError(t, err, 2)
	got := ok(s.GetObject(ctx, ref))(t)
	var spec map[string]int
	noErr(t, json.Unmarshal(got.Spec, &spec))
	if spec["a"] != 2 || got.Version != 2 {
		t.Fatalf("read back = %+v", got)
	}
	ok(s.CreateObject(ctx, model.Ref{Project: "default", Kind: "thing", Name: "a"}, json.RawMessage(`{}`), audit("a")))(t)
	ok(s.CreateObject(ctx, model.Ref{Project: "default", Kind: "other", Name: "b"}, json.RawMessage(`{}`), audit("a")))(t)
	list := ok(s.ListObjects(ctx, "default", "thing"))(t)
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "x" {
		t.Fatalf("list = %+v", list)
	}
	ok(s.CreateProject(ctx, model.ProjectSpec{Name: "aaa"}, audit("a")))(t)
	ok(s.CreateObject(ctx, model.Ref{Project: "aaa", Kind: "thing", Name: "z"}, json.RawMessage(`{}`), audit("a")))(t)
	all := ok(s.ListObjectsByKind(ctx, "thing"))(t)
	if len(all) != 3 || all[0].Project != "aaa" || all[1].Name != "a" || all[2].Name != "x" {
		t.Fatalf("by kind = %+v", all)
	}
	wantVersionError(t, s.DeleteObject(ctx, ref, 1, audit("a")), 2)
	noErr(t, s.DeleteObject(ctx, ref, 2, audit("a")))
	if _, err := s.GetObject(ctx, ref); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted object still readable: %v", err)
	}
	if err := s.DeleteObject(ctx, ref, 0, audit("a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testStatusIsFenced(t *testing.T, s store.Store) {
	ctx := context.Background()
	ref := model.Ref{Project: "default", Kind: "thing", Name: "x"}
	ok(s.CreateObject(ctx, ref, json.RawMessage(`{}`), audit("a")))(t)
	l := ok(s.AcquireLease(ctx, "controller", "engine-1", time.Minute))(t)
	fence := store.Fence{Lease: l.Name, Epoch: l.Epoch}
	noErr(t, s.SetObjectStatus(ctx, ref, json.RawMessage(`{"phase":"baking"}`), fence, model.Audit{Actor: "controller", Time: t0, Message: "checking → baking"}))
	noErr(t, s.SetObjectStatus(ctx, ref, json.RawMessage(`{"phase":"baking"}`), fence, audit("controller")))
	if evs := ok(s.ListEvents(ctx, store.EventFilter{ObjectName: "x", Actor: "controller"}))(t); len(evs) != 1 || evs[0].Message != "checking → baking" {
		t.Fatalf("status events = %+v; want one, for the write with a message", evs)
	}
	o := ok(s.GetObject(ctx, ref))(t)
	if o.Version != 1 || string(o.Status) != `{"phase":"baking"}` {
		t.Fatalf("after a status write: %+v", o)
	}
	stale := store.Fence{Lease: l.Name, Epoch: l.Epoch - 1}
	if err := s.SetObjectStatus(ctx, ref, json.RawMessage(`{"phase":"stale"}`), stale, audit("controller")); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write with a stale epoch: %v", err)
	}
	noErr(t, s.ReleaseLease(ctx, l))
	if err := s.SetObjectStatus(ctx, ref, json.RawMessage(`{"phase":"late"}`), fence, audit("controller")); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write after the lease was released: %v", err)
	}
	if o := ok(s.GetObject(ctx, ref))(t); string(o.Status) != `{"phase":"baking"}` {
		t.Fatalf("a fenced write changed the status: %s", o.Status)
	}
}

func testStatusUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	ref := model.Ref{Project: "default", Kind: "thing", Name: "counted"}
	ok(s.CreateObject(ctx, ref, json.RawMessage(`{}`), audit("a")))(t)
	rev := ok(s.Revision(ctx))(t)
	add := func(msg string) func(json.RawMessage) (json.RawMessage, string, error) {
		return func(cur json.RawMessage) (json.RawMessage, string, error) {
			var v struct{ N int }
			_ = json.Unmarshal(cur, &v)
			v.N++
			b, _ := json.Marshal(v)
			return b, msg, nil
		}
	}
	noErr(t, s.UpdateObjectStatus(ctx, ref, add(""), audit("shadow")))
	noErr(t, s.UpdateObjectStatus(ctx, ref, add("proven"), model.Audit{Actor: "shadow", Time: t0}))
	noErr(t, s.UpdateObjectStatus(ctx, ref, func(json.RawMessage) (json.RawMessage, string, error) {
		return json.RawMessage(`{"N":99}`), "ignored", store.ErrNoChange
	}, audit("shadow")))
	o := ok(s.GetObject(ctx, ref))(t)
	if o.Version != 1 || string(o.Status) != `{"N":2}` {
		t.Fatalf("after two updates and a no-change: version %d status %s", o.Version, o.Status)
	}
	if r := ok(s.Revision(ctx))(t); r <= rev {
		t.Fatalf("a status update did not bump the revision (%d, was %d)", r, rev)
	}
	if evs := ok(s.ListEvents(ctx, store.EventFilter{ObjectName: "counted", Actor: "shadow"}))(t); len(evs) != 1 || evs[0].Message != "proven" {
		t.Fatalf("status events = %+v; want one, for the update with a message", evs)
	}
	missing := model.Ref{Project: "default", Kind: "thing", Name: "missing"}
	if err := s.UpdateObjectStatus(ctx, missing, add(""), audit("shadow")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing object: %v", err)
	}
}

func newToken(name string, kind model.TokenKind) (model.Token, string) {
	secret := model.NewTokenSecret()
	return model.Token{ID: model.NewTokenID(), Name: name, Kind: kind, Hash: model.HashToken(secret), Hint: model.TokenHint(secret), CreatedAt: t0, CreatedBy: "admin"}, secret
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, _ := newToken("ci", model.TokenWrite)
	noErr(t, s.CreateToken(ctx, a, audit("admin")))
	scoped, _ := newToken("app", model.TokenSDK)
	scoped.Project, scoped.AllOn = "team-a", true
	noErr(t, s.CreateToken(ctx, scoped, audit("admin")))
	for _, tok := range ok(s.ListTokens(ctx))(t) {
		if tok.Name == "app" && (tok.Project != "team-a" || !tok.AllOn) {
			t.Fatalf("sdk token scope not kept: %+v", tok)
		}
	}
	ok(s.RevokeToken(ctx, scoped.ID, audit("admin")))(t)
	dup, _ := newToken("ci", model.TokenSDK)
	wantExists(t, s.CreateToken(ctx, dup, audit("admin")))
	list := ok(s.ListTokens(ctx))(t)
	if len(list) != 2 || list[1].Hash != a.Hash && list[0].Hash != a.Hash {
		t.Fatalf("tokens = %+v", list)
	}
	r := ok(s.RevokeToken(ctx, a.ID, audit("admin")))(t)
	if r.RevokedAt == nil {
		t.Fatal("revoked token has no revoked_at")
	}
	if _, err := s.RevokeToken(ctx, a.ID, audit("admin")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	// The name is free again once its token is revoked.
	noErr(t, s.CreateToken(ctx, dup, audit("admin")))
	evs := ok(s.ListEvents(ctx, store.EventFilter{ObjectKind: model.KindToken}))(t)
	if len(evs) != 5 || evs[1].Action != model.ActionRevoke {
		t.Fatalf("token events = %+v", evs)
	}
	for _, e := range evs {
		if contains(string(e.Before)+string(e.After), a.Hash) {
			t.Fatal("an audit event holds a token hash")
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func testBootstrapOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]bool, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, _ := newToken(fmt.Sprintf("bootstrap-%d", i), model.TokenAdmin)
			results[i], errs[i] = s.BootstrapToken(ctx, tok, audit("engine"))
		}()
	}
	wg.Wait()
	created := 0
	for i := range results {
		noErr(t, errs[i])
		if results[i] {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent bootstraps created a token, want exactly 1", created)
	}
	tok, _ := newToken("later", model.TokenAdmin)
	if ok := ok(s.BootstrapToken(ctx, tok, audit("engine")))(t); ok {
		t.Fatal("bootstrap created a token in a store that has one")
	}
	if n := len(ok(s.ListTokens(ctx))(t)); n != 1 {
		t.Fatalf("%d tokens after bootstrap, want 1", n)
	}
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	ok(s.CreateProject(ctx, model.ProjectSpec{Name: "p2"}, audit("bob")))(t)
	for i := range 5 {
		a := model.Audit{Actor: "alice", Time: t0.Add(time.Duration(i) * time.Hour)}
		ok(s.CreateObject(ctx, model.Ref{Project: "default", Kind: "thing", Name: fmt.Sprintf("o%d", i)}, json.RawMessage(`{}`), a))(t)
	}
	all := ok(s.ListEvents(ctx, store.EventFilter{}))(t)
	if len(all) != 6 {
		t.Fatalf("%d events, want 6", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatal("events are not newest first")
		}
	}
	if n := len(ok(s.ListEvents(ctx, store.EventFilter{Actor: "bob"}))(t)); n != 1 {
		t.Fatalf("actor filter: %d events", n)
	}
	if n := len(ok(s.ListEvents(ctx, store.EventFilter{Project: "default", ObjectName: "o3"}))(t)); n != 1 {
		t.Fatalf("object filter: %d events", n)
	}
	window := ok(s.ListEvents(ctx, store.EventFilter{Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}))(t)
	if len(window) != 2 || window[0].ObjectName != "o2" || window[1].ObjectName != "o1" {
		t.Fatalf("time filter = %+v", window)
	}
	page1 := ok(s.ListEvents(ctx, store.EventFilter{Project: "default", Limit: 2}))(t)
	page2 := ok(s.ListEvents(ctx, store.EventFilter{Project: "default", Limit: 2, Before: page1[1].ID}))(t)
	if len(page1) != 2 || len(page2) != 2 || page1[0].ObjectName != "o4" || page2[0].ObjectName != "o2" {
		t.Fatalf("paging: %+v then %+v", page1, page2)
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	ctx := context.Background()
	rec := ok(s.BeginIdempotent(ctx, "ci", "k1", "fp", t0))(t)
	if rec != nil {
		t.Fatalf("first use of a key returned %+v", rec)
	}
	rec = ok(s.BeginIdempotent(ctx, "ci", "k1", "fp", t0))(t)
	if rec == nil || rec.Done {
		t.Fatalf("a reserved key: %+v", rec)
	}
	// Keys are per actor.
	if rec := ok(s.BeginIdempotent(ctx, "other", "k1", "fp2", t0))(t); rec != nil {
		t.Fatalf("another actor's key collided: %+v", rec)
	}
	noErr(t, s.CompleteIdempotent(ctx, "ci", "k1", 201, []byte(`{"ok":true}`)))
	rec = ok(s.BeginIdempotent(ctx, "ci", "k1", "fp", t0))(t)
	if rec == nil || !rec.Done || rec.Status != 201 || string(rec.Body) != `{"ok":true}` || rec.Fingerprint != "fp" {
		t.Fatalf("completed key: %+v", rec)
	}
	ok(s.BeginIdempotent(ctx, "ci", "k2", "fp", t0))(t)
	noErr(t, s.AbandonIdempotent(ctx, "ci", "k2"))
	if rec := ok(s.BeginIdempotent(ctx, "ci", "k2", "fp", t0))(t); rec != nil {
		t.Fatalf("an abandoned key was not freed: %+v", rec)
	}
	noErr(t, s.ExpireIdempotent(ctx, t0.Add(time.Second)))
	if rec := ok(s.BeginIdempotent(ctx, "ci", "k1", "fp", t0.Add(2*time.Second)))(t); rec != nil {
		t.Fatalf("an expired key was remembered: %+v", rec)
	}
}

func testLease(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := ok(s.AcquireLease(ctx, "controller", "a", 300*time.Millisecond))(t)
	if !a.Held || a.Epoch != 1 {
		t.Fatalf("first acquire = %+v", a)
	}
	b := ok(s.AcquireLease(ctx, "controller", "b", time.Minute))(t)
	if b.Held || b.Holder != "a" || b.Epoch != 1 {
		t.Fatalf("acquire of a held lease = %+v", b)
	}
	a2 := ok(s.AcquireLease(ctx, "controller", "a", 300*time.Millisecond))(t)
	if !a2.Held || a2.Epoch != 1 {
		t.Fatalf("renewal = %+v", a2)
	}
	// Wait for expiry on the database's clock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b = ok(s.AcquireLease(ctx, "controller", "b", time.Minute))(t)
		if b.Held || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !b.Held || b.Epoch != 2 {
		t.Fatalf("takeover after expiry = %+v", b)
	}
	if a3 := ok(s.AcquireLease(ctx, "controller", "a", time.Minute))(t); a3.Held {
		t.Fatalf("the old holder got the lease back: %+v", a3)
	}
	noErr(t, s.ReleaseLease(ctx, b))
	a4 := ok(s.AcquireLease(ctx, "controller", "a", time.Minute))(t)
	if !a4.Held || a4.Epoch != 3 {
		t.Fatalf("acquire after release = %+v", a4)
	}
	// Leases are independent by name.
	if o := ok(s.AcquireLease(ctx, "other", "b", time.Minute))(t); !o.Held || o.Epoch != 1 {
		t.Fatalf("another lease = %+v", o)
	}
}

func testLeaseOneWinner(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	held := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.AcquireLease(ctx, "race", fmt.Sprintf("h%d", i), time.Minute)
			if err != nil {
				t.Errorf("acquire: %v", err)
				return
			}
			held[i] = l.Held
		}()
	}
	wg.Wait()
	winners := 0
	for _, h := range held {
		if h {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d holders won one lease, want 1", winners)
	}
}

func testRevision(t *testing.T, s store.Store) {
	ctx := context.Background()
	r0 := ok(s.Revision(ctx))(t)
	ref := model.Ref{Project: "default", Kind: "thing", Name: "x"}
	ok(s.CreateObject(ctx, ref, json.RawMessage(`{}`), audit("a")))(t)
	r1 := ok(s.Revision(ctx))(t)
	if r1 <= r0 {
		t.Fatalf("create did not bump the revision (%d → %d)", r0, r1)
	}
	ok(s.UpdateObject(ctx, ref, json.RawMessage(`{}`), 0, audit("a")))(t)
	if r := ok(s.Revision(ctx))(t); r != r1 {
		t.Fatalf("a no-op update bumped the revision (%d → %d)", r1, r)
	}
	tok, _ := newToken("x", model.TokenSDK)
	noErr(t, s.CreateToken(ctx, tok, audit("a")))
	if r := ok(s.Revision(ctx))(t); r != r1 {
		t.Fatalf("a token change bumped the revision (%d → %d)", r1, r)
	}
	// A failed write bumps nothing.
	_, err := s.UpdateObject(ctx, ref, json.RawMessage(`{"x":1}`), 9, audit("a"))
	wantVersionError(t, err, 1)
	if r := ok(s.Revision(ctx))(t); r != r1 {
		t.Fatalf("a refused update bumped the revision (%d → %d)", r1, r)
	}
	noErr(t, s.DeleteObject(ctx, ref, 0, audit("a")))
	if r := ok(s.Revision(ctx))(t); r <= r1 {
		t.Fatalf("delete did not bump the revision (%d → %d)", r1, r)
	}
}

func testClusterID(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := ok(s.ClusterID(ctx, "c-first"))(t)
	second := ok(s.ClusterID(ctx, "c-second"))(t)
	if first != "c-first" || second != "c-first" {
		t.Fatalf("cluster IDs %q then %q; want the first one kept", first, second)
	}
}
