package e2e

// Canary policies end to end: the engine runs in-process over SQLite, AWS is
// moto, and every assertion about traffic reads what AWS holds. Stages are
// short (1-3s) and gates are read every second; waits have generous
// deadlines and assert outcomes, never speed.
//
// moto lacks percentile statistics in GetMetricData (DESIGN.md, "moto's
// limits"), so the percentile test swaps the engine's metric reader for a
// narrow fake of its own interface (gates.MetricValues).

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// cnAudiencePriority is where the audience rule sits: one ahead of the
// weighted rule at bgPriority (100).
const cnAudiencePriority = "99"

func ptr[T any](v T) *T { return &v }

// cnPolicy is the three-stage policy of the tests: employees (0 %, an
// audience), early-customers (5 %), fleet (100 %), gates every second.
func cnPolicy(name string, bakes ...time.Duration) model.CanaryPolicySpec {
	b := func(i int) model.Duration {
		if i < len(bakes) {
			return model.Duration(bakes[i])
		}
		return model.Duration(2 * time.Second)
	}
	return model.CanaryPolicySpec{
		Name: name, CheckInterval: model.Duration(time.Second),
		Stages: []model.CanaryStage{
			{Name: "employees", TrafficPercent: 0, BakeTime: b(0), Audience: &model.Audience{
				SourceIPs:   []string{"10.0.0.0/8"},
				HTTPHeaders: []model.HTTPHeader{{Name: "x-employee", Values: []string{"true"}}},
			}},
			{Name: "early-customers", TrafficPercent: 5, BakeTime: b(1)},
			{Name: "fleet", TrafficPercent: 100, BakeTime: b(2)},
		},
	}
}

// cnSetup creates the policy and an ALB environment under it, and waits for
// the routing.
func cnSetup(t *testing.T, c *client.Client, policy model.CanaryPolicySpec, env string, lb testenv.ALB) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateCanaryPolicy(ctx, bgProject, policy, client.NewIdempotencyKey()); err != nil {
		t.Fatalf("create policy: %v", err)
	}
	spec := bgALBEnv(env, lb)
	spec.CanaryPolicy = policy.Name
	if _, err := c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatalf("create environment: %v", err)
	}
	bgWaitRouting(t, c, env)
}

func cnRelease(t *testing.T, c *client.Client, env, trigger string) {
	t.Helper()
	if _, err := c.CreateRelease(context.Background(), bgProject, model.ReleaseSpec{Environment: env, Slot: model.SlotGreen, Trigger: trigger}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
}

// cnWaitStage waits until the release bakes stage i (0-based).
func cnWaitStage(t *testing.T, c *client.Client, env string, i int) model.Release {
	t.Helper()
	r := bgEventually(t, fmt.Sprintf("release of %s baking stage %d", env, i+1),
		func() (wire.Release, error) { return c.GetRelease(context.Background(), bgProject, env) },
		func(r wire.Release) bool {
			return r.Current != nil && r.Current.StageIndex == i && r.Current.Phase == model.PhaseBaking
		},
		func(r wire.Release) bool { return r.Current != nil && r.Current.Phase.Terminal() })
	return *r.Current
}

// cnAudienceRule reads the audience rule from AWS; ok is false without one.
func cnAudienceRule(t *testing.T, lb testenv.ALB) (rule elbtypes.Rule, ok bool) {
	t.Helper()
	r, err := bgReadRule(context.Background(), lb, cnAudiencePriority)
	if err != nil {
		if strings.Contains(err.Error(), "no rule at priority") {
			return elbtypes.Rule{}, false
		}
		t.Fatal(err)
	}
	return r, true
}

// cnAssertAudience checks the audience rule: the environment's path
// condition AND the source IPs AND the header, forwarding to green only.
func cnAssertAudience(t *testing.T, lb testenv.ALB, when string) {
	t.Helper()
	rule, ok := cnAudienceRule(t, lb)
	if !ok {
		t.Fatalf("%s: no audience rule at priority %s", when, cnAudiencePriority)
	}
	var fields []string
	for _, c := range rule.Conditions {
		fields = append(fields, aws.ToString(c.Field))
		switch {
		case c.SourceIpConfig != nil && !slices.Equal(c.SourceIpConfig.Values, []string{"10.0.0.0/8"}):
			t.Errorf("%s: source-ip values %v", when, c.SourceIpConfig.Values)
		case c.HttpHeaderConfig != nil && (aws.ToString(c.HttpHeaderConfig.HttpHeaderName) != "x-employee" || !slices.Equal(c.HttpHeaderConfig.Values, []string{"true"})):
			t.Errorf("%s: http-header condition %+v", when, c.HttpHeaderConfig)
		}
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"http-header", "path-pattern", "source-ip"}) {
		t.Errorf("%s: audience rule conditions %v, want the environment's path-pattern AND source-ip AND http-header", when, fields)
	}
	byTG := map[string]int32{}
	for _, a := range rule.Actions {
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				byTG[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
			}
		}
	}
	if len(byTG) != 1 || byTG[lb.GreenTG] == 0 {
		t.Errorf("%s: audience rule forwards to %v, want the green target group only", when, byTG)
	}
}

func cnAssertNoAudience(t *testing.T, lb testenv.ALB, when string) {
	t.Helper()
	if rule, ok := cnAudienceRule(t, lb); ok {
		t.Fatalf("%s: the audience rule is still on AWS: %+v", when, rule)
	}
}

// TestCanaryFullProgressionALB: three stages, each checked on AWS: the
// audience rule and 0 % in the first, 5 % in the second, 100 % at the end,
// with the audience rule gone.
func TestCanaryFullProgressionALB(t *testing.T) {
	ctx := context.Background()
	alarm, _ := bgNewAlarm(t)
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("standard", 3*time.Second, 3*time.Second, time.Second)
	policy.Acceptance.AlarmNames = []string{alarm}
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")

	r := cnWaitStage(t, e.c, "checkout", 0)
	if r.Policy == nil || r.Policy.Name != "standard" || r.Policy.Version != 1 {
		t.Fatalf("the release does not show its pinned policy: %+v", r.Policy)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "stage 1 (employees)")
	cnAssertAudience(t, lb, "stage 1 (employees)")

	r = cnWaitStage(t, e.c, "checkout", 1)
	bgAssertALB(t, lb, model.Weights{Blue: 95, Green: 5}, "stage 2 (early-customers)")
	cnAssertNoAudience(t, lb, "stage 2 (early-customers)")
	if len(r.Gates) != 1 || r.Gates[0].Name != alarm || r.Gates[0].State != model.GateOK {
		t.Errorf("stage 2 gate readings: %+v", r.Gates)
	}

	rel := bgWaitPhase(t, e.c, "checkout", "v42", model.PhaseReleased)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "released")
	cnAssertNoAudience(t, lb, "released")
	if time.Duration(rel.Baked) < time.Second {
		t.Errorf("the last stage baked %s, want at least its 1s", time.Duration(rel.Baked))
	}
	evs := bgEvents(t, e.c, model.KindRelease, "checkout")
	for _, s := range []string{"stage 1/3 employees", "stage 2/3 early-customers", "stage 3/3 fleet", "under canary policy standard version 1"} {
		if bgCount(evs, s) != 1 {
			t.Errorf("audit events mention %q %d times, want once", s, bgCount(evs, s))
		}
	}
}

// TestCanaryRoute53Stages: Route 53 takes the stages' percentages as weights.
func TestCanaryRoute53Stages(t *testing.T) {
	ctx := context.Background()
	zone := testenv.NewZone(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("dns", 3*time.Second, 3*time.Second, time.Second)
	policy.Stages[0].Audience = nil
	policy.Stages[0].TrafficPercent = 1
	if _, err := e.c.CreateCanaryPolicy(ctx, bgProject, policy, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	env, record := "storefront", "www."+zone.Name
	spec := model.EnvironmentSpec{
		Name: env, CanaryPolicy: "dns", CheckInterval: model.Duration(time.Second),
		Blue:    model.Slot{Version: "v41", DNSValue: "blue.storefront.internal"},
		Green:   model.Slot{Version: "v42", DNSValue: "green.storefront.internal"},
		Route53: &model.Route53{ZoneID: zone.ID, RecordName: record, RecordType: "CNAME", TTL: 1},
	}
	if _, err := e.c.CreateEnvironment(ctx, bgProject, spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, e.c, env)
	cnRelease(t, e.c, env, "v42")
	for i, want := range []map[string]int64{{env + "-blue": 99, env + "-green": 1}, {env + "-blue": 95, env + "-green": 5}} {
		cnWaitStage(t, e.c, env, i)
		if got := zone.Weights(t, record); !bgMapsEqual(got, want) {
			t.Fatalf("stage %d: records %v, want %v", i+1, got, want)
		}
	}
	bgWaitPhase(t, e.c, env, "v42", model.PhaseReleased)
	if got, want := zone.Weights(t, record), map[string]int64{env + "-blue": 0, env + "-green": 100}; !bgMapsEqual(got, want) {
		t.Fatalf("released: records %v, want %v", got, want)
	}
}

// TestCanaryAlarmRollsBackInStage2: an alarm to ALARM in stage 2 rolls back:
// the audience rule is gone and the weights are 100/0, read back from AWS.
func TestCanaryAlarmRollsBackInStage2(t *testing.T) {
	ctx := context.Background()
	alarm, setAlarm := bgNewAlarm(t)
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("standard", time.Second, time.Minute, time.Second)
	// Stage 2 keeps an audience too, so the rollback must remove it.
	policy.Stages[1].Audience = policy.Stages[0].Audience
	policy.Acceptance.AlarmNames = []string{alarm}
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")
	cnWaitStage(t, e.c, "checkout", 1)
	bgAssertALB(t, lb, model.Weights{Blue: 95, Green: 5}, "stage 2")
	cnAssertAudience(t, lb, "stage 2")

	setAlarm(cwtypes.StateValueAlarm)
	rel := bgWaitPhase(t, e.c, "checkout", "v42", model.PhaseRolledBack)
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "rolled back")
	cnAssertNoAudience(t, lb, "rolled back")
	want := fmt.Sprintf("gate %q failed: value ALARM, bound OK", alarm)
	if rel.Reason != want {
		t.Fatalf("reason %q, want %q", rel.Reason, want)
	}
	if g, err := e.c.GetEnvironment(ctx, bgProject, "checkout"); err != nil || g.ActiveSlot != model.SlotBlue {
		t.Fatalf("environment after the rollback: %+v %v", g, err)
	}
}

// cnPutMetric writes value for metric every 10s from 3 minutes before at
// (a week earlier with weekAgo) to a minute after, so that whichever
// aligned minute the gate reads has datapoints.
func cnPutMetric(t *testing.T, metric string, value float64, at time.Time) {
	t.Helper()
	ctx := context.Background()
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewClient(awsCfg)
	var data []cwtypes.MetricDatum
	for ts := at.Add(-3 * time.Minute); ts.Before(at.Add(time.Minute)); ts = ts.Add(10 * time.Second) {
		data = append(data, cwtypes.MetricDatum{
			MetricName: aws.String(metric), Value: aws.Float64(value), Timestamp: aws.Time(ts),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("checkout")}},
		})
	}
	for len(data) > 0 {
		n := min(len(data), 20)
		if _, err := cw.PutMetricData(ctx, &sdk.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: data[:n]}); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
}

func cnMetricGate(metric string) model.MetricGate {
	return model.MetricGate{Name: "conversion", Namespace: "Shop", MetricName: metric,
		Dimensions: map[string]string{"Service": "checkout"}, Statistic: "Average", Period: 60}
}

// TestCanaryMetricBelowMinRollsBack: conversion (Average, put with
// PutMetricData) below its min rolls back, naming the value and the bound.
func TestCanaryMetricBelowMinRollsBack(t *testing.T) {
	ctx := context.Background()
	testenv.Moto(t)
	metric := "Conversions" + testenv.Suffix()
	cnPutMetric(t, metric, 0.1, time.Now())
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("standard", time.Minute)
	m := cnMetricGate(metric)
	m.Min = ptr(0.15)
	policy.Acceptance.Metrics = []model.MetricGate{m}
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")
	rel := bgWaitPhase(t, e.c, "checkout", "v42", model.PhaseRolledBack)
	if want := `gate "conversion" failed: value 0.1, bound min 0.15`; !strings.HasPrefix(rel.Reason, want) {
		t.Fatalf("reason %q, want it to start with %q", rel.Reason, want)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "rolled back")
	cnAssertNoAudience(t, lb, "rolled back")
}

// TestCanaryBaselineDropRollsBack: conversion now is half of what it was a
// week ago, beyond max_drop_percent 20.
func TestCanaryBaselineDropRollsBack(t *testing.T) {
	ctx := context.Background()
	testenv.Moto(t)
	metric := "Conversions" + testenv.Suffix()
	now := time.Now()
	cnPutMetric(t, metric, 0.2, now.Add(-168*time.Hour))
	cnPutMetric(t, metric, 0.1, now)
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("standard", time.Minute)
	m := cnMetricGate(metric)
	m.Baseline = &model.Baseline{Offset: model.Duration(168 * time.Hour), MaxDropPercent: ptr(20.0)}
	policy.Acceptance.Metrics = []model.MetricGate{m}
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")
	rel := bgWaitPhase(t, e.c, "checkout", "v42", model.PhaseRolledBack)
	if !strings.Contains(rel.Reason, `gate "conversion" failed`) || !strings.Contains(rel.Reason, "baseline") {
		t.Fatalf("reason %q does not name the conversion gate and its baseline", rel.Reason)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "rolled back")
}

// TestCanaryCloudWatchUnreachableRollsBack: CloudWatch on a closed port
// gives error_limit consecutive errors, which count as a failure: the
// release rolls back (fail closed).
func TestCanaryCloudWatchUnreachableRollsBack(t *testing.T) {
	ctx := context.Background()
	testenv.Moto(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://"+closed)
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("standard", time.Minute)
	m := cnMetricGate("Conversions")
	m.Min = ptr(0.15)
	policy.Acceptance.Metrics = []model.MetricGate{m}
	policy.Acceptance.ErrorLimit = 2
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")
	rel := bgWaitPhase(t, e.c, "checkout", "v42", model.PhaseRolledBack)
	if !strings.Contains(rel.Reason, "2 consecutive errors reading the gates") {
		t.Fatalf("reason %q does not say the gates could not be read", rel.Reason)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "rolled back")
}

// p99Metrics is a narrow fake of the engine's metric reader: moto has no
// percentile statistics. It answers every p99 query with value.
type p99Metrics struct {
	mu    sync.Mutex
	value float64
	seen  []string
}

func (f *p99Metrics) Values(_ context.Context, qs []cloudwatch.MetricQuery) (map[string]cloudwatch.Datapoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]cloudwatch.Datapoint{}
	for _, q := range qs {
		f.seen = append(f.seen, q.Statistic)
		if q.Statistic == "p99" {
			out[q.Key()] = cloudwatch.Datapoint{Found: true, Value: f.value, Timestamp: q.Start}
		}
	}
	return out, nil
}

// TestCanaryPercentileAboveMaxRollsBack: a p99 latency above its max.
func TestCanaryPercentileAboveMaxRollsBack(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	fake := &p99Metrics{value: 0.9}
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), func(c *engine.Config) { c.Metrics = fake })
	policy := cnPolicy("standard", time.Minute)
	policy.Acceptance.Metrics = []model.MetricGate{{Name: "latency", Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime",
		Statistic: "p99", Period: 60, Max: ptr(0.5)}}
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")
	rel := bgWaitPhase(t, e.c, "checkout", "v42", model.PhaseRolledBack)
	if want := `gate "latency" failed: value 0.9, bound max 0.5`; !strings.HasPrefix(rel.Reason, want) {
		t.Fatalf("reason %q, want %q", rel.Reason, want)
	}
}

// TestCanaryOperatorControls: a manual stage waits for promote; pause holds
// and resume continues; abort rolls back.
func TestCanaryOperatorControls(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("manual", time.Second, time.Minute, time.Second)
	policy.Stages[0].Approval = model.ApprovalManual
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")

	waiting := bgEventually(t, "the manual stage awaits approval",
		func() (wire.Release, error) { return e.c.GetRelease(ctx, bgProject, "checkout") },
		func(r wire.Release) bool { return r.Current != nil && r.Current.AwaitingApproval },
		func(r wire.Release) bool { return r.Current != nil && r.Current.Phase.Terminal() })
	if waiting.Current.StageIndex != 0 || !strings.Contains(waiting.Current.Message, "progressive promote checkout") {
		t.Fatalf("awaiting approval: %+v", waiting.Current)
	}
	time.Sleep(2 * time.Second) // it stays there
	if r, _ := e.c.GetRelease(ctx, bgProject, "checkout"); r.Current.StageIndex != 0 {
		t.Fatalf("the manual stage moved on without promote: %+v", r.Current)
	}
	if err := e.c.ReleaseAction(ctx, bgProject, "checkout", "promote"); err != nil {
		t.Fatal(err)
	}
	cnWaitStage(t, e.c, "checkout", 1)
	bgAssertALB(t, lb, model.Weights{Blue: 95, Green: 5}, "promoted to stage 2")

	if err := e.c.ReleaseAction(ctx, bgProject, "checkout", "pause"); err != nil {
		t.Fatal(err)
	}
	bgWaitPhase(t, e.c, "checkout", "v42", model.PhasePaused)
	bgAssertALB(t, lb, model.Weights{Blue: 95, Green: 5}, "paused")
	if err := e.c.ReleaseAction(ctx, bgProject, "checkout", "resume"); err != nil {
		t.Fatal(err)
	}
	cnWaitStage(t, e.c, "checkout", 1)

	if err := e.c.ReleaseAction(ctx, bgProject, "checkout", "abort"); err != nil {
		t.Fatal(err)
	}
	rel := bgWaitPhase(t, e.c, "checkout", "v42", model.PhaseRolledBack)
	if !strings.HasPrefix(rel.Reason, "aborted by ") {
		t.Fatalf("reason %q", rel.Reason)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 100}, "aborted")
}

// TestCanaryRestartMidStage: the engine stops right after writing stage 2's
// weights (before reading them back); a new engine resumes stage 2 with
// the right weights and its bake, without redoing stage 1.
func TestCanaryRestartMidStage(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	db := bgNewDB(t)
	admin := model.NewTokenSecret()
	stopped := make(chan struct{})
	var once sync.Once
	var first *bgEngine
	writes := 0
	first = bgStart(t, ctx, db, admin, func(c *engine.Config) {
		c.AfterSetWeights = func(string) {
			writes++
			if writes == 2 { // stage 1, then stage 2
				once.Do(func() { first.cancel(); close(stopped) })
			}
		}
	})
	cnSetup(t, first.c, cnPolicy("standard", time.Second, 3*time.Second, time.Second), "checkout", lb)
	cnRelease(t, first.c, "checkout", "v42")
	select {
	case <-stopped:
	case <-time.After(bgWaitLimit):
		t.Fatal("the engine never wrote stage 2's weights")
	}
	first.wait(t)
	bgAssertALB(t, lb, model.Weights{Blue: 95, Green: 5}, "after the stop")

	second := bgStart(t, ctx, db, admin, nil)
	r := cnWaitStage(t, second.c, "checkout", 1)
	if r.Policy == nil || r.Policy.Version != 1 {
		t.Fatalf("resumed release lost its policy: %+v", r)
	}
	bgWaitPhase(t, second.c, "checkout", "v42", model.PhaseReleased)
	bgAssertALB(t, lb, model.Weights{Green: 100}, "released after the restart")
	evs := bgEvents(t, second.c, model.KindRelease, "checkout")
	if n := bgCount(evs, "stage 1/3 employees"); n != 1 {
		t.Errorf("stage 1 ran %d times, want once", n)
	}
}

// TestCanaryPolicyPinnedAndChecked: a running release keeps the policy
// version it started with; bad policies and environments are refused with
// nothing changed.
func TestCanaryPolicyPinnedAndChecked(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	e := bgStart(t, ctx, bgNewDB(t), model.NewTokenSecret(), nil)
	policy := cnPolicy("standard", time.Second, time.Minute, time.Second)
	cnSetup(t, e.c, policy, "checkout", lb)
	cnRelease(t, e.c, "checkout", "v42")
	cnWaitStage(t, e.c, "checkout", 1)

	changed := policy
	changed.Stages = slices.Clone(policy.Stages)
	changed.Stages[1].TrafficPercent = 50
	if _, err := e.c.UpdateCanaryPolicy(ctx, bgProject, changed, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	r, err := e.c.GetRelease(ctx, bgProject, "checkout")
	if err != nil || r.Current.Policy.Version != 1 || r.Current.Policy.Spec.Stages[1].TrafficPercent != 5 {
		t.Fatalf("the running release did not keep policy version 1: %+v %v", r.Current.Policy, err)
	}
	bgAssertALB(t, lb, model.Weights{Blue: 95, Green: 5}, "after the policy update")

	// Deleting a policy in use is refused.
	err = e.c.DeleteCanaryPolicy(ctx, bgProject, "standard", 0)
	if p := bgProblem(t, err, http.StatusConflict); !strings.Contains(p.Detail, `"checkout"`) {
		t.Fatalf("delete in use: %s", p.Detail)
	}

	// An alarm CloudWatch does not know is refused with its name.
	bad := cnPolicy("unknown-alarm")
	bad.Acceptance.AlarmNames = []string{"no-such-alarm-" + testenv.Suffix()}
	_, err = e.c.CreateCanaryPolicy(ctx, bgProject, bad, client.NewIdempotencyKey())
	if p := bgProblem(t, err, http.StatusBadRequest); !strings.Contains(p.Detail, bad.Acceptance.AlarmNames[0]) {
		t.Fatalf("unknown alarm: %s", p.Detail)
	}
	if _, err := e.c.GetCanaryPolicy(ctx, bgProject, "unknown-alarm"); !client.IsType(err, "urn:progressive:problem:not-found") {
		t.Fatalf("the refused policy was stored: %v", err)
	}

	// A Route 53 environment cannot use a policy with audiences.
	zone := testenv.NewZone(t)
	dns := model.EnvironmentSpec{
		Name: "storefront", CanaryPolicy: "standard",
		Blue:    model.Slot{Version: "v41", DNSValue: "blue.internal"},
		Green:   model.Slot{Version: "v42", DNSValue: "green.internal"},
		Route53: &model.Route53{ZoneID: zone.ID, RecordName: "www." + zone.Name, RecordType: "CNAME", TTL: 1},
	}
	_, err = e.c.CreateEnvironment(ctx, bgProject, dns, client.NewIdempotencyKey())
	if p := bgProblem(t, err, http.StatusBadRequest); !strings.Contains(p.Detail, "needs an ALB environment") {
		t.Fatalf("route53 with audiences: %s", p.Detail)
	}
	if _, err := e.c.GetEnvironment(ctx, bgProject, "storefront"); !client.IsType(err, "urn:progressive:problem:not-found") {
		t.Fatalf("the refused environment was stored: %v", err)
	}
}
