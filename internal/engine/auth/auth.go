// Package auth checks bearer tokens against an in-memory copy of the token
// table, so that a check costs one SHA-256 and one map lookup: cheap enough
// for the flag-evaluation hot path.
//
// The copy is refreshed in the background (every RefreshInterval) so that
// tokens created or revoked on another replica take effect there too, and at
// once on a miss, at most once per MissRefresh, so that an unknown token
// cannot turn into a database query per request.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// TokenLister is the part of the store that auth reads.
type TokenLister interface {
	ListTokens(ctx context.Context) ([]model.Token, error)
}

// Authenticator resolves secrets to tokens.
type Authenticator struct {
	store TokenLister
	log   hclog.Logger
	// RefreshInterval is the background refresh period (default 10s).
	RefreshInterval time.Duration
	// MissRefresh is the least time between refreshes triggered by unknown
	// tokens (default 1s).
	MissRefresh time.Duration

	mu          sync.RWMutex
	byHash      map[[sha256.Size]byte]model.Token
	lastRefresh time.Time
	refreshMu   sync.Mutex
}

// New returns an Authenticator; call Refresh before serving.
func New(s TokenLister, log hclog.Logger) *Authenticator {
	return &Authenticator{store: s, log: log, RefreshInterval: 10 * time.Second, MissRefresh: time.Second, byHash: map[[sha256.Size]byte]model.Token{}}
}

// Refresh reloads the active tokens.
func (a *Authenticator) Refresh(ctx context.Context) error {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	return a.refreshLocked(ctx)
}

func (a *Authenticator) refreshLocked(ctx context.Context) error {
	tokens, err := a.store.ListTokens(ctx)
	if err != nil {
		// A failed attempt counts too, so that while the store is down an
		// unknown token still costs at most one query per MissRefresh.
		a.mu.Lock()
		a.lastRefresh = time.Now()
		a.mu.Unlock()
		return err
	}
	m := make(map[[sha256.Size]byte]model.Token, len(tokens))
	for _, t := range tokens {
		var key [sha256.Size]byte
		if t.RevokedAt != nil || hex.DecodedLen(len(t.Hash)) != sha256.Size {
			continue
		}
		if _, err := hex.Decode(key[:], []byte(t.Hash)); err != nil {
			continue
		}
		m[key] = t
	}
	a.mu.Lock()
	a.byHash = m
	a.lastRefresh = time.Now()
	a.mu.Unlock()
	return nil
}

// Run refreshes in the background until ctx ends.
func (a *Authenticator) Run(ctx context.Context) {
	tick := time.NewTicker(a.RefreshInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := a.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("could not refresh tokens; using the last copy", "error", err)
			}
		}
	}
}

// Authenticate returns the active token whose secret this is.
func (a *Authenticator) Authenticate(ctx context.Context, secret string) (model.Token, bool) {
	hash := sha256.Sum256([]byte(secret))
	if t, ok := a.lookup(hash); ok {
		return t, true
	}
	// Perhaps created on another replica a moment ago.
	if !a.refreshMu.TryLock() {
		return model.Token{}, false
	}
	defer a.refreshMu.Unlock()
	a.mu.RLock()
	stale := time.Since(a.lastRefresh) >= a.MissRefresh
	a.mu.RUnlock()
	if stale {
		if err := a.refreshLocked(ctx); err != nil {
			a.log.Warn("could not refresh tokens", "error", err)
		}
	}
	return a.lookup(hash)
}

func (a *Authenticator) lookup(hash [sha256.Size]byte) (model.Token, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	t, ok := a.byHash[hash]
	return t, ok
}

// Forget drops a token at once (after a local revoke), before the next refresh.
func (a *Authenticator) Forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, t := range a.byHash {
		if t.ID == id {
			delete(a.byHash, h)
		}
	}
}

// Allows reports whether a token of kind has may use a route that needs
// kind need. Kinds are ordered: admin ⊇ write ⊇ sdk. Shadow stands apart:
// a shadow token may use shadow routes only, which admin and write tokens
// may use too. An unknown kind, on either side, allows nothing.
func Allows(has, need model.TokenKind) bool {
	if need == model.TokenShadow {
		return has == model.TokenShadow || has == model.TokenAdmin || has == model.TokenWrite
	}
	h, n := rank(has), rank(need)
	return h > 0 && n > 0 && h >= n
}

func rank(k model.TokenKind) int {
	switch k {
	case model.TokenAdmin:
		return 3
	case model.TokenWrite:
		return 2
	case model.TokenSDK:
		return 1
	}
	return 0
}
