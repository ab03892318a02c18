// Package postgres is the backend for several engine replicas: any
// PostgreSQL 13 or later (RDS and Aurora included), reached through pgx.
// Migrations take an advisory lock so that replicas starting together apply
// them once.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is PostgreSQL's.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqlstore.Dialect{
		Name:          "postgres",
		Numbered:      true,
		NowMillis:     "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
		ForShare:      " FOR SHARE",
		MigrationLock: "SELECT pg_advisory_xact_lock(7238172641)",
		Migrations:    sub,
	}
}

// Open connects to the database at url (postgres://…).
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("parse PostgreSQL URL: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s, err := sqlstore.New(ctx, db, Dialect())
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate PostgreSQL database: %w", err)
	}
	return s, nil
}
