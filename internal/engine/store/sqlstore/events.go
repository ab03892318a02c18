package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// MaxEventPage bounds one read of events.
const MaxEventPage = 10000

// ListEvents pages through the audit log, newest first.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]model.Event, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Project != "" {
		add("project = ?", f.Project)
	}
	if f.ObjectKind != "" {
		add("object_kind = ?", f.ObjectKind)
	}
	if f.ObjectName != "" {
		add("object_name = ?", f.ObjectName)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if !f.Since.IsZero() {
		add("time >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < ?", ms(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxEventPage {
		limit = MaxEventPage
	}
	query := `SELECT id, time, project, object_kind, object_name, action, actor, message, before_json, after_json FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.rows(ctx, s.db, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Event{}
	for rows.Next() {
		var e model.Event
		var t int64
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.Project, &e.ObjectKind, &e.ObjectName, &e.Action, &e.Actor, &e.Message, &before, &after); err != nil {
			return nil, err
		}
		e.Time = fromMS(t)
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
