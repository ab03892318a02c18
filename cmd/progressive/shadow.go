package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/version"
)

// shadowReady, when set (by tests), receives the address that `shadow` is
// bound to once it serves; with --listen 127.0.0.1:0 it is the only way to
// learn the port.
var shadowReady chan<- string

// Bounds of the shadow flags: beyond them a value is a typo, not a tuning.
const (
	minShadowInterval = 100 * time.Millisecond
	maxShadowWorkers  = 10000
	maxShadowQueue    = 1 << 20
)

// runShadow runs the mirroring proxy of one dark launch in front of its
// live service, configured by the engine and reporting to it. It fails
// open: without the engine it keeps its last config, and without any
// config it forwards to --live-url (or answers 503).
func runShadow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("shadow", "shadow --dark-launch NAME [--project P] [--listen ADDR] [flags]", stderr)
	name := f.string("dark-launch", "PROGRESSIVE_SHADOW_DARK_LAUNCH", "", "the dark launch whose traffic this proxy mirrors (required)")
	project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the dark launch's project")
	endpoint := f.string("endpoint", "PROGRESSIVE_ENDPOINT", client.DefaultEndpoint, "engine URL")
	token := f.string("token", "PROGRESSIVE_TOKEN", "", "a shadow token that names the dark launch (progressive token create --kind shadow --dark-launch NAME)")
	listen := f.string("listen", "PROGRESSIVE_SHADOW_LISTEN", ":8080", "address to take the live traffic on")
	liveURL := f.string("live-url", "PROGRESSIVE_SHADOW_LIVE_URL", "", "where to forward requests, without mirroring, until the first config arrives from the engine; empty: answer 503 until then")
	queueSize := f.int64("queue-size", "PROGRESSIVE_SHADOW_QUEUE_SIZE", shadow.DefaultQueueSize, "copies that may wait for a worker; beyond it copies are dropped and counted, and live never waits")
	queueBytes := f.int64("queue-bytes", "PROGRESSIVE_SHADOW_QUEUE_BYTES", shadow.DefaultQueueBytes, "memory the waiting and running copies may hold, bodies included, in bytes")
	workers := f.int64("workers", "PROGRESSIVE_SHADOW_WORKERS", shadow.DefaultWorkers, "copies sent to the dark upstream at once")
	maxBody := f.int64("max-body-bytes", "PROGRESSIVE_SHADOW_MAX_BODY_BYTES", shadow.DefaultMaxBodyBytes, "largest request body mirrored, in bytes; a larger one goes to live only and counts as skipped")
	maxCompare := f.int64("max-compare-bytes", "PROGRESSIVE_SHADOW_MAX_COMPARE_BYTES", shadow.DefaultMaxCompareBytes, "response body bytes kept for the comparison; longer bodies are compared by status and headers only")
	darkTimeout := f.duration("dark-timeout", "PROGRESSIVE_SHADOW_DARK_TIMEOUT", shadow.DefaultDarkTimeout, "how long a copy may take, to the end of dark's response; longer counts as a timeout error")
	pollInterval := f.duration("config-poll-interval", "PROGRESSIVE_SHADOW_CONFIG_POLL_INTERVAL", time.Second, "how often the config is read from the engine (mirror percent, methods, pause)")
	reportInterval := f.duration("report-interval", "PROGRESSIVE_SHADOW_REPORT_INTERVAL", 5*time.Second, "how often the figures are sent to the engine")
	shutdownTimeout := f.duration("shutdown-timeout", "PROGRESSIVE_SHADOW_SHUTDOWN_TIMEOUT", 30*time.Second, "on SIGTERM, how long open connections and copies in flight may take to finish")
	cwNamespace := f.string("cloudwatch-namespace", "PROGRESSIVE_SHADOW_CLOUDWATCH_NAMESPACE", "", "also publish the figures as CloudWatch metrics in this namespace (such as "+shadow.DefaultNamespace+"), with the standard AWS configuration; empty: no CloudWatch, and no AWS credentials needed")
	logLevel := f.string("log-level", "PROGRESSIVE_SHADOW_LOG_LEVEL", "info", "trace, debug, info, warn or error")
	logFormat := f.string("log-format", "PROGRESSIVE_SHADOW_LOG_FORMAT", "text", "text or json")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("shadow takes no arguments, got %q; name the dark launch with --dark-launch", f.Args())
	}
	if *name == "" {
		return errors.New("no dark launch: set --dark-launch or PROGRESSIVE_SHADOW_DARK_LAUNCH to the name of the dark launch this proxy mirrors")
	}
	if *token == "" {
		return fmt.Errorf("no token: set PROGRESSIVE_TOKEN or --token to a shadow token for the dark launch; create one with `progressive token create --kind shadow --name %s-proxy --project %s --dark-launch %s`", *name, *project, *name)
	}
	if err := checkShadowSizes(map[string]int64{"queue-size": *queueSize, "queue-bytes": *queueBytes, "workers": *workers,
		"max-body-bytes": *maxBody, "max-compare-bytes": *maxCompare}); err != nil {
		return err
	}
	if *workers > maxShadowWorkers {
		return fmt.Errorf("--workers %d is too many: use at most %d", *workers, maxShadowWorkers)
	}
	if *queueSize > maxShadowQueue {
		return fmt.Errorf("--queue-size %d is too large: use at most %d", *queueSize, maxShadowQueue)
	}
	if *darkTimeout <= 0 {
		return fmt.Errorf("--dark-timeout %s must be positive, such as 5s", *darkTimeout)
	}
	if *shutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout %s cannot be negative", *shutdownTimeout)
	}
	if *pollInterval < minShadowInterval {
		return fmt.Errorf("--config-poll-interval %s is too short: use at least %s", *pollInterval, minShadowInterval)
	}
	if *reportInterval < minShadowInterval {
		return fmt.Errorf("--report-interval %s is too short: use at least %s", *reportInterval, minShadowInterval)
	}
	if !oneOf(*logLevel, "trace", "debug", "info", "warn", "error") {
		return fmt.Errorf("log level %q is not one of trace, debug, info, warn, error", *logLevel)
	}
	if !oneOf(*logFormat, "text", "json") {
		return fmt.Errorf("log format %q is not text or json", *logFormat)
	}
	c, err := client.New(*endpoint, *token, client.WithUserAgent("progressive-shadow/"+version.Version))
	if err != nil {
		return err
	}
	log := newShadowLogger(stderr, *logLevel, *logFormat)

	var publisher shadow.Publisher
	if *cwNamespace != "" {
		cfg, err := awsconfig.Load(ctx)
		if err != nil {
			return fmt.Errorf("--cloudwatch-namespace %s: %w", *cwNamespace, err)
		}
		publisher = shadow.NewCloudWatchPublisher(cfg, *cwNamespace)
	}

	proxy, err := shadow.NewProxy(shadow.Options{
		Fallback: *liveURL, QueueSize: int(*queueSize), QueueBytes: *queueBytes, Workers: int(*workers),
		MaxBodyBytes: *maxBody, MaxCompareBytes: *maxCompare, DarkTimeout: *darkTimeout, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("--live-url: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		_ = proxy.Close(context.Background())
		return fmt.Errorf("listen on %s: %w (set --listen or PROGRESSIVE_SHADOW_LISTEN to a free address)", *listen, err)
	}
	defer ln.Close()

	engine := engineLink{c: c, project: *project, name: *name}
	agent := shadow.NewAgent(proxy, engine, engine, shadow.AgentOptions{
		DarkLaunch: *name, PollInterval: *pollInterval, ReportInterval: *reportInterval, Publisher: publisher, Logger: log,
	})
	if err := agent.Start(ctx); err != nil {
		// Fail open: serve anyway; the agent keeps trying every poll.
		level := slog.LevelWarn
		var p *problem.Problem
		if errors.As(err, &p) {
			level = slog.LevelError // the engine answered: a token or a name to fix
		}
		log.Log(ctx, level, "serving without a config from the engine; retrying every poll interval",
			"without_config", withoutConfig(*liveURL), "interval", *pollInterval, "error", err)
	}

	httpSrv := &shadow.Server{Proxy: proxy}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	addr := ln.Addr().String()
	state := withoutConfig(*liveURL)
	if cfg, ok := proxy.Config(); ok {
		state = fmt.Sprintf("mirroring %s %% of %s to %s", formatPercent(cfg.MirrorPercent), methodList(cfg.Methods), cfg.DarkURL)
		if cfg.Paused {
			state = "paused: forwarding to " + cfg.LiveURL + " without mirroring"
		}
	}
	fmt.Fprintf(stdout, "progressive shadow: dark launch %s/%s on %s; %s\n", *project, *name, addr, state)
	log.Info("serving", "address", addr, "project", *project, "dark_launch", *name, "engine", c.Endpoint(), "version", version.Version)
	if shadowReady != nil {
		select {
		case shadowReady <- addr:
		default:
		}
	}

	select {
	case err := <-serveErr:
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *shutdownTimeout)
		defer cancel()
		_ = agent.Close(closeCtx)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining connections, then copies in flight", "timeout", *shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *shutdownTimeout)
	defer cancel()
	shutdownErr := httpSrv.Shutdown(sctx)
	if shutdownErr != nil {
		_ = httpSrv.Close()
	}
	// After the server: no request is sampled any more. Close drains the
	// copies until sctx ends and delivers a last report.
	if err := agent.Close(sctx); err != nil {
		log.Warn("the last figures may not have reached the engine", "error", err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w (connections still open after --shutdown-timeout %s are cut)", shutdownErr, *shutdownTimeout)
	}
	log.Info("stopped")
	return nil
}

// engineLink is the engine as the agent sees it: the config source and the
// receiver of reports, over the client, for one dark launch.
type engineLink struct {
	c             *client.Client
	project, name string
}

var (
	_ shadow.ConfigSource = engineLink{}
	_ shadow.Reporter     = engineLink{}
)

func (e engineLink) Fetch(ctx context.Context) (shadow.Config, error) {
	c, err := e.c.ShadowConfig(ctx, e.project, e.name)
	if client.IsType(err, "urn:progressive:problem:not-found") {
		return c, fmt.Errorf("%w: %w", shadow.ErrGone, err)
	}
	return c, err
}

func (e engineLink) Report(ctx context.Context, r shadow.Report) error {
	return e.c.ShadowReport(ctx, e.project, e.name, r)
}

// checkShadowSizes refuses sizes that are not positive, naming the flag.
func checkShadowSizes(sizes map[string]int64) error {
	for _, flag := range []string{"queue-size", "queue-bytes", "workers", "max-body-bytes", "max-compare-bytes"} {
		if n := sizes[flag]; n <= 0 {
			return fmt.Errorf("--%s %d must be at least 1", flag, n)
		}
	}
	return nil
}

// withoutConfig says what the proxy does until it has a config.
func withoutConfig(liveURL string) string {
	if liveURL != "" {
		return "no config yet: forwarding to " + liveURL + " without mirroring"
	}
	return "no config yet: answering 503 until one arrives (set --live-url to forward meanwhile)"
}

func methodList(methods []string) string {
	if len(methods) == 0 {
		methods = shadow.DefaultMethods
	}
	return strings.Join(methods, ", ")
}

// newShadowLogger returns the proxy's logger; trace is below debug.
func newShadowLogger(w io.Writer, level, format string) *slog.Logger {
	lv := map[string]slog.Level{"trace": slog.LevelDebug - 4, "debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError}[strings.ToLower(level)]
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
