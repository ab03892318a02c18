package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// BeginIdempotent reserves (actor, key) or returns what is already there.
func (s *Store) BeginIdempotent(ctx context.Context, actor, key, fingerprint string, now time.Time) (*store.IdempotentRecord, error) {
	var rec *store.IdempotentRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `INSERT INTO idempotency (actor, idem_key, fingerprint, done, status, body, created_at) VALUES (?, ?, ?, 0, 0, '', ?) ON CONFLICT DO NOTHING`,
			actor, key, fingerprint, ms(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var r store.IdempotentRecord
		var done int
		var body string
		var created int64
		if err := s.row(ctx, tx, `SELECT fingerprint, done, status, body, created_at FROM idempotency WHERE actor = ? AND idem_key = ?`, actor, key).
			Scan(&r.Fingerprint, &done, &r.Status, &body, &created); err != nil {
			return err
		}
		r.Done, r.Body, r.CreatedAt = done == 1, []byte(body), fromMS(created)
		rec = &r
		return nil
	})
	return rec, err
}

// CompleteIdempotent stores the response for a reserved key.
func (s *Store) CompleteIdempotent(ctx context.Context, actor, key string, status int, body []byte) error {
	_, err := s.exec(ctx, s.db, `UPDATE idempotency SET done = 1, status = ?, body = ? WHERE actor = ? AND idem_key = ?`, status, string(body), actor, key)
	return err
}

// AbandonIdempotent frees a reserved key.
func (s *Store) AbandonIdempotent(ctx context.Context, actor, key string) error {
	_, err := s.exec(ctx, s.db, `DELETE FROM idempotency WHERE actor = ? AND idem_key = ? AND done = 0`, actor, key)
	return err
}

// ExpireIdempotent forgets records created before cutoff.
func (s *Store) ExpireIdempotent(ctx context.Context, cutoff time.Time) error {
	_, err := s.exec(ctx, s.db, `DELETE FROM idempotency WHERE created_at < ?`, ms(cutoff))
	return err
}
