package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// lister is a TokenLister over a slice, counting its calls.
type lister struct {
	mu     sync.Mutex
	tokens []model.Token
	err    error
	calls  int
}

func (l *lister) ListTokens(context.Context) ([]model.Token, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.err != nil {
		return nil, l.err
	}
	return append([]model.Token(nil), l.tokens...), nil
}

func (l *lister) add(t model.Token) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = append(l.tokens, t)
}

func (l *lister) revoke(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for i := range l.tokens {
		if l.tokens[i].ID == id {
			l.tokens[i].RevokedAt = &now
		}
	}
}

func (l *lister) setErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

func (l *lister) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// token returns a new token of kind and its secret.
func token(name string, kind model.TokenKind) (model.Token, string) {
	secret := model.NewTokenSecret()
	return model.Token{ID: model.NewTokenID(), Name: name, Kind: kind, Hash: model.HashToken(secret),
		Hint: model.TokenHint(secret), CreatedAt: time.Now(), CreatedBy: "test"}, secret
}

// newAuth returns an Authenticator over l whose misses never refresh in a
// test's lifetime, after a first successful Refresh.
func newAuth(t testing.TB, l *lister) *auth.Authenticator {
	t.Helper()
	a := auth.New(l, hclog.NewNullLogger())
	a.MissRefresh = time.Hour
	if err := a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestActiveTokenFound(t *testing.T) {
	ctx := context.Background()
	adm, admSecret := token("admin", model.TokenAdmin)
	sdk, sdkSecret := token("app", model.TokenSDK)
	l := &lister{tokens: []model.Token{adm, sdk}}
	a := newAuth(t, l)

	for _, c := range []struct {
		secret string
		want   model.Token
	}{{admSecret, adm}, {sdkSecret, sdk}} {
		got, ok := a.Authenticate(ctx, c.secret)
		if !ok {
			t.Fatalf("token %s not found", c.want.Name)
		}
		if got.ID != c.want.ID || got.Kind != c.want.Kind || got.Name != c.want.Name {
			t.Fatalf("got %+v, want %+v", got, c.want)
		}
	}
	// The hash is not a secret: presenting it must not authenticate.
	if _, ok := a.Authenticate(ctx, adm.Hash); ok {
		t.Fatal("the stored hash authenticated as a secret")
	}
	for _, s := range []string{"", admSecret + " ", admSecret[:len(admSecret)-1]} {
		if _, ok := a.Authenticate(ctx, s); ok {
			t.Fatalf("secret %q authenticated", s)
		}
	}
	if n := l.count(); n != 1 {
		t.Fatalf("lister called %d times, want 1 (hits and misses in the window do not refresh)", n)
	}
}

func TestRevokedTokenNotFound(t *testing.T) {
	ctx := context.Background()
	tok, secret := token("old", model.TokenWrite)
	now := time.Now()
	tok.RevokedAt = &now
	live, liveSecret := token("live", model.TokenWrite)
	l := &lister{tokens: []model.Token{tok, live}}
	a := newAuth(t, l)
	if _, ok := a.Authenticate(ctx, secret); ok {
		t.Fatal("a revoked token authenticated")
	}
	if _, ok := a.Authenticate(ctx, liveSecret); !ok {
		t.Fatal("the active token beside a revoked one was not found")
	}

	// Revoked later, it goes at the next refresh.
	l.revoke(live.ID)
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Authenticate(ctx, liveSecret); ok {
		t.Fatal("a token revoked in the store still authenticates after Refresh")
	}
}

// A token created elsewhere after the last refresh is found by the refresh a
// miss triggers.
func TestRefreshOnMiss(t *testing.T) {
	ctx := context.Background()
	l := &lister{}
	a := auth.New(l, hclog.NewNullLogger())
	a.MissRefresh = 0 // every miss may refresh
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	tok, secret := token("new", model.TokenSDK)
	l.add(tok)
	got, ok := a.Authenticate(ctx, secret)
	if !ok || got.ID != tok.ID {
		t.Fatalf("a token added after Refresh was not found on a miss: %+v, %v", got, ok)
	}
	if n := l.count(); n != 2 {
		t.Fatalf("lister called %d times, want 2 (Refresh and one miss)", n)
	}
	// Now a hit: no further refresh.
	if _, ok := a.Authenticate(ctx, secret); !ok {
		t.Fatal("second lookup missed")
	}
	if n := l.count(); n != 2 {
		t.Fatalf("a hit called the lister: %d calls", n)
	}
}

// Without any Refresh, the first miss loads the tokens.
func TestFirstMissLoads(t *testing.T) {
	tok, secret := token("t", model.TokenSDK)
	l := &lister{tokens: []model.Token{tok}}
	a := auth.New(l, hclog.NewNullLogger())
	a.MissRefresh = time.Hour
	if _, ok := a.Authenticate(context.Background(), secret); !ok {
		t.Fatal("the first lookup did not load the tokens")
	}
	if n := l.count(); n != 1 {
		t.Fatalf("lister called %d times, want 1", n)
	}
}

// Unknown secrets cause at most one refresh per MissRefresh window.
func TestMissRefreshIsRateLimited(t *testing.T) {
	ctx := context.Background()
	l := &lister{}
	a := newAuth(t, l) // MissRefresh = 1h
	tok, secret := token("new", model.TokenSDK)
	l.add(tok)
	for i := range 1000 {
		if _, ok := a.Authenticate(ctx, fmt.Sprintf("prog_unknown-%d", i)); ok {
			t.Fatal("an unknown secret authenticated")
		}
	}
	if _, ok := a.Authenticate(ctx, secret); ok {
		t.Fatal("a miss refreshed within the MissRefresh window")
	}
	if n := l.count(); n != 1 {
		t.Fatalf("lister called %d times for 1001 misses inside the window, want only the first Refresh", n)
	}
	// Once the window has passed (here: shrunk to nothing), one miss
	// refreshes and finds the new token.
	a.MissRefresh = 0
	if _, ok := a.Authenticate(ctx, secret); !ok {
		t.Fatal("after the window a miss did not refresh")
	}
	if n := l.count(); n != 2 {
		t.Fatalf("lister called %d times, want 2", n)
	}
}

// The same under concurrent misses, as a flood of bad tokens would arrive.
func TestMissRefreshBoundedUnderConcurrency(t *testing.T) {
	l := &lister{}
	a := auth.New(l, hclog.NewNullLogger())
	a.MissRefresh = time.Hour // no Refresh first: the first miss may refresh, no other
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				if _, ok := a.Authenticate(context.Background(), fmt.Sprintf("prog_unknown-%d-%d", g, i)); ok {
					t.Error("an unknown secret authenticated")
					return
				}
			}
		})
	}
	wg.Wait()
	if n := l.count(); n != 1 {
		t.Fatalf("lister called %d times for 3200 concurrent misses, want 1", n)
	}
}

// While the store fails, misses still query it at most once per window: an
// outage must not turn every unknown token into a store query.
func TestMissRefreshBoundedWhileStoreFails(t *testing.T) {
	l := &lister{err: errors.New("database is down")}
	a := auth.New(l, hclog.NewNullLogger())
	a.MissRefresh = time.Hour
	if err := a.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh hid the lister's error")
	}
	for i := range 100 {
		if _, ok := a.Authenticate(context.Background(), fmt.Sprintf("prog_unknown-%d", i)); ok {
			t.Fatal("an unknown secret authenticated")
		}
	}
	if n := l.count(); n > 2 {
		t.Fatalf("lister called %d times for 100 misses in one window while failing, want at most 2", n)
	}
}

func TestForget(t *testing.T) {
	ctx := context.Background()
	gone, goneSecret := token("gone", model.TokenAdmin)
	kept, keptSecret := token("kept", model.TokenAdmin)
	l := &lister{tokens: []model.Token{gone, kept}}
	a := newAuth(t, l)
	if _, ok := a.Authenticate(ctx, goneSecret); !ok {
		t.Fatal("token not found before Forget")
	}
	a.Forget(gone.ID)
	if _, ok := a.Authenticate(ctx, goneSecret); ok {
		t.Fatal("a forgotten token still authenticates")
	}
	if _, ok := a.Authenticate(ctx, keptSecret); !ok {
		t.Fatal("Forget dropped another token")
	}
	a.Forget("tok_unknown") // no-op
	if _, ok := a.Authenticate(ctx, keptSecret); !ok {
		t.Fatal("Forget of an unknown id dropped a token")
	}
}

// Run refreshes in the background: with misses unable to refresh (1h
// window), a revocation and a new token both take effect.
func TestRunRefreshesInBackground(t *testing.T) {
	ctx := context.Background()
	old, oldSecret := token("old", model.TokenWrite)
	l := &lister{tokens: []model.Token{old}}
	a := newAuth(t, l)
	a.RefreshInterval = 10 * time.Millisecond

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Run(runCtx) }()
	defer func() { stop(); <-done }()

	l.revoke(old.ID)
	eventually(t, "the background refresh to drop a revoked token", func() bool {
		_, ok := a.Authenticate(ctx, oldSecret)
		return !ok
	})
	tok, secret := token("new", model.TokenSDK)
	l.add(tok)
	eventually(t, "the background refresh to load a new token", func() bool {
		_, ok := a.Authenticate(ctx, secret)
		return ok
	})

	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// A failed refresh returns the error and keeps the last good copy; Run keeps
// trying after one.
func TestRefreshErrorKeepsLastCopy(t *testing.T) {
	ctx := context.Background()
	tok, secret := token("t", model.TokenAdmin)
	l := &lister{tokens: []model.Token{tok}}
	a := newAuth(t, l)
	boom := errors.New("database is down")
	l.setErr(boom)
	if err := a.Refresh(ctx); !errors.Is(err, boom) {
		t.Fatalf("Refresh = %v, want the lister's error", err)
	}
	if got, ok := a.Authenticate(ctx, secret); !ok || got.ID != tok.ID {
		t.Fatal("a failed Refresh dropped the last good copy")
	}

	a.RefreshInterval = 5 * time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Run(runCtx) }()
	before := l.count()
	eventually(t, "Run to keep refreshing through errors", func() bool { return l.count() >= before+3 })
	if _, ok := a.Authenticate(ctx, secret); !ok {
		t.Fatal("failed background refreshes dropped the last good copy")
	}
	// When the store is back, the next refresh applies.
	l.revoke(tok.ID)
	l.setErr(nil)
	eventually(t, "recovery after the store returns", func() bool {
		_, ok := a.Authenticate(ctx, secret)
		return !ok
	})
	stop()
	<-done
}

func TestAllows(t *testing.T) {
	const (
		admin = model.TokenAdmin
		write = model.TokenWrite
		sdk   = model.TokenSDK
		bogus = model.TokenKind("root")
		empty = model.TokenKind("")
	)
	tests := []struct {
		has, need model.TokenKind
		want      bool
	}{
		{admin, admin, true}, {admin, write, true}, {admin, sdk, true},
		{write, admin, false}, {write, write, true}, {write, sdk, true},
		{sdk, admin, false}, {sdk, write, false}, {sdk, sdk, true},
		// A token of an unknown kind may do nothing.
		{bogus, admin, false}, {bogus, write, false}, {bogus, sdk, false},
		{empty, sdk, false}, {bogus, bogus, false}, {empty, empty, false}, {bogus, empty, false},
		// A route that needs an unknown kind is refused to everyone rather
		// than open to everyone.
		{admin, bogus, false}, {write, bogus, false}, {sdk, bogus, false},
		// Shadow tokens stand apart: shadow routes only, which admin and
		// write tokens may use too, and sdk tokens may not.
		{model.TokenShadow, model.TokenShadow, true}, {admin, model.TokenShadow, true}, {write, model.TokenShadow, true},
		{sdk, model.TokenShadow, false}, {model.TokenShadow, sdk, false}, {model.TokenShadow, write, false}, {model.TokenShadow, admin, false},
	}
	for _, tt := range tests {
		if got := auth.Allows(tt.has, tt.need); got != tt.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tt.has, tt.need, got, tt.want)
		}
	}
}

// A stored row whose hash is not 64 hex digits matches no secret and does
// not stop the others from loading.
func TestMalformedHashIgnored(t *testing.T) {
	good, secret := token("good", model.TokenSDK)
	l := &lister{tokens: []model.Token{
		{ID: "tok_short", Kind: model.TokenAdmin, Hash: "abc"},
		{ID: "tok_nothex", Kind: model.TokenAdmin, Hash: strings.Repeat("zz", 32)},
		{ID: "tok_empty", Kind: model.TokenAdmin},
		good,
	}}
	a := newAuth(t, l)
	if got, ok := a.Authenticate(context.Background(), secret); !ok || got.ID != good.ID {
		t.Fatalf("the well-formed token beside malformed ones: %+v, %v", got, ok)
	}
	for _, s := range []string{"", "abc", strings.Repeat("zz", 32)} {
		if got, ok := a.Authenticate(context.Background(), s); ok {
			t.Fatalf("secret %q matched malformed row %s", s, got.ID)
		}
	}
}
