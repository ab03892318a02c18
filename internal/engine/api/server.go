// Package api serves the engine over HTTP: the /v1 management API used by
// Terraform and the CLI, health and readiness probes, and Prometheus metrics.
//
// It holds no domain logic. Each handler decodes strictly, validates with the
// model package, calls the store, and answers JSON or an
// application/problem+json error a person can act on. Every route but
// /healthz and /readyz needs a bearer token of a kind that allows it.
package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/snapshot"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/alb"
)

// Server is the HTTP API.
type Server struct {
	Store   store.Store
	Auth    *auth.Authenticator
	Clock   clock.Clock
	Log     hclog.Logger
	Metrics *Metrics
	// Version is the engine's version, reported by /v1/engine.
	Version string
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Leading reports whether this replica runs the controller.
	Leading func() bool
	// Ready reports whether the engine has finished starting.
	Ready func() bool
	// Flags is the flag snapshot that evaluation reads.
	Flags *snapshot.Cache
	// Routers reads live weights for the traffic route (nil without AWS).
	Routers traffic.Source
	// Alarms checks that alarms named by canary policies exist (nil
	// without AWS: not checked).
	Alarms AlarmStates
	// Previews removes dark launches' preview rules when they are deleted
	// (nil without AWS); ClusterID marks the engine's rules.
	Previews  func(listenerARN string) alb.PreviewRouter
	ClusterID string
	// EvaluationOnly serves flag evaluation and probes only, from Flags,
	// while the store is unreachable at start (Store is then nil).
	EvaluationOnly bool

	mux *http.ServeMux
}

type ctxKey int

const tokenKey ctxKey = 0

func tokenFrom(ctx context.Context) model.Token {
	t, _ := ctx.Value(tokenKey).(model.Token)
	return t
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler {
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.Clock == nil {
		s.Clock = clock.Real{}
	}
	if s.Log == nil {
		s.Log = hclog.NewNullLogger()
	}
	if s.Flags == nil {
		s.Flags = snapshot.New(s.Store, "", s.Log)
	}
	if s.Metrics == nil {
		s.Metrics = NewMetrics(s.Store, s.Leading, s.Flags)
	}
	s.mux = http.NewServeMux()
	s.handle("GET /healthz", "", s.healthz)
	s.handle("GET /readyz", "", s.readyz)
	s.handle("POST /ofrep/v1/evaluate/flags/{key}", model.TokenSDK, s.evaluateFlag)
	s.handle("POST /ofrep/v1/evaluate/flags", model.TokenSDK, s.evaluateFlags)
	if s.EvaluationOnly {
		return http.HandlerFunc(s.serve)
	}
	s.handle("GET /metrics", model.TokenWrite, s.Metrics.handler().ServeHTTP)

	s.handle("GET /v1/engine", model.TokenSDK, s.engineInfo)
	s.handle("GET /v1/token", model.TokenSDK, s.whoami)

	s.handle("GET /v1/projects", model.TokenWrite, s.listProjects)
	s.handle("POST /v1/projects", model.TokenWrite, s.idempotent(s.createProject))
	s.handle("GET /v1/projects/{project}", model.TokenWrite, s.getProject)
	s.handle("PUT /v1/projects/{project}", model.TokenWrite, s.updateProject)
	s.handle("DELETE /v1/projects/{project}", model.TokenWrite, s.deleteProject)

	s.handle("GET /v1/tokens", model.TokenAdmin, s.listTokens)
	s.handle("POST /v1/tokens", model.TokenAdmin, s.idempotent(s.createToken))
	s.handle("DELETE /v1/tokens/{id}", model.TokenAdmin, s.revokeToken)

	s.handle("GET /v1/events", model.TokenWrite, s.listEvents)

	s.toggleAPI().register(s)
	s.environmentAPI().register(s)
	s.canaryPolicyAPI().register(s)
	s.registerDarkLaunches()
	s.handle("GET /v1/projects/{project}/environments/{name}/traffic", model.TokenWrite, s.environmentTraffic)
	s.registerReleases()
	s.handle("GET /v1/projects/{project}/toggles/{name}/status", model.TokenWrite, s.toggleStatus)

	return http.HandlerFunc(s.serve)
}

// handle registers a route that needs a token of at least kind need ("" for
// a public route), with metrics, logging and panic recovery.
func (s *Server) handle(pattern string, need model.TokenKind, h http.HandlerFunc) {
	route := pattern
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				s.Log.Error("panic serving request", "route", route, "panic", v, "stack", string(debug.Stack()))
				if !rw.wrote {
					writeProblem(rw, r, fromError(nil, ""))
				}
			}
			s.Metrics.observe(route, rw.status, time.Since(start))
			if s.Log.IsDebug() { // spares the evaluation hot path the arguments' allocations
				s.Log.Debug("request", "route", route, "status", rw.status, "duration", time.Since(start), "actor", tokenFrom(r.Context()).Name)
			}
		}()
		if need != "" {
			tok, p := s.authenticate(r, need)
			if p != nil {
				if p.Status == http.StatusUnauthorized {
					rw.Header().Set("WWW-Authenticate", `Bearer realm="progressive"`)
				}
				writeProblem(rw, r, p)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), tokenKey, tok))
		}
		h(rw, r)
	}))
}

// serve answers routes the mux does not know with problem documents
// instead of its plain-text 404 and 405.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // sets the request's path values; h would not
		return
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if allow := rec.Header().Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if rec.Code == http.StatusMethodNotAllowed {
		writeProblem(w, r, &problem.Problem{Type: problem.TypeMethodNotAllowed, Title: "Method Not Allowed", Status: http.StatusMethodNotAllowed,
			Detail: "this path does not accept " + r.Method + "; it accepts " + rec.Header().Get("Allow")})
		return
	}
	writeProblem(w, r, notFound("there is no API route at "+r.Method+" "+r.URL.Path+"; the API lives under /v1"))
}

func (s *Server) authenticate(r *http.Request, need model.TokenKind) (model.Token, *problem.Problem) {
	h := r.Header.Get("Authorization")
	scheme, secret, _ := strings.Cut(h, " ")
	if h == "" {
		// OFREP clients may send the token as an API key instead.
		if key := r.Header.Get("X-API-Key"); key != "" {
			h, scheme, secret = key, "Bearer", key
		}
	}
	if h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return model.Token{}, &problem.Problem{Type: problem.TypeUnauthenticated, Title: "Unauthenticated", Status: http.StatusUnauthorized,
			Detail: "this route needs a bearer token: send Authorization: Bearer <token> (create one with `progressive token create`)"}
	}
	tok, ok := s.Auth.Authenticate(r.Context(), strings.TrimSpace(secret))
	if !ok {
		return model.Token{}, &problem.Problem{Type: problem.TypeUnauthenticated, Title: "Unauthenticated", Status: http.StatusUnauthorized,
			Detail: "the bearer token is not valid: it is mistyped, revoked, or belongs to another engine; check it or create a new one with `progressive token create`"}
	}
	if !auth.Allows(tok.Kind, need) {
		return tok, &problem.Problem{Type: problem.TypeForbidden, Title: "Forbidden", Status: http.StatusForbidden, RequiredKind: string(need), TokenKind: string(tok.Kind),
			Detail: "the token " + `"` + tok.Name + `"` + " is a " + string(tok.Kind) + " token, and this route needs a " + string(need) + " token or stronger (admin ⊇ write ⊇ sdk); use a token of that kind"}
	}
	return tok, nil
}

// audit describes the caller's change for the audit log.
func (s *Server) audit(r *http.Request) model.Audit {
	return model.Audit{Actor: tokenFrom(r.Context()).Name, Time: s.Clock.Now()}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
