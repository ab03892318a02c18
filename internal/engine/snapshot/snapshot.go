// Package snapshot keeps what flag evaluation reads: every toggle, compiled,
// in memory, swapped atomically when the store changes, and written to local
// disk so that an engine restarted while its database is down still serves
// evaluations.
//
// Replicas notice changes by polling the store revision (one small query per
// interval); a change reloads every toggle. Evaluation never touches the
// store. With a disk copy, each poll also reads the tokens, which change
// without moving the revision, and rewrites the copy when they changed.
package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/darklaunch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/toggle"
)

// Snapshot is an immutable view of every toggle at one store revision.
type Snapshot struct {
	Revision int64
	// Toggles maps project, then key, to a compiled toggle.
	Toggles map[string]map[string]*toggle.Toggle
	// Keys lists each project's toggle keys in order, for bulk evaluation.
	Keys map[string][]string
}

// Toggle returns a project's toggle, or nil.
func (s *Snapshot) Toggle(project, key string) *toggle.Toggle {
	return s.Toggles[project][key]
}

// Source is the part of the store a snapshot is built from.
type Source interface {
	Revision(ctx context.Context) (int64, error)
	ListObjectsByKind(ctx context.Context, kind string) ([]model.Object, error)
	ListTokens(ctx context.Context) ([]model.Token, error)
}

// File is the on-disk form: the raw objects, recompiled on load, and the
// active tokens' hashes, so that evaluation can authenticate without the
// database.
type File struct {
	Revision int64          `json:"revision"`
	Toggles  []model.Object `json:"toggles"`
	Tokens   []fileToken    `json:"tokens"`
}

type fileToken struct {
	model.Token
	Hash string `json:"hash"`
}

// Cache holds the current snapshot.
type Cache struct {
	Source Source
	// Path is the disk copy ("" keeps none).
	Path string
	Log  hclog.Logger

	cur      atomic.Pointer[Snapshot]
	syncedAt atomic.Int64 // unix nanos of the last check that found the snapshot current
	mu       sync.Mutex
	// Guarded by mu: the raw objects of the current snapshot, and the active
	// tokens as last written to disk (nil until a write succeeds), so that a
	// token change alone rewrites the disk copy.
	objs       []model.Object
	diskTokens []byte
}

// New returns a cache with an empty snapshot.
func New(src Source, path string, log hclog.Logger) *Cache {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	c := &Cache{Source: src, Path: path, Log: log}
	c.cur.Store(&Snapshot{Toggles: map[string]map[string]*toggle.Toggle{}, Keys: map[string][]string{}})
	return c
}

// Current returns the snapshot in use.
func (c *Cache) Current() *Snapshot { return c.cur.Load() }

// Lag is how long ago the snapshot was last confirmed current against the store.
func (c *Cache) Lag() time.Duration {
	at := c.syncedAt.Load()
	if at == 0 {
		return 0
	}
	return time.Since(time.Unix(0, at))
}

// Sync reloads the snapshot when the store revision moved.
func (c *Cache) Sync(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev, err := c.Source.Revision(ctx)
	if err != nil {
		return fmt.Errorf("read the store revision: %w", err)
	}
	if cur := c.cur.Load(); cur.Revision == rev && cur.Toggles != nil && c.syncedAt.Load() != 0 {
		c.syncedAt.Store(time.Now().UnixNano())
		return c.save(ctx, rev)
	}
	objs, err := c.Source.ListObjectsByKind(ctx, model.KindToggle)
	if err != nil {
		return fmt.Errorf("load toggles: %w", err)
	}
	darks, err := c.Source.ListObjectsByKind(ctx, model.KindDarkLaunch)
	if err != nil {
		return fmt.Errorf("load dark launches: %w", err)
	}
	objs = holdForDarkLaunches(objs, darks)
	snap := c.build(rev, objs)
	c.cur.Store(snap)
	c.syncedAt.Store(time.Now().UnixNano())
	c.objs, c.diskTokens = objs, nil
	return c.save(ctx, rev)
}

// save writes the disk copy (when there is one) unless it already holds the
// current snapshot and the active tokens. Tokens do not move the store
// revision, so they are compared on every call: a disk copy that missed a
// new token, or kept a revoked one, would authenticate wrongly while the
// store is down.
func (c *Cache) save(ctx context.Context, rev int64) error {
	if c.Path == "" {
		return nil
	}
	tokens, err := c.Source.ListTokens(ctx)
	if err != nil {
		return fmt.Errorf("load tokens for the disk snapshot: %w", err)
	}
	active := activeTokens(tokens)
	key, err := json.Marshal(active)
	if err != nil {
		return err
	}
	if c.diskTokens != nil && bytes.Equal(key, c.diskTokens) {
		return nil
	}
	if err := c.write(File{Revision: rev, Toggles: c.objs, Tokens: active}); err != nil {
		c.Log.Warn("could not write the disk snapshot", "path", c.Path, "error", err)
		return nil
	}
	c.diskTokens = key
	return nil
}

func activeTokens(ts []model.Token) []fileToken {
	out := []fileToken{}
	for _, t := range ts {
		if t.RevokedAt == nil {
			out = append(out, fileToken{Token: t, Hash: t.Hash})
		}
	}
	return out
}

// holdForDarkLaunches folds dark-launch holds into the toggles' statuses:
// a toggle named as the release_toggle of a dark launch that is not proven
// serves its off variant. An alarm hold, already there, comes first. The
// disk copy keeps the result, so holds survive a database outage.
func holdForDarkLaunches(toggles, darks []model.Object) []model.Object {
	holds := map[string]*model.ToggleHold{}
	for _, o := range darks {
		var d model.DarkLaunchSpec
		if json.Unmarshal(o.Spec, &d) != nil || d.ReleaseToggle == "" {
			continue
		}
		var st darklaunch.Status
		_ = json.Unmarshal(o.Status, &st)
		if st.ProvenAt.IsZero() {
			holds[o.Project+"/"+d.ReleaseToggle] = &model.ToggleHold{Kind: "dark_launch", Name: d.Name, Since: o.CreatedAt}
		}
	}
	if len(holds) == 0 {
		return toggles
	}
	out := make([]model.Object, len(toggles))
	for i, o := range toggles {
		out[i] = o
		h := holds[o.Project+"/"+o.Name]
		if h == nil {
			continue
		}
		var status model.ToggleStatus
		_ = json.Unmarshal(o.Status, &status)
		if status.Hold != nil {
			continue
		}
		status.Hold = h
		out[i].Status, _ = json.Marshal(status)
	}
	return out
}

// build compiles objects; a toggle that does not compile (it cannot, having
// passed validation, unless rules changed between versions) is logged and
// left out rather than failing every other toggle.
func (c *Cache) build(rev int64, objs []model.Object) *Snapshot {
	s := &Snapshot{Revision: rev, Toggles: map[string]map[string]*toggle.Toggle{}, Keys: map[string][]string{}}
	for _, o := range objs {
		var spec model.ToggleSpec
		var status model.ToggleStatus
		if err := json.Unmarshal(o.Spec, &spec); err != nil {
			c.Log.Error("stored toggle does not decode", "project", o.Project, "key", o.Name, "error", err)
			continue
		}
		_ = json.Unmarshal(o.Status, &status)
		t, err := toggle.Compile(&spec, o.Version, status.Hold)
		if err != nil {
			c.Log.Error("stored toggle does not compile", "project", o.Project, "key", o.Name, "error", err)
			continue
		}
		if s.Toggles[o.Project] == nil {
			s.Toggles[o.Project] = map[string]*toggle.Toggle{}
		}
		s.Toggles[o.Project][o.Name] = t
		s.Keys[o.Project] = append(s.Keys[o.Project], o.Name)
	}
	return s
}

// Run syncs every interval until ctx ends.
func (c *Cache) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := c.Sync(ctx); err != nil && ctx.Err() == nil {
				c.Log.Warn("could not refresh the flag snapshot; serving the last one", "revision", c.Current().Revision, "error", err)
			}
		}
	}
}

func (c *Cache) write(f File) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return err
	}
	tmp := c.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.Path)
}

// ErrNoFile says there is no disk snapshot yet.
var ErrNoFile = errors.New("no disk snapshot")

// LoadFile installs the disk snapshot and returns its active tokens.
func (c *Cache) LoadFile() ([]model.Token, error) {
	b, err := os.ReadFile(c.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoFile
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("the disk snapshot %s is corrupt: %w", c.Path, err)
	}
	c.cur.Store(c.build(f.Revision, f.Toggles))
	tokens := make([]model.Token, len(f.Tokens))
	for i, t := range f.Tokens {
		tokens[i] = t.Token
		tokens[i].Hash = t.Hash
	}
	return tokens, nil
}
