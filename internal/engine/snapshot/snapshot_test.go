package snapshot_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/snapshot"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/toggle"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func audit(actor string) model.Audit { return model.Audit{Actor: actor, Time: t0} }

// countingStore is a real SQLite store that counts the snapshot's reads.
type countingStore struct {
	store.Store
	revisions, lists, tokenLists atomic.Int64
}

func (c *countingStore) Revision(ctx context.Context) (int64, error) {
	c.revisions.Add(1)
	return c.Store.Revision(ctx)
}

func (c *countingStore) ListObjectsByKind(ctx context.Context, kind string) ([]model.Object, error) {
	if kind == model.KindToggle {
		c.lists.Add(1)
	}
	return c.Store.ListObjectsByKind(ctx, kind)
}

func (c *countingStore) ListTokens(ctx context.Context) ([]model.Token, error) {
	c.tokenLists.Add(1)
	return c.Store.ListTokens(ctx)
}

func openStore(t *testing.T) *countingStore {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &countingStore{Store: s}
}

// boolSpec is a valid boolean toggle, normalized as the API stores it.
func boolSpec(key string, enabled bool) []byte {
	spec := model.ToggleSpec{
		Key: key, Enabled: &enabled, DefaultVariant: "off",
		Variants: map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)},
	}
	spec.Normalize(nil)
	if err := spec.Validate(); err != nil {
		panic(err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	return b
}

func createToggle(t *testing.T, s store.Store, project, key string, enabled bool) model.Object {
	t.Helper()
	o, err := s.CreateObject(context.Background(), model.Ref{Project: project, Kind: model.KindToggle, Name: key}, boolSpec(key, enabled), audit("test"))
	if err != nil {
		t.Fatalf("create toggle %s/%s: %v", project, key, err)
	}
	return o
}

func createToken(t *testing.T, s store.Store, name string, kind model.TokenKind) model.Token {
	t.Helper()
	secret := model.NewTokenSecret()
	tok := model.Token{ID: model.NewTokenID(), Name: name, Kind: kind, Hash: model.HashToken(secret), Hint: model.TokenHint(secret), CreatedAt: t0, CreatedBy: "test"}
	if err := s.CreateToken(context.Background(), tok, audit("test")); err != nil {
		t.Fatalf("create token %s: %v", name, err)
	}
	return tok
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// value evaluates a toggle of snap with an empty context.
func value(t *testing.T, snap *snapshot.Snapshot, project, key string) string {
	t.Helper()
	tg := snap.Toggle(project, key)
	if tg == nil {
		t.Fatalf("the snapshot of revision %d has no toggle %s/%s", snap.Revision, project, key)
	}
	return string(tg.Evaluate(toggle.Context{}, false).Value)
}

func readFile(t *testing.T, path string) snapshot.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the disk snapshot: %v", err)
	}
	var f snapshot.File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode the disk snapshot: %v\n%s", err, b)
	}
	return f
}

// fileTokenHashes returns the hash of each token in the disk file, by name.
func fileTokenHashes(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Tokens []struct {
			Name string `json:"name"`
			Hash string `json:"hash"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tok := range raw.Tokens {
		out[tok.Name] = tok.Hash
	}
	return out
}

func TestSyncReloadsOnlyWhenTheRevisionMoves(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.CreateProject(ctx, model.ProjectSpec{Name: "team-a"}, audit("test")); err != nil {
		t.Fatal(err)
	}
	createToggle(t, s, model.DefaultProject, "b-flag", true)
	createToggle(t, s, model.DefaultProject, "a-flag", false)
	createToggle(t, s, "team-a", "c-flag", true)

	c := snapshot.New(s, "", nil)
	empty := c.Current()
	if empty == nil || empty.Revision != 0 || len(empty.Toggles) != 0 || empty.Toggle(model.DefaultProject, "a-flag") != nil {
		t.Fatalf("a new cache's snapshot: %+v; want empty at revision 0", empty)
	}

	if err := c.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	first := c.Current()
	if first.Revision != revision(t, s) {
		t.Errorf("snapshot revision %d, store revision %d", first.Revision, revision(t, s))
	}
	if got := first.Keys[model.DefaultProject]; !slices.Equal(got, []string{"a-flag", "b-flag"}) {
		t.Errorf("default keys %q, want [a-flag b-flag]", got)
	}
	if got := first.Keys["team-a"]; !slices.Equal(got, []string{"c-flag"}) {
		t.Errorf("team-a keys %q, want [c-flag]", got)
	}
	if v := value(t, first, model.DefaultProject, "a-flag"); v != "false" {
		t.Errorf("a-flag (disabled) evaluates to %s, want false", v)
	}
	if tg := first.Toggle(model.DefaultProject, "b-flag"); tg.Version != 1 || tg.Kind != model.ToggleRelease || !tg.Enabled {
		t.Errorf("b-flag compiled as %+v", tg)
	}
	if first.Toggle("team-a", "a-flag") != nil || first.Toggle("nope", "c-flag") != nil {
		t.Error("a toggle is visible in a project it does not belong to")
	}
	if n := s.lists.Load(); n != 1 {
		t.Fatalf("%d toggle listings after the first Sync, want 1", n)
	}

	// Nothing changed: the revision is read, nothing is reloaded, and the
	// snapshot is the very same.
	reads := s.revisions.Load()
	for range 3 {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.lists.Load(); n != 1 {
		t.Errorf("%d toggle listings after syncs without a change, want still 1", n)
	}
	if n := s.revisions.Load() - reads; n != 3 {
		t.Errorf("%d revision reads in 3 syncs, want 3", n)
	}
	if c.Current() != first {
		t.Error("a sync without a change replaced the snapshot")
	}

	// A change moves the revision, and the next Sync picks it up.
	ref := model.Ref{Project: model.DefaultProject, Kind: model.KindToggle, Name: "a-flag"}
	if _, err := s.UpdateObject(ctx, ref, boolSpec("a-flag", true), 1, audit("test")); err != nil {
		t.Fatal(err)
	}
	if c.Current() != first {
		t.Error("the snapshot changed before Sync")
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	second := c.Current()
	if second == first || second.Revision != revision(t, s) || second.Revision <= first.Revision {
		t.Fatalf("after an update: revision %d (was %d), store %d", second.Revision, first.Revision, revision(t, s))
	}
	if s.lists.Load() != 2 {
		t.Errorf("%d toggle listings after a change, want 2", s.lists.Load())
	}
	if v := value(t, second, model.DefaultProject, "a-flag"); v != "false" {
		// enabled, no rules: STATIC default_variant "off"
		t.Errorf("a-flag evaluates to %s, want false (its default)", v)
	}
	if tg := second.Toggle(model.DefaultProject, "a-flag"); tg.Version != 2 || !tg.Enabled {
		t.Errorf("a-flag after the update: version %d, enabled %v; want 2, true", tg.Version, tg.Enabled)
	}
	// The old snapshot is immutable: readers holding it still see version 1.
	if tg := first.Toggle(model.DefaultProject, "a-flag"); tg.Version != 1 || tg.Enabled {
		t.Errorf("the previous snapshot was modified: %+v", tg)
	}

	// A hold is a status write: it bumps the revision and reaches evaluation.
	l, err := s.AcquireLease(ctx, "controller", "test", time.Minute)
	if err != nil || !l.Held {
		t.Fatalf("acquire lease: %+v, %v", l, err)
	}
	hold := `{"hold":{"kind":"alarm","name":"p99","since":"2026-11-26T09:00:00Z"}}`
	if err := s.SetObjectStatus(ctx, ref, json.RawMessage(hold), store.Fence{Lease: l.Name, Epoch: l.Epoch}, audit("controller")); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	held := c.Current().Toggle(model.DefaultProject, "a-flag")
	if held.Hold == nil || held.Hold.Kind != "alarm" || held.Hold.Name != "p99" || !held.Hold.Since.Equal(t0) {
		t.Fatalf("hold after Sync: %+v", held.Hold)
	}
	if res := held.Evaluate(toggle.Context{}, false); res.Reason != toggle.ReasonDisabled || res.Hold == nil {
		t.Errorf("a held toggle evaluates to %+v, want DISABLED with the hold", res)
	}

	// A deleted toggle leaves the snapshot.
	if err := s.DeleteObject(ctx, model.Ref{Project: "team-a", Kind: model.KindToggle, Name: "c-flag"}, 0, audit("test")); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Current().Toggle("team-a", "c-flag") != nil || len(c.Current().Keys["team-a"]) != 0 {
		t.Errorf("a deleted toggle is still served: keys %q", c.Current().Keys["team-a"])
	}
}

func TestSyncErrors(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	createToggle(t, s, model.DefaultProject, "a-flag", true)
	c := snapshot.New(s, "", nil)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	good := c.Current()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := c.Sync(ctx)
	if err == nil || !strings.Contains(err.Error(), "revision") {
		t.Fatalf("Sync against a closed store: %v; want an error about the revision", err)
	}
	if c.Current() != good {
		t.Error("a failed Sync replaced the snapshot; it must keep serving the last one")
	}
}

func TestAToggleThatDoesNotCompileIsLeftOut(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	createToggle(t, s, model.DefaultProject, "good", true)
	// Stored directly, bypassing validation: no variants, and not JSON.
	for name, spec := range map[string]string{"invalid": `{"key":"invalid","variants":{}}`, "garbled": `"just a string"`} {
		if _, err := s.CreateObject(ctx, model.Ref{Project: model.DefaultProject, Kind: model.KindToggle, Name: name}, json.RawMessage(spec), audit("test")); err != nil {
			t.Fatal(err)
		}
	}
	c := snapshot.New(s, "", nil)
	if err := c.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	snap := c.Current()
	if got := snap.Keys[model.DefaultProject]; !slices.Equal(got, []string{"good"}) {
		t.Errorf("keys %q, want only [good]", got)
	}
	if v := value(t, snap, model.DefaultProject, "good"); v != "false" {
		t.Errorf("good evaluates to %s", v)
	}
}

func TestDiskSnapshot(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "snapshot.json")
	createToggle(t, s, model.DefaultProject, "on-flag", true)
	createToggle(t, s, model.DefaultProject, "off-flag", false)
	app := createToken(t, s, "app", model.TokenSDK)
	gone := createToken(t, s, "gone", model.TokenSDK)
	if _, err := s.RevokeToken(ctx, gone.ID, audit("test")); err != nil {
		t.Fatal(err)
	}

	// Before any Sync there is no file.
	fresh := snapshot.New(nil, path, nil)
	if _, err := fresh.LoadFile(); !errors.Is(err, snapshot.ErrNoFile) {
		t.Fatalf("LoadFile without a file: %v; want ErrNoFile", err)
	}
	if fresh.Current().Revision != 0 || len(fresh.Current().Toggles) != 0 {
		t.Errorf("a failed LoadFile changed the snapshot: %+v", fresh.Current())
	}

	c := snapshot.New(s, path, nil)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Sync wrote no disk snapshot: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the disk snapshot holds token hashes but has mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file is left behind: %v", err)
	}
	f := readFile(t, path)
	if f.Revision != c.Current().Revision || len(f.Toggles) != 2 {
		t.Errorf("file: revision %d, %d toggles; want %d, 2", f.Revision, len(f.Toggles), c.Current().Revision)
	}
	hashes := fileTokenHashes(t, path)
	if hashes["app"] != app.Hash {
		t.Errorf("the file's hash of the token app is %q, want %q", hashes["app"], app.Hash)
	}
	if _, ok := hashes["gone"]; ok {
		t.Error("the file holds a revoked token")
	}

	// A fresh cache, without a store, restores the toggles and the tokens.
	fresh = snapshot.New(nil, path, nil)
	tokens, err := fresh.LoadFile()
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	snap := fresh.Current()
	if snap.Revision != c.Current().Revision {
		t.Errorf("restored revision %d, want %d", snap.Revision, c.Current().Revision)
	}
	if got := snap.Keys[model.DefaultProject]; !slices.Equal(got, []string{"off-flag", "on-flag"}) {
		t.Errorf("restored keys %q", got)
	}
	if res := snap.Toggle(model.DefaultProject, "off-flag").Evaluate(toggle.Context{}, false); res.Reason != toggle.ReasonDisabled || string(res.Value) != "false" {
		t.Errorf("restored off-flag evaluates to %+v, want DISABLED false", res)
	}
	if res := snap.Toggle(model.DefaultProject, "on-flag").Evaluate(toggle.Context{}, true); !res.AllOn || string(res.Value) != "true" {
		t.Errorf("restored on-flag with all-on: %+v", res)
	}
	var found bool
	for _, tok := range tokens {
		if tok.Name == "gone" {
			t.Error("LoadFile returned a revoked token")
		}
		if tok.Name == "app" {
			found = true
			if tok.Hash != app.Hash || tok.ID != app.ID || tok.Kind != model.TokenSDK {
				t.Errorf("restored token app: %+v; want id %s, hash %s, kind sdk", tok, app.ID, app.Hash)
			}
		}
	}
	if !found {
		t.Errorf("LoadFile returned %+v; want the token app among them", tokens)
	}

	// A corrupt file is an error that says so and names the file.
	if err := os.WriteFile(path, []byte(`{"revision": 3, "toggles": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := snapshot.New(nil, path, nil)
	_, err = broken.LoadFile()
	if err == nil || errors.Is(err, snapshot.ErrNoFile) || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), path) {
		t.Fatalf("LoadFile of a corrupt file: %v; want an error saying it is corrupt and naming %s", err, path)
	}
	if broken.Current().Revision != 0 || len(broken.Current().Toggles) != 0 {
		t.Errorf("a corrupt file changed the snapshot: %+v", broken.Current())
	}

	// The next Sync after a restart rewrites it, whatever the revision.
	c2 := snapshot.New(s, path, nil)
	if err := c2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if f := readFile(t, path); f.Revision != revision(t, s) || len(f.Toggles) != 2 {
		t.Errorf("rewritten file: revision %d with %d toggles", f.Revision, len(f.Toggles))
	}
}

// Tokens change without moving the store revision; the disk copy must
// follow them all the same, or an engine restarted while its database is
// down would refuse a token created after the last flag change, and accept
// one revoked since.
func TestDiskSnapshotFollowsTokens(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	path := filepath.Join(t.TempDir(), "snapshot.json")
	createToggle(t, s, model.DefaultProject, "flag", true)
	old := createToken(t, s, "old", model.TokenSDK)
	c := snapshot.New(s, path, nil)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	first := c.Current()
	rev := revision(t, s)

	fresh := createToken(t, s, "fresh", model.TokenSDK)
	if _, err := s.RevokeToken(ctx, old.ID, audit("test")); err != nil {
		t.Fatal(err)
	}
	if revision(t, s) != rev {
		t.Fatalf("this test assumes tokens do not move the revision (%d → %d)", rev, revision(t, s))
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Current() != first {
		t.Error("a token change reloaded the flags")
	}
	hashes := fileTokenHashes(t, path)
	if hashes["fresh"] != fresh.Hash {
		t.Errorf("the disk snapshot lacks the token created after the last flag change (tokens %v)", hashes)
	}
	if _, ok := hashes["old"]; ok {
		t.Errorf("the disk snapshot still holds a revoked token")
	}
	if f := readFile(t, path); f.Revision != rev || len(f.Toggles) != 1 {
		t.Errorf("the rewritten file has revision %d and %d toggles; want %d and 1", f.Revision, len(f.Toggles), rev)
	}

	// Unchanged tokens do not rewrite the file.
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o400); err != nil { // a rewrite replaces the file, and with it this mode
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.Mode().Perm() != 0o400 || !os.SameFile(before, after) {
		t.Errorf("a Sync without any change rewrote the disk snapshot")
	}
}

func TestLag(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := snapshot.New(s, "", nil)
	if lag := c.Lag(); lag != 0 {
		t.Errorf("lag %v before any sync, want 0", lag)
	}
	start := time.Now()
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if lag := c.Lag(); lag < 0 || lag > time.Since(start) {
		t.Errorf("lag %v right after a sync is not within the %v the sync took", lag, time.Since(start))
	}
	// Without syncs, the lag grows.
	l1 := c.Lag()
	deadline := time.Now().Add(time.Minute)
	for c.Lag() <= l1 {
		if time.Now().After(deadline) {
			t.Fatalf("the lag stayed at %v", c.Lag())
		}
		time.Sleep(time.Millisecond)
	}
	grown := c.Lag()
	// A sync that finds nothing new still confirms the snapshot current.
	start = time.Now()
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if lag := c.Lag(); lag > time.Since(start) {
		t.Errorf("lag %v after a sync without changes, want at most %v (it was %v)", lag, time.Since(start), grown)
	}
	// A failed sync does not.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := c.Lag()
	if err := c.Sync(ctx); err == nil {
		t.Fatal("Sync against a closed store succeeded")
	}
	if c.Lag() < l2 {
		t.Errorf("a failed sync reset the lag from %v to %v", l2, c.Lag())
	}
}

func TestRunFollowsChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := openStore(t)
	createToggle(t, s, model.DefaultProject, "flag", false)
	c := snapshot.New(s, "", nil)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Run(ctx, 5*time.Millisecond); close(done) }()

	// Readers evaluate while the snapshot is swapped under them.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if tg := c.Current().Toggle(model.DefaultProject, "flag"); tg != nil {
					_ = tg.Evaluate(toggle.Context{"targetingKey": "u"}, false)
				}
			}
		})
	}

	ref := model.Ref{Project: model.DefaultProject, Kind: model.KindToggle, Name: "flag"}
	if _, err := s.UpdateObject(ctx, ref, boolSpec("flag", true), 0, audit("test")); err != nil {
		t.Fatal(err)
	}
	want := revision(t, s)
	deadline := time.Now().Add(time.Minute)
	for c.Current().Revision != want {
		if time.Now().After(deadline) {
			t.Fatalf("Run did not pick up revision %d; the snapshot is at %d", want, c.Current().Revision)
		}
		time.Sleep(time.Millisecond)
	}
	if tg := c.Current().Toggle(model.DefaultProject, "flag"); !tg.Enabled || tg.Version != 2 {
		t.Errorf("after Run: %+v", tg)
	}
	cancel()
	wg.Wait()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context ended")
	}
}

// A toggle named as the release_toggle of a dark launch that is not proven
// is held: it serves its off variant with the dark launch as the hold; once
// the launch is proven it serves as configured again.
func TestDarkLaunchHoldsReleaseToggle(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	createToggle(t, s, model.DefaultProject, "chat-ui", true)
	spec, _ := json.Marshal(model.DarkLaunchSpec{Name: "chat-backend", LiveURL: "http://live", DarkURL: "http://dark", ReleaseToggle: "chat-ui"})
	ref := model.Ref{Project: model.DefaultProject, Kind: model.KindDarkLaunch, Name: "chat-backend"}
	if _, err := s.CreateObject(ctx, ref, spec, audit("test")); err != nil {
		t.Fatal(err)
	}
	c := snapshot.New(s, "", nil)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tg := c.Current().Toggle(model.DefaultProject, "chat-ui")
	if tg.Hold == nil || tg.Hold.Kind != "dark_launch" || tg.Hold.Name != "chat-backend" {
		t.Fatalf("hold = %+v, want the dark launch", tg.Hold)
	}
	if v := value(t, c.Current(), model.DefaultProject, "chat-ui"); v != "false" {
		t.Fatalf("held toggle evaluates to %s, want its off variant", v)
	}
	proven, _ := json.Marshal(map[string]any{"state": model.DarkProven, "proven_at": time.Now().UTC()})
	if err := s.UpdateObjectStatus(ctx, ref, func(json.RawMessage) (json.RawMessage, string, error) { return proven, "", nil }, audit("test")); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if tg := c.Current().Toggle(model.DefaultProject, "chat-ui"); tg.Hold != nil {
		t.Fatalf("still held after the dark launch was proven: %+v", tg.Hold)
	}
}
