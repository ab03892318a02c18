// Package client is the typed Go client of the engine's /v1 API, used by the
// Terraform provider and the CLI.
//
// Errors are of three shapes, so that callers can tell people what to do:
// *TransportError (the engine could not be reached), *problem.Problem (the
// engine answered with an error; branch on its Type), or a context error.
// Safe requests, and creates (which always carry an Idempotency-Key), are
// retried on connection failures and 502/503/504 with backoff.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

// DefaultEndpoint is where `progressive serve` listens by default.
const DefaultEndpoint = "http://127.0.0.1:8181"

// Client talks to one engine.
type Client struct {
	base      *url.URL
	token     string
	http      *http.Client
	userAgent string
	// Retries is how many times a retryable request is retried (default 3).
	Retries int
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the engine at endpoint (http:// or https://).
func New(endpoint, token string, opts ...Option) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the endpoint %q is not an http:// or https:// URL such as %s", endpoint, DefaultEndpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, token: token, http: &http.Client{Timeout: 60 * time.Second}, userAgent: "progressive-client", Retries: 3}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Endpoint returns the engine's base URL.
func (c *Client) Endpoint() string { return c.base.String() }

// TransportError says that the engine could not be reached at all.
type TransportError struct {
	Endpoint string
	Err      error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("could not reach the Progressive engine at %s: %v", e.Endpoint, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// IsType reports whether err is a problem of the given type.
func IsType(err error, typ string) bool {
	var p *problem.Problem
	return errors.As(err, &p) && p.Type == typ
}

// NewIdempotencyKey returns a random key for one logical create.
func NewIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type request struct {
	method  string
	path    string
	query   url.Values
	body    any
	ifMatch int64
	idemKey string
	out     any
	etag    *int64
}

func (c *Client) do(ctx context.Context, rq request) error {
	var payload []byte
	if rq.body != nil {
		var err error
		if payload, err = json.Marshal(rq.body); err != nil {
			return err
		}
	}
	u := *c.base
	u.Path += rq.path
	u.RawQuery = rq.query.Encode()
	retryable := rq.method == http.MethodGet || rq.method == http.MethodPut || rq.method == http.MethodDelete || rq.idemKey != ""
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, u.String(), rq, payload)
		if err == nil || !retryable || attempt >= c.Retries || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func transient(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		return true
	}
	var p *problem.Problem
	if errors.As(err, &p) {
		return p.Status == http.StatusBadGateway || p.Status == http.StatusServiceUnavailable || p.Status == http.StatusGatewayTimeout ||
			p.Type == problem.TypeIdempotencyActive
	}
	return false
}

func (c *Client) once(ctx context.Context, u string, rq request, payload []byte) error {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.ifMatch > 0 {
		req.Header.Set("If-Match", strconv.Quote(strconv.FormatInt(rq.ifMatch, 10)))
	}
	if rq.idemKey != "" {
		req.Header.Set("Idempotency-Key", rq.idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &TransportError{Endpoint: c.base.String(), Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &TransportError{Endpoint: c.base.String(), Err: err}
	}
	if resp.StatusCode >= 400 {
		return decodeError(resp, data)
	}
	if rq.etag != nil {
		*rq.etag, _ = strconv.ParseInt(strings.Trim(strings.TrimPrefix(resp.Header.Get("ETag"), "W/"), `"`), 10, 64)
	}
	if rq.out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, rq.out); err != nil {
			return fmt.Errorf("decode the engine's answer to %s %s: %w", rq.method, rq.path, err)
		}
	}
	return nil
}

func decodeError(resp *http.Response, data []byte) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == problem.ContentType {
		var p problem.Problem
		if json.Unmarshal(data, &p) == nil && p.Status != 0 {
			return &p
		}
	}
	// Not the engine (a proxy, a load balancer, another service).
	snippet := strings.TrimSpace(string(data))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return &problem.Problem{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode,
		Detail: fmt.Sprintf("the server at %s answered HTTP %d without a Progressive error document; is this endpoint a Progressive engine? Body: %s", resp.Request.URL.Host, resp.StatusCode, snippet)}
}

// Engine reads the engine's version, backend and health.
func (c *Client) Engine(ctx context.Context) (wire.EngineInfo, error) {
	var out wire.EngineInfo
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/engine", out: &out})
	return out, err
}

// WhoAmI describes the client's own token.
func (c *Client) WhoAmI(ctx context.Context) (wire.WhoAmI, error) {
	var out wire.WhoAmI
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/token", out: &out})
	return out, err
}

// ListProjects lists every project.
func (c *Client) ListProjects(ctx context.Context) ([]model.Project, error) {
	var out wire.ProjectList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/projects", out: &out})
	return out.Projects, err
}

// GetProject reads one project.
func (c *Client) GetProject(ctx context.Context, name string) (model.Project, error) {
	var out model.Project
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/projects/" + url.PathEscape(name), out: &out})
	return out, err
}

// CreateProject creates a project. The idempotency key makes a retried call
// safe; pass NewIdempotencyKey() once per logical create.
func (c *Client) CreateProject(ctx context.Context, spec model.ProjectSpec, idemKey string) (model.Project, error) {
	var out model.Project
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/projects", body: spec, idemKey: idemKey, out: &out})
	return out, err
}

// UpdateProject changes a project if it is still at version (0: any).
func (c *Client) UpdateProject(ctx context.Context, spec model.ProjectSpec, version int64) (model.Project, error) {
	var out model.Project
	err := c.do(ctx, request{method: http.MethodPut, path: "/v1/projects/" + url.PathEscape(spec.Name), body: spec, ifMatch: version, out: &out})
	return out, err
}

// DeleteProject deletes an empty project if it is still at version (0: any).
func (c *Client) DeleteProject(ctx context.Context, name string, version int64) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/projects/" + url.PathEscape(name), ifMatch: version})
}

// CreateToken creates a token; the answer holds its secret, shown only now.
func (c *Client) CreateToken(ctx context.Context, spec model.TokenSpec, idemKey string) (wire.CreatedToken, error) {
	var out wire.CreatedToken
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/tokens", body: spec, idemKey: idemKey, out: &out})
	return out, err
}

// ListTokens lists tokens, revoked ones included.
func (c *Client) ListTokens(ctx context.Context) ([]model.Token, error) {
	var out wire.TokenList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/tokens", out: &out})
	return out.Tokens, err
}

// RevokeToken revokes a token by ID.
func (c *Client) RevokeToken(ctx context.Context, id string) (model.Token, error) {
	var out model.Token
	err := c.do(ctx, request{method: http.MethodDelete, path: "/v1/tokens/" + url.PathEscape(id), out: &out})
	return out, err
}

// EventQuery selects audit events.
type EventQuery struct {
	Project, ObjectKind, ObjectName, Actor string
	Since, Until                           time.Time
	Limit                                  int
	Cursor                                 string
}

// ListEvents reads one page of the audit log, newest first.
func (c *Client) ListEvents(ctx context.Context, q EventQuery) (wire.EventList, error) {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("project", q.Project)
	set("object_kind", q.ObjectKind)
	set("object_name", q.ObjectName)
	set("actor", q.Actor)
	set("cursor", q.Cursor)
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out wire.EventList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/events", query: v, out: &out})
	return out, err
}

func togglePath(project, key string) string {
	p := "/v1/projects/" + url.PathEscape(project) + "/toggles"
	if key != "" {
		p += "/" + url.PathEscape(key)
	}
	return p
}

// ListToggles lists a project's toggles.
func (c *Client) ListToggles(ctx context.Context, project string) ([]wire.Toggle, error) {
	var out wire.ToggleList
	err := c.do(ctx, request{method: http.MethodGet, path: togglePath(project, ""), out: &out})
	return out.Toggles, err
}

// GetToggle reads one toggle.
func (c *Client) GetToggle(ctx context.Context, project, key string) (wire.Toggle, error) {
	var out wire.Toggle
	err := c.do(ctx, request{method: http.MethodGet, path: togglePath(project, key), out: &out})
	return out, err
}

// CreateToggle creates a toggle; pass NewIdempotencyKey() once per logical create.
func (c *Client) CreateToggle(ctx context.Context, project string, spec model.ToggleSpec, idemKey string) (wire.Toggle, error) {
	var out wire.Toggle
	err := c.do(ctx, request{method: http.MethodPost, path: togglePath(project, ""), body: spec, idemKey: idemKey, out: &out})
	return out, err
}

// UpdateToggle replaces a toggle's spec if it is still at version (0: any).
func (c *Client) UpdateToggle(ctx context.Context, project string, spec model.ToggleSpec, version int64) (wire.Toggle, error) {
	var out wire.Toggle
	err := c.do(ctx, request{method: http.MethodPut, path: togglePath(project, spec.Key), body: spec, ifMatch: version, out: &out})
	return out, err
}

// DeleteToggle deletes a toggle if it is still at version (0: any).
func (c *Client) DeleteToggle(ctx context.Context, project, key string, version int64) error {
	return c.do(ctx, request{method: http.MethodDelete, path: togglePath(project, key), ifMatch: version})
}

// ToggleStatus reads what a toggle serves right now.
func (c *Client) ToggleStatus(ctx context.Context, project, key string) (wire.ToggleStatus, error) {
	var out wire.ToggleStatus
	err := c.do(ctx, request{method: http.MethodGet, path: togglePath(project, key) + "/status", out: &out})
	return out, err
}

func environmentPath(project, name string) string {
	p := "/v1/projects/" + url.PathEscape(project) + "/environments"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// GetEnvironment reads one environment.
func (c *Client) GetEnvironment(ctx context.Context, project, name string) (wire.Environment, error) {
	var out wire.Environment
	err := c.do(ctx, request{method: http.MethodGet, path: environmentPath(project, name), out: &out})
	return out, err
}

// ListEnvironments lists a project's environments.
func (c *Client) ListEnvironments(ctx context.Context, project string) ([]wire.Environment, error) {
	var out wire.EnvironmentList
	err := c.do(ctx, request{method: http.MethodGet, path: environmentPath(project, ""), out: &out})
	return out.Environments, err
}

// CreateEnvironment creates an environment; pass NewIdempotencyKey() once per logical create.
func (c *Client) CreateEnvironment(ctx context.Context, project string, spec model.EnvironmentSpec, idemKey string) (wire.Environment, error) {
	var out wire.Environment
	err := c.do(ctx, request{method: http.MethodPost, path: environmentPath(project, ""), body: spec, idemKey: idemKey, out: &out})
	return out, err
}

// UpdateEnvironment replaces an environment's spec if it is still at version (0: any).
func (c *Client) UpdateEnvironment(ctx context.Context, project string, spec model.EnvironmentSpec, version int64) (wire.Environment, error) {
	var out wire.Environment
	err := c.do(ctx, request{method: http.MethodPut, path: environmentPath(project, spec.Name), body: spec, ifMatch: version, out: &out})
	return out, err
}

// DeleteEnvironment deletes an environment if it is still at version (0: any).
func (c *Client) DeleteEnvironment(ctx context.Context, project, name string, version int64) error {
	return c.do(ctx, request{method: http.MethodDelete, path: environmentPath(project, name), ifMatch: version})
}

func releasePath(project, env string) string {
	return environmentPath(project, env) + "/release"
}

// GetRelease reads an environment's release.
func (c *Client) GetRelease(ctx context.Context, project, env string) (wire.Release, error) {
	var out wire.Release
	err := c.do(ctx, request{method: http.MethodGet, path: releasePath(project, env), out: &out})
	return out, err
}

// CreateRelease creates an environment's release intent.
func (c *Client) CreateRelease(ctx context.Context, project string, spec model.ReleaseSpec, idemKey string) (wire.Release, error) {
	var out wire.Release
	err := c.do(ctx, request{method: http.MethodPost, path: releasePath(project, spec.Environment), body: spec, idemKey: idemKey, out: &out})
	return out, err
}

// UpdateRelease changes an environment's release intent if still at version (0: any).
func (c *Client) UpdateRelease(ctx context.Context, project string, spec model.ReleaseSpec, version int64) (wire.Release, error) {
	var out wire.Release
	err := c.do(ctx, request{method: http.MethodPut, path: releasePath(project, spec.Environment), body: spec, ifMatch: version, out: &out})
	return out, err
}

// DeleteRelease forgets an environment's release intent; it moves no traffic.
func (c *Client) DeleteRelease(ctx context.Context, project, env string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: releasePath(project, env)})
}

// ReleaseAction asks the running release to abort, pause, resume or promote.
func (c *Client) ReleaseAction(ctx context.Context, project, env, action string) error {
	return c.do(ctx, request{method: http.MethodPost, path: releasePath(project, env) + "/" + url.PathEscape(action), body: struct{}{}, idemKey: NewIdempotencyKey()})
}

// Traffic reads an environment's live weights from AWS.
func (c *Client) Traffic(ctx context.Context, project, env string) (wire.Traffic, error) {
	var out wire.Traffic
	err := c.do(ctx, request{method: http.MethodGet, path: environmentPath(project, env) + "/traffic", out: &out})
	return out, err
}

func canaryPolicyPath(project, name string) string {
	p := "/v1/projects/" + url.PathEscape(project) + "/canary-policies"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// GetCanaryPolicy reads one canary policy.
func (c *Client) GetCanaryPolicy(ctx context.Context, project, name string) (wire.CanaryPolicy, error) {
	var out wire.CanaryPolicy
	err := c.do(ctx, request{method: http.MethodGet, path: canaryPolicyPath(project, name), out: &out})
	return out, err
}

// ListCanaryPolicies lists a project's canary policies.
func (c *Client) ListCanaryPolicies(ctx context.Context, project string) ([]wire.CanaryPolicy, error) {
	var out wire.CanaryPolicyList
	err := c.do(ctx, request{method: http.MethodGet, path: canaryPolicyPath(project, ""), out: &out})
	return out.CanaryPolicies, err
}

// CreateCanaryPolicy creates a canary policy; pass NewIdempotencyKey() once per logical create.
func (c *Client) CreateCanaryPolicy(ctx context.Context, project string, spec model.CanaryPolicySpec, idemKey string) (wire.CanaryPolicy, error) {
	var out wire.CanaryPolicy
	err := c.do(ctx, request{method: http.MethodPost, path: canaryPolicyPath(project, ""), body: spec, idemKey: idemKey, out: &out})
	return out, err
}

// UpdateCanaryPolicy replaces a canary policy if it is still at version (0: any).
// Running releases keep the version they started with.
func (c *Client) UpdateCanaryPolicy(ctx context.Context, project string, spec model.CanaryPolicySpec, version int64) (wire.CanaryPolicy, error) {
	var out wire.CanaryPolicy
	err := c.do(ctx, request{method: http.MethodPut, path: canaryPolicyPath(project, spec.Name), body: spec, ifMatch: version, out: &out})
	return out, err
}

// DeleteCanaryPolicy deletes a canary policy if it is still at version (0: any).
func (c *Client) DeleteCanaryPolicy(ctx context.Context, project, name string, version int64) error {
	return c.do(ctx, request{method: http.MethodDelete, path: canaryPolicyPath(project, name), ifMatch: version})
}

func darkLaunchPath(project, name string) string {
	p := "/v1/projects/" + url.PathEscape(project) + "/dark-launches"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// GetDarkLaunch reads one dark launch.
func (c *Client) GetDarkLaunch(ctx context.Context, project, name string) (wire.DarkLaunch, error) {
	var out wire.DarkLaunch
	err := c.do(ctx, request{method: http.MethodGet, path: darkLaunchPath(project, name), out: &out})
	return out, err
}

// ListDarkLaunches lists a project's dark launches.
func (c *Client) ListDarkLaunches(ctx context.Context, project string) ([]wire.DarkLaunch, error) {
	var out wire.DarkLaunchList
	err := c.do(ctx, request{method: http.MethodGet, path: darkLaunchPath(project, ""), out: &out})
	return out.DarkLaunches, err
}

// CreateDarkLaunch creates a dark launch; pass NewIdempotencyKey() once per logical create.
func (c *Client) CreateDarkLaunch(ctx context.Context, project string, spec model.DarkLaunchSpec, idemKey string) (wire.DarkLaunch, error) {
	var out wire.DarkLaunch
	err := c.do(ctx, request{method: http.MethodPost, path: darkLaunchPath(project, ""), body: spec, idemKey: idemKey, out: &out})
	return out, err
}

// UpdateDarkLaunch replaces a dark launch's spec if it is still at version (0: any).
func (c *Client) UpdateDarkLaunch(ctx context.Context, project string, spec model.DarkLaunchSpec, version int64) (wire.DarkLaunch, error) {
	var out wire.DarkLaunch
	err := c.do(ctx, request{method: http.MethodPut, path: darkLaunchPath(project, spec.Name), body: spec, ifMatch: version, out: &out})
	return out, err
}

// DeleteDarkLaunch deletes a dark launch (releasing its hold) if it is still at version (0: any).
func (c *Client) DeleteDarkLaunch(ctx context.Context, project, name string, version int64) error {
	return c.do(ctx, request{method: http.MethodDelete, path: darkLaunchPath(project, name), ifMatch: version})
}

// DarkLaunchStatus reads a dark launch's live figures.
func (c *Client) DarkLaunchStatus(ctx context.Context, project, name string) (wire.DarkLaunchStatus, error) {
	var out wire.DarkLaunchStatus
	err := c.do(ctx, request{method: http.MethodGet, path: darkLaunchPath(project, name) + "/status", out: &out})
	return out, err
}

// DarkLaunchDiffs reads the sample diffs kept for a dark launch.
func (c *Client) DarkLaunchDiffs(ctx context.Context, project, name string) (wire.DarkLaunchDiffs, error) {
	var out wire.DarkLaunchDiffs
	err := c.do(ctx, request{method: http.MethodGet, path: darkLaunchPath(project, name) + "/diffs", out: &out})
	return out, err
}

// DarkLaunchAction pauses, resumes or resets a dark launch.
func (c *Client) DarkLaunchAction(ctx context.Context, project, name, action string) error {
	return c.do(ctx, request{method: http.MethodPost, path: darkLaunchPath(project, name) + "/" + url.PathEscape(action), body: struct{}{}, idemKey: NewIdempotencyKey()})
}

// ShadowConfig reads the config `progressive shadow` runs for a dark launch.
func (c *Client) ShadowConfig(ctx context.Context, project, name string) (shadow.Config, error) {
	var out shadow.Config
	err := c.do(ctx, request{method: http.MethodGet, path: darkLaunchPath(project, name) + "/config", out: &out})
	return out, err
}

// ShadowReport posts a proxy's report for a dark launch.
func (c *Client) ShadowReport(ctx context.Context, project, name string, r shadow.Report) error {
	return c.do(ctx, request{method: http.MethodPost, path: darkLaunchPath(project, name) + "/reports", body: r})
}
