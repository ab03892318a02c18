// Package sqlstore implements store.Store once, over database/sql, for every
// SQL backend. A Dialect supplies what differs between databases: the
// placeholder syntax, the database clock, row locking and the migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// Dialect is what one database needs beyond standard SQL.
type Dialect struct {
	// Name is reported by Store.Backend.
	Name string
	// Numbered placeholders ($1, $2, …) instead of "?".
	Numbered bool
	// NowMillis is an SQL expression for the database's clock in Unix
	// milliseconds. Leases expire on it, never on an engine's clock.
	NowMillis string
	// ForShare is appended to the fence check so that a concurrent lease
	// takeover waits for the fenced write to commit ("" where writers are
	// already serialised).
	ForShare string
	// MigrationLock, when set, runs first in the migration transaction so
	// that replicas starting together migrate one at a time.
	MigrationLock string
	// Migrations holds NNNN_name.sql files, applied in order.
	Migrations fs.FS
}

// Store is a store.Store over one SQL database.
type Store struct {
	db *sql.DB
	d  Dialect
}

var _ store.Store = (*Store)(nil)

// New wraps db, applying any pending migrations.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	s := &Store{db: db, d: d}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB exposes the connection pool to the backend packages' tests.
func (s *Store) DB() *sql.DB { return s.db }

// Backend names the backend.
func (s *Store) Backend() string { return s.d.Name }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites "?" placeholders and the NOW token for the dialect.
func (s *Store) q(query string) string {
	query = strings.ReplaceAll(query, "NOW_MS", s.d.NowMillis)
	query = strings.ReplaceAll(query, "FOR_SHARE", s.d.ForShare)
	if !s.d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) exec(ctx context.Context, db querier, query string, args ...any) (sql.Result, error) {
	return db.ExecContext(ctx, s.q(query), args...)
}

func (s *Store) row(ctx context.Context, db querier, query string, args ...any) *sql.Row {
	return db.QueryRowContext(ctx, s.q(query), args...)
}

func (s *Store) rows(ctx context.Context, db querier, query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(ctx, s.q(query), args...)
}

// tx runs fn in a write transaction and commits when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(s.d.Migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.d.MigrationLock != "" {
			if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
				return fmt.Errorf("lock for migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int64
		if err := s.row(ctx, tx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for _, name := range names {
			v, err := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", name)
			}
			if v <= current {
				continue
			}
			body, err := fs.ReadFile(s.d.Migrations, name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(string(body))); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, NOW_MS)`, v); err != nil {
				return fmt.Errorf("record migration %s: %w", name, err)
			}
		}
		return nil
	})
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// Revision returns the store revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var v int64
	err := s.row(ctx, s.db, `SELECT value FROM revision WHERE id = 1`).Scan(&v)
	return v, err
}

// ClusterID returns the cluster ID, storing candidate if there is none yet.
func (s *Store) ClusterID(ctx context.Context, candidate string) (string, error) {
	if _, err := s.exec(ctx, s.db, `INSERT INTO meta (key, value) VALUES ('cluster_id', ?) ON CONFLICT DO NOTHING`, candidate); err != nil {
		return "", err
	}
	var id string
	err := s.row(ctx, s.db, `SELECT value FROM meta WHERE key = 'cluster_id'`).Scan(&id)
	return id, err
}

func (s *Store) bumpRevision(ctx context.Context, tx *sql.Tx) error {
	_, err := s.exec(ctx, tx, `UPDATE revision SET value = value + 1 WHERE id = 1`)
	return err
}

func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, e model.Event) error {
	_, err := s.exec(ctx, tx, `INSERT INTO events (time, project, object_kind, object_name, action, actor, message, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ms(e.Time), e.Project, e.ObjectKind, e.ObjectName, e.Action, e.Actor, e.Message, nullJSON(e.Before), nullJSON(e.After))
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

func nullJSON(b json.RawMessage) sql.NullString {
	if len(b) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(b), Valid: true}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func checkVersion(current, given int64) error {
	if given != 0 && given != current {
		return &store.VersionError{Current: current, Given: given}
	}
	return nil
}

// ---- projects ----

const projectCols = `name, description, version, created_at, updated_at`

func scanProject(sc interface{ Scan(...any) error }) (model.Project, error) {
	var p model.Project
	var created, updated int64
	err := sc.Scan(&p.Name, &p.Description, &p.Version, &created, &updated)
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return p, err
}

// ListProjects lists projects by name.
func (s *Store) ListProjects(ctx context.Context) ([]model.Project, error) {
	rows, err := s.rows(ctx, s.db, `SELECT `+projectCols+` FROM projects ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GetProject reads one project.
func (s *Store) GetProject(ctx context.Context, name string) (model.Project, error) {
	return s.getProject(ctx, s.db, name)
}

func (s *Store) getProject(ctx context.Context, db querier, name string) (model.Project, error) {
	p, err := scanProject(s.row(ctx, db, `SELECT `+projectCols+` FROM projects WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, store.ErrNotFound
	}
	return p, err
}

func projectSummary(p model.Project) json.RawMessage {
	return mustJSON(model.ProjectSpec{Name: p.Name, Description: p.Description})
}

// CreateProject stores a new project.
func (s *Store) CreateProject(ctx context.Context, spec model.ProjectSpec, a model.Audit) (model.Project, error) {
	p := model.Project{Name: spec.Name, Description: spec.Description, Version: 1, CreatedAt: a.Time.UTC().Truncate(time.Millisecond), UpdatedAt: a.Time.UTC().Truncate(time.Millisecond)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `INSERT INTO projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.Name, p.Description, p.Version, ms(p.CreatedAt), ms(p.UpdatedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &store.ExistsError{What: "project " + strconv.Quote(p.Name)}
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: p.Name, ObjectKind: model.KindProject, ObjectName: p.Name,
			Action: model.ActionCreate, Actor: a.Actor, Message: a.Message, After: projectSummary(p)})
	})
	return p, err
}

// UpdateProject changes a project's description.
func (s *Store) UpdateProject(ctx context.Context, spec model.ProjectSpec, ifVersion int64, a model.Audit) (model.Project, error) {
	var out model.Project
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getProject(ctx, tx, spec.Name)
		if err != nil {
			return err
		}
		if err := checkVersion(cur.Version, ifVersion); err != nil {
			return err
		}
		if cur.Description == spec.Description {
			out = cur
			return nil
		}
		out = cur
		out.Description = spec.Description
		out.Version++
		out.UpdatedAt = a.Time.UTC().Truncate(time.Millisecond)
		if _, err := s.exec(ctx, tx, `UPDATE projects SET description = ?, version = ?, updated_at = ? WHERE name = ?`,
			out.Description, out.Version, ms(out.UpdatedAt), out.Name); err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: out.Name, ObjectKind: model.KindProject, ObjectName: out.Name,
			Action: model.ActionUpdate, Actor: a.Actor, Message: a.Message, Before: projectSummary(cur), After: projectSummary(out)})
	})
	return out, err
}

// DeleteProject removes an empty project.
func (s *Store) DeleteProject(ctx context.Context, name string, ifVersion int64, a model.Audit) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getProject(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := checkVersion(cur.Version, ifVersion); err != nil {
			return err
		}
		var n int
		if err := s.row(ctx, tx, `SELECT COUNT(*) FROM objects WHERE project = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("project %q holds %d objects: %w", name, n, store.ErrNotEmpty)
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM projects WHERE name = ?`, name); err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: name, ObjectKind: model.KindProject, ObjectName: name,
			Action: model.ActionDelete, Actor: a.Actor, Message: a.Message, Before: projectSummary(cur)})
	})
}

// ---- objects ----

const objectCols = `project, kind, name, version, spec, status, created_at, updated_at`

func scanObject(sc interface{ Scan(...any) error }) (model.Object, error) {
	var o model.Object
	var spec, status string
	var created, updated int64
	err := sc.Scan(&o.Project, &o.Kind, &o.Name, &o.Version, &spec, &status, &created, &updated)
	o.Spec, o.Status = json.RawMessage(spec), json.RawMessage(status)
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	return o, err
}

// GetObject reads one object.
func (s *Store) GetObject(ctx context.Context, ref model.Ref) (model.Object, error) {
	return s.getObject(ctx, s.db, ref)
}

func (s *Store) getObject(ctx context.Context, db querier, ref model.Ref) (model.Object, error) {
	o, err := scanObject(s.row(ctx, db, `SELECT `+objectCols+` FROM objects WHERE project = ? AND kind = ? AND name = ?`, ref.Project, ref.Kind, ref.Name))
	if errors.Is(err, sql.ErrNoRows) {
		return o, store.ErrNotFound
	}
	return o, err
}

// ListObjects lists a project's objects of one kind by name.
func (s *Store) ListObjects(ctx context.Context, project, kind string) ([]model.Object, error) {
	rows, err := s.rows(ctx, s.db, `SELECT `+objectCols+` FROM objects WHERE project = ? AND kind = ? ORDER BY name`, project, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Object{}
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ListObjectsByKind lists every object of one kind in every project.
func (s *Store) ListObjectsByKind(ctx context.Context, kind string) ([]model.Object, error) {
	rows, err := s.rows(ctx, s.db, `SELECT `+objectCols+` FROM objects WHERE kind = ? ORDER BY project, name`, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Object{}
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// CreateObject stores a new object.
func (s *Store) CreateObject(ctx context.Context, ref model.Ref, spec json.RawMessage, a model.Audit) (model.Object, error) {
	now := a.Time.UTC().Truncate(time.Millisecond)
	o := model.Object{Ref: ref, Version: 1, Spec: spec, Status: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getProject(ctx, tx, ref.Project); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("project %q: %w", ref.Project, store.ErrNotFound)
			}
			return err
		}
		res, err := s.exec(ctx, tx, `INSERT INTO objects (`+objectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			ref.Project, ref.Kind, ref.Name, o.Version, string(o.Spec), string(o.Status), ms(now), ms(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &store.ExistsError{What: ref.Kind + " " + strconv.Quote(ref.Name) + " in project " + strconv.Quote(ref.Project)}
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: ref.Project, ObjectKind: ref.Kind, ObjectName: ref.Name,
			Action: model.ActionCreate, Actor: a.Actor, Message: a.Message, After: spec})
	})
	return o, err
}

// UpdateObject replaces an object's spec.
func (s *Store) UpdateObject(ctx context.Context, ref model.Ref, spec json.RawMessage, ifVersion int64, a model.Audit) (model.Object, error) {
	var out model.Object
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getObject(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := checkVersion(cur.Version, ifVersion); err != nil {
			return err
		}
		out = cur
		if jsonEqual(cur.Spec, spec) {
			return nil
		}
		out.Spec = spec
		out.Version++
		out.UpdatedAt = a.Time.UTC().Truncate(time.Millisecond)
		if _, err := s.exec(ctx, tx, `UPDATE objects SET spec = ?, version = ?, updated_at = ? WHERE project = ? AND kind = ? AND name = ?`,
			string(spec), out.Version, ms(out.UpdatedAt), ref.Project, ref.Kind, ref.Name); err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: ref.Project, ObjectKind: ref.Kind, ObjectName: ref.Name,
			Action: model.ActionUpdate, Actor: a.Actor, Message: a.Message, Before: cur.Spec, After: spec})
	})
	return out, err
}

// DeleteObject removes an object.
func (s *Store) DeleteObject(ctx context.Context, ref model.Ref, ifVersion int64, a model.Audit) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getObject(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := checkVersion(cur.Version, ifVersion); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM objects WHERE project = ? AND kind = ? AND name = ?`, ref.Project, ref.Kind, ref.Name); err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: ref.Project, ObjectKind: ref.Kind, ObjectName: ref.Name,
			Action: model.ActionDelete, Actor: a.Actor, Message: a.Message, Before: cur.Spec})
	})
}

// SetObjectStatus replaces an object's status under a fence.
func (s *Store) SetObjectStatus(ctx context.Context, ref model.Ref, status json.RawMessage, f store.Fence, a model.Audit) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFence(ctx, tx, f); err != nil {
			return err
		}
		cur, err := s.getObject(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE objects SET status = ? WHERE project = ? AND kind = ? AND name = ?`,
			string(status), ref.Project, ref.Kind, ref.Name); err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		if a.Message == "" {
			return nil
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: ref.Project, ObjectKind: ref.Kind, ObjectName: ref.Name,
			Action: model.ActionStatus, Actor: a.Actor, Message: a.Message, Before: cur.Status, After: status})
	})
}

// UpdateObjectStatus is a read-modify-write of an object's status.
func (s *Store) UpdateObjectStatus(ctx context.Context, ref model.Ref, update func(json.RawMessage) (json.RawMessage, string, error), a model.Audit) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getObject(ctx, tx, ref)
		if err != nil {
			return err
		}
		next, msg, err := update(cur.Status)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE objects SET status = ? WHERE project = ? AND kind = ? AND name = ?`,
			string(next), ref.Project, ref.Kind, ref.Name); err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		if msg == "" {
			return nil
		}
		return s.appendEvent(ctx, tx, model.Event{Time: a.Time, Project: ref.Project, ObjectKind: ref.Kind, ObjectName: ref.Name,
			Action: model.ActionStatus, Actor: a.Actor, Message: msg, Before: cur.Status, After: next})
	})
	if errors.Is(err, store.ErrNoChange) {
		return nil
	}
	return err
}

func (s *Store) checkFence(ctx context.Context, tx *sql.Tx, f store.Fence) error {
	var epoch int64
	err := s.row(ctx, tx, `SELECT epoch FROM leases WHERE name = ? AND epoch = ? AND expires_at > NOW_MS FOR_SHARE`, f.Lease, f.Epoch).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lease %q at epoch %d: %w", f.Lease, f.Epoch, store.ErrFenced)
	}
	return err
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
