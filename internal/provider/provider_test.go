package provider_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/api"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/provider"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var providerFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"progressive": providerserver.NewProtocol6WithError(provider.New("test")()),
}

// testEngine is a real engine (API over a SQLite store) served in-process.
type testEngine struct {
	URL    string
	Store  store.Store
	tokens map[model.TokenKind]string
}

func newTestEngine(t *testing.T) *testEngine {
	t.Helper()
	testenv.Tofu(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "progressive.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &testEngine{Store: st, tokens: map[model.TokenKind]string{}}
	for _, kind := range model.TokenKinds {
		secret := model.NewTokenSecret()
		tok := model.Token{ID: model.NewTokenID(), Name: "test-" + string(kind), Kind: kind, Hash: model.HashToken(secret), Hint: model.TokenHint(secret), CreatedAt: time.Now(), CreatedBy: "test"}
		if err := st.CreateToken(ctx, tok, model.Audit{Actor: "test", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		e.tokens[kind] = secret
	}
	authn := auth.New(st, hclog.NewNullLogger())
	if err := authn.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Store: st, Auth: authn, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// Token returns a secret of the given kind.
func (e *testEngine) Token(kind model.TokenKind) string { return e.tokens[kind] }

// Client returns an admin client of the engine, for out-of-band changes.
func (e *testEngine) Client(t *testing.T) *client.Client {
	c, err := client.New(e.URL, e.tokens[model.TokenAdmin])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requiredProviders names the provider's full address, for the steps (such
// as an import as a case's first apply) where the test framework does not
// generate it.
const requiredProviders = `
terraform {
  required_providers {
    progressive = {
      source = "registry.opentofu.org/progressive-delivery/progressive"
    }
  }
}
`

// providerConfig configures the provider for this engine with a write token.
func (e *testEngine) providerConfig() string {
	return e.providerConfigWith(e.URL, e.Token(model.TokenWrite))
}

func (e *testEngine) providerConfigWith(endpoint, token string) string {
	return fmt.Sprintf(`
provider "progressive" {
  endpoint = %q
  token    = %q
}
`, endpoint, token)
}

// newFullEngine runs the whole engine in-process (API, controller, leader
// election) over a SQLite store, with AWS pointed at moto.
func newFullEngine(t *testing.T) *testEngine {
	t.Helper()
	testenv.Tofu(t)
	testenv.Moto(t)
	admin := model.NewTokenSecret()
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	dbPath := filepath.Join(t.TempDir(), "progressive.db")
	go func() {
		done <- engine.Run(ctx, engine.Config{
			Listen: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: "sqlite:" + dbPath, BootstrapToken: admin,
			ControllerInterval: 100 * time.Millisecond, LeaseTTL: 2 * time.Second, Ready: ready,
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("engine stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("engine not ready within 60s")
	}
	e := &testEngine{URL: "http://" + addr, tokens: map[model.TokenKind]string{model.TokenAdmin: admin}}
	c := e.Client(t)
	for _, kind := range []model.TokenKind{model.TokenWrite, model.TokenSDK} {
		tok, err := c.CreateToken(context.Background(), model.TokenSpec{Name: "test-" + string(kind), Kind: kind}, client.NewIdempotencyKey())
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[kind] = tok.Secret
	}
	return e
}
