package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/snapshot"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// wait bounds how long a test waits for the engine to start or stop; it is
// a guard against hanging, not a measurement.
const wait = 2 * time.Minute

// running is an engine.Run in progress.
type running struct {
	t      *testing.T
	url    string
	cancel context.CancelFunc
	done   chan error
}

// start runs the engine until it serves, or fails the test.
func start(t *testing.T, cfg engine.Config) *running {
	t.Helper()
	ready := make(chan string, 1)
	cfg.Ready = ready
	cfg.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- engine.Run(ctx, cfg) }()
	select {
	case addr := <-ready:
		r.url = "http://" + addr
	case err := <-r.done:
		cancel()
		t.Fatalf("the engine ended before it served: %v", err)
	case <-time.After(wait):
		cancel()
		t.Fatal("the engine did not start serving")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(wait):
		}
	})
	return r
}

// stop cancels the engine and wants Run to return nil.
func (r *running) stop() {
	r.t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Fatalf("Run returned %v after its context ended; want nil", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(wait):
		r.t.Fatal("Run did not return after its context ended")
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *running) do(method, path, token, body string, headers ...string) response {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func want(t *testing.T, what string, r response, status int, out any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s: decode %s: %v", what, r.body, err)
		}
	}
}

type flag struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Variant   string          `json:"variant"`
	Reason    string          `json:"reason"`
	Metadata  map[string]any  `json:"metadata"`
	ErrorCode string          `json:"errorCode"`
}

// closedPort returns a loopback port that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func unreachable(t *testing.T) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=1", closedPort(t))
}

// runFails runs the engine, which must return an error before it serves.
func runFails(t *testing.T, cfg engine.Config) error {
	t.Helper()
	ready := make(chan string, 1)
	cfg.Ready = ready
	cfg.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx, cfg) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil; want an error")
		}
		return err
	case addr := <-ready:
		cancel()
		<-done
		t.Fatalf("the engine served on %s; want it to fail", addr)
	case <-time.After(wait):
		t.Fatal("Run neither failed nor served")
	}
	return nil
}

const toggleBody = `{"key":"new-checkout","variants":{"on":true,"off":false},"default_variant":"off",
	"rule":[{"name":"employees","variant":"on","condition":[{"attribute":"email","operator":"ends_with","values":["@example.com"]}]}]}`

// TestEvaluationOnlyMode starts an engine on PostgreSQL, then restarts it
// while the database cannot be reached: it serves flag evaluations from the
// disk snapshot, and nothing else.
func TestEvaluationOnlyMode(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	dataDir := t.TempDir()
	bootstrap := model.NewTokenSecret()

	// First run, with the database.
	e := start(t, engine.Config{DatabaseURL: dsn, DataDir: dataDir, BootstrapToken: bootstrap})
	want(t, "readyz", e.do("GET", "/readyz", "", ""), http.StatusOK, nil)
	want(t, "create toggle", e.do("POST", "/v1/projects/default/toggles", bootstrap, toggleBody), http.StatusCreated, nil)
	var info wire.EngineInfo
	want(t, "engine info", e.do("GET", "/v1/engine", bootstrap, ""), http.StatusOK, &info)
	// Tokens are created after the last flag change, and do not move the
	// revision; the disk snapshot must carry them all the same.
	var app, revoked wire.CreatedToken
	want(t, "create sdk token", e.do("POST", "/v1/tokens", bootstrap, `{"name":"app","kind":"sdk"}`), http.StatusCreated, &app)
	want(t, "create another sdk token", e.do("POST", "/v1/tokens", bootstrap, `{"name":"old-app","kind":"sdk"}`), http.StatusCreated, &revoked)
	want(t, "revoke it", e.do("DELETE", "/v1/tokens/"+revoked.Token.ID, bootstrap, ""), http.StatusOK, nil)
	var live flag
	want(t, "live evaluation", e.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", app.Secret, `{"context":{"email":"ann@example.com"}}`), http.StatusOK, &live)
	if string(live.Value) != "true" || live.Reason != "TARGETING_MATCH" {
		t.Fatalf("live evaluation: %+v", live)
	}
	e.stop()

	path := filepath.Join(dataDir, "snapshot.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the engine left no disk snapshot at %s: %v", path, err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the disk snapshot has mode %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file snapshot.File
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if file.Revision != info.Revision {
		t.Errorf("the disk snapshot has revision %d, want %d (the revision after the toggle was created)", file.Revision, info.Revision)
	}

	// Second run: the database is unreachable.
	down := unreachable(t)
	e = start(t, engine.Config{DatabaseURL: down, DataDir: dataDir})

	body := `{"context":{"targetingKey":"u1","email":"ann@example.com"}}`
	for name, r := range map[string]response{
		"sdk bearer":  e.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", app.Secret, body),
		"sdk api key": e.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", "", body, "X-API-Key", app.Secret),
		"admin":       e.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", bootstrap, body),
	} {
		var f flag
		want(t, name, r, http.StatusOK, &f)
		if f.Key != "new-checkout" || string(f.Value) != "true" || f.Variant != "on" || f.Reason != "TARGETING_MATCH" || f.Metadata["rule"] != "employees" || f.Metadata["version"] != float64(1) {
			t.Errorf("%s: evaluation from the disk snapshot: %+v", name, f)
		}
	}
	var f flag
	want(t, "no match", e.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", app.Secret, `{"context":{"email":"bob@elsewhere.org"}}`), http.StatusOK, &f)
	if string(f.Value) != "false" || f.Reason != "DEFAULT" {
		t.Errorf("evaluation without a rule match: %+v", f)
	}
	want(t, "unknown flag", e.do("POST", "/ofrep/v1/evaluate/flags/nope", app.Secret, body), http.StatusNotFound, &f)
	if f.ErrorCode != "FLAG_NOT_FOUND" {
		t.Errorf("unknown flag: %+v", f)
	}
	var bulk struct{ Flags []flag }
	r := e.do("POST", "/ofrep/v1/evaluate/flags", app.Secret, body)
	want(t, "bulk", r, http.StatusOK, &bulk)
	if len(bulk.Flags) != 1 || bulk.Flags[0].Key != "new-checkout" || string(bulk.Flags[0].Value) != "true" {
		t.Errorf("bulk from the disk snapshot: %+v", bulk.Flags)
	}
	if tag := r.header.Get("ETag"); tag == "" {
		t.Error("bulk from the disk snapshot has no ETag")
	} else if r := e.do("POST", "/ofrep/v1/evaluate/flags", app.Secret, body, "If-None-Match", tag); r.status != http.StatusNotModified {
		t.Errorf("bulk with its own ETag: %d, want 304", r.status)
	}

	// A revoked token, or none, does not evaluate.
	for name, tok := range map[string]string{"revoked": revoked.Secret, "none": "", "unknown": model.NewTokenSecret()} {
		if r := e.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", tok, body); r.status != http.StatusUnauthorized {
			t.Errorf("%s token: %d %s; want 401", name, r.status, r.body)
		}
	}

	// Probes: alive, not ready, and why.
	want(t, "healthz", e.do("GET", "/healthz", "", ""), http.StatusOK, nil)
	var p problem.Problem
	r = e.do("GET", "/readyz", "", "")
	want(t, "readyz", r, http.StatusServiceUnavailable, &p)
	if r.header.Get("Content-Type") != problem.ContentType || p.Type != problem.TypeUnavailable {
		t.Errorf("readyz: %s %+v", r.header.Get("Content-Type"), p)
	}
	if !strings.Contains(p.Detail, fmt.Sprintf("revision %d", file.Revision)) || !strings.Contains(p.Detail, "snapshot") {
		t.Errorf("readyz detail %q should name the snapshot and its revision %d", p.Detail, file.Revision)
	}

	// Management is not served: it needs the store.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/projects/default/toggles", ""},
		{"GET", "/v1/projects/default/toggles/new-checkout", ""},
		{"POST", "/v1/projects/default/toggles", toggleBody},
		{"GET", "/v1/projects", ""},
		{"POST", "/v1/tokens", `{"name":"x","kind":"sdk"}`},
		{"GET", "/v1/engine", ""},
		{"GET", "/metrics", ""},
	} {
		r := e.do(c.method, c.path, bootstrap, c.body)
		if r.status != http.StatusNotFound || r.header.Get("Content-Type") != problem.ContentType {
			t.Errorf("%s %s in evaluation-only mode: %d %s; want a 404 problem", c.method, c.path, r.status, r.body)
		}
	}
	e.stop()

	// Without a disk snapshot, an unreachable database is an error.
	err = runFails(t, engine.Config{DatabaseURL: down, DataDir: t.TempDir()})
	if !strings.Contains(err.Error(), "PostgreSQL") || strings.Contains(err.Error(), "snapshot") {
		t.Errorf("Run without a snapshot: %v; want the connection error", err)
	}

	// A corrupt disk snapshot is not served; the error says both.
	corrupt := t.TempDir()
	if err := os.WriteFile(filepath.Join(corrupt, "snapshot.json"), []byte(`{"revision":`), 0o600); err != nil {
		t.Fatal(err)
	}
	err = runFails(t, engine.Config{DatabaseURL: down, DataDir: corrupt})
	if !strings.Contains(err.Error(), "PostgreSQL") || !strings.Contains(err.Error(), "corrupt") || errors.Is(err, snapshot.ErrNoFile) {
		t.Errorf("Run with a corrupt snapshot: %v; want the connection error and the snapshot's", err)
	}
}
