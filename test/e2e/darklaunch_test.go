package e2e

// Dark launches end to end, against real local HTTP servers: live and dark
// are httptest servers (dark differs on some paths, fails or hangs on
// others), the mirroring proxy runs in this process in front of live and
// talks to an in-process engine over its API with a shadow token, exactly
// as `progressive shadow` does. The preview rule is checked against moto.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// dlBackends are live and dark: dark answers like live except on /differ
// (another body), /fail (500) and /hang (never, until the test ends).
type dlBackends struct {
	live, dark *httptest.Server
	darkHits   atomic.Int64
	release    chan struct{}
}

func dlStartBackends(t *testing.T) *dlBackends {
	t.Helper()
	b := &dlBackends{release: make(chan struct{})}
	b.live = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"rooms":[1,2,3],"at":%d}`, r.URL.Path, time.Now().UnixNano())
	}))
	b.dark = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.darkHits.Add(1)
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case "/hang":
			select {
			case <-b.release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		rooms := "[1,2,3]"
		if r.URL.Path == "/differ" {
			rooms = "[1,2]"
		}
		fmt.Fprintf(w, `{"path":%q,"rooms":%s,"at":%d}`, r.URL.Path, rooms, time.Now().UnixNano()+7)
	}))
	t.Cleanup(func() { close(b.release); b.dark.Close(); b.live.Close() })
	return b
}

// engineSource and engineReporter connect the proxy to the engine, as
// `progressive shadow` does.
type engineSource struct {
	c             *client.Client
	project, name string
}

func (s engineSource) Fetch(ctx context.Context) (shadow.Config, error) {
	return s.c.ShadowConfig(ctx, s.project, s.name)
}

func (s engineSource) Report(ctx context.Context, r shadow.Report) error {
	return s.c.ShadowReport(ctx, s.project, s.name, r)
}

// dlProxy starts the mirroring proxy for name with a shadow token, and
// returns its URL.
func dlProxy(t *testing.T, e *bgEngine, endpoint, admin, name string) string {
	t.Helper()
	ctx := context.Background()
	ac, err := client.New(endpoint, admin)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ac.CreateToken(ctx, model.TokenSpec{Name: "shadow-" + name, Kind: model.TokenShadow, Project: bgProject, DarkLaunches: []string{name}}, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := client.New(endpoint, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := shadow.NewProxy(shadow.Options{DarkTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := engineSource{c: sc, project: bgProject, name: name}
	agent := shadow.NewAgent(p, src, src, shadow.AgentOptions{DarkLaunch: name, PollInterval: 200 * time.Millisecond, ReportInterval: 200 * time.Millisecond})
	if err := agent.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &shadow.Server{Proxy: p}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = p.Close(cctx)
		_ = agent.Close(cctx)
	})
	// The shadow token reaches its own dark launch only.
	if _, err := sc.ShadowConfig(ctx, bgProject, "another"); err == nil || !strings.Contains(err.Error(), "does not serve") {
		t.Fatalf("a shadow token read another dark launch's config: %v", err)
	}
	if _, err := sc.ListToggles(ctx, bgProject); err == nil {
		t.Fatal("a shadow token used the management API")
	}
	return "http://" + ln.Addr().String()
}

func dlWaitState(t *testing.T, c *client.Client, name, state string) wire.DarkLaunchStatus {
	t.Helper()
	return bgEventually(t, "dark launch "+name+" "+state,
		func() (wire.DarkLaunchStatus, error) {
			return c.DarkLaunchStatus(context.Background(), bgProject, name)
		},
		func(s wire.DarkLaunchStatus) bool { return s.Status == state }, nil)
}

// dlEvaluate evaluates key over OFREP with token.
func dlEvaluate(t *testing.T, endpoint, token, key string) (value any, reason string, md map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/ofrep/v1/evaluate/flags/"+key, strings.NewReader(`{"context":{"targetingKey":"u1"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Value    any            `json:"value"`
		Reason   string         `json:"reason"`
		Metadata map[string]any `json:"metadata"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("OFREP %s: %d %s", key, resp.StatusCode, b)
	}
	return out.Value, out.Reason, out.Metadata
}

func dlGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestDarkLaunchProvenReleasesToggle: the release toggle is held off (OFREP
// serves the off variant with reason DISABLED; all-on tokens still get on)
// and cannot be switched on until mirrored traffic proves the dark backend;
// then it can. Live responses come back unchanged, also for a path on which
// dark hangs.
func TestDarkLaunchProvenReleasesToggle(t *testing.T) {
	ctx := context.Background()
	b := dlStartBackends(t)
	admin := model.NewTokenSecret()
	e := bgStart(t, ctx, bgNewDB(t), admin, nil)
	endpoint := e.c.Endpoint()

	off := false
	toggle := model.ToggleSpec{Key: "chat-ui", Enabled: &off, Variants: map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)}, DefaultVariant: "on", OffVariant: "off", OnVariant: "on"}
	if _, err := e.c.CreateToggle(ctx, bgProject, toggle, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	spec := model.DarkLaunchSpec{Name: "chat-backend", LiveURL: b.live.URL, DarkURL: b.dark.URL, MirrorPercent: 100,
		Compare:       model.DarkCompare{IgnoreJSONPaths: []string{"$.at"}},
		Acceptance:    model.DarkAcceptance{MinRequests: 60, MaxErrorRate: 0.2, MaxP99Latency: model.Duration(2 * time.Second), MaxDiffRate: 0.2},
		ReleaseToggle: "chat-ui"}
	if _, err := e.c.CreateDarkLaunch(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	proxy := dlProxy(t, e, endpoint, admin, "chat-backend")

	// Held: the toggle may not be switched on, and OFREP serves off.
	on := true
	toggle.Enabled = &on
	_, err := e.c.UpdateToggle(ctx, bgProject, toggle, 0)
	if p := bgProblem(t, err, http.StatusConflict); !strings.Contains(p.Detail, "chat-ui is held by dark launch chat-backend: 0 of 60 requests, error rate 0 %") {
		t.Fatalf("enabling a held toggle: %s", p.Detail)
	}
	sdk, err := e.c.CreateToken(ctx, model.TokenSpec{Name: "app", Kind: model.TokenSDK}, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	allOn, err := e.c.CreateToken(ctx, model.TokenSpec{Name: "ci", Kind: model.TokenSDK, AllOn: true}, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	if v, reason, _ := dlEvaluate(t, endpoint, sdk.Secret, "chat-ui"); v != false || reason != "DISABLED" {
		t.Fatalf("held toggle: %v %s", v, reason)
	}

	// Live traffic through the proxy: one in ten paths differs; /hang never
	// delays live.
	for i := range 80 {
		path := fmt.Sprintf("/rooms/%d", i)
		if i%10 == 0 {
			path = "/differ"
		}
		if got := dlGet(t, proxy+path); !strings.Contains(got, `"path":"`+path+`"`) || !strings.Contains(got, `"rooms":[1,2,3]`) {
			t.Fatalf("the proxy changed live's answer: %s", got)
		}
	}
	for range 3 {
		if got := dlGet(t, proxy+"/hang"); !strings.Contains(got, `"path":"/hang"`) {
			t.Fatalf("/hang through the proxy: %s", got)
		}
	}
	st := dlWaitState(t, e.c, "chat-backend", model.DarkProven)
	f := st.Figures
	if f.Requests < 60 || f.Diffs < 1 || f.DiffRate <= 0 || f.DiffRate > 0.2 || st.Held {
		t.Fatalf("proven with figures %+v (held %v)", f, st.Held)
	}
	diffs, err := e.c.DarkLaunchDiffs(ctx, bgProject, "chat-backend")
	if err != nil || len(diffs.Diffs) == 0 || diffs.Diffs[0].Path != "/differ" {
		t.Fatalf("sample diffs: %+v %v", diffs, err)
	}
	for _, d := range diffs.Diffs {
		for _, fd := range d.Fields {
			if fd.Name == "$.at" {
				t.Fatalf("an ignored path was reported as a diff: %+v", d)
			}
		}
	}

	// Proven: the toggle is no longer held and may be switched on.
	bgEventually(t, "OFREP serves the toggle unheld", func() (string, error) {
		_, reason, _ := dlEvaluate(t, endpoint, sdk.Secret, "chat-ui")
		return reason, nil
	}, func(r string) bool { return r == "DISABLED" }, nil) // still off by its own kill switch
	if _, err := e.c.UpdateToggle(ctx, bgProject, toggle, 0); err != nil {
		t.Fatalf("enabling the toggle after the dark launch was proven: %v", err)
	}
	bgEventually(t, "OFREP serves on", func() (any, error) {
		v, _, _ := dlEvaluate(t, endpoint, sdk.Secret, "chat-ui")
		return v, nil
	}, func(v any) bool { return v == true }, nil)
	if v, _, md := dlEvaluate(t, endpoint, allOn.Secret, "chat-ui"); v != true || md["allOn"] != true {
		t.Fatalf("all-on: %v %v", v, md)
	}
	evs := bgEvents(t, e.c, model.KindDarkLaunch, "chat-backend")
	if bgCount(evs, "dark launch proven") != 1 {
		t.Fatalf("audit events: %+v", evs)
	}
}

// TestDarkLaunchHeldInOFREP: while unproven, a toggle that the dark launch
// holds serves its off variant with reason DISABLED and metadata naming the
// dark launch; all-on tokens get the on variant, and their metadata says
// so. Creating a dark launch over a toggle that is already on is refused.
func TestDarkLaunchHeldInOFREP(t *testing.T) {
	ctx := context.Background()
	b := dlStartBackends(t)
	admin := model.NewTokenSecret()
	e := bgStart(t, ctx, bgNewDB(t), admin, nil)
	endpoint := e.c.Endpoint()
	on := true
	toggle := model.ToggleSpec{Key: "chat-ui", Enabled: &on, Variants: map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)}, DefaultVariant: "off", OffVariant: "off", OnVariant: "on"}
	if _, err := e.c.CreateToggle(ctx, bgProject, toggle, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	spec := model.DarkLaunchSpec{Name: "chat-backend", LiveURL: b.live.URL, DarkURL: b.dark.URL, MirrorPercent: 10,
		Acceptance: model.DarkAcceptance{MinRequests: 10000, MaxErrorRate: 0.01}, ReleaseToggle: "chat-ui"}
	// Serving only its off variant (default off, no rules): it may be held.
	if _, err := e.c.CreateDarkLaunch(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	sdk, _ := e.c.CreateToken(ctx, model.TokenSpec{Name: "app", Kind: model.TokenSDK}, client.NewIdempotencyKey())
	allOn, _ := e.c.CreateToken(ctx, model.TokenSpec{Name: "ci", Kind: model.TokenSDK, AllOn: true}, client.NewIdempotencyKey())
	v, reason, md := dlEvaluate(t, endpoint, sdk.Secret, "chat-ui")
	if v != false || reason != "DISABLED" || md["heldBy"] != "dark_launch" || md["dark_launch"] != "chat-backend" {
		t.Fatalf("held: %v %s %v", v, reason, md)
	}
	v, _, md = dlEvaluate(t, endpoint, allOn.Secret, "chat-ui")
	if v != true || md["allOn"] != true || md["dark_launch"] != "chat-backend" {
		t.Fatalf("all-on while held: %v %v", v, md)
	}
	// Making it serve on is refused.
	toggle.DefaultVariant = "on"
	_, err := e.c.UpdateToggle(ctx, bgProject, toggle, 0)
	if p := bgProblem(t, err, http.StatusConflict); !strings.Contains(p.Detail, "held by dark launch chat-backend: 0 of 10,000 requests") {
		t.Fatalf("%s", p.Detail)
	}

	// A second dark launch over a toggle that is already on is refused.
	toggle.Key = "search-ui"
	if _, err := e.c.CreateToggle(ctx, bgProject, toggle, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	spec.Name, spec.ReleaseToggle = "search-backend", "search-ui"
	_, err = e.c.CreateDarkLaunch(ctx, bgProject, spec, client.NewIdempotencyKey())
	if p := bgProblem(t, err, http.StatusConflict); !strings.Contains(p.Detail, "search-ui already serves more than its off variant") {
		t.Fatalf("%s", p.Detail)
	}
	spec.ReleaseToggle = "no-such-toggle"
	_, err = e.c.CreateDarkLaunch(ctx, bgProject, spec, client.NewIdempotencyKey())
	if p := bgProblem(t, err, http.StatusBadRequest); !strings.Contains(p.Detail, `no toggle named "no-such-toggle"`) {
		t.Fatalf("%s", p.Detail)
	}

	// Deleting the dark launch releases the hold, with an audit event.
	if err := e.c.DeleteDarkLaunch(ctx, bgProject, "chat-backend", 0); err != nil {
		t.Fatal(err)
	}
	bgEventually(t, "the hold released", func() (string, error) {
		_, reason, _ := dlEvaluate(t, endpoint, sdk.Secret, "chat-ui")
		return reason, nil
	}, func(r string) bool { return r != "DISABLED" }, nil)
	if evs := bgEvents(t, e.c, model.KindDarkLaunch, "chat-backend"); bgCount(evs, "releases its hold on toggle chat-ui") != 1 {
		t.Fatalf("audit events: %+v", evs)
	}
}

// TestDarkLaunchFailsAndStopsLoad: synthetic load to a dark backend that
// fails turns the launch failed (the audit event names the bound), which
// stops the load; reset starts collecting afresh, pause stops the load and
// resume restarts it.
func TestDarkLaunchFailsAndStopsLoad(t *testing.T) {
	ctx := context.Background()
	b := dlStartBackends(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	spec := model.DarkLaunchSpec{Name: "chat-backend", LiveURL: b.live.URL, DarkURL: b.dark.URL, MirrorPercent: 0,
		Synthetic: &model.Synthetic{RequestsPerSecond: 40, Requests: []model.SyntheticRequest{
			{Method: "GET", Path: "/rooms"}, {Method: "GET", Path: "/fail", Headers: map[string]string{"X-User": "synthetic"}},
		}},
		Acceptance: model.DarkAcceptance{MinRequests: 20, MaxErrorRate: 0.1}}
	if _, err := e.c.CreateDarkLaunch(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	st := dlWaitState(t, e.c, "chat-backend", model.DarkFailed)
	if st.Figures.Synthetic < 20 || st.Figures.ErrorRate < 0.3 || !strings.Contains(st.Message, "error rate") {
		t.Fatalf("failed: %+v", st)
	}
	evs := bgEvents(t, e.c, model.KindDarkLaunch, "chat-backend")
	if bgCount(evs, "dark launch failed: error rate") != 1 || bgCount(evs, "exceeds max_error_rate 10.00%") != 1 {
		t.Fatalf("audit events: %+v", evs)
	}
	// Failure stopped the load.
	hits := b.darkHits.Load()
	time.Sleep(2 * time.Second)
	if extra := b.darkHits.Load() - hits; extra > 5 {
		t.Fatalf("dark got %d more synthetic requests after the launch failed", extra)
	}

	// Reset: collecting afresh, the load restarts.
	if err := e.c.DarkLaunchAction(ctx, bgProject, "chat-backend", "reset"); err != nil {
		t.Fatal(err)
	}
	bgEventually(t, "the load restarts after reset", func() (int64, error) { return b.darkHits.Load(), nil },
		func(n int64) bool { return n > hits+10 }, nil)

	// Pause stops it again; resume restarts it.
	if err := e.c.DarkLaunchAction(ctx, bgProject, "chat-backend", "pause"); err != nil {
		t.Fatal(err)
	}
	st = dlWaitState(t, e.c, "chat-backend", model.DarkPaused)
	time.Sleep(1500 * time.Millisecond) // the next controller tick stops it
	hits = b.darkHits.Load()
	time.Sleep(2 * time.Second)
	if extra := b.darkHits.Load() - hits; extra > 5 {
		t.Fatalf("dark got %d synthetic requests while paused", extra)
	}
	if err := e.c.DarkLaunchAction(ctx, bgProject, "chat-backend", "resume"); err != nil {
		t.Fatal(err)
	}
	bgEventually(t, "the load restarts after resume", func() (int64, error) { return b.darkHits.Load(), nil },
		func(n int64) bool { return n > hits+10 }, nil)
}

// TestDarkLaunchPreviewRule: the engine-owned ALB rule forwards requests
// with the preview header to the dark target group, and goes with the
// dark launch.
func TestDarkLaunchPreviewRule(t *testing.T) {
	ctx := context.Background()
	b := dlStartBackends(t)
	lb := testenv.NewALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	spec := model.DarkLaunchSpec{Name: "chat-backend", LiveURL: b.live.URL, DarkURL: b.dark.URL, MirrorPercent: 10,
		ALB:        &model.DarkALB{ListenerARN: lb.ListenerARN, RulePriority: 50, TargetGroupARN: lb.GreenTG, HTTPHeaders: []model.HTTPHeader{{Name: "x-dark-launch", Values: []string{"chat"}}}},
		Acceptance: model.DarkAcceptance{MinRequests: 100}}
	if _, err := e.c.CreateDarkLaunch(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgEventually(t, "preview rule ready",
		func() (wire.DarkLaunchStatus, error) { return e.c.DarkLaunchStatus(ctx, bgProject, "chat-backend") },
		func(s wire.DarkLaunchStatus) bool { return strings.HasPrefix(s.Preview, "ready") },
		func(s wire.DarkLaunchStatus) bool { return s.Preview == "error" })
	rule, err := bgReadRule(ctx, lb, "50")
	if err != nil {
		t.Fatal(err)
	}
	if len(rule.Conditions) != 1 || rule.Conditions[0].HttpHeaderConfig == nil || aws.ToString(rule.Conditions[0].HttpHeaderConfig.HttpHeaderName) != "x-dark-launch" {
		t.Fatalf("preview rule conditions: %+v", rule.Conditions)
	}
	if tgs := rule.Actions[0].ForwardConfig.TargetGroups; len(tgs) != 1 || aws.ToString(tgs[0].TargetGroupArn) != lb.GreenTG {
		t.Fatalf("preview rule forwards to %+v", tgs)
	}
	if err := e.c.DeleteDarkLaunch(ctx, bgProject, "chat-backend", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := bgReadRule(ctx, lb, "50"); err == nil {
		t.Fatal("the preview rule outlived its dark launch")
	}
}
