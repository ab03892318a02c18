package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// These tests set environment variables with t.Setenv, so none of them
// runs in parallel.

func TestMain(m *testing.M) { testenv.Main(m) }

// wait bounds how long a test waits for the daemon to start or stop; it is
// a guard against hanging, not a measurement.
const wait = 2 * time.Minute

// secretRE matches a token secret as model.NewTokenSecret makes them.
var secretRE = regexp.MustCompile(`prog_[A-Za-z0-9_-]{43}`)

// syncBuffer is a bytes.Buffer that the daemon may write while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cleanEnv unsets every variable the command reads, so that the machine's
// environment cannot leak into a test, and keeps the default data
// directory inside the test's temporary directory.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"PROGRESSIVE_LISTEN", "PROGRESSIVE_DATA_DIR", "PROGRESSIVE_DATABASE_URL", "PROGRESSIVE_TLS_CERT", "PROGRESSIVE_TLS_KEY",
		"PROGRESSIVE_BOOTSTRAP_TOKEN", "PROGRESSIVE_SHUTDOWN_TIMEOUT", "PROGRESSIVE_LEASE_TTL", "PROGRESSIVE_MAX_BODY_BYTES",
		"PROGRESSIVE_LOG_LEVEL", "PROGRESSIVE_LOG_FORMAT", "PROGRESSIVE_ENDPOINT", "PROGRESSIVE_TOKEN",
	} {
		t.Setenv(k, "") // restores the old value after the test
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir())
}

// daemon is a running `progressive serve`.
type daemon struct {
	t        *testing.T
	name     string
	addr     string
	endpoint string
	stdout   *syncBuffer
	stderr   *syncBuffer
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// startServe runs `progressive serve --listen 127.0.0.1:0 args...` until
// it answers requests.
func startServe(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := startCommand(t, "serve", &serveReady, args...)
	d.endpoint = "http://" + d.addr
	return d
}

// startCommand runs `progressive <name> --listen 127.0.0.1:0 args...` until
// it reports its address through *ready (the command's test hook), and
// stops it when the test ends.
func startCommand(t *testing.T, name string, ready *chan<- string, args ...string) *daemon {
	t.Helper()
	addrs := make(chan string, 1)
	*ready = addrs
	t.Cleanup(func() { *ready = nil })
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		d.done <- run(ctx, append([]string{name, "--listen", "127.0.0.1:0"}, args...), d.stdout, d.stderr)
	}()
	select {
	case d.addr = <-addrs:
	case err := <-d.done:
		cancel()
		t.Fatalf("%s ended before it was ready: %v\nstderr:\n%s", name, err, d.stderr)
	case <-time.After(wait):
		cancel()
		t.Fatalf("%s did not become ready\nstderr:\n%s", name, d.stderr)
	}
	t.Cleanup(func() { _ = d.stop() })
	return d
}

// stop cancels the command's context (as SIGTERM does) and returns what
// run returned.
func (d *daemon) stop() error {
	d.t.Helper()
	d.stopOnce.Do(func() {
		d.cancel()
		select {
		case d.stopErr = <-d.done:
		case <-time.After(wait):
			d.stopErr = errors.New(d.name + " did not stop after its context was cancelled")
		}
	})
	return d.stopErr
}

// secret returns the one bootstrap token printed on stdout.
func (d *daemon) secret() string {
	d.t.Helper()
	out := d.stdout.String()
	found := secretRE.FindAllString(out, -1)
	slices.Sort(found)
	found = slices.Compact(found)
	if len(found) != 1 {
		d.t.Fatalf("stdout holds %d distinct tokens, want 1:\n%s", len(found), out)
	}
	return found[0]
}

func (d *daemon) client(token string) *client.Client {
	d.t.Helper()
	c, err := client.New(d.endpoint, token)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// cli runs one CLI command against the daemon with PROGRESSIVE_ENDPOINT and
// PROGRESSIVE_TOKEN as set by the test.
func cli(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// refused runs a serve that must fail before it serves, and returns its error.
func refused(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ready := make(chan string, 1)
	serveReady = ready
	defer func() { serveReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), &out, &errOut) }()
	select {
	case err = <-done:
	case addr := <-ready:
		cancel()
		<-done
		t.Fatalf("serve %q started on %s; want it refused", args, addr)
	case <-time.After(wait):
		cancel()
		t.Fatalf("serve %q neither failed nor started", args)
	}
	if err == nil {
		t.Fatalf("serve %q: no error", args)
	}
	return out.String(), errOut.String(), err
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

func wantEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %q; want nothing created", dir, names)
	}
}

func TestServeFirstStartAndRestart(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	t.Setenv("PROGRESSIVE_DATA_DIR", dataDir)

	d := startServe(t)
	secret := d.secret()
	out := d.stdout.String()
	if strings.Count(out, "First start") != 1 || !strings.Contains(out, "shown only this once") {
		t.Errorf("first start's stdout:\n%s", out)
	}
	wantContains(t, "stdout", out, "PROGRESSIVE_TOKEN="+secret+" progressive token create --kind write")
	if strings.Contains(d.stderr.String(), secret) {
		t.Error("the bootstrap token is in the log")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "progressive.db")); err != nil {
		t.Errorf("no database in the data directory: %v", err)
	}

	admin := d.client(secret)
	who, err := admin.WhoAmI(ctx)
	if err != nil || who.Name != "bootstrap" || who.Kind != model.TokenAdmin {
		t.Fatalf("WhoAmI with the bootstrap token: %+v, %v", who, err)
	}
	info, err := admin.Engine(ctx)
	if err != nil || info.Backend != "sqlite" || info.Version != "dev" || !info.Healthy {
		t.Fatalf("Engine: %+v, %v", info, err)
	}
	created, err := admin.CreateProject(ctx, model.ProjectSpec{Name: "team-a", Description: "Team A"}, client.NewIdempotencyKey())
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}

	if err := d.stop(); err != nil {
		t.Fatalf("serve after cancel: %v\nstderr:\n%s", err, d.stderr)
	}
	wantContains(t, "log", d.stderr.String(), "shutting down", "stopped")
	gone := d.client(secret)
	gone.Retries = 0
	var te *client.TransportError
	if _, err := gone.Engine(ctx); !errors.As(err, &te) {
		t.Errorf("after shutdown the engine still answers: %v", err)
	}

	// A second start on the same data keeps it and prints no token.
	d2 := startServe(t)
	if out := d2.stdout.String(); out != "" {
		t.Errorf("second start printed:\n%s", out)
	}
	admin = d2.client(secret)
	got, err := admin.GetProject(ctx, "team-a")
	if err != nil || got != created {
		t.Fatalf("project after restart: %+v, %v; want %+v", got, err, created)
	}
	tokens, err := admin.ListTokens(ctx)
	if err != nil || len(tokens) != 1 || tokens[0].Name != "bootstrap" {
		t.Fatalf("tokens after restart: %+v, %v; want only the bootstrap token", tokens, err)
	}
	page, err := admin.ListEvents(ctx, client.EventQuery{ObjectName: "team-a"})
	if err != nil || len(page.Events) != 1 || page.Events[0].Actor != "bootstrap" || page.Events[0].Action != model.ActionCreate {
		t.Fatalf("events after restart: %+v, %v", page, err)
	}
	if err := d2.stop(); err != nil {
		t.Fatalf("second serve after cancel: %v", err)
	}
}

func TestServeBootstrapTokenFromEnv(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
	const secret = "operator-chosen-token-0123456789-abcdef"
	t.Setenv("PROGRESSIVE_BOOTSTRAP_TOKEN", secret)

	d := startServe(t)
	if out := d.stdout.String(); out != "" {
		t.Errorf("stdout %q: a token the operator chose is not printed", out)
	}
	if strings.Contains(d.stderr.String(), secret) {
		t.Error("the bootstrap token is in the log")
	}
	who, err := d.client(secret).WhoAmI(ctx)
	if err != nil || who.Name != "bootstrap" || who.Kind != model.TokenAdmin {
		t.Fatalf("WhoAmI with PROGRESSIVE_BOOTSTRAP_TOKEN: %+v, %v", who, err)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	// Once tokens exist, another bootstrap token is ignored.
	const other = "another-operator-token-0123456789-abcdef"
	t.Setenv("PROGRESSIVE_BOOTSTRAP_TOKEN", other)
	d = startServe(t)
	if _, err := d.client(other).WhoAmI(ctx); !client.IsType(err, problem.TypeUnauthenticated) {
		t.Errorf("a later PROGRESSIVE_BOOTSTRAP_TOKEN was accepted: %v", err)
	}
	if _, err := d.client(secret).WhoAmI(ctx); err != nil {
		t.Errorf("the first bootstrap token stopped working: %v", err)
	}
	wantContains(t, "log", d.stderr.String(), "PROGRESSIVE_BOOTSTRAP_TOKEN is ignored")
}

func TestServeRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		name     string
		env      map[string]string
		args     []string
		want     []string
		hidden   string // must not appear in the error
		usageErr bool
	}{
		{name: "short bootstrap token", env: map[string]string{"PROGRESSIVE_BOOTSTRAP_TOKEN": "too-short"},
			want: []string{"PROGRESSIVE_BOOTSTRAP_TOKEN", "9 characters", "at least 32"}, hidden: "too-short"},
		{name: "bootstrap token with spaces", env: map[string]string{"PROGRESSIVE_BOOTSTRAP_TOKEN": "a token with spaces that is long enough"},
			want: []string{"PROGRESSIVE_BOOTSTRAP_TOKEN", "without spaces"}},
		{name: "shutdown timeout", env: map[string]string{"PROGRESSIVE_SHUTDOWN_TIMEOUT": "soon"},
			want: []string{"PROGRESSIVE_SHUTDOWN_TIMEOUT", `"soon"`, "30s"}},
		{name: "lease TTL", env: map[string]string{"PROGRESSIVE_LEASE_TTL": "fifteen"},
			want: []string{"PROGRESSIVE_LEASE_TTL", "duration"}},
		{name: "short lease TTL", args: []string{"--lease-ttl", "10ms"},
			want: []string{"lease TTL", "at least 1s"}},
		{name: "max body bytes", env: map[string]string{"PROGRESSIVE_MAX_BODY_BYTES": "-1"},
			want: []string{"PROGRESSIVE_MAX_BODY_BYTES", "positive whole number"}},
		{name: "log level", env: map[string]string{"PROGRESSIVE_LOG_LEVEL": "loud"},
			want: []string{`"loud"`, "trace, debug, info, warn, error"}},
		{name: "log format", args: []string{"--log-format", "xml"},
			want: []string{`"xml"`, "text or json"}},
		{name: "mysql database", env: map[string]string{"PROGRESSIVE_DATABASE_URL": "mysql://app:hunter2@db:3306/progressive"},
			want: []string{"mysql://", "not supported", "postgres://", "sqlite:"}, hidden: "hunter2"},
		{name: "sqlite URL without a file", args: []string{"--database-url", "sqlite:"},
			want: []string{"names no file", "sqlite:/path"}},
		{name: "TLS certificate without key", env: map[string]string{"PROGRESSIVE_TLS_CERT": "/nonexistent/cert.pem"},
			want: []string{"--tls-cert", "--tls-key"}},
		{name: "arguments", args: []string{"now"},
			want: []string{"no arguments", "now"}},
		{name: "unknown flag", args: []string{"--port", "80"}, usageErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cleanEnv(t)
			dataDir := t.TempDir()
			t.Setenv("PROGRESSIVE_DATA_DIR", dataDir)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			stdout, _, err := refused(t, append([]string{"--listen", "127.0.0.1:0"}, c.args...)...)
			if c.usageErr != errors.Is(err, errUsage) {
				t.Errorf("error %v: errUsage %v, want %v", err, errors.Is(err, errUsage), c.usageErr)
			}
			wantContains(t, "error", err.Error(), c.want...)
			if c.hidden != "" && strings.Contains(err.Error(), c.hidden) {
				t.Errorf("error %q shows %q", err, c.hidden)
			}
			if stdout != "" {
				t.Errorf("stdout %q; want nothing (no token made)", stdout)
			}
			wantEmptyDir(t, dataDir)
		})
	}
}

func TestServeListenInUse(t *testing.T) {
	cleanEnv(t)
	t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("PROGRESSIVE_LISTEN", ln.Addr().String())
	stdout, _, err := refused(t)
	wantContains(t, "error", err.Error(), ln.Addr().String(), "PROGRESSIVE_LISTEN")
	if stdout != "" {
		t.Fatalf("a start that could not listen printed:\n%s", stdout)
	}
	// The failed start did not use up the first-start token: the next
	// start that can serve prints it.
	d := startServe(t)
	if _, err := d.client(d.secret()).WhoAmI(context.Background()); err != nil {
		t.Fatalf("the token printed after a failed start does not work: %v", err)
	}
}

func TestServeDatabaseURLs(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		cleanEnv(t)
		dataDir, dbDir := t.TempDir(), t.TempDir()
		t.Setenv("PROGRESSIVE_DATA_DIR", dataDir)
		t.Setenv("PROGRESSIVE_DATABASE_URL", "sqlite:"+filepath.Join(dbDir, "engine.db"))
		d := startServe(t)
		if _, err := d.client(d.secret()).WhoAmI(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := d.stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dbDir, "engine.db")); err != nil {
			t.Errorf("the database is not where the URL says: %v", err)
		}
		// Only the flag snapshot lives in the data directory then.
		entries, err := os.ReadDir(dataDir)
		if err != nil || len(entries) != 1 || entries[0].Name() != "snapshot.json" {
			t.Errorf("the data directory holds %v (%v); want only snapshot.json", entries, err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		cleanEnv(t)
		ctx := context.Background()
		t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
		t.Setenv("PROGRESSIVE_DATABASE_URL", testenv.PostgresDSN(t))
		d := startServe(t)
		secret := d.secret()
		c := d.client(secret)
		info, err := c.Engine(ctx)
		if err != nil || info.Backend != "postgres" {
			t.Fatalf("Engine: %+v, %v", info, err)
		}
		if _, err := c.CreateProject(ctx, model.ProjectSpec{Name: "team-pg"}, client.NewIdempotencyKey()); err != nil {
			t.Fatal(err)
		}
		if err := d.stop(); err != nil {
			t.Fatal(err)
		}
		d = startServe(t)
		if out := d.stdout.String(); out != "" {
			t.Errorf("second start printed %q", out)
		}
		if _, err := d.client(secret).GetProject(ctx, "team-pg"); err != nil {
			t.Errorf("project after restart: %v", err)
		}
	})
}

func TestTokenCommands(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
	d := startServe(t)
	admin := d.secret()
	t.Setenv("PROGRESSIVE_ENDPOINT", d.endpoint)
	t.Setenv("PROGRESSIVE_TOKEN", admin)
	activeTokens := func() []model.Token {
		t.Helper()
		all, err := d.client(admin).ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []model.Token
		for _, tok := range all {
			if tok.RevokedAt == nil {
				out = append(out, tok)
			}
		}
		return out
	}

	// create prints the secret alone on stdout.
	stdout, stderr, err := cli(t, "token", "create", "--kind", "write", "--name", "ci")
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, stderr)
	}
	ci := strings.TrimSuffix(stdout, "\n")
	if !secretRE.MatchString(ci) || secretRE.FindString(ci) != ci || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("token create stdout %q; want the secret alone on one line", stdout)
	}
	wantContains(t, "stderr", stderr, `write token "ci"`, "shown only once")
	who, err := d.client(ci).WhoAmI(ctx)
	if err != nil || who.Name != "ci" || who.Kind != model.TokenWrite {
		t.Fatalf("WhoAmI with the new token: %+v, %v", who, err)
	}

	// --json prints the token and its secret.
	stdout, _, err = cli(t, "token", "create", "--json", "--kind", "sdk", "--name", "app")
	var created wire.CreatedToken
	if err != nil || json.Unmarshal([]byte(stdout), &created) != nil || created.Token.Name != "app" || created.Token.Kind != model.TokenSDK || !secretRE.MatchString(created.Secret) {
		t.Fatalf("token create --json: %q, %v", stdout, err)
	}

	// A name in use is refused by the engine.
	_, _, err = cli(t, "token", "create", "--kind", "sdk", "--name", "ci")
	if !client.IsType(err, problem.TypeExists) || !strings.Contains(err.Error(), `"ci"`) {
		t.Errorf("duplicate name: %v; want already-exists naming the token", err)
	}

	// list shows names and kinds, never secrets.
	stdout, _, err = cli(t, "token", "list")
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "token list", stdout, "NAME", "KIND", "bootstrap", "ci", "write", "app", "sdk")
	if strings.Contains(stdout, ci) || strings.Contains(stdout, admin) {
		t.Error("token list shows a secret")
	}
	stdout, _, err = cli(t, "token", "list", "--json")
	var listed []model.Token
	if err != nil || json.Unmarshal([]byte(stdout), &listed) != nil || len(listed) != 3 {
		t.Fatalf("token list --json: %q, %v", stdout, err)
	}

	// revoke by name.
	stdout, _, err = cli(t, "token", "revoke", "ci")
	if err != nil {
		t.Fatalf("token revoke ci: %v", err)
	}
	wantContains(t, "token revoke", stdout, `Revoked write token "ci"`)
	if _, err := d.client(ci).WhoAmI(ctx); !client.IsType(err, problem.TypeUnauthenticated) {
		t.Errorf("the revoked token still works: %v", err)
	}
	if slices.ContainsFunc(activeTokens(), func(tok model.Token) bool { return tok.Name == "ci" }) {
		t.Error("ci is still active")
	}
	stdout, _, _ = cli(t, "token", "list")
	if strings.Contains(stdout, "ci ") {
		t.Errorf("token list shows the revoked token:\n%s", stdout)
	}
	stdout, _, _ = cli(t, "token", "list", "--all")
	wantContains(t, "token list --all", stdout, "ci ")
	// revoke by ID.
	stdout, _, err = cli(t, "token", "revoke", created.Token.ID)
	if err != nil || !strings.Contains(stdout, created.Token.ID) {
		t.Fatalf("token revoke by ID: %q, %v", stdout, err)
	}

	// Bad input is refused with a message that says what to do, and
	// changes nothing.
	before := activeTokens()
	for _, c := range []struct {
		args  []string
		want  []string
		usage bool
	}{
		{args: []string{"token", "revoke", "ci"}, want: []string{`"ci"`, "token list"}},
		{args: []string{"token", "revoke"}, want: []string{"one argument"}},
		{args: []string{"token", "create", "--kind", "root", "--name", "x"}, want: []string{"/kind", `"root"`, "admin", "write", "sdk"}},
		{args: []string{"token", "create", "--kind", "sdk"}, want: []string{"/name", "required"}},
		{args: []string{"token", "create", "--kind", "sdk", "--name", "Bad Name"}, want: []string{"/name", "lower-case"}},
		{args: []string{"token", "rotate"}, want: []string{`"rotate"`, "create, list or revoke"}},
		{args: []string{"token", "create", "--bogus"}, usage: true},
		{args: []string{"token"}, usage: true},
	} {
		_, _, err := cli(t, c.args...)
		if err == nil {
			t.Errorf("%q: no error", c.args)
			continue
		}
		if errors.Is(err, errUsage) != c.usage {
			t.Errorf("%q: %v; errUsage %v, want %v", c.args, err, errors.Is(err, errUsage), c.usage)
		}
		wantContains(t, "error", err.Error(), c.want...)
	}

	// A write token may not manage tokens.
	_, _, err = cli(t, "token", "list", "--token", created.Secret)
	if !client.IsType(err, problem.TypeUnauthenticated) {
		t.Errorf("token list with a revoked sdk token: %v", err)
	}
	stdout, _, err = cli(t, "token", "create", "--kind", "write", "--name", "ci2")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = cli(t, "token", "list", "--token", strings.TrimSpace(stdout))
	var p *problem.Problem
	if !errors.As(err, &p) || p.Type != problem.TypeForbidden || p.RequiredKind != "admin" {
		t.Errorf("token list with a write token: %v; want forbidden", err)
	}
	if got := activeTokens(); len(got) != len(before)+1 {
		t.Errorf("active tokens %d, want %d", len(got), len(before)+1)
	}

	// Without a token the CLI says where to get one.
	t.Setenv("PROGRESSIVE_TOKEN", "")
	for _, args := range [][]string{{"token", "list"}, {"token", "create", "--kind", "sdk", "--name", "x"}, {"token", "revoke", "x"}, {"events"}} {
		_, _, err := cli(t, args...)
		if err == nil {
			t.Errorf("%q without a token: no error", args)
			continue
		}
		wantContains(t, "error", err.Error(), "PROGRESSIVE_TOKEN", "--token")
	}

	// A bad endpoint is named.
	t.Setenv("PROGRESSIVE_TOKEN", admin)
	t.Setenv("PROGRESSIVE_ENDPOINT", "localhost:8181")
	_, _, err = cli(t, "token", "list")
	if err == nil || !strings.Contains(err.Error(), "localhost:8181") || !strings.Contains(err.Error(), "http://") {
		t.Errorf("bad endpoint: %v", err)
	}
}

func TestEventsCommand(t *testing.T) {
	cleanEnv(t)
	ctx := context.Background()
	t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
	d := startServe(t)
	admin := d.secret()
	t.Setenv("PROGRESSIVE_ENDPOINT", d.endpoint)
	t.Setenv("PROGRESSIVE_TOKEN", admin)
	if _, err := d.client(admin).CreateProject(ctx, model.ProjectSpec{Name: "team-a"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, "token", "create", "--kind", "write", "--name", "ci"); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, err := cli(t, "events")
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// Newest first: the ci token, team-a, the bootstrap token.
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("events printed:\n%s", stdout)
	}
	wantContains(t, "line 1", lines[1], "bootstrap", "create", "token/ci")
	wantContains(t, "line 2", lines[2], "bootstrap", "create", "team-a", "project/team-a")
	wantContains(t, "line 3", lines[3], "engine", "create", "token/bootstrap", "first start")
	if stderr != "" {
		t.Errorf("a complete page printed %q", stderr)
	}

	stdout, _, err = cli(t, "events", "--project", "team-a", "--since", "1h")
	if err != nil || strings.Count(stdout, "\n") != 2 || !strings.Contains(stdout, "project/team-a") {
		t.Errorf("events --project team-a:\n%s%v", stdout, err)
	}
	stdout, _, err = cli(t, "events", "--object-kind", "token", "--actor", "engine")
	if err != nil || strings.Count(stdout, "\n") != 2 || !strings.Contains(stdout, "token/bootstrap") {
		t.Errorf("events --object-kind token --actor engine:\n%s%v", stdout, err)
	}

	// Paging: the cursor is printed on stderr and fetches the next page.
	stdout, stderr, err = cli(t, "events", "--limit", "1")
	if err != nil || !strings.Contains(stdout, "token/ci") {
		t.Fatalf("events --limit 1: %q, %v", stdout, err)
	}
	m := regexp.MustCompile(`--cursor (\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no cursor on stderr: %q", stderr)
	}
	stdout, _, err = cli(t, "events", "--limit", "1", "--cursor", m[1])
	if err != nil || !strings.Contains(stdout, "project/team-a") {
		t.Errorf("events --cursor %s: %q, %v", m[1], stdout, err)
	}

	stdout, _, err = cli(t, "events", "--json", "--object", "team-a")
	var page wire.EventList
	if err != nil || json.Unmarshal([]byte(stdout), &page) != nil || len(page.Events) != 1 || page.Events[0].Actor != "bootstrap" {
		t.Errorf("events --json: %q, %v", stdout, err)
	}

	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"events", "--since", "yesterday"}, []string{"--since", `"yesterday"`, "RFC 3339", "24h"}},
		{[]string{"events", "--until", "tomorrow"}, []string{"--until", `"tomorrow"`}},
		{[]string{"events", "--limit", "0"}, []string{"--limit", "1 to 1000"}},
		{[]string{"events", "--limit", "-5"}, []string{"--limit", "1 to 1000"}},
	} {
		_, _, err := cli(t, c.args...)
		if err == nil {
			t.Errorf("%q: no error", c.args)
			continue
		}
		wantContains(t, "error", err.Error(), c.want...)
	}
}

func TestUsageAndVersion(t *testing.T) {
	cleanEnv(t)
	stdout, stderr, err := cli(t)
	if !errors.Is(err, errUsage) || !strings.Contains(stderr, "Usage:") || stdout != "" {
		t.Errorf("no command: %v, stderr %q", err, stderr)
	}
	stdout, stderr, err = cli(t, "deploy")
	if !errors.Is(err, errUsage) || !strings.Contains(stderr, `unknown command "deploy"`) || !strings.Contains(stderr, "progressive serve") || stdout != "" {
		t.Errorf("unknown command: %v, stderr %q", err, stderr)
	}
	stdout, _, err = cli(t, "help")
	if err != nil || !strings.Contains(stdout, "progressive token create") {
		t.Errorf("help: %q, %v", stdout, err)
	}
	_, stderr, err = cli(t, "serve", "-h")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "PROGRESSIVE_DATA_DIR") {
		t.Errorf("serve -h: %v, stderr %q", err, stderr)
	}
	for _, arg := range []string{"version", "--version"} {
		stdout, _, err = cli(t, arg)
		if err != nil || stdout != "progressive dev\n" {
			t.Errorf("%s: %q, %v; want \"progressive dev\"", arg, stdout, err)
		}
	}
}
