package e2e

// Blue-green releases end to end: the engine runs in-process (engine.Run)
// over a SQLite file, AWS is moto, and every assertion about traffic reads
// what AWS holds (DescribeRules, ListResourceRecordSets), not what the engine
// says. Outcomes are asynchronous, so the tests wait for them with generous
// deadlines and never assert how fast they came.
//
// moto reports every registered target healthy and Route 53 changes INSYNC
// at once (DESIGN.md, "moto's limits"); the unhealthy-slot test therefore
// uses a target group with no targets at all.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

const (
	bgProject = "default"
	// bgWaitLimit bounds every wait for an asynchronous outcome. It is a
	// deadline against hangs, not a performance bound.
	bgWaitLimit = 90 * time.Second
	// bgPriority is the engine's weighted rule in every ALB test.
	bgPriority = "100"
)

// --- the engine under test ---

// bgEngine is one engine.Run in this process.
type bgEngine struct {
	c      *client.Client
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// bgStart runs an engine over the SQLite file db (each engine gets its own
// data directory) and waits until it serves. mod may adjust the
// configuration; parent ending stops the engine too. The engine is stopped
// when the test ends.
func bgStart(t *testing.T, parent context.Context, db, admin string, mod func(*engine.Config)) *bgEngine {
	t.Helper()
	testenv.Moto(t)
	ctx, cancel := context.WithCancel(parent)
	e := &bgEngine{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	cfg := engine.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: "sqlite:" + db, BootstrapToken: admin,
		ControllerInterval: 100 * time.Millisecond, LeaseTTL: 2 * time.Second, SnapshotPoll: 100 * time.Millisecond,
		ShutdownTimeout: 10 * time.Second, ReleaseDriftInterval: 2 * time.Second,
		Log: hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: testWriter{t}}), Ready: ready,
	}
	if mod != nil {
		mod(&cfg)
	}
	go func() { e.done <- engine.Run(ctx, cfg) }()
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("engine: %v", err)
		}
	})
	select {
	case addr := <-ready:
		c, err := client.New("http://"+addr, admin)
		if err != nil {
			t.Fatal(err)
		}
		e.c = c
	case err := <-e.done:
		e.once.Do(func() { e.err = err })
		t.Fatalf("engine stopped before serving: %v", err)
	case <-time.After(bgWaitLimit):
		t.Fatal("engine did not serve")
	}
	return e
}

// stop ends the engine and returns what Run returned.
func (e *bgEngine) stop() error {
	e.once.Do(func() {
		e.cancel()
		e.err = <-e.done
	})
	return e.err
}

// wait blocks until the engine has stopped by itself (its context ended).
func (e *bgEngine) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-e.done:
		e.once.Do(func() { e.err = err })
		if err != nil {
			t.Fatalf("engine: %v", err)
		}
	case <-time.After(bgWaitLimit):
		t.Fatal("the engine did not stop") // the cleanup stops it
	}
}

func bgNewDB(t *testing.T) string { return filepath.Join(t.TempDir(), "progressive.db") }

// bgEventually polls get until ok holds, failing the test after bgWaitLimit with
// the last value seen. fatal, when set, fails at once on a value that can
// never become ok (a release that ended otherwise).
func bgEventually[T any](t *testing.T, what string, get func() (T, error), ok func(T) bool, fatal func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(bgWaitLimit)
	var last T
	var lastErr error
	for {
		v, err := get()
		if err == nil {
			last, lastErr = v, nil
			if ok(v) {
				return v
			}
			if fatal != nil && fatal(v) {
				t.Fatalf("%s: it can no longer happen: %s", what, bgShow(v))
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s; last seen %s (error %v)", what, bgWaitLimit, bgShow(last), lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func bgShow(v any) string {
	if r, ok := v.(wire.Release); ok {
		if r.Current == nil {
			return fmt.Sprintf("release v%d %s, no attempt", r.Version, r.Status)
		}
		return fmt.Sprintf("release v%d %s: attempt %s %s %q (reason %q, intent %s)", r.Version, r.Status, r.Current.ID, r.Current.Phase, r.Current.Message, r.Current.Reason, r.Current.IntendedWeights)
	}
	if evs, ok := v.([]model.Event); ok {
		var b strings.Builder
		for _, e := range evs {
			fmt.Fprintf(&b, "\n  %s %s %s: %s", e.Time.Format(time.RFC3339Nano), e.Action, e.Actor, e.Message)
		}
		return b.String()
	}
	return fmt.Sprintf("%+v", v)
}

// bgWaitRouting waits until the engine has created or adopted the
// environment's routing.
func bgWaitRouting(t *testing.T, c *client.Client, env string) wire.Environment {
	t.Helper()
	return bgEventually(t, "routing of "+env+" ready",
		func() (wire.Environment, error) { return c.GetEnvironment(context.Background(), bgProject, env) },
		func(e wire.Environment) bool { return e.Routing == model.RoutingReady },
		func(e wire.Environment) bool { return e.Routing == model.RoutingError })
}

// bgWaitPhase waits until the attempt answering trigger reaches phase, failing
// at once when it ends in another phase.
func bgWaitPhase(t *testing.T, c *client.Client, env, trigger string, phase model.ReleasePhase) model.Release {
	t.Helper()
	r := bgEventually(t, fmt.Sprintf("release of %s (trigger %q) %s", env, trigger, phase),
		func() (wire.Release, error) { return c.GetRelease(context.Background(), bgProject, env) },
		func(r wire.Release) bool {
			return r.Current != nil && r.Current.Trigger == trigger && r.Current.Phase == phase
		},
		func(r wire.Release) bool {
			return r.Current != nil && r.Current.Trigger == trigger && r.Current.Phase.Terminal() && r.Current.Phase != phase
		})
	return *r.Current
}

// --- AWS fixtures and reads ---

// bgALBEnv is an environment over a fresh moto ALB: blue v41, green v42, the
// weighted rule at priority 100, gates read every second.
func bgALBEnv(name string, lb testenv.ALB) model.EnvironmentSpec {
	return model.EnvironmentSpec{
		Name: name, InitialLiveSlot: model.SlotBlue,
		Blue:          model.Slot{Version: "v41", TargetGroupARN: lb.BlueTG},
		Green:         model.Slot{Version: "v42", TargetGroupARN: lb.GreenTG},
		ALB:           &model.ALB{ListenerARN: lb.ListenerARN, RulePriority: 100},
		CheckInterval: model.Duration(time.Second),
	}
}

// bgReadyALB builds a moto ALB with one healthy target per slot.
func bgReadyALB(t *testing.T) testenv.ALB {
	t.Helper()
	lb := testenv.NewALB(t)
	lb.RegisterTarget(t, lb.BlueTG, "10.0.1.10")
	lb.RegisterTarget(t, lb.GreenTG, "10.0.1.20")
	return lb
}

// bgWeightsOf maps the rule's forward weights, read from AWS, to slots.
func bgWeightsOf(lb testenv.ALB, byTG map[string]int32) model.Weights {
	return model.Weights{Blue: int(byTG[lb.BlueTG]), Green: int(byTG[lb.GreenTG])}
}

func bgALBWeights(t *testing.T, lb testenv.ALB) model.Weights {
	t.Helper()
	byTG := lb.Weights(t, bgPriority)
	if byTG == nil {
		t.Fatalf("no rule at priority %s on the listener", bgPriority)
	}
	if len(byTG) != 2 {
		t.Fatalf("the rule forwards to %v, want exactly the two slots' target groups", byTG)
	}
	return bgWeightsOf(lb, byTG)
}

// bgAssertALB checks what the weighted rule holds on AWS now.
func bgAssertALB(t *testing.T, lb testenv.ALB, want model.Weights, when string) {
	t.Helper()
	if got := bgALBWeights(t, lb); got != want {
		t.Fatalf("%s: AWS holds %s, want %s", when, got, want)
	}
}

// bgReadRule finds the rule at priority on the listener, without failing the
// test (usable from other goroutines).
func bgReadRule(ctx context.Context, lb testenv.ALB, priority string) (elbtypes.Rule, error) {
	out, err := lb.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(lb.ListenerARN)})
	if err != nil {
		return elbtypes.Rule{}, err
	}
	for _, r := range out.Rules {
		if aws.ToString(r.Priority) == priority {
			return r, nil
		}
	}
	return elbtypes.Rule{}, fmt.Errorf("no rule at priority %s", priority)
}

func bgNewAlarm(t *testing.T) (name string, set func(cwtypes.StateValue)) {
	t.Helper()
	testenv.Moto(t)
	ctx := context.Background()
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewClient(awsCfg)
	name = "checkout-5xx-" + testenv.Suffix()
	if _, err := cw.PutMetricAlarm(ctx, &sdk.PutMetricAlarmInput{
		AlarmName: aws.String(name), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	return name, func(state cwtypes.StateValue) {
		t.Helper()
		if _, err := cw.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: state, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
	}
}

// --- audit log ---

// bgEvents returns an object's audit events, oldest first.
func bgEvents(t *testing.T, c *client.Client, kind, name string) []model.Event {
	t.Helper()
	var all []model.Event
	q := client.EventQuery{Project: bgProject, ObjectKind: kind, ObjectName: name, Limit: 1000}
	for {
		page, err := c.ListEvents(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	slices.Reverse(all)
	return all
}

// bgCount counts the events whose message contains s.
func bgCount(evs []model.Event, s string) int {
	n := 0
	for _, e := range evs {
		n += strings.Count(e.Message, s)
	}
	return n
}

// bgAssertTransitions checks that the audit log holds each transition exactly
// once, in order, written by the controller.
func bgAssertTransitions(t *testing.T, evs []model.Event, transitions ...string) {
	t.Helper()
	pos := -1
	for _, tr := range transitions {
		n := 0
		at := -1
		for i, e := range evs {
			if c := strings.Count(e.Message, tr); c > 0 {
				n += c
				at = i
				if e.Actor != "controller" {
					t.Errorf("transition %q written by %q, want the controller", tr, e.Actor)
				}
			}
		}
		if n != 1 {
			t.Fatalf("transition %q appears %d times in the audit log, want once:%s", tr, n, bgShow(evs))
		}
		if at < pos {
			t.Fatalf("transition %q is out of order in the audit log:%s", tr, bgShow(evs))
		}
		pos = at
	}
}

// bgBlueToGreen are the audited transitions of a release from blue to green
// without bake time; the shift carries the weights before and after.
var bgBlueToGreen = []string{"started: blue → green", "pending → checking",
	"checking → shifting: shifting 100% to green (blue 100% / green 0% → blue 0% / green 100%)",
	"shifting → baking", "baking → promoting", "promoting → released"}

func bgProblem(t *testing.T, err error, status int) *problem.Problem {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) || p.Status != status {
		t.Fatalf("want an HTTP %d problem, got %v", status, err)
	}
	return p
}

// --- tests ---

// TestBlueGreenALB: an environment's routing appears on the listener as the
// engine's tagged rule sending everything to blue; a release moves it to
// green, ends released, updates the environment and audits each transition.
func TestBlueGreenALB(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	db := bgNewDB(t)
	e := bgStart(t, ctx, db, model.NewTokenSecret(), nil)
	env := "checkout"
	if _, err := e.c.CreateEnvironment(ctx, bgProject, bgALBEnv(env, lb), client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	got := bgWaitRouting(t, e.c, env)
	if got.ActiveSlot != model.SlotBlue || got.IdleSlot != model.SlotGreen || got.LastReleaseID != "" {
		t.Fatalf("new environment: active %q idle %q last release %q", got.ActiveSlot, got.IdleSlot, got.LastReleaseID)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "routing ready")

	// The rule is the engine's: tagged with its cluster ID, the project and
	// the environment.
	st, err := engine.OpenStore(ctx, "sqlite:"+db, "")
	if err != nil {
		t.Fatal(err)
	}
	clusterID, err := st.ClusterID(ctx, "cl_not_this_one")
	st.Close()
	if err != nil || !strings.HasPrefix(clusterID, "cl_") || clusterID == "cl_not_this_one" {
		t.Fatalf("cluster ID %q, %v", clusterID, err)
	}
	rule, err := bgReadRule(ctx, lb, bgPriority)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := lb.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(rule.RuleArn)}})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, d := range tags.TagDescriptions {
		for _, tag := range d.Tags {
			have[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	for k, v := range map[string]string{"progressive:cluster": clusterID, "progressive:project": bgProject, "progressive:environment": env} {
		if have[k] != v {
			t.Errorf("rule tag %s = %q, want %q (tags %v)", k, have[k], v, have)
		}
	}
	if len(rule.Conditions) == 0 {
		t.Errorf("the engine's rule has no conditions: %+v", rule)
	}

	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, e.c, env, "v42", model.PhaseReleased)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "released")
	ls, err := lb.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{lb.ListenerARN}})
	if err != nil || len(ls.Listeners) != 1 || len(ls.Listeners[0].DefaultActions) != 1 ||
		ls.Listeners[0].DefaultActions[0].Type != elbtypes.ActionTypeEnumFixedResponse {
		t.Fatalf("the listener's default action changed: %+v %v", ls, err)
	}
	if rel.FromSlot != model.SlotBlue || rel.TargetSlot != model.SlotGreen || rel.FinishedAt.IsZero() || rel.FirstShiftVerifiedAt.IsZero() {
		t.Fatalf("released attempt: %+v", rel)
	}
	r, err := e.c.GetRelease(ctx, bgProject, env)
	if err != nil || r.Status != model.ReleaseStatusReleased || !r.Applied {
		t.Fatalf("release: %s, %v", bgShow(r), err)
	}
	got = bgEventually(t, "environment shows the release",
		func() (wire.Environment, error) { return e.c.GetEnvironment(ctx, bgProject, env) },
		func(g wire.Environment) bool { return g.ActiveSlot == model.SlotGreen }, nil)
	if got.IdleSlot != model.SlotBlue || got.LastReleaseID != rel.ID {
		t.Fatalf("environment after the release: active %q idle %q last release %q (want %s)", got.ActiveSlot, got.IdleSlot, got.LastReleaseID, rel.ID)
	}
	tr, err := e.c.Traffic(ctx, bgProject, env)
	if err != nil || tr.Blue != 0 || tr.Green != 100 {
		t.Fatalf("traffic: %+v %v", tr, err)
	}
	bgAssertTransitions(t, bgEvents(t, e.c, model.KindRelease, env), bgBlueToGreen...)
	envEvents := bgEvents(t, e.c, model.KindEnvironment, env)
	if bgCount(envEvents, "routing ready: all traffic to blue") != 1 || bgCount(envEvents, "release "+rel.ID+" released: green serves customers") != 1 {
		t.Fatalf("environment audit events: %+v", envEvents)
	}
}

// TestBlueGreenRoute53: two weighted records <env>-blue and <env>-green, one
// with all the weight, flipped by a release.
func TestBlueGreenRoute53(t *testing.T) {
	ctx := context.Background()
	zone := testenv.NewZone(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	env := "storefront"
	record := "www." + zone.Name
	spec := model.EnvironmentSpec{
		Name:          env,
		Blue:          model.Slot{Version: "v41", DNSValue: "blue.storefront.internal"},
		Green:         model.Slot{Version: "v42", DNSValue: "green.storefront.internal"},
		Route53:       &model.Route53{ZoneID: zone.ID, RecordName: record, RecordType: "CNAME", TTL: 1},
		CheckInterval: model.Duration(time.Second),
	}
	if _, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	want := map[string]int64{env + "-blue": 100, env + "-green": 0}
	if got := zone.Weights(t, record); !bgMapsEqual(got, want) {
		t.Fatalf("records after routing ready: %v, want %v", got, want)
	}
	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, e.c, env, "v42", model.PhaseReleased)
	want = map[string]int64{env + "-blue": 0, env + "-green": 100}
	if got := zone.Weights(t, record); !bgMapsEqual(got, want) {
		t.Fatalf("records after the release: %v, want %v", got, want)
	}
	// The TTL settles before the release counts as complete.
	if rel.FinishedAt.Sub(rel.FirstShiftVerifiedAt) < time.Second {
		t.Errorf("released %s after the shift was verified, before the record's 1s TTL passed", rel.FinishedAt.Sub(rel.FirstShiftVerifiedAt))
	}
	g, err := e.c.GetEnvironment(ctx, bgProject, env)
	if err != nil || g.ActiveSlot != model.SlotGreen || g.IdleSlot != model.SlotBlue || g.LastReleaseID != rel.ID {
		t.Fatalf("environment after the release: %+v %v", g, err)
	}
	bgAssertTransitions(t, bgEvents(t, e.c, model.KindRelease, env), bgBlueToGreen...)
}

func bgMapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestBlueGreenFailedChecks: a slot that fails its smoke test (HTTP 500, or
// the wrong version with expect_version) or has no healthy targets takes no
// traffic: the release fails, says why, and AWS never moved.
func TestBlueGreenFailedChecks(t *testing.T) {
	ctx := context.Background()
	var smokeCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		smokeCalls.Add(1)
		if r.URL.Path == "/broken" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"version":"v41"}`)) // still the old build
	}))
	defer srv.Close()

	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	env := "payments"
	spec := bgALBEnv(env, lb)
	spec.Green.SmokeTestURL = srv.URL + "/broken"
	spec.SmokeTest = model.SmokeTest{Attempts: 2, Interval: model.Duration(100 * time.Millisecond), Timeout: model.Duration(2 * time.Second)}
	created, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, e.c, env, "v42", model.PhaseFailed)
	for _, s := range []string{"no traffic moved", "green failed its smoke test", srv.URL + "/broken", "HTTP 500, expected 200"} {
		if !strings.Contains(rel.Message, s) {
			t.Errorf("message %q does not say %q", rel.Message, s)
		}
	}
	if !rel.IntendedWeights.IsZero() || smokeCalls.Load() != 2 {
		t.Errorf("failed attempt wrote intent %s; smoke calls %d (want 2 attempts)", rel.IntendedWeights, smokeCalls.Load())
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "after a failed smoke test")
	g, err := e.c.GetEnvironment(ctx, bgProject, env)
	if err != nil || g.ActiveSlot != model.SlotBlue || g.IdleSlot != model.SlotGreen || g.LastReleaseID != rel.ID {
		t.Fatalf("environment after the failure: %+v %v", g, err)
	}

	// A deploy of the idle slot (still the wrong build), a smoke test that
	// wants the slot's version, and a new trigger: fails again, saying so.
	spec = created.EnvironmentSpec
	spec.Green.SmokeTestURL = srv.URL + "/version"
	spec.SmokeTest.ExpectVersion = true
	if _, err := e.c.UpdateEnvironment(ctx, bgProject, spec, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UpdateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42-retry"}, 0); err != nil {
		t.Fatal(err)
	}
	rel2 := bgWaitPhase(t, e.c, env, "v42-retry", model.PhaseFailed)
	if rel2.ID == rel.ID || !strings.Contains(rel2.Message, `does not contain the slot's version "v42"`) {
		t.Fatalf("wrong version: attempt %s %q", rel2.ID, rel2.Message)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "after a wrong version")
	evs := bgEvents(t, e.c, model.KindRelease, env)
	if n := bgCount(evs, "checking → failed"); n != 2 {
		t.Fatalf("%d failed transitions in the audit log, want 2: %+v", n, evs)
	}
	if n := bgCount(evs, "→ shifting"); n != 0 {
		t.Fatalf("a failed check shifted traffic: %+v", evs)
	}
}

// TestBlueGreenNoHealthyTargets: a green target group without targets fails
// the release before anything moves.
func TestBlueGreenNoHealthyTargets(t *testing.T) {
	ctx := context.Background()
	lb := testenv.NewALB(t)
	lb.RegisterTarget(t, lb.BlueTG, "10.0.1.10") // green has none
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	env := "search"
	if _, err := e.c.CreateEnvironment(ctx, bgProject, bgALBEnv(env, lb), client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, e.c, env, "v42", model.PhaseFailed)
	if !strings.Contains(rel.Message, "green has 0 healthy targets and needs at least 1") || !rel.IntendedWeights.IsZero() {
		t.Fatalf("failed attempt: %q, intent %s", rel.Message, rel.IntendedWeights)
	}
	r, err := e.c.GetRelease(ctx, bgProject, env)
	if err != nil || r.Status != model.ReleaseStatusFailed {
		t.Fatalf("release status: %s %v", bgShow(r), err)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "after the failed health check")
	g, err := e.c.GetEnvironment(ctx, bgProject, env)
	if err != nil || g.ActiveSlot != model.SlotBlue {
		t.Fatalf("environment: %+v %v", g, err)
	}
}

// TestBlueGreenAlarmRollsBack: an alarm in ALARM while green bakes flips
// back to blue; the reason names the alarm, its value and bound. A new
// trigger, with the alarm OK again, releases.
func TestBlueGreenAlarmRollsBack(t *testing.T) {
	ctx := context.Background()
	alarm, setAlarm := bgNewAlarm(t)
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	env := "checkout"
	spec := bgALBEnv(env, lb)
	spec.BakeTime = model.Duration(time.Minute)
	spec.RollbackAlarms = []string{alarm}
	created, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitPhase(t, e.c, env, "v42", model.PhaseBaking)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "baking")

	setAlarm(cwtypes.StateValueAlarm)
	rel := bgWaitPhase(t, e.c, env, "v42", model.PhaseRolledBack)
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "rolled back")
	wantReason := fmt.Sprintf("gate %q failed: value ALARM, bound OK", alarm)
	if rel.Reason != wantReason || !strings.Contains(rel.Message, wantReason) {
		t.Fatalf("rolled back: reason %q message %q, want %q", rel.Reason, rel.Message, wantReason)
	}
	r, err := e.c.GetRelease(ctx, bgProject, env)
	if err != nil || r.Status != model.ReleaseStatusRolledBack || r.Slot != model.SlotGreen {
		t.Fatalf("release after the rollback keeps the desired slot: %s %v", bgShow(r), err)
	}
	g, err := e.c.GetEnvironment(ctx, bgProject, env)
	if err != nil || g.ActiveSlot != model.SlotBlue || g.IdleSlot != model.SlotGreen || g.LastReleaseID != rel.ID {
		t.Fatalf("environment after the rollback: %+v %v", g, err)
	}
	bgAssertTransitions(t, bgEvents(t, e.c, model.KindRelease, env), "shifting → baking", "baking → rolling_back", "rolling_back → rolled_back")

	// The engine never retries by itself.
	time.Sleep(2 * time.Second)
	if r, err := e.c.GetRelease(ctx, bgProject, env); err != nil || r.Current == nil || r.Current.ID != rel.ID {
		t.Fatalf("the engine started another attempt on its own: %s %v", bgShow(r), err)
	}

	// The fix: alarm back to OK, a shorter bake for the retry, a new trigger.
	setAlarm(cwtypes.StateValueOk)
	spec = created.EnvironmentSpec
	spec.BakeTime = model.Duration(3 * time.Second)
	if _, err := e.c.UpdateEnvironment(ctx, bgProject, spec, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UpdateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42.1"}, 0); err != nil {
		t.Fatal(err)
	}
	rel2 := bgWaitPhase(t, e.c, env, "v42.1", model.PhaseReleased)
	if rel2.ID == rel.ID || time.Duration(rel2.Baked) < 3*time.Second {
		t.Fatalf("retry: %+v", rel2)
	}
	bgAssertALB(t, lb, model.Weights{Green: 100}, "retry released")
}

// TestBlueGreenConflicts: one release at a time, and plans made against an
// environment that changed since are refused.
func TestBlueGreenConflicts(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	env := "orders"
	spec := bgALBEnv(env, lb)
	spec.BakeTime = model.Duration(time.Hour)
	if _, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	noneYet := ""
	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42",
		ExpectActiveSlot: model.SlotBlue, ExpectLastReleaseID: &noneYet}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	baking := bgWaitPhase(t, e.c, env, "v42", model.PhaseBaking)

	// A second change while the first bakes names it and says what to do.
	_, err := e.c.UpdateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v43"}, 0)
	p := bgProblem(t, err, http.StatusConflict)
	for _, s := range []string{baking.ID, "baking", "progressive promote " + env, "progressive abort " + env} {
		if !strings.Contains(p.Detail, s) {
			t.Errorf("conflict %q does not say %q", p.Detail, s)
		}
	}
	if err := e.c.DeleteRelease(ctx, bgProject, env); err == nil {
		t.Error("deleting a release in progress was accepted")
	}
	if err := e.c.DeleteEnvironment(ctx, bgProject, env, 0); !client.IsType(err, problem.TypeConflict) || !strings.Contains(err.Error(), baking.ID) {
		t.Errorf("deleting an environment whose release runs: %v, want a conflict naming %s", err, baking.ID)
	}
	r, err := e.c.GetRelease(ctx, bgProject, env)
	if err != nil || r.Trigger != "v42" || r.Current == nil || r.Current.ID != baking.ID {
		t.Fatalf("the refused change left a mark: %s %v", bgShow(r), err)
	}

	// Promote skips the rest of the bake.
	if err := e.c.ReleaseAction(ctx, bgProject, env, "promote"); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, e.c, env, "v42", model.PhaseReleased)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "promoted")

	// Plans saved before that release are stale now.
	_, err = e.c.UpdateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotBlue, Trigger: "back", ExpectActiveSlot: model.SlotBlue}, 0)
	p = bgProblem(t, err, http.StatusConflict)
	if !strings.Contains(p.Detail, "plan again") || !strings.Contains(p.Detail, "now green is") {
		t.Errorf("stale active slot: %q", p.Detail)
	}
	_, err = e.c.UpdateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotBlue, Trigger: "back", ExpectActiveSlot: model.SlotGreen, ExpectLastReleaseID: &noneYet}, 0)
	p = bgProblem(t, err, http.StatusConflict)
	if !strings.Contains(p.Detail, "plan again") || !strings.Contains(p.Detail, rel.ID) {
		t.Errorf("stale last release: %q", p.Detail)
	}
	time.Sleep(time.Second) // give a wrongly accepted change a chance to start
	r, err = e.c.GetRelease(ctx, bgProject, env)
	if err != nil || r.Slot != model.SlotGreen || r.Current == nil || r.Current.ID != rel.ID {
		t.Fatalf("a stale plan was applied: %s %v", bgShow(r), err)
	}
	bgAssertALB(t, lb, model.Weights{Green: 100}, "after the stale plans")

	// A fresh plan goes through.
	last := rel.ID
	if _, err := e.c.UpdateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotBlue, Trigger: "back", ExpectActiveSlot: model.SlotGreen, ExpectLastReleaseID: &last}, 0); err != nil {
		t.Fatal(err)
	}
	bgWaitPhase(t, e.c, env, "back", model.PhaseBaking)
}

// TestBlueGreenDriftRepaired: weights changed out of band are restored and
// the repair is audited: during a bake (on the release, which shifts again),
// and when no release runs (on the environment), also when the engine's rule
// was deleted.
func TestBlueGreenDriftRepaired(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	env := "catalog"
	spec := bgALBEnv(env, lb)
	spec.BakeTime = model.Duration(time.Hour)
	if _, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	baking := bgWaitPhase(t, e.c, env, "v42", model.PhaseBaking)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "baking")

	// During the bake, someone points the rule back at blue by hand: the
	// bake would otherwise count time for a slot that serves nobody.
	bgForceBlue(t, lb)
	drift := "AWS held blue 100% / green 0% instead of blue 0% / green 100%: restoring"
	bgEventually(t, "drift during the bake audited on the release",
		func() ([]model.Event, error) { return bgEvents(t, e.c, model.KindRelease, env), nil },
		func(evs []model.Event) bool { return bgCount(evs, "baking → shifting: "+drift) == 1 }, nil)
	bgEventually(t, "green 100 restored during the bake",
		func() (model.Weights, error) { return bgALBWeights(t, lb), nil },
		func(w model.Weights) bool { return w == model.Weights{Green: 100} }, nil)
	again := bgWaitPhase(t, e.c, env, "v42", model.PhaseBaking)
	if again.ID != baking.ID || !again.ShiftedAt.After(baking.ShiftedAt) {
		t.Fatalf("after the drift: attempt %s shifted at %s, want %s shifted again after %s", again.ID, again.ShiftedAt, baking.ID, baking.ShiftedAt)
	}
	if err := e.c.ReleaseAction(ctx, bgProject, env, "promote"); err != nil {
		t.Fatal(err)
	}
	bgWaitPhase(t, e.c, env, "v42", model.PhaseReleased)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "released")
	if n := bgCount(bgEvents(t, e.c, model.KindEnvironment, env), "drift repaired"); n != 0 {
		t.Fatalf("%d environment drift repairs while a release ran", n)
	}

	// No release runs: the same edit is repaired for the environment.
	bgForceBlue(t, lb)
	evs := bgEventually(t, "drift repair audited",
		func() ([]model.Event, error) { return bgEvents(t, e.c, model.KindEnvironment, env), nil },
		func(evs []model.Event) bool { return bgCount(evs, "drift repaired") > 0 }, nil)
	bgEventually(t, "green 100 restored on AWS",
		func() (model.Weights, error) { return bgALBWeights(t, lb), nil },
		func(w model.Weights) bool { return w == model.Weights{Green: 100} }, nil)
	var repair model.Event
	for _, ev := range evs {
		if strings.Contains(ev.Message, "drift repaired") {
			repair = ev
		}
	}
	if repair.Actor != "controller" || !strings.Contains(repair.Message, "AWS showed blue 100% / green 0%") || !strings.Contains(repair.Message, "restored blue 0% / green 100%") {
		t.Fatalf("drift event: %+v", repair)
	}
	// The repair is not a release.
	g, err := e.c.GetEnvironment(ctx, bgProject, env)
	if err != nil || g.ActiveSlot != model.SlotGreen {
		t.Fatalf("environment: %+v %v", g, err)
	}
	time.Sleep(2 * time.Second) // several check intervals: a repaired rule stays repaired
	bgAssertALB(t, lb, model.Weights{Green: 100}, "after the repair")
	if n := bgCount(bgEvents(t, e.c, model.KindEnvironment, env), "drift repaired"); n != 1 {
		t.Fatalf("%d drift repairs for one drift", n)
	}

	// The engine's rule deleted by hand comes back, with its tags.
	rule, err := bgReadRule(ctx, lb, bgPriority)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.ELB.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: rule.RuleArn}); err != nil {
		t.Fatal(err)
	}
	bgEventually(t, "deleted rule repaired",
		func() ([]model.Event, error) { return bgEvents(t, e.c, model.KindEnvironment, env), nil },
		func(evs []model.Event) bool { return bgCount(evs, "drift repaired: AWS showed no routing") == 1 }, nil)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "after the deleted rule was repaired")
	back, err := bgReadRule(ctx, lb, bgPriority)
	if err != nil || aws.ToString(back.RuleArn) == aws.ToString(rule.RuleArn) {
		t.Fatalf("the rule was not recreated: %v %v", back.RuleArn, err)
	}
	tags, err := lb.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(back.RuleArn)}})
	if err != nil || len(tags.TagDescriptions) != 1 || len(tags.TagDescriptions[0].Tags) < 3 {
		t.Fatalf("the recreated rule's tags: %+v %v", tags, err)
	}
}

// bgForceBlue edits the engine's rule out of band to send everything to
// blue.
func bgForceBlue(t *testing.T, lb testenv.ALB) {
	t.Helper()
	rule, err := bgReadRule(context.Background(), lb, bgPriority)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.ELB.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: rule.RuleArn, Actions: []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumForward,
		ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(lb.BlueTG), Weight: aws.Int32(100)},
			{TargetGroupArn: aws.String(lb.GreenTG), Weight: aws.Int32(0)},
		}},
	}}}); err != nil {
		t.Fatal(err)
	}
}

// TestBlueGreenRecreateRetained: an environment deleted with on_destroy =
// retain and created again adopts the engine's rule as it is: green keeps
// serving, whatever initial_live_slot says, and nothing is "repaired".
func TestBlueGreenRecreateRetained(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	env := "accounts"
	spec := bgALBEnv(env, lb)
	if _, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	if _, err := e.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitPhase(t, e.c, env, "v42", model.PhaseReleased)
	rule, err := bgReadRule(ctx, lb, bgPriority)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteRelease(ctx, bgProject, env); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteEnvironment(ctx, bgProject, env, 0); err != nil {
		t.Fatal(err)
	}
	bgAssertALB(t, lb, model.Weights{Green: 100}, "deleted, retained")

	if _, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil { // initial_live_slot blue
		t.Fatal(err)
	}
	g := bgWaitRouting(t, e.c, env)
	if g.ActiveSlot != model.SlotGreen || g.IdleSlot != model.SlotBlue {
		t.Fatalf("re-created environment: active %q idle %q, want the adopted green", g.ActiveSlot, g.IdleSlot)
	}
	time.Sleep(2 * time.Second) // several check intervals
	bgAssertALB(t, lb, model.Weights{Green: 100}, "re-created")
	now, err := bgReadRule(ctx, lb, bgPriority)
	if err != nil || aws.ToString(now.RuleArn) != aws.ToString(rule.RuleArn) {
		t.Fatalf("the rule was not adopted: %v, want %v (%v)", now.RuleArn, rule.RuleArn, err)
	}
	evs := bgEvents(t, e.c, model.KindEnvironment, env)
	if bgCount(evs, "drift repaired") != 0 || bgCount(evs, "adopted the engine's routing, which sends all traffic to green") != 1 {
		t.Fatalf("environment events: %+v", evs)
	}
}

// TestBlueGreenRestartBetweenShiftAndVerify: engine A stops right after it
// wrote the release's weights and before it read them back; engine B on the
// same store resumes that attempt to released, and AWS never holds a
// partial weight.
func TestBlueGreenRestartBetweenShiftAndVerify(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	db := bgNewDB(t)
	admin := model.NewTokenSecret()

	// Watch AWS throughout: every read must be one slot at 100 %.
	watchCtx, stopWatch := context.WithCancel(ctx)
	var seen sync.Map
	var partial atomic.Value
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watchCtx.Err() == nil {
			if r, err := bgReadRule(watchCtx, lb, bgPriority); err == nil {
				w := map[string]int32{}
				for _, a := range r.Actions {
					if a.ForwardConfig != nil {
						for _, tg := range a.ForwardConfig.TargetGroups {
							w[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
						}
					}
				}
				got := bgWeightsOf(lb, w)
				seen.Store(got, true)
				if got != (model.Weights{Blue: 100}) && got != (model.Weights{Green: 100}) {
					partial.Store(got)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	aCtx, stopA := context.WithCancel(ctx)
	var once sync.Once
	var hooked atomic.Value
	a := bgStart(t, aCtx, db, admin, func(c *engine.Config) {
		c.AfterSetWeights = func(id string) {
			once.Do(func() {
				hooked.Store(id)
				stopA()
			})
		}
	})
	env := "profile"
	if _, err := a.c.CreateEnvironment(ctx, bgProject, bgALBEnv(env, lb), client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, a.c, env)
	// The watcher has seen the start (so it watches the whole release).
	bgEventually(t, "the watcher sees blue 100",
		func() (bool, error) { _, ok := seen.Load(model.Weights{Blue: 100}); return ok, nil },
		func(ok bool) bool { return ok }, nil)
	if _, err := a.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	a.wait(t)
	id, _ := hooked.Load().(string)
	if id == "" {
		t.Fatal("engine A stopped without writing weights")
	}

	// What A left behind: the persisted intent, written but unverified.
	st, err := engine.OpenStore(ctx, "sqlite:"+db, "")
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.GetObject(ctx, model.Ref{Project: bgProject, Kind: model.KindRelease, Name: env})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	left, err := bgStoredRelease(o)
	if err != nil {
		t.Fatal(err)
	}
	if left.ID != id || left.Phase != model.PhaseShifting || left.IntendedWeights != (model.Weights{Green: 100}) || !left.ShiftedAt.IsZero() {
		t.Fatalf("engine A left %+v, want attempt %s shifting to green 100 and unverified", left, id)
	}

	b := bgStart(t, ctx, db, admin, nil)
	rel := bgWaitPhase(t, b.c, env, "v42", model.PhaseReleased)
	if rel.ID != id {
		t.Fatalf("engine B ran attempt %s, want the resumed %s", rel.ID, id)
	}
	bgAssertALB(t, lb, model.Weights{Green: 100}, "after the resume")
	g, err := b.c.GetEnvironment(ctx, bgProject, env)
	if err != nil || g.ActiveSlot != model.SlotGreen || g.LastReleaseID != id {
		t.Fatalf("environment: %+v %v", g, err)
	}
	bgAssertTransitions(t, bgEvents(t, b.c, model.KindRelease, env), bgBlueToGreen...)

	stopWatch()
	<-watched
	if p := partial.Load(); p != nil {
		t.Fatalf("AWS held a partial weight: %v", p)
	}
	if _, ok := seen.Load(model.Weights{Green: 100}); !ok {
		t.Error("the watcher never saw green 100 (it did not watch)")
	}
}

func bgStoredRelease(o model.Object) (model.Release, error) {
	var st model.ReleaseState
	if err := json.Unmarshal(o.Status, &st); err != nil {
		return model.Release{}, err
	}
	if st.Current == nil {
		return model.Release{}, errors.New("no attempt stored")
	}
	return *st.Current, nil
}

// TestBlueGreenTwoEngines: two engines on one store; one leads, and the
// release runs once.
func TestBlueGreenTwoEngines(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	db := bgNewDB(t)
	admin := model.NewTokenSecret()
	// Both run at once over the one file; the second starts while the
	// first is already campaigning. Each counts its own weight writes.
	var writes [2]atomic.Int32
	var engines [2]*bgEngine
	for i := range engines {
		engines[i] = bgStart(t, ctx, db, admin, func(c *engine.Config) {
			c.AfterSetWeights = func(string) { writes[i].Add(1) }
		})
	}
	leaders := func() ([2]bool, error) {
		var out [2]bool
		for i, e := range engines {
			info, err := e.c.Engine(ctx)
			if err != nil {
				return out, err
			}
			out[i] = info.Leader
		}
		return out, nil
	}
	one := func(l [2]bool) bool { return l[0] != l[1] }
	first := bgEventually(t, "exactly one leader", leaders, one, nil)
	li := 0
	if first[1] {
		li = 1
	}
	leader, follower := engines[li], engines[1-li]

	// Sample both engines throughout: never two leaders at once.
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var both atomic.Bool
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampleCtx.Err() == nil {
			if l, err := leaders(); err == nil && l[0] && l[1] {
				both.Store(true)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// The intent goes through the follower: every replica serves the API.
	env := "inventory"
	if _, err := follower.c.CreateEnvironment(ctx, bgProject, bgALBEnv(env, lb), client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, follower.c, env)
	if _, err := follower.c.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, follower.c, env, "v42", model.PhaseReleased)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "released")
	if r, err := leader.c.GetRelease(ctx, bgProject, env); err != nil || r.Current == nil || r.Current.ID != rel.ID || r.Current.Phase != model.PhaseReleased {
		t.Fatalf("the leader sees %s %v", bgShow(r), err)
	}
	time.Sleep(time.Second) // a second controller would act within this
	stopSampling()
	<-sampled
	if both.Load() {
		t.Fatal("both engines reported leading at once")
	}
	if l, err := leaders(); err != nil || !l[li] || l[1-li] {
		t.Fatalf("leaders after the release: %v %v; engine %d led before", l, err, li)
	}
	// Only the leader moved traffic.
	if w, f := writes[li].Load(), writes[1-li].Load(); w == 0 || f != 0 {
		t.Fatalf("weight writes: leader %d, follower %d", w, f)
	}
	bgAssertTransitions(t, bgEvents(t, leader.c, model.KindRelease, env), bgBlueToGreen...)
	envEvents := bgEvents(t, leader.c, model.KindEnvironment, env)
	for _, s := range []string{"routing ready", "release " + rel.ID + " started", "release " + rel.ID + " released"} {
		if n := bgCount(envEvents, s); n != 1 {
			t.Fatalf("environment event %q written %d times: %+v", s, n, envEvents)
		}
	}
	if n := bgCount(bgEvents(t, leader.c, model.KindRelease, env), "started: blue → green"); n != 1 {
		t.Fatalf("%d attempts started", n)
	}
}

// TestBlueGreenAbort: an operator's abort during the bake rolls back, and
// the reason names who aborted; with stickiness on, the rollback turns it
// off so that every user returns at once.
func TestBlueGreenAbort(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	op, err := e.c.CreateToken(ctx, model.TokenSpec{Name: "release-manager", Kind: model.TokenWrite}, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	oc, err := client.New(e.c.Endpoint(), op.Secret)
	if err != nil {
		t.Fatal(err)
	}
	env := "billing"
	spec := bgALBEnv(env, lb)
	spec.BakeTime = model.Duration(time.Hour)
	spec.ALB.StickinessDuration = model.Duration(time.Hour)
	if _, err := oc.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, oc, env)
	if _, err := oc.CreateRelease(ctx, bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: "v42"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitPhase(t, oc, env, "v42", model.PhaseBaking)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "baking")
	if on, secs := bgStickiness(t, lb); !on || secs != 3600 {
		t.Fatalf("stickiness while baking: %v for %ds, want on for 3600s", on, secs)
	}

	if err := oc.ReleaseAction(ctx, bgProject, env, "abort"); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, oc, env, "v42", model.PhaseRolledBack)
	if rel.Reason != "aborted by release-manager" || !strings.Contains(rel.Message, "aborted by release-manager") {
		t.Fatalf("aborted: reason %q message %q", rel.Reason, rel.Message)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "aborted")
	if on, _ := bgStickiness(t, lb); on {
		t.Fatal("stickiness is still on after the rollback")
	}
	g, err := oc.GetEnvironment(ctx, bgProject, env)
	if err != nil || g.ActiveSlot != model.SlotBlue {
		t.Fatalf("environment: %+v %v", g, err)
	}
	evs := bgEvents(t, e.c, model.KindRelease, env)
	bgAssertTransitions(t, evs, "baking → rolling_back: rolling back to blue: aborted by release-manager", "rolling_back → rolled_back")
	var rb model.Event
	for _, ev := range evs {
		if strings.Contains(ev.Message, "baking → rolling_back") {
			rb = ev
		}
	}
	if !strings.Contains(rb.Message, "(blue 0% / green 100% → blue 100% / green 0%)") {
		t.Errorf("the rollback event does not carry the weights before and after: %q", rb.Message)
	}
	// Nothing left to abort.
	err = oc.ReleaseAction(ctx, bgProject, env, "abort")
	bgProblem(t, err, http.StatusConflict)
}

// bgStickiness reads the target-group stickiness of the engine's rule.
func bgStickiness(t *testing.T, lb testenv.ALB) (on bool, seconds int32) {
	t.Helper()
	rule, err := bgReadRule(context.Background(), lb, bgPriority)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rule.Actions {
		if a.ForwardConfig != nil && a.ForwardConfig.TargetGroupStickinessConfig != nil {
			sc := a.ForwardConfig.TargetGroupStickinessConfig
			return aws.ToBool(sc.Enabled), aws.ToInt32(sc.DurationSeconds)
		}
	}
	return false, 0
}
