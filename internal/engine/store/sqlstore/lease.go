package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// AcquireLease takes the lease when it is free or expired, renews it when
// holder already has it, and otherwise leaves it alone. One statement does it,
// so the decision and the write see the same row and the same database clock.
// A new term (a takeover, or a holder coming back after its own lease
// expired) bumps the epoch; a renewal in time keeps it.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	l := store.Lease{Name: name, TTL: ttl}
	ttlMS := ttl.Milliseconds()
	err := s.row(ctx, s.db, `
INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, 1, NOW_MS + ?)
ON CONFLICT (name) DO UPDATE SET
  epoch = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > NOW_MS THEN leases.epoch ELSE leases.epoch + 1 END,
  holder = excluded.holder,
  expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= NOW_MS
RETURNING holder, epoch`, name, holder, ttlMS).Scan(&l.Holder, &l.Epoch)
	if err == nil {
		l.Held = true
		return l, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return l, err
	}
	err = s.row(ctx, s.db, `SELECT holder, epoch FROM leases WHERE name = ?`, name).Scan(&l.Holder, &l.Epoch)
	return l, err
}

// ReleaseLease expires a held lease now.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	_, err := s.exec(ctx, s.db, `UPDATE leases SET expires_at = NOW_MS WHERE name = ? AND holder = ? AND epoch = ?`, l.Name, l.Holder, l.Epoch)
	return err
}
