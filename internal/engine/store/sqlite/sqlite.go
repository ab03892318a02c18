// Package sqlite is the embedded default backend: one file, pure Go (no cgo),
// safe for several engine processes on one machine. WAL mode lets readers
// run beside the single writer; every write transaction starts IMMEDIATE so
// that two processes never deadlock upgrading a read lock.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	// Registers the pure-Go "sqlite" driver.
	_ "modernc.org/sqlite"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqlstore.Dialect{
		Name:       "sqlite",
		NowMillis:  "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)",
		Migrations: sub,
	}
}

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the directory for %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	s, err := sqlstore.New(ctx, db, Dialect())
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate SQLite database %s: %w", path, err)
	}
	return s, nil
}
