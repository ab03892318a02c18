package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/api"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/ratelimit"
)

// serveReady, when set (by tests), receives the address that `serve` is
// bound to once it answers requests; with --listen 127.0.0.1:0 it is the
// only way to learn the port.
var serveReady chan<- string

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("serve", "serve [flags]", stderr)
	listen := f.string("listen", "PROGRESSIVE_LISTEN", engine.DefaultListen, "address to serve the API on")
	dataDir := f.string("data-dir", "PROGRESSIVE_DATA_DIR", engine.DefaultDataDir(), "directory for the embedded SQLite database")
	dbURL := f.string("database-url", "PROGRESSIVE_DATABASE_URL", "", "postgres://… for PostgreSQL, sqlite:/path/file.db for SQLite; empty: SQLite in the data directory")
	tlsCert := f.string("tls-cert", "PROGRESSIVE_TLS_CERT", "", "PEM certificate file; serves HTTPS with --tls-key")
	tlsKey := f.string("tls-key", "PROGRESSIVE_TLS_KEY", "", "PEM private key file for --tls-cert")
	bootstrap := f.string("bootstrap-token", "PROGRESSIVE_BOOTSTRAP_TOKEN", "", "admin token to create on first start instead of a random one (at least 32 characters)")
	shutdown := f.duration("shutdown-timeout", "PROGRESSIVE_SHUTDOWN_TIMEOUT", 30*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	leaseTTL := f.duration("lease-ttl", "PROGRESSIVE_LEASE_TTL", 15*time.Second, "controller lease duration; a standby takes over this long after the leader vanishes")
	snapshotPoll := f.duration("snapshot-poll-interval", "PROGRESSIVE_SNAPSHOT_POLL_INTERVAL", time.Second, "how often the store revision is polled so that flag changes made on other replicas are served")
	alarmPoll := f.duration("alarm-poll-interval", "PROGRESSIVE_ALARM_POLL_INTERVAL", 10*time.Second, "how often the CloudWatch alarms named by toggles' disable_on_alarms are read")
	ctrlInterval := f.duration("controller-interval", "PROGRESSIVE_CONTROLLER_INTERVAL", time.Second, "how often the leader's controller runs; at most the shortest check_interval of your environments")
	maxBody := f.int64("max-body-bytes", "PROGRESSIVE_MAX_BODY_BYTES", api.DefaultMaxBodyBytes, "largest request body accepted, in bytes")
	rateLimits := f.string("aws-rate-limits", "PROGRESSIVE_AWS_RATE_LIMITS", "", "per-service AWS call budgets overriding the defaults (route53=5, elasticloadbalancing=20, cloudwatch=20 requests/s), as SERVICE=RATE[/BURST] or SERVICE=off, comma-separated")
	logLevel := f.string("log-level", "PROGRESSIVE_LOG_LEVEL", "info", "trace, debug, info, warn or error")
	logFormat := f.string("log-format", "PROGRESSIVE_LOG_FORMAT", "text", "text or json")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", f.Args())
	}
	if !oneOf(*logLevel, "trace", "debug", "info", "warn", "error") {
		return fmt.Errorf("log level %q is not one of trace, debug, info, warn, error", *logLevel)
	}
	if !oneOf(*logFormat, "text", "json") {
		return fmt.Errorf("log format %q is not text or json", *logFormat)
	}
	if *snapshotPoll < 10*time.Millisecond || *alarmPoll < 100*time.Millisecond || *ctrlInterval < 50*time.Millisecond {
		return fmt.Errorf("intervals are too short: use at least 10ms for the snapshot, 100ms for alarms and 50ms for the controller")
	}
	if *leaseTTL < time.Second {
		return fmt.Errorf("lease TTL %s is too short: use at least 1s", *leaseTTL)
	}
	limits, err := ratelimit.ParseLimits(*rateLimits)
	if err != nil {
		return fmt.Errorf("--aws-rate-limits: %w", err)
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "progressive", Level: hclog.LevelFromString(*logLevel), Output: stderr, JSONFormat: *logFormat == "json"})
	return engine.Run(ctx, engine.Config{
		Listen: *listen, DataDir: *dataDir, DatabaseURL: *dbURL, TLSCert: *tlsCert, TLSKey: *tlsKey,
		BootstrapToken: *bootstrap, ShutdownTimeout: *shutdown, LeaseTTL: *leaseTTL, MaxBodyBytes: *maxBody,
		SnapshotPoll: *snapshotPoll, AlarmPoll: *alarmPoll, ControllerInterval: *ctrlInterval, AWSRateLimits: limits,
		Log: log, Out: stdout, Ready: serveReady,
	})
}
