package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

const tokenCols = `id, name, kind, hash, hint, created_at, created_by, revoked_at, project, all_on, dark_launches`

func scanToken(sc interface{ Scan(...any) error }) (model.Token, error) {
	var t model.Token
	var kind string
	var created int64
	var revoked sql.NullInt64
	var allOn int
	var darkLaunches string
	err := sc.Scan(&t.ID, &t.Name, &kind, &t.Hash, &t.Hint, &created, &t.CreatedBy, &revoked, &t.Project, &allOn, &darkLaunches)
	t.AllOn = allOn == 1
	if darkLaunches != "" {
		t.DarkLaunches = strings.Split(darkLaunches, ",")
	}
	t.Kind = model.TokenKind(kind)
	t.CreatedAt = fromMS(created)
	if revoked.Valid {
		r := fromMS(revoked.Int64)
		t.RevokedAt = &r
	}
	return t, err
}

func tokenEvent(t model.Token, action string, a model.Audit) model.Event {
	e := model.Event{Time: a.Time, ObjectKind: model.KindToken, ObjectName: t.Name, Action: action, Actor: a.Actor, Message: a.Message}
	if action == model.ActionCreate {
		e.After = mustJSON(t)
	} else {
		e.Before = mustJSON(t)
	}
	return e
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, t model.Token, a model.Audit) error {
	res, err := s.exec(ctx, tx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?) ON CONFLICT DO NOTHING`,
		t.ID, t.Name, string(t.Kind), t.Hash, t.Hint, ms(t.CreatedAt), t.CreatedBy, t.Project, boolInt(t.AllOn), strings.Join(t.DarkLaunches, ","))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &store.ExistsError{What: "an active token named " + strconv.Quote(t.Name)}
	}
	return s.appendEvent(ctx, tx, tokenEvent(t, model.ActionCreate, a))
}

// CreateToken stores a token.
func (s *Store) CreateToken(ctx context.Context, t model.Token, a model.Audit) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertToken(ctx, tx, t, a) })
}

// BootstrapToken stores t only when there is no token at all.
func (s *Store) BootstrapToken(ctx context.Context, t model.Token, a model.Audit) (bool, error) {
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Locking the revision row serialises concurrent
		// first starts: each replica takes it before counting tokens.
		if _, err := s.exec(ctx, tx, `UPDATE revision SET value = value WHERE id = 1`); err != nil {
			return err
		}
		var n int
		if err := s.row(ctx, tx, `SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		return s.insertToken(ctx, tx, t, a)
	})
	return created, err
}

// ListTokens lists every token, newest first.
func (s *Store) ListTokens(ctx context.Context) ([]model.Token, error) {
	rows, err := s.rows(ctx, s.db, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes an active token.
func (s *Store) RevokeToken(ctx context.Context, id string, a model.Audit) (model.Token, error) {
	var t model.Token
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(s.row(ctx, tx, `SELECT `+tokenCols+` FROM tokens WHERE id = ? AND revoked_at IS NULL`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("active token %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		now := a.Time.UTC().Truncate(time.Millisecond)
		if _, err := s.exec(ctx, tx, `UPDATE tokens SET revoked_at = ? WHERE id = ?`, ms(now), id); err != nil {
			return err
		}
		t.RevokedAt = &now
		return s.appendEvent(ctx, tx, tokenEvent(t, model.ActionRevoke, a))
	})
	return t, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
