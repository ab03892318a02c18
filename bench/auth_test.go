// Package bench holds the project's benchmarks; `make bench` runs them and
// bench/RESULTS.md records their figures with the command that made them.
package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlstore"
)

// tokenStore is a SQLite store holding n tokens; it returns one secret.
func tokenStore(b *testing.B, n int) (store.Store, string) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	var secret string
	for i := range n {
		secret = model.NewTokenSecret()
		t := model.Token{ID: model.NewTokenID(), Name: fmt.Sprintf("t%d", i), Kind: model.TokenSDK, Hash: model.HashToken(secret),
			Hint: model.TokenHint(secret), CreatedAt: time.Now(), CreatedBy: "bench"}
		if err := s.CreateToken(ctx, t, model.Audit{Actor: "bench", Time: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	return s, secret
}

// BenchmarkTokenCheck measures the bearer-token check on the evaluation hot
// path: the in-memory lookup the engine does, against the baseline of
// asking the store on every request.
func BenchmarkTokenCheck(b *testing.B) {
	for _, n := range []int{10, 1000} {
		s, secret := tokenStore(b, n)
		a := auth.New(s, hclog.NewNullLogger())
		a.MissRefresh = time.Hour
		if err := a.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("tokens=%d/in-memory", n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if _, ok := a.Authenticate(ctx, secret); !ok {
					b.Fatal("token not found")
				}
			}
		})
		b.Run(fmt.Sprintf("tokens=%d/in-memory-unknown", n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			unknown := model.NewTokenSecret()
			for b.Loop() {
				if _, ok := a.Authenticate(ctx, unknown); ok {
					b.Fatal("unknown token accepted")
				}
			}
		})
		// The baseline: one indexed query of the token table per request.
		db := s.(*sqlstore.Store).DB()
		b.Run(fmt.Sprintf("tokens=%d/baseline-store-lookup", n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				var kind string
				if err := db.QueryRowContext(ctx, `SELECT kind FROM tokens WHERE hash = ? AND revoked_at IS NULL`, model.HashToken(secret)).Scan(&kind); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
