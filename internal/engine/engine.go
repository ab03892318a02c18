// Package engine wires the engine's parts into the `progressive serve`
// daemon: it opens the store, bootstraps the first token, elects a
// controller leader, and serves the API until its context ends, finishing
// in-flight requests before it returns.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/gates"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/api"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/controller"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/ratelimit"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/routing"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/snapshot"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/postgres"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/version"
)

// Config is everything `progressive serve` takes.
type Config struct {
	Listen          string        // PROGRESSIVE_LISTEN
	DataDir         string        // PROGRESSIVE_DATA_DIR
	DatabaseURL     string        // PROGRESSIVE_DATABASE_URL
	TLSCert         string        // PROGRESSIVE_TLS_CERT
	TLSKey          string        // PROGRESSIVE_TLS_KEY
	BootstrapToken  string        // PROGRESSIVE_BOOTSTRAP_TOKEN
	ShutdownTimeout time.Duration // PROGRESSIVE_SHUTDOWN_TIMEOUT
	LeaseTTL        time.Duration // PROGRESSIVE_LEASE_TTL
	// SnapshotPoll is how often the store revision is polled for flag changes
	// (PROGRESSIVE_SNAPSHOT_POLL_INTERVAL).
	SnapshotPoll time.Duration
	// AlarmPoll is how often CloudWatch alarms named by toggles are read
	// (PROGRESSIVE_ALARM_POLL_INTERVAL).
	AlarmPoll time.Duration
	// ControllerInterval is how often the leader's controller runs
	// (PROGRESSIVE_CONTROLLER_INTERVAL); releases need it at most their
	// check_interval.
	ControllerInterval time.Duration
	// AWSRateLimits overrides the per-service AWS call budgets
	// (PROGRESSIVE_AWS_RATE_LIMITS), e.g. "route53=5,elasticloadbalancing=50/100".
	AWSRateLimits map[string]ratelimit.Rate
	// AfterSetWeights is a test hook run after each release weight write.
	AfterSetWeights func(releaseID string)
	// ReleaseDriftInterval overrides how often running releases' weights are
	// read back for drift (default 30s); tests shorten it.
	ReleaseDriftInterval time.Duration
	// AfterGateFailure is a hook run when a release's gate check fails.
	AfterGateFailure func(releaseID string)
	// Metrics, when set, replaces the CloudWatch metric reader of gates
	// (tests cover percentiles, which local emulators lack, with it).
	Metrics      gates.MetricValues
	MaxBodyBytes int64
	Log          hclog.Logger
	// Out receives the bootstrap token, once.
	Out io.Writer
	// Ready, when set, receives the bound address once the engine serves.
	Ready chan<- string
}

// DefaultListen is the default listen address.
const DefaultListen = "127.0.0.1:8181"

// DefaultDataDir is where the engine keeps its SQLite file when neither
// PROGRESSIVE_DATA_DIR nor PROGRESSIVE_DATABASE_URL says otherwise:
// $XDG_DATA_HOME/progressive, or ~/.local/share/progressive.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "progressive")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "progressive")
	}
	return "progressive-data"
}

// OpenStore opens the store that cfg names: PostgreSQL for a postgres:// or
// postgresql:// URL, SQLite for a sqlite: URL or when no URL is given.
func OpenStore(ctx context.Context, databaseURL, dataDir string) (store.Store, error) {
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return postgres.Open(ctx, databaseURL)
	case databaseURL == "":
		if dataDir == "" {
			dataDir = DefaultDataDir()
		}
		return sqlite.Open(ctx, filepath.Join(dataDir, "progressive.db"))
	case strings.HasPrefix(databaseURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "//")
		if path == "" {
			return nil, errors.New("the database URL sqlite: names no file; use sqlite:/path/to/progressive.db")
		}
		return sqlite.Open(ctx, path)
	}
	return nil, fmt.Errorf("the database URL %q is not supported: use postgres://user:password@host:5432/dbname for PostgreSQL, sqlite:/path/to/file.db for SQLite, or leave it empty for SQLite in the data directory", redact(databaseURL))
}

func redact(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("TLS needs both a certificate and a key: set --tls-cert and --tls-key (PROGRESSIVE_TLS_CERT, PROGRESSIVE_TLS_KEY) together")
	}
	if cfg.BootstrapToken != "" {
		if err := model.ValidateTokenSecret(cfg.BootstrapToken); err != nil {
			return fmt.Errorf("PROGRESSIVE_BOOTSTRAP_TOKEN: %w", err)
		}
	}
	log := cfg.Log

	if cfg.SnapshotPoll <= 0 {
		cfg.SnapshotPoll = time.Second
	}
	if cfg.AlarmPoll <= 0 {
		cfg.AlarmPoll = 10 * time.Second
	}
	if cfg.ControllerInterval <= 0 {
		cfg.ControllerInterval = time.Second
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir()
	}
	snapshotPath := filepath.Join(cfg.DataDir, "snapshot.json")

	st, err := OpenStore(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		// Serve evaluations from the disk snapshot until the store answers.
		if st, err = serveFromDisk(ctx, cfg, snapshotPath, err); err != nil || st == nil {
			return err
		}
	}
	defer st.Close()
	log.Info("store open", "backend", st.Backend())

	// Listen before bootstrapping, so that a start that cannot serve does not
	// use up the one printing of the first admin token.
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set --listen or PROGRESSIVE_LISTEN to a free address)", cfg.Listen, err)
	}
	defer ln.Close()

	if err := bootstrap(ctx, st, cfg); err != nil {
		return err
	}
	authn := auth.New(st, log.Named("auth"))
	if err := authn.Refresh(ctx); err != nil {
		return fmt.Errorf("load tokens: %w", err)
	}

	flags := snapshot.New(st, snapshotPath, log.Named("snapshot"))
	if err := flags.Sync(ctx); err != nil {
		return fmt.Errorf("load flags: %w", err)
	}

	parts, err := loadAWS(ctx, st, log, cfg.AWSRateLimits)
	if err != nil {
		return err
	}

	var leading, ready atomic.Bool
	srv := &api.Server{Store: st, Auth: authn, Clock: clock.Real{}, Log: log.Named("api"), Version: version.Version,
		MaxBodyBytes: cfg.MaxBodyBytes, Leading: leading.Load, Ready: ready.Load, Flags: flags, Routers: parts.routers}
	if parts.alarms != nil {
		srv.Alarms = parts.alarms
	}
	if parts.aws != nil {
		srv.Previews, srv.ClusterID = parts.aws.Previews, parts.cluster
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	const background = 4
	done := make(chan struct{}, background)
	go func() { authn.Run(bg); done <- struct{}{} }()
	go func() { expireIdempotency(bg, st, log); done <- struct{}{} }()
	go func() { flags.Run(bg, cfg.SnapshotPoll); done <- struct{}{} }()
	ctrl := &controller.Controller{Interval: cfg.ControllerInterval, Log: log.Named("controller"), Reconcilers: reconcilers(st, parts, cfg, log)}
	el := &lease.Elector{Store: st, Name: "controller", Holder: holderID(), TTL: cfg.LeaseTTL, Log: log.Named("lease"), OnChange: leading.Store}
	go func() {
		el.Run(bg, ctrl.Lead)
		// Leadership is over: stop what reconcilers run between ticks
		// (dark launches' synthetic load).
		for _, r := range ctrl.Reconcilers {
			if s, ok := r.(interface{ Stop() }); ok {
				s.Stop()
			}
		}
		done <- struct{}{}
	}()

	serveErr := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			serveErr <- httpSrv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			serveErr <- httpSrv.Serve(ln)
		}
	}()
	ready.Store(true)
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	log.Info("serving", "address", scheme+"://"+ln.Addr().String(), "version", version.Version)
	notifyReady(cfg.Ready, ln.Addr().String())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	ready.Store(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := httpSrv.Shutdown(sctx)
	stopBG()
	for range background {
		<-done
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	log.Info("stopped")
	return nil
}

func bootstrap(ctx context.Context, st store.Store, cfg Config) error {
	secret := cfg.BootstrapToken
	if secret == "" {
		secret = model.NewTokenSecret()
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	t := model.Token{ID: model.NewTokenID(), Name: "bootstrap", Kind: model.TokenAdmin, Hash: model.HashToken(secret), Hint: model.TokenHint(secret), CreatedAt: now, CreatedBy: "engine"}
	created, err := st.BootstrapToken(ctx, t, model.Audit{Actor: "engine", Time: now, Message: "first start: bootstrap admin token"})
	if err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	}
	switch {
	case !created && cfg.BootstrapToken != "":
		cfg.Log.Info("the store already has tokens; PROGRESSIVE_BOOTSTRAP_TOKEN is ignored")
	case created && cfg.BootstrapToken != "":
		cfg.Log.Info("bootstrap admin token created from PROGRESSIVE_BOOTSTRAP_TOKEN", "id", t.ID)
	case created:
		fmt.Fprintf(cfg.Out, "\nFirst start: created the admin token %q. It is shown only this once; keep it safe:\n\n    %s\n\n"+
			"Create a token for Terraform with:\n\n    PROGRESSIVE_TOKEN=%s progressive token create --kind write --name terraform\n\n", t.Name, secret, secret)
	}
	return nil
}

func expireIdempotency(ctx context.Context, st store.Store, log hclog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if err := st.ExpireIdempotent(ctx, time.Now().Add(-api.IdempotencyTTL)); err != nil && ctx.Err() == nil {
			log.Warn("could not expire idempotency keys", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func holderID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// awsParts are what the engine builds from the AWS configuration.
type awsParts struct {
	routers traffic.Source
	alarms  controller.AlarmStates // nil without AWS
	metrics gates.MetricValues     // nil without AWS
	limiter *ratelimit.Limiter     // nil without AWS
	aws     *routing.AWS           // nil without AWS
	cluster string
}

// loadAWS builds the routers and the alarm reader; without an AWS
// configuration the engine still runs, and says what is missing where it
// matters.
func loadAWS(ctx context.Context, st store.Store, log hclog.Logger, limits map[string]ratelimit.Rate) (awsParts, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	clusterID, err := st.ClusterID(ctx, "cl_"+hex.EncodeToString(b))
	if err != nil {
		return awsParts{}, fmt.Errorf("read the cluster ID: %w", err)
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		log.Warn("AWS is not configured: toggles' disable_on_alarms are not watched and environments cannot route", "error", err)
		return awsParts{routers: routing.Unconfigured{Err: err}, cluster: clusterID}, nil
	}
	// Every AWS call takes a token from its service's budget; rollback
	// writes go ahead of the queue (see package ratelimit).
	limiter := ratelimit.New(limits)
	awsCfg.APIOptions = append(awsCfg.APIOptions, ratelimit.Middleware(limiter))
	cw := cloudwatch.NewClient(awsCfg)
	routers := &routing.AWS{Config: awsCfg, ClusterID: clusterID}
	return awsParts{
		routers: routers,
		aws:     routers,
		cluster: clusterID,
		alarms:  cloudwatch.Alarms{API: cw},
		metrics: cloudwatch.Metrics{API: cw},
		limiter: limiter,
	}, nil
}

// reconcilers lists the controller's steps, in order.
func reconcilers(st store.Store, parts awsParts, cfg Config, log hclog.Logger) []controller.Reconciler {
	var steps []controller.Reconciler
	gr := gates.Reader{Metrics: parts.metrics}
	if parts.alarms != nil {
		gr.Alarms = parts.alarms
	}
	if cfg.Metrics != nil {
		gr.Metrics = cfg.Metrics
	}
	steps = append(steps, &controller.Releases{Store: st, Routers: parts.routers, Gates: gr, Clock: clock.Real{}, Log: log.Named("releases"),
		AfterSetWeights: cfg.AfterSetWeights, AfterGateFailure: cfg.AfterGateFailure, DriftInterval: cfg.ReleaseDriftInterval})
	if parts.alarms != nil {
		steps = append(steps, &controller.ToggleAlarms{Store: st, Alarms: parts.alarms, Clock: clock.Real{},
			Log: log.Named("controller"), Every: cfg.AlarmPoll})
	}
	dl := &controller.DarkLaunches{Store: st, ClusterID: parts.cluster, Clock: clock.Real{}, Log: log.Named("dark-launches"), Instance: "synthetic@" + holderID()}
	if parts.aws != nil {
		dl.Previews = func(listener string) controller.PreviewRules { return parts.aws.Previews(listener) }
	}
	steps = append(steps, dl)
	return steps
}

// serveFromDisk serves flag evaluations from the disk snapshot while the
// store cannot be opened, retrying it, and returns the store once it opens
// (or nil when ctx ends first). Without a disk snapshot it returns openErr.
func serveFromDisk(ctx context.Context, cfg Config, path string, openErr error) (store.Store, error) {
	log := cfg.Log
	flags := snapshot.New(nil, path, log.Named("snapshot"))
	tokens, err := flags.LoadFile()
	if err != nil {
		if errors.Is(err, snapshot.ErrNoFile) {
			return nil, openErr
		}
		return nil, fmt.Errorf("%w (and the disk snapshot is unusable: %w)", openErr, err)
	}
	log.Error("the store is unreachable; serving flag evaluations from the disk snapshot until it answers",
		"revision", flags.Current().Revision, "error", openErr)
	authn := auth.New(staticTokens(tokens), log.Named("auth"))
	if err := authn.Refresh(ctx); err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (set --listen or PROGRESSIVE_LISTEN to a free address)", cfg.Listen, err)
	}
	srv := &api.Server{Auth: authn, Log: log.Named("api"), Version: version.Version, MaxBodyBytes: cfg.MaxBodyBytes, Flags: flags, EvaluationOnly: true}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			serveErr <- httpSrv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			serveErr <- httpSrv.Serve(ln)
		}
	}()
	notifyReady(cfg.Ready, ln.Addr().String())
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		_ = httpSrv.Shutdown(sctx)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case err := <-serveErr:
			return nil, fmt.Errorf("serve evaluations from the disk snapshot: %w", err)
		case <-time.After(5 * time.Second):
		}
		st, err := OpenStore(ctx, cfg.DatabaseURL, cfg.DataDir)
		if err == nil {
			log.Info("the store answers again; leaving evaluation-only mode")
			return st, nil
		}
		log.Warn("the store is still unreachable", "error", err)
	}
}

type staticTokens []model.Token

func (s staticTokens) ListTokens(context.Context) ([]model.Token, error) { return s, nil }

func notifyReady(ch chan<- string, addr string) {
	if ch == nil {
		return
	}
	select {
	case ch <- addr:
	default:
	}
}
