package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// cleanShadowEnv is cleanEnv plus the variables of `shadow` and `dark`.
func cleanShadowEnv(t *testing.T) {
	t.Helper()
	cleanEnv(t)
	for _, k := range []string{
		"PROGRESSIVE_PROJECT", "PROGRESSIVE_SHADOW_DARK_LAUNCH", "PROGRESSIVE_SHADOW_LISTEN", "PROGRESSIVE_SHADOW_LIVE_URL",
		"PROGRESSIVE_SHADOW_QUEUE_SIZE", "PROGRESSIVE_SHADOW_QUEUE_BYTES", "PROGRESSIVE_SHADOW_WORKERS",
		"PROGRESSIVE_SHADOW_MAX_BODY_BYTES", "PROGRESSIVE_SHADOW_MAX_COMPARE_BYTES", "PROGRESSIVE_SHADOW_DARK_TIMEOUT",
		"PROGRESSIVE_SHADOW_CONFIG_POLL_INTERVAL", "PROGRESSIVE_SHADOW_REPORT_INTERVAL", "PROGRESSIVE_SHADOW_SHUTDOWN_TIMEOUT",
		"PROGRESSIVE_SHADOW_CLOUDWATCH_NAMESPACE", "PROGRESSIVE_SHADOW_LOG_LEVEL", "PROGRESSIVE_SHADOW_LOG_FORMAT",
	} {
		t.Setenv(k, "")
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}

// upstream is a live or dark backend: it answers every path with JSON that
// names the path and a version, and counts the requests it gets.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
}

// newUpstream answers version v1, except under differsUnder (when set),
// where it answers version.
func newUpstream(t *testing.T, version, differsUnder string) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		v := "v1"
		if differsUnder != "" && strings.HasPrefix(r.URL.Path, differsUnder) {
			v = version
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "version": v})
	}))
	t.Cleanup(u.Close)
	return u
}

// shadowProc is a running `progressive shadow`.
type shadowProc struct{ *daemon }

// startShadow runs `progressive shadow --listen 127.0.0.1:0 args...` until
// it serves.
func startShadow(t *testing.T, args ...string) *shadowProc {
	t.Helper()
	return &shadowProc{startCommand(t, "shadow", &shadowReady, args...)}
}

// get sends a GET through the proxy and returns the status and body.
func (p *shadowProc) get(path string) (int, string) {
	p.t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		p.t.Fatalf("GET %s through the proxy: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// wantLive sends a GET through the proxy and fails unless live answered.
func (p *shadowProc) wantLive(path string) {
	p.t.Helper()
	status, body := p.get(path)
	if status != http.StatusOK || !strings.Contains(body, `"version":"v1"`) || !strings.Contains(body, `"path":"`+strings.Split(path, "?")[0]+`"`) {
		p.t.Fatalf("GET %s through the proxy: %d %s; want live's answer", path, status, body)
	}
}

// eventually polls cond until it holds, for at most wait; it is a guard
// against hanging, not a measurement. cond returns what it saw, for the
// failure message.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not after %s; last seen: %s", what, wait, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cliOK runs a CLI command that must succeed and returns its stdout.
func cliOK(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := cli(t, args...)
	if err != nil {
		t.Fatalf("%q: %v\nstderr: %s", args, err, stderr)
	}
	return stdout
}

// onlyProxy returns the one proxy that reported to a dark launch.
func onlyProxy(st wire.DarkLaunchStatus) (string, uint64, string, bool) {
	if len(st.Proxies) != 1 {
		return "", 0, "", false
	}
	for id, p := range st.Proxies {
		return id, p.Sequence, p.Revision, true
	}
	return "", 0, "", false
}

// A dark launch end to end: `progressive shadow` in front of live with a
// shadow token, `progressive dark` reading and steering it, and the proxy
// failing open when the engine goes away.
func TestShadowCommand(t *testing.T) {
	cleanShadowEnv(t)
	ctx := context.Background()
	t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
	d := startServe(t)
	admin := d.secret()
	c := d.client(admin)
	t.Setenv("PROGRESSIVE_ENDPOINT", d.endpoint)
	t.Setenv("PROGRESSIVE_TOKEN", admin)

	live := newUpstream(t, "v1", "")
	dark := newUpstream(t, "v2", "/api/rooms") // dark differs under /api/rooms only
	off := false
	if _, err := c.CreateToggle(ctx, "default", model.ToggleSpec{Key: "chat-ui", Enabled: &off,
		Variants:       map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)},
		DefaultVariant: "on", OffVariant: "off"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDarkLaunch(ctx, "default", model.DarkLaunchSpec{Name: "chat-backend", LiveURL: live.URL, DarkURL: dark.URL,
		MirrorPercent: 100, ReleaseToggle: "chat-ui",
		Acceptance: model.DarkAcceptance{MinRequests: 10, MaxErrorRate: 0.01, MaxDiffRate: 1}}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDarkLaunch(ctx, "default", model.DarkLaunchSpec{Name: "other", LiveURL: live.URL, DarkURL: dark.URL + "/other",
		MirrorPercent: 5, Acceptance: model.DarkAcceptance{MinRequests: 1000}}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}

	// Before any proxy: collecting, the toggle held, nobody reporting.
	out := cliOK(t, "dark", "status", "chat-backend")
	wantContains(t, "dark status", out, "dark launch default/chat-backend: collecting", "0 of 10", "chat-ui, held off until this dark launch is proven",
		"none has reported", "mirroring         100 % of GET, HEAD, from "+live.URL+" to "+dark.URL)

	stdout := cliOK(t, "token", "create", "--kind", "shadow", "--name", "chat-proxy", "--dark-launch", "chat-backend")
	shadowToken := strings.TrimSpace(stdout)

	p := startShadow(t, "--dark-launch", "chat-backend", "--token", shadowToken, "--config-poll-interval", "100ms", "--report-interval", "200ms")
	wantContains(t, "shadow stdout", p.stdout.String(), "dark launch default/chat-backend on "+p.addr, "mirroring 100 % of GET, HEAD to "+dark.URL)

	// Clients get live's answers; every request is copied to dark.
	for i := range 20 {
		p.wantLive(fmt.Sprintf("/api/rooms/%d?n=%d", i, i))
		p.wantLive(fmt.Sprintf("/api/same?n=%d", i))
	}
	if n := live.hits.Load(); n != 40 {
		t.Errorf("live got %d requests, want 40", n)
	}
	var st wire.DarkLaunchStatus
	eventually(t, "the engine counts 40 copies", func() (bool, string) {
		var err error
		st, err = c.DarkLaunchStatus(ctx, "default", "chat-backend")
		return err == nil && st.Figures.Requests == 40, fmt.Sprintf("%+v %v", st.Figures, err)
	})
	if f := st.Figures; f.Compared != 40 || f.Diffs != 20 || f.Errors != 0 || f.Dropped != 0 || st.Status != model.DarkProven || st.Held {
		t.Fatalf("status after 40 copies: %+v", st)
	}
	out = cliOK(t, "dark", "status", "chat-backend")
	wantContains(t, "dark status", out, "dark launch default/chat-backend: proven", "requests          40 of 10",
		"diff rate         50.00 % (20 of 40 compared; max 100.00 %)", "error rate        0.00 % (0 errors; max 1.00 %)",
		"chat-ui, not held", "proven at", "proxies           1", "last report", "ago, config revision")

	out = cliOK(t, "dark", "diff", "chat-backend")
	wantContains(t, "dark diff", out, "GET /api/rooms/", "FIELD", "LIVE", "DARK", "body $.version", `"v1"`, `"v2"`, "(proxy ")
	if strings.Contains(out, "/api/same") {
		t.Errorf("dark diff shows a path where dark answers as live:\n%s", out)
	}
	var diffs wire.DarkLaunchDiffs
	// Each report carries a few samples, not every diff.
	if err := json.Unmarshal([]byte(cliOK(t, "dark", "diff", "--json", "--limit", "0", "chat-backend")), &diffs); err != nil || len(diffs.Diffs) == 0 || len(diffs.Diffs) > 20 {
		t.Fatalf("dark diff --json: %d diffs, %v; want 1 to 20", len(diffs.Diffs), err)
	}
	for i, s := range diffs.Diffs {
		if !strings.HasPrefix(s.Path, "/api/rooms/") {
			t.Errorf("sample %d is for %s %s", i, s.Method, s.Path)
		}
		if i > 0 && s.Time.After(diffs.Diffs[i-1].Time) {
			t.Errorf("dark diff --json is not newest first at %d: %s after %s", i, s.Time, diffs.Diffs[i-1].Time)
		}
	}
	if err := json.Unmarshal([]byte(cliOK(t, "dark", "diff", "--json", "--limit", "1", "chat-backend")), &diffs); err != nil || len(diffs.Diffs) != 1 {
		t.Fatalf("dark diff --json --limit 1: %d diffs, %v", len(diffs.Diffs), err)
	}

	out = cliOK(t, "dark", "list")
	wantContains(t, "dark list", out, "NAME", "chat-backend", "proven", "chat-ui", "40 of 10", "50.00 %", "other", "collecting", "0 of 1,000")

	// The shadow token serves its dark launch only, and only to the proxy.
	sc := d.client(shadowToken)
	var pr *problem.Problem
	if _, err := sc.ShadowConfig(ctx, "default", "other"); !errors.As(err, &pr) || pr.Status != http.StatusForbidden || !strings.Contains(pr.Detail, "--dark-launch other") {
		t.Errorf("a shadow token reading another dark launch's config: %v; want 403", err)
	}
	if _, _, err := cli(t, "dark", "status", "--token", shadowToken, "chat-backend"); !errors.As(err, &pr) || pr.Status != http.StatusForbidden {
		t.Errorf("dark status with a shadow token: %v; want 403", err)
	}

	// A proxy whose token does not serve its dark launch still starts
	// (failing open), and its log says what to fix.
	wrong := startShadow(t, "--dark-launch", "other", "--token", shadowToken)
	wantContains(t, "log", wrong.stderr.String(), "level=ERROR", "serving without a config from the engine", "--dark-launch other")
	if status, body := wrong.get("/api/rooms"); status != http.StatusServiceUnavailable {
		t.Errorf("a proxy without config or --live-url answered %d %q; want 503", status, body)
	}
	if err := wrong.stop(); err != nil {
		t.Fatal(err)
	}

	// Pause: the proxy stops mirroring at its next poll, and live still answers.
	out = cliOK(t, "dark", "pause", "chat-backend")
	wantContains(t, "dark pause", out, "Paused dark launch chat-backend", "next config poll")
	paused, err := sc.ShadowConfig(ctx, "default", "chat-backend")
	if err != nil || !paused.Paused {
		t.Fatalf("config after pause: %+v, %v", paused, err)
	}
	eventually(t, "the proxy reports under the paused config", func() (bool, string) {
		st, err = c.DarkLaunchStatus(ctx, "default", "chat-backend")
		_, _, rev, ok := onlyProxy(st)
		return err == nil && ok && rev == string(paused.Revision), fmt.Sprintf("%+v %v", st.Proxies, err)
	})
	darkHits := dark.hits.Load()
	for i := range 20 {
		p.wantLive(fmt.Sprintf("/api/rooms/paused-%d", i))
	}
	_, seq, _, _ := onlyProxy(st)
	eventually(t, "two more reports", func() (bool, string) {
		st, err = c.DarkLaunchStatus(ctx, "default", "chat-backend")
		_, s, _, ok := onlyProxy(st)
		return err == nil && ok && s >= seq+2, fmt.Sprintf("%+v %v", st.Proxies, err)
	})
	if st.Figures.Requests != 40 || dark.hits.Load() != darkHits {
		t.Fatalf("paused, yet copies went on: %d counted, dark got %d more", st.Figures.Requests, dark.hits.Load()-darkHits)
	}
	wantContains(t, "dark status", cliOK(t, "dark", "status", "chat-backend"), "chat-backend: paused", "paused by bootstrap")
	wantContains(t, "dark pause again", cliOK(t, "dark", "pause", "chat-backend"), "already paused")

	// Resume: mirroring restarts.
	wantContains(t, "dark resume", cliOK(t, "dark", "resume", "chat-backend"), "Resumed dark launch chat-backend: it is proven again")
	resumed, err := sc.ShadowConfig(ctx, "default", "chat-backend")
	if err != nil || resumed.Paused {
		t.Fatalf("config after resume: %+v, %v", resumed, err)
	}
	eventually(t, "the proxy reports under the resumed config", func() (bool, string) {
		st, err = c.DarkLaunchStatus(ctx, "default", "chat-backend")
		_, _, rev, ok := onlyProxy(st)
		return err == nil && ok && rev == string(resumed.Revision), fmt.Sprintf("%+v %v", st.Proxies, err)
	})
	for i := range 10 {
		p.wantLive(fmt.Sprintf("/api/same?resumed=%d", i))
	}
	eventually(t, "the engine counts 10 more copies", func() (bool, string) {
		st, err = c.DarkLaunchStatus(ctx, "default", "chat-backend")
		return err == nil && st.Figures.Requests == 50, fmt.Sprintf("%+v %v", st.Figures, err)
	})
	wantContains(t, "dark resume again", cliOK(t, "dark", "resume", "chat-backend"), "is not paused (it is proven): nothing to resume")

	// The engine goes away: the proxy keeps serving live, and keeps
	// mirroring with the config it has.
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	darkHits = dark.hits.Load()
	for i := range 10 {
		p.wantLive(fmt.Sprintf("/api/same?engine=gone-%d", i))
	}
	eventually(t, "copies go on without the engine", func() (bool, string) {
		n := dark.hits.Load() - darkHits
		return n == 10, fmt.Sprint(n, " copies")
	})
	eventually(t, "the proxy logs that it keeps its config", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "keeping the current config"), p.stderr.String()
	})

	// SIGTERM: it drains and stops cleanly, though the last report cannot
	// reach the engine.
	if err := p.stop(); err != nil {
		t.Fatalf("shadow after cancel: %v\nstderr:\n%s", err, p.stderr)
	}
	wantContains(t, "shadow log", p.stderr.String(), "shutting down", "the last figures may not have reached the engine", "stopped")
	if strings.Contains(p.stderr.String(), shadowToken) {
		t.Error("the shadow token is in the log")
	}
}

// Without the engine, the proxy still starts: it answers 503 saying why,
// or forwards to --live-url without mirroring.
func TestShadowStartsWithoutEngine(t *testing.T) {
	cleanShadowEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv("PROGRESSIVE_ENDPOINT", gone)
	t.Setenv("PROGRESSIVE_TOKEN", "prog_not-checked-because-the-engine-is-away")
	t.Setenv("PROGRESSIVE_SHADOW_DARK_LAUNCH", "chat-backend")
	t.Setenv("PROGRESSIVE_SHADOW_CONFIG_POLL_INTERVAL", "100ms")

	p := startShadow(t)
	wantContains(t, "stdout", p.stdout.String(), "no config yet: answering 503")
	wantContains(t, "log", p.stderr.String(), "serving without a config from the engine", gone)
	status, body := p.get("/api/rooms")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "no dark launch config yet") {
		t.Errorf("without config or --live-url: %d %q; want 503 saying why", status, body)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}

	live := newUpstream(t, "v1", "")
	t.Setenv("PROGRESSIVE_SHADOW_LIVE_URL", live.URL)
	p = startShadow(t)
	wantContains(t, "stdout", p.stdout.String(), "no config yet: forwarding to "+live.URL+" without mirroring")
	p.wantLive("/api/rooms")
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
}

// With --cloudwatch-namespace the figures are also published to
// CloudWatch (moto), under the DarkLaunch dimension.
func TestShadowPublishesToCloudWatch(t *testing.T) {
	cleanShadowEnv(t)
	testenv.Moto(t)
	ctx := context.Background()
	t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
	d := startServe(t)
	admin := d.secret()
	c := d.client(admin)
	t.Setenv("PROGRESSIVE_ENDPOINT", d.endpoint)
	t.Setenv("PROGRESSIVE_TOKEN", admin)
	live, dark := newUpstream(t, "v1", ""), newUpstream(t, "v1", "")
	if _, err := c.CreateDarkLaunch(ctx, "default", model.DarkLaunchSpec{Name: "chat-backend", LiveURL: live.URL, DarkURL: dark.URL,
		MirrorPercent: 100, Acceptance: model.DarkAcceptance{MinRequests: 1000}}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	shadowToken := strings.TrimSpace(cliOK(t, "token", "create", "--kind", "shadow", "--name", "chat-proxy", "--dark-launch", "chat-backend"))
	namespace := "Progressive/ShadowCommandTest-" + testenv.Suffix()
	p := startShadow(t, "--dark-launch", "chat-backend", "--token", shadowToken, "--report-interval", "200ms", "--cloudwatch-namespace", namespace)
	for i := range 10 {
		p.wantLive(fmt.Sprintf("/api/rooms/%d", i))
	}

	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewClient(cfg)
	now := time.Now()
	eventually(t, "CloudWatch sums 10 requests", func() (bool, string) {
		out, err := cw.GetMetricStatistics(ctx, &sdk.GetMetricStatisticsInput{
			Namespace: aws.String(namespace), MetricName: aws.String("Requests"),
			Dimensions: []types.Dimension{{Name: aws.String("DarkLaunch"), Value: aws.String("chat-backend")}},
			StartTime:  aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Hour)),
			Period: aws.Int32(60), Statistics: []types.Statistic{types.StatisticSum},
		})
		if err != nil {
			return false, err.Error()
		}
		var sum float64
		for _, dp := range out.Datapoints {
			sum += aws.ToFloat64(dp.Sum)
		}
		return sum == 10, fmt.Sprint(sum)
	})
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
}

// shadowRefused runs a shadow that must fail before it serves, and returns
// its error.
func shadowRefused(t *testing.T, args ...string) error {
	t.Helper()
	ready := make(chan string, 1)
	shadowReady = ready
	defer func() { shadowReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"shadow"}, args...), &out, &errOut) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("shadow %q: no error", args)
		}
		return err
	case addr := <-ready:
		cancel()
		<-done
		t.Fatalf("shadow %q started on %s; want it refused", args, addr)
	case <-time.After(wait):
		cancel()
		t.Fatalf("shadow %q neither failed nor started", args)
	}
	return nil
}

func TestShadowRefusesBadConfig(t *testing.T) {
	inUse, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inUse.Close()
	for _, c := range []struct {
		name     string
		env      map[string]string
		args     []string
		want     []string
		usageErr bool
	}{
		{name: "no dark launch", env: map[string]string{"PROGRESSIVE_SHADOW_DARK_LAUNCH": ""},
			want: []string{"--dark-launch", "PROGRESSIVE_SHADOW_DARK_LAUNCH"}},
		{name: "no token", env: map[string]string{"PROGRESSIVE_TOKEN": ""},
			want: []string{"PROGRESSIVE_TOKEN", "--kind shadow", "--dark-launch chat-backend"}},
		{name: "dark timeout", env: map[string]string{"PROGRESSIVE_SHADOW_DARK_TIMEOUT": "soon"},
			want: []string{"PROGRESSIVE_SHADOW_DARK_TIMEOUT", `"soon"`, "duration"}},
		{name: "workers from the environment", env: map[string]string{"PROGRESSIVE_SHADOW_WORKERS": "0"},
			want: []string{"PROGRESSIVE_SHADOW_WORKERS", "positive whole number"}},
		{name: "no workers", args: []string{"--workers", "0"}, want: []string{"--workers 0", "at least 1"}},
		{name: "huge queue", args: []string{"--queue-size", "100000000"}, want: []string{"--queue-size", "too large"}},
		{name: "negative body size", args: []string{"--max-body-bytes", "-1"}, want: []string{"--max-body-bytes -1", "at least 1"}},
		{name: "short poll", args: []string{"--config-poll-interval", "1ms"}, want: []string{"--config-poll-interval", "too short", "100ms"}},
		{name: "no dark timeout", args: []string{"--dark-timeout", "0s"}, want: []string{"--dark-timeout", "positive"}},
		{name: "live URL", args: []string{"--live-url", "ftp://live.internal"}, want: []string{"--live-url", "ftp://live.internal", "http://"}},
		{name: "log level", args: []string{"--log-level", "loud"}, want: []string{`"loud"`, "trace, debug, info, warn, error"}},
		{name: "log format", env: map[string]string{"PROGRESSIVE_SHADOW_LOG_FORMAT": "xml"}, want: []string{`"xml"`, "text or json"}},
		{name: "arguments", args: []string{"chat-backend"}, want: []string{"no arguments", "--dark-launch"}},
		{name: "bad endpoint", env: map[string]string{"PROGRESSIVE_ENDPOINT": "localhost:8181"}, want: []string{"localhost:8181", "http://"}},
		{name: "listen in use", args: []string{"--listen", inUse.Addr().String()},
			want: []string{inUse.Addr().String(), "PROGRESSIVE_SHADOW_LISTEN"}},
		{name: "CloudWatch without a region", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_PROFILE": ""},
			args: []string{"--cloudwatch-namespace", "Progressive/DarkLaunch"}, want: []string{"--cloudwatch-namespace", "AWS_REGION"}},
		{name: "unknown flag", args: []string{"--port", "80"}, usageErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cleanShadowEnv(t)
			t.Setenv("PROGRESSIVE_ENDPOINT", "http://127.0.0.1:1")
			t.Setenv("PROGRESSIVE_TOKEN", "prog_test")
			t.Setenv("PROGRESSIVE_SHADOW_DARK_LAUNCH", "chat-backend")
			for k, v := range c.env {
				t.Setenv(k, v)
				if v == "" {
					if err := os.Unsetenv(k); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := shadowRefused(t, append([]string{"--listen", "127.0.0.1:0"}, c.args...)...)
			if c.usageErr != errors.Is(err, errUsage) {
				t.Errorf("error %v: errUsage %v, want %v", err, errors.Is(err, errUsage), c.usageErr)
			}
			wantContains(t, "error", err.Error(), c.want...)
			if strings.Contains(err.Error(), "prog_test") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}
