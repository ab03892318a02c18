package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/ratelimit"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// BenchmarkCanaryLoad runs many canary releases at once on one engine and
// measures what the acceptance gates cost and how fast a failing gate rolls
// a release back while the others keep baking.
//
// Setup, against moto: ALBs (testenv.NewALB), each listener shared by 50
// environments with their own path pattern, own target groups (one
// registered target each) and priority blocks 10 apart (100, 110, …); one
// CloudWatch alarm per environment and one shared by all; one canary policy
// per environment with check_interval 1s, a first stage at 5 % baking 30
// minutes (so every release stays in it) and a last one at 100 %, and
// acceptance.alarm_names = [its own alarm, the shared alarm]. One engine
// runs in process over SQLite with the default controller interval (1 s)
// and warnings-only logs. Its CloudWatch and Elastic Load Balancing calls
// go through a counting reverse proxy in a child process (this test binary
// run again, see TestCanaryLoadProxyProcess), so that the proxy's CPU is
// not counted as the engine's; the benchmark's own AWS calls go to moto
// directly. moto is local, so the engine's AWS rate limits for both
// services are off unless CANARY_LOAD_AWS_RATE_LIMITS says otherwise
// (PROGRESSIVE_AWS_RATE_LIMITS syntax, or "default" for the engine's
// defaults).
//
// Once every release bakes stage 1, the benchmark measures:
//
//  1. steady state, over CANARY_LOAD_WINDOW (default 20s): DescribeAlarms
//     and GetMetricData calls per check interval (goal: at most
//     ceil(distinct alarms / 100)), the other AWS calls per second, moto's
//     latency per call as the proxy saw it, how often each release's gates
//     were actually read, and the engine's CPU (getrusage of this process)
//     and peak memory (runtime/metrics and RSS, sampled every 100 ms);
//  2. rollbacks, one release at a time, CANARY_LOAD_ROLLBACKS of them
//     (default 100) while the others keep baking: after a random part of
//     check_interval, t0, SetAlarmState ALARM on that environment's own
//     alarm, then DescribeRules on its weighted rule every 10 ms until it
//     forwards 100/0 again (t1); t1 − t0 is the end-to-end figure (goal: p99
//     at most check_interval + 500 ms). The engine hooks AfterGateFailure
//     and AfterSetWeights, and the proxy's record of the DescribeAlarms call
//     that saw the alarm, split it into the wait for the next gate read,
//     moto's answer, and the engine's own time from that answer to the
//     rollback write;
//  3. the shared alarm (unless CANARY_LOAD_SHARED=0): every environment
//     rolled back in (2) gets a new release, and once all bake again the
//     shared alarm goes to ALARM: how long until every weighted rule is back
//     at 100/0, read back from the listeners every 10 ms.
//
// CANARY_LOAD_RELEASES changes the number of releases (default 200). The
// measurement takes several minutes, so it is made once per process, as in
// BenchmarkRollbackLatency.
func BenchmarkCanaryLoad(b *testing.B) {
	if canaryLoadResult != nil {
		for b.Loop() {
		}
		canaryLoadResult.report(b)
		b.Log("repeats the figures measured in this process's first repetition")
		return
	}
	cfg := canaryLoadConfigFromEnv(b)
	cl := newCanaryLoad(b, cfg)
	var res *canaryLoadFigures
	for b.Loop() {
		if res != nil {
			continue // one measurement per process, whatever b.N is
		}
		res = cl.measure(b)
	}
	canaryLoadResult = res
	res.report(b)
}

// canaryLoadResult is this process's measurement, once made.
var canaryLoadResult *canaryLoadFigures

const (
	canaryCheckInterval = time.Second
	canaryPerListener   = 50 // environments per ALB listener
	canaryWorkers       = 8  // concurrent setup and status calls
	canaryPoll          = 10 * time.Millisecond
	canarySettle        = 3 * time.Second
	canaryDeadline      = 5 * time.Minute // against hangs, not a bound
	canaryFirstPriority = 100
	canaryBake          = 30 * time.Minute
)

type canaryLoadConfig struct {
	releases, rollbacks int
	window              time.Duration
	limits              map[string]ratelimit.Rate // nil: the engine's defaults
	limitsText          string
	shared              bool
}

func canaryLoadConfigFromEnv(b *testing.B) canaryLoadConfig {
	b.Helper()
	cfg := canaryLoadConfig{releases: 200, rollbacks: 100, window: 20 * time.Second, shared: true,
		limitsText: "elasticloadbalancing=off,cloudwatch=off"}
	num := func(name string, dst *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				b.Fatalf("%s=%q: want a positive number", name, v)
			}
			*dst = n
		}
	}
	num("CANARY_LOAD_RELEASES", &cfg.releases)
	num("CANARY_LOAD_ROLLBACKS", &cfg.rollbacks)
	if cfg.rollbacks > cfg.releases {
		b.Fatalf("CANARY_LOAD_ROLLBACKS=%d: at most CANARY_LOAD_RELEASES (%d)", cfg.rollbacks, cfg.releases)
	}
	if v := os.Getenv("CANARY_LOAD_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 2*canaryCheckInterval {
			b.Fatalf("CANARY_LOAD_WINDOW=%q: want a duration of at least 2s", v)
		}
		cfg.window = d
	}
	if v := os.Getenv("CANARY_LOAD_SHARED"); v == "0" || v == "false" {
		cfg.shared = false
	}
	if v, ok := os.LookupEnv("CANARY_LOAD_AWS_RATE_LIMITS"); ok {
		cfg.limitsText = v
	}
	if cfg.limitsText != "default" {
		l, err := ratelimit.ParseLimits(cfg.limitsText)
		if err != nil {
			b.Fatalf("CANARY_LOAD_AWS_RATE_LIMITS=%q: %v", cfg.limitsText, err)
		}
		cfg.limits = l
	}
	return cfg
}

// canaryEnv is one environment of the load and its AWS objects.
type canaryEnv struct {
	name, alarm string
	lb          int // index into canaryLoad.lbs
	priority    int
	blueTG      string
	greenTG     string
	ruleARN     string // the engine's weighted rule, once created
}

type canaryLoad struct {
	cfg     canaryLoadConfig
	ctx     context.Context
	c       *client.Client
	cw      *sdk.Client   // to moto directly
	elb     *elbv2.Client // to moto directly
	lbs     []testenv.ALB
	envs    []canaryEnv
	shared  string
	proxy   *canaryProxy
	motoPID int // 0 when unknown (an external AWS_ENDPOINT_URL)
	hooks   *canaryHooks
	logs    *rollbackLog
	setup   time.Duration
}

func newCanaryLoad(b *testing.B, cfg canaryLoadConfig) *canaryLoad {
	b.Helper()
	start := time.Now()
	motoURL := testenv.Moto(b)
	ctx := context.Background()
	awsCfg := testenv.AWSConfig(b)
	direct := aws.String(motoURL)
	cl := &canaryLoad{cfg: cfg, ctx: ctx, logs: &rollbackLog{}, hooks: newCanaryHooks(),
		cw:  cloudwatch.NewClient(awsCfg, func(o *sdk.Options) { o.BaseEndpoint = direct }),
		elb: elbv2.NewFromConfig(awsCfg, func(o *elbv2.Options) { o.BaseEndpoint = direct }),
	}
	cl.motoPID = findMotoPID(motoURL)
	sfx := testenv.Suffix()

	nLB := (cfg.releases + canaryPerListener - 1) / canaryPerListener
	vpcs := make([]string, nLB)
	for i := range nLB {
		lb := testenv.NewALB(b)
		out, err := cl.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{lb.BlueTG}})
		if err != nil || len(out.TargetGroups) == 0 {
			b.Fatalf("DescribeTargetGroups: %v", err)
		}
		cl.lbs, vpcs[i] = append(cl.lbs, lb), aws.ToString(out.TargetGroups[0].VpcId)
	}
	cl.envs = make([]canaryEnv, cfg.releases)
	cl.shared = "canary-load-" + sfx + "-shared"
	if err := cl.putAlarm(cl.shared); err != nil {
		b.Fatal(err)
	}
	err := parallelDo(cfg.releases, canaryWorkers, func(i int) error {
		e := canaryEnv{name: fmt.Sprintf("svc-%03d", i), alarm: fmt.Sprintf("canary-load-%s-%03d", sfx, i),
			lb: i / canaryPerListener, priority: canaryFirstPriority + 10*(i%canaryPerListener)}
		for _, slot := range []string{"b", "g"} {
			tg, err := cl.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
				Name: aws.String(fmt.Sprintf("cl%s-%03d-%s", sfx, i, slot)), Protocol: elbtypes.ProtocolEnumHttp,
				Port: aws.Int32(80), VpcId: aws.String(vpcs[e.lb]), TargetType: elbtypes.TargetTypeEnumIp})
			if err != nil {
				return fmt.Errorf("CreateTargetGroup: %w", err)
			}
			arn := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
			ip := map[string]string{"b": "10.0.1.10", "g": "10.0.2.10"}[slot]
			if _, err := cl.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn),
				Targets: []elbtypes.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(80)}}}); err != nil {
				return fmt.Errorf("RegisterTargets: %w", err)
			}
			if slot == "b" {
				e.blueTG = arn
			} else {
				e.greenTG = arn
			}
		}
		cl.envs[i] = e
		return cl.putAlarm(e.alarm)
	})
	if err != nil {
		b.Fatal(err)
	}

	// The engine's CloudWatch and ELB calls go through the counting proxy;
	// the clients above were built before, and name moto explicitly.
	cl.proxy = startCanaryProxy(b, motoURL)
	b.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", cl.proxy.url)
	b.Setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", cl.proxy.url)

	admin := model.NewTokenSecret()
	ready := make(chan string, 1)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- engine.Run(runCtx, engine.Config{
			Listen: "127.0.0.1:0", DataDir: b.TempDir(), DatabaseURL: "sqlite:" + filepath.Join(b.TempDir(), "p.db"),
			BootstrapToken: admin, ControllerInterval: time.Second, AWSRateLimits: cfg.limits,
			AfterGateFailure: cl.hooks.gateFailed, AfterSetWeights: cl.hooks.wrote,
			Log: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: cl.logs}), Ready: ready,
		})
	}()
	b.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("engine: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		b.Fatalf("engine stopped: %v", err)
	case <-time.After(60 * time.Second):
		b.Fatal("engine not ready within 60s")
	}
	if cl.c, err = client.New("http://"+addr, admin); err != nil {
		b.Fatal(err)
	}

	err = parallelDo(cfg.releases, canaryWorkers, func(i int) error {
		e := cl.envs[i]
		policy := model.CanaryPolicySpec{
			Name: "load-" + e.name, CheckInterval: model.Duration(canaryCheckInterval),
			Stages: []model.CanaryStage{
				{Name: "early-customers", TrafficPercent: 5, BakeTime: model.Duration(canaryBake)},
				{Name: "fleet", TrafficPercent: 100, BakeTime: model.Duration(time.Minute)},
			},
			Acceptance: model.Acceptance{AlarmNames: []string{e.alarm, cl.shared}},
		}
		if _, err := cl.c.CreateCanaryPolicy(ctx, rollbackProject, policy, client.NewIdempotencyKey()); err != nil {
			return fmt.Errorf("policy of %s: %w", e.name, err)
		}
		lb := cl.lbs[e.lb]
		_, err := cl.c.CreateEnvironment(ctx, rollbackProject, model.EnvironmentSpec{
			Name: e.name, InitialLiveSlot: model.SlotBlue, CanaryPolicy: policy.Name,
			Blue:          model.Slot{Version: "v1", TargetGroupARN: e.blueTG},
			Green:         model.Slot{Version: "v2", TargetGroupARN: e.greenTG},
			ALB:           &model.ALB{ListenerARN: lb.ListenerARN, RulePriority: e.priority, PathPatterns: []string{"/" + e.name + "/*"}},
			CheckInterval: model.Duration(canaryCheckInterval),
		}, client.NewIdempotencyKey())
		if err != nil {
			return fmt.Errorf("environment %s: %w", e.name, err)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	canaryWait(b, "routing of every environment ready", 250*time.Millisecond, func() (bool, string) {
		list, err := cl.c.ListEnvironments(ctx, rollbackProject)
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, e := range list {
			switch e.Routing {
			case model.RoutingReady:
				ready++
			case model.RoutingError:
				b.Fatalf("routing of %s: %s", e.Name, e.RoutingMessage)
			}
		}
		return ready == cfg.releases, fmt.Sprintf("%d of %d ready", ready, cfg.releases)
	})
	cl.findRules(b)
	cl.setup = time.Since(start)
	return cl
}

func (cl *canaryLoad) putAlarm(name string) error {
	_, err := cl.cw.PutMetricAlarm(cl.ctx, &sdk.PutMetricAlarmInput{
		AlarmName: aws.String(name), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	})
	if err != nil {
		return fmt.Errorf("PutMetricAlarm %s: %w", name, err)
	}
	return nil
}

func (cl *canaryLoad) setAlarm(b *testing.B, name string, s cwtypes.StateValue) {
	b.Helper()
	if _, err := cl.cw.SetAlarmState(cl.ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: s,
		StateReason: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
}

// findRules records the ARN of every environment's weighted rule.
func (cl *canaryLoad) findRules(b *testing.B) {
	b.Helper()
	for li := range cl.lbs {
		rules, err := cl.listenerRules(li)
		if err != nil {
			b.Fatal(err)
		}
		for i := range cl.envs {
			e := &cl.envs[i]
			if e.lb != li {
				continue
			}
			for _, r := range rules {
				if aws.ToString(r.Priority) == strconv.Itoa(e.priority) {
					e.ruleARN = aws.ToString(r.RuleArn)
				}
			}
			if e.ruleARN == "" {
				b.Fatalf("no weighted rule of %s at priority %d", e.name, e.priority)
			}
		}
	}
}

// listenerRules reads every rule of listener li from moto.
func (cl *canaryLoad) listenerRules(li int) ([]elbtypes.Rule, error) {
	var rules []elbtypes.Rule
	var marker *string
	for {
		out, err := cl.elb.DescribeRules(cl.ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(cl.lbs[li].ListenerARN), Marker: marker})
		if err != nil {
			return nil, fmt.Errorf("DescribeRules: %w", err)
		}
		rules = append(rules, out.Rules...)
		if out.NextMarker == nil || aws.ToString(out.NextMarker) == aws.ToString(marker) {
			return rules, nil
		}
		marker = out.NextMarker
	}
}

// restored reports whether a rule forwards 100 % to blue and 0 to green.
func (e *canaryEnv) restored(r elbtypes.Rule) bool {
	w := map[string]int32{}
	for _, a := range r.Actions {
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				w[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
			}
		}
	}
	return len(w) == 2 && w[e.blueTG] == 100 && w[e.greenTG] == 0
}

// --- the measurement ---

func (cl *canaryLoad) measure(b *testing.B) *canaryLoadFigures {
	b.Helper()
	f := &canaryLoadFigures{cfg: cl.cfg, setup: cl.setup, distinct: cl.cfg.releases + 1}
	defer func() { f.logs = summarizeLog(cl.logs.String()) }()
	phase := func(name string) {
		f.phases = append(f.phases, logPhase{name: name, lines: strings.Count(cl.logs.String(), "\n")})
	}
	phase("setup")
	n := cl.cfg.releases
	triggers := make([]string, n)
	for i := range triggers {
		triggers[i] = "load-1-" + testenv.Suffix()
	}
	t := time.Now()
	cl.release(b, seq(n), triggers, false)
	ids := cl.waitBaking(b, triggers)
	f.ramp = time.Since(t)
	time.Sleep(canarySettle)
	phase("start of the releases")

	f.steady = cl.steadyState(b)
	phase("steady state")
	f.rollbacks = cl.rollbacks(b, ids)
	phase("rollbacks one at a time")
	if cl.cfg.shared {
		f.shared = cl.sharedAlarm(b, triggers, f.rollbacks.envs)
		phase("new releases and the shared alarm")
	}
	return f
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// release starts a release to green on each environment in idx: the first
// one, or (again) a new trigger.
func (cl *canaryLoad) release(b *testing.B, idx []int, triggers []string, again bool) {
	b.Helper()
	err := parallelDo(len(idx), canaryWorkers, func(k int) error {
		i := idx[k]
		spec := model.ReleaseSpec{Environment: cl.envs[i].name, Slot: model.SlotGreen, Trigger: triggers[i]}
		var err error
		if !again {
			_, err = cl.c.CreateRelease(cl.ctx, rollbackProject, spec, client.NewIdempotencyKey())
		} else {
			rel, gerr := cl.c.GetRelease(cl.ctx, rollbackProject, cl.envs[i].name)
			if err = gerr; err == nil {
				_, err = cl.c.UpdateRelease(cl.ctx, rollbackProject, spec, rel.Version)
			}
		}
		if err != nil {
			return fmt.Errorf("release of %s: %w", cl.envs[i].name, err)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// releaseState reads every environment's release (nil where reading failed).
func (cl *canaryLoad) releaseState(idx []int) []*model.Release {
	out := make([]*model.Release, len(cl.envs))
	_ = parallelDo(len(idx), canaryWorkers, func(k int) error {
		i := idx[k]
		if rel, err := cl.c.GetRelease(cl.ctx, rollbackProject, cl.envs[i].name); err == nil {
			out[i] = rel.Current
		}
		return nil
	})
	return out
}

// waitBaking waits until every release answering triggers bakes stage 1,
// and returns the releases' IDs by environment.
func (cl *canaryLoad) waitBaking(b *testing.B, triggers []string) []string {
	b.Helper()
	ids := make([]string, len(cl.envs))
	pending := seq(len(cl.envs))
	canaryWait(b, "every release baking stage 1", 250*time.Millisecond, func() (bool, string) {
		rels := cl.releaseState(pending)
		var left []int
		last := ""
		for _, i := range pending {
			r := rels[i]
			switch {
			case r != nil && r.Trigger == triggers[i] && r.Phase.Terminal():
				b.Fatalf("the release of %s ended before its alarm: %s: %s", cl.envs[i].name, r.Phase, r.Message)
			case r != nil && r.Trigger == triggers[i] && r.Phase == model.PhaseBaking && r.StageIndex == 0:
				ids[i] = r.ID
			default:
				left = append(left, i)
				if r != nil {
					last = fmt.Sprintf("%s: %s %s", cl.envs[i].name, r.Phase, r.Message)
				}
			}
		}
		pending = left
		return len(left) == 0, fmt.Sprintf("%d not baking yet, e.g. %s", len(left), last)
	})
	return ids
}

// steadyFigures are what the engine costs while every release bakes.
type steadyFigures struct {
	window                        time.Duration
	calls                         map[string]int            // by action, engine → AWS
	latency                       map[string]latencySummary // moto's answer, by action
	namesMin, namesMax            int
	singles                       int            // DescribeAlarms for one release's alarms only
	batches                       int            // DescribeAlarms bursts (one per controller tick)
	tickGap                       latencySummary // between bursts
	readGap                       latencySummary // between gate reads of one release
	bakeRatio, bakeRatioMin       float64        // bake accrued / wall time
	cpu, motoCPU, proxyCPU        time.Duration
	machineBusy                   float64 // % of all cores
	heapPeak, sysPeak, rssPeak    uint64
	maxRSS                        uint64
	gcCycles                      uint64
	engineSeenReleases, engineBad int
}

func (cl *canaryLoad) steadyState(b *testing.B) steadyFigures {
	b.Helper()
	all := seq(len(cl.envs))
	before := cl.releaseState(all)
	tBefore := time.Now()
	from := cl.proxy.mark(b)

	var ru0, ru1 syscall.Rusage
	mach0 := readCPU()
	moto0, proxy0 := procCPU(cl.motoPID), procCPU(cl.proxy.pid)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	gc0 := gcCycles()
	stopMem := make(chan struct{})
	memDone := make(chan memPeaks, 1)
	go func() { memDone <- sampleMemory(stopMem) }()
	w0 := time.Now()
	time.Sleep(cl.cfg.window)
	w1 := time.Now()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	moto1, proxy1 := procCPU(cl.motoPID), procCPU(cl.proxy.pid)
	mach1 := readCPU()
	close(stopMem)
	mem := <-memDone

	calls := cl.proxy.calls(b, from)
	tAfter := time.Now()
	after := cl.releaseState(all)

	s := steadyFigures{window: w1.Sub(w0), calls: map[string]int{}, latency: map[string]latencySummary{},
		cpu:     tvDur(ru1.Utime) + tvDur(ru1.Stime) - tvDur(ru0.Utime) - tvDur(ru0.Stime),
		motoCPU: moto1 - moto0, proxyCPU: proxy1 - proxy0,
		heapPeak: mem.heap, sysPeak: mem.sys, rssPeak: mem.rss, maxRSS: uint64(ru1.Maxrss) * 1024, gcCycles: gcCycles() - gc0}
	if mach0.ok && mach1.ok && mach1.total > mach0.total {
		s.machineBusy = float64(mach1.busy-mach0.busy) / float64(mach1.total-mach0.total) * 100
	}
	lat := map[string][]time.Duration{}
	var batchStarts []time.Time // DescribeAlarms for more than one release
	byRule := map[string][]time.Time{}
	s.namesMin = -1
	for _, c := range calls {
		start, end := time.Unix(0, c.Start), time.Unix(0, c.End)
		if start.Before(w0) || start.After(w1) {
			continue
		}
		s.calls[c.Action]++
		lat[c.Action] = append(lat[c.Action], end.Sub(start))
		switch c.Action {
		case "DescribeAlarms":
			if len(c.Names) > 2 {
				batchStarts = append(batchStarts, start)
			}
			if s.namesMin < 0 || len(c.Names) < s.namesMin {
				s.namesMin = len(c.Names)
			}
			s.namesMax = max(s.namesMax, len(c.Names))
			if len(c.Names) <= 2 {
				s.singles++
			}
		case "DescribeRules":
			if c.Rule != "" {
				byRule[c.Rule] = append(byRule[c.Rule], start)
			}
		}
	}
	for a, d := range lat {
		s.latency[a] = summarize(d)
	}
	// A controller tick reads the alarms of the releases due in one burst
	// of calls (batches of up to 100 names); bursts are more than 200 ms
	// apart.
	var gaps []time.Duration
	for i, t := range batchStarts {
		if i == 0 || t.Sub(batchStarts[i-1]) > 200*time.Millisecond {
			s.batches++
			if i > 0 {
				gaps = append(gaps, t.Sub(batchStarts[i-1]))
			}
		}
	}
	s.tickGap = summarize(gaps)
	var readGaps []time.Duration
	for _, ts := range byRule {
		for i := 1; i < len(ts); i++ {
			readGaps = append(readGaps, ts[i].Sub(ts[i-1]))
		}
	}
	s.readGap = summarize(readGaps)

	elapsed := tAfter.Sub(tBefore).Seconds()
	s.bakeRatioMin = -1
	var sum float64
	for i := range cl.envs {
		r0, r1 := before[i], after[i]
		if r0 == nil || r1 == nil || r0.ID != r1.ID || r1.Phase != model.PhaseBaking {
			s.engineBad++
			continue
		}
		s.engineSeenReleases++
		ratio := time.Duration(r1.Baked-r0.Baked).Seconds() / elapsed
		sum += ratio
		if s.bakeRatioMin < 0 || ratio < s.bakeRatioMin {
			s.bakeRatioMin = ratio
		}
	}
	if s.engineSeenReleases > 0 {
		s.bakeRatio = sum / float64(s.engineSeenReleases)
	}
	return s
}

// --- rollbacks ---

// rollbackRun is one gate failure and what followed it.
type rollbackRun struct {
	env                  int
	t0, t1, reported     time.Time
	readStart, readEnd   time.Time // the DescribeAlarms that saw ALARM, at the proxy
	readNames            int       // how many alarms it asked for
	hook, write          time.Time // AfterGateFailure, AfterSetWeights
	readFound, hookFound bool
}

type rollbackFiguresLoad struct {
	envs                                       []int
	runs                                       int
	e2e, wait, read, engine, hookWrite, reread latencySummary
	reported                                   latencySummary
	missingHooks                               int
	singleReads                                int // gate failures seen by a one-release DescribeAlarms
}

func (cl *canaryLoad) rollbacks(b *testing.B, ids []string) rollbackFiguresLoad {
	b.Helper()
	n := cl.cfg.rollbacks
	order := rand.Perm(len(cl.envs))[:n]
	from := cl.proxy.mark(b)
	runs := make([]rollbackRun, 0, n)
	for k, i := range order {
		e := &cl.envs[i]
		time.Sleep(rand.N(canaryCheckInterval))
		run := rollbackRun{env: i, t0: time.Now()}
		cl.setAlarm(b, e.alarm, cwtypes.StateValueAlarm)
		canaryWait(b, fmt.Sprintf("rollback %d (%s): weights restored", k, e.name), canaryPoll, func() (bool, string) {
			out, err := cl.elb.DescribeRules(cl.ctx, &elbv2.DescribeRulesInput{RuleArns: []string{e.ruleARN}})
			if err != nil || len(out.Rules) != 1 {
				return false, fmt.Sprint(err)
			}
			return e.restored(out.Rules[0]), fmt.Sprintf("%+v", out.Rules[0].Actions)
		})
		run.t1 = time.Now()
		canaryWait(b, fmt.Sprintf("rollback %d (%s): rolled_back", k, e.name), canaryPoll, func() (bool, string) {
			rel, err := cl.c.GetRelease(cl.ctx, rollbackProject, e.name)
			if err != nil {
				return false, err.Error()
			}
			cur := rel.Current
			if cur != nil && cur.Phase.Terminal() && cur.Phase != model.PhaseRolledBack {
				b.Fatalf("rollback %d (%s): the release ended %s: %s", k, e.name, cur.Phase, cur.Message)
			}
			return cur != nil && cur.ID == ids[i] && cur.Phase == model.PhaseRolledBack, fmt.Sprintf("%+v", cur)
		})
		run.reported = time.Now()
		run.hook, run.write, run.hookFound = cl.hooks.rollback(ids[i])
		runs = append(runs, run)
	}
	calls := cl.proxy.calls(b, from)
	out := rollbackFiguresLoad{envs: order, runs: n}
	var e2e, wait, read, eng, hookWrite, reread, reported []time.Duration
	for k := range runs {
		r := &runs[k]
		e := cl.envs[r.env]
		if r.hookFound {
			r.readStart, r.readEnd, r.readNames, r.readFound = observingRead(calls, e.alarm, r.hook)
		}
		e2e = append(e2e, r.t1.Sub(r.t0))
		reported = append(reported, r.reported.Sub(r.t0))
		if !r.hookFound || !r.readFound {
			out.missingHooks++
			continue
		}
		if r.readNames <= 2 {
			out.singleReads++
		}
		wait = append(wait, max(r.readStart.Sub(r.t0), 0))
		read = append(read, r.readEnd.Sub(r.readStart))
		eng = append(eng, r.write.Sub(r.readEnd))
		hookWrite = append(hookWrite, r.write.Sub(r.hook))
		reread = append(reread, r.t1.Sub(r.write))
	}
	out.e2e, out.wait, out.read, out.engine = summarize(e2e), summarize(wait), summarize(read), summarize(eng)
	out.hookWrite, out.reread, out.reported = summarize(hookWrite), summarize(reread), summarize(reported)
	return out
}

// observingRead finds the DescribeAlarms call whose answer failed the
// gate: the last one asking for alarm that ended before the engine's
// AfterGateFailure hook ran.
func observingRead(calls []proxyCall, alarm string, hook time.Time) (start, end time.Time, names int, ok bool) {
	for _, c := range calls {
		if c.Action != "DescribeAlarms" || c.End > hook.UnixNano() || !slices.Contains(c.Names, alarm) {
			continue
		}
		start, end, names, ok = time.Unix(0, c.Start), time.Unix(0, c.End), len(c.Names), true
	}
	return start, end, names, ok
}

// --- the shared alarm ---

type sharedFigures struct {
	releases                          int
	rampAgain                         time.Duration
	restore                           latencySummary // t0 → each rule back at 100/0
	reported                          time.Duration  // t0 → every release rolled_back
	wait, read                        time.Duration  // t0 → the read that saw ALARM; its answer
	firstWrite, lastWrite             time.Duration  // from that answer
	hookSpread                        time.Duration  // first → last AfterGateFailure
	writes                            latencySummary // that answer → each release's write
	describeRules, modifyRule, allELB int
}

func (cl *canaryLoad) sharedAlarm(b *testing.B, triggers []string, rolledBack []int) sharedFigures {
	b.Helper()
	for _, i := range rolledBack {
		cl.setAlarm(b, cl.envs[i].alarm, cwtypes.StateValueOk)
		triggers[i] = "load-2-" + testenv.Suffix()
	}
	t := time.Now()
	cl.release(b, rolledBack, triggers, true)
	ids := cl.waitBaking(b, triggers)
	s := sharedFigures{releases: len(cl.envs), rampAgain: time.Since(t)}
	time.Sleep(canarySettle)
	from := cl.proxy.mark(b)

	time.Sleep(rand.N(canaryCheckInterval))
	t0 := time.Now()
	cl.setAlarm(b, cl.shared, cwtypes.StateValueAlarm)
	restoredAt := make([]time.Time, len(cl.envs))
	left := len(cl.envs)
	deadline := time.Now().Add(canaryDeadline)
	for left > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("shared alarm: %d of %d weighted rules still not at 100/0 after %s", left, len(cl.envs), canaryDeadline)
		}
		round := time.Now()
		rules := make([][]elbtypes.Rule, len(cl.lbs))
		errs := make([]error, len(cl.lbs))
		var wg sync.WaitGroup
		for li := range cl.lbs {
			wg.Go(func() { rules[li], errs[li] = cl.listenerRules(li) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for i := range cl.envs {
			e := &cl.envs[i]
			if !restoredAt[i].IsZero() {
				continue
			}
			for _, r := range rules[e.lb] {
				if aws.ToString(r.RuleArn) == e.ruleARN && e.restored(r) {
					restoredAt[i] = now
					left--
				}
			}
		}
		time.Sleep(canaryPoll - time.Since(round))
	}
	pending := seq(len(cl.envs))
	canaryWait(b, "shared alarm: every release rolled_back", 100*time.Millisecond, func() (bool, string) {
		rels := cl.releaseState(pending)
		var still []int
		for _, i := range pending {
			if r := rels[i]; r == nil || r.ID != ids[i] || r.Phase != model.PhaseRolledBack {
				still = append(still, i)
			}
		}
		pending = still
		return len(still) == 0, fmt.Sprintf("%d not rolled back yet", len(still))
	})
	s.reported = time.Since(t0)
	calls := cl.proxy.calls(b, from)

	var restore, writes []time.Duration
	var firstHook, lastHook time.Time
	var ws []time.Time
	for i := range cl.envs {
		restore = append(restore, restoredAt[i].Sub(t0))
		h, w, ok := cl.hooks.rollback(ids[i])
		if !ok {
			continue
		}
		ws = append(ws, w)
		if firstHook.IsZero() || h.Before(firstHook) {
			firstHook = h
		}
		lastHook = later(lastHook, h)
	}
	s.restore = summarize(restore)
	s.hookSpread = lastHook.Sub(firstHook)
	if rs, re, _, ok := observingRead(calls, cl.shared, firstHook); ok {
		s.wait, s.read = max(rs.Sub(t0), 0), re.Sub(rs)
		for _, w := range ws {
			writes = append(writes, w.Sub(re))
		}
		s.writes = summarize(writes)
		s.firstWrite, s.lastWrite = s.writes.min, s.writes.max
	}
	for _, c := range calls {
		if time.Unix(0, c.Start).Before(t0) {
			continue
		}
		switch c.Action {
		case "DescribeRules":
			s.describeRules++
		case "ModifyRule":
			s.modifyRule++
		}
		if c.Action != "DescribeAlarms" && c.Action != "GetMetricData" {
			s.allELB++
		}
	}
	return s
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// --- engine hooks ---

// canaryHooks timestamps the engine's AfterGateFailure and AfterSetWeights
// calls by release.
type canaryHooks struct {
	mu     sync.Mutex
	failed map[string]time.Time   // the first gate failure
	writes map[string][]time.Time // every weight write
}

func newCanaryHooks() *canaryHooks {
	return &canaryHooks{failed: map[string]time.Time{}, writes: map[string][]time.Time{}}
}

func (h *canaryHooks) gateFailed(id string) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.failed[id]; !ok {
		h.failed[id] = now
	}
}

func (h *canaryHooks) wrote(id string) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes[id] = append(h.writes[id], now)
}

// rollback returns when release id's gate failed and its first weight
// write after that (the rollback's).
func (h *canaryHooks) rollback(id string) (failed, write time.Time, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	failed, ok = h.failed[id]
	if !ok {
		return failed, write, false
	}
	for _, w := range h.writes[id] {
		if !w.Before(failed) {
			return failed, w, true
		}
	}
	return failed, write, false
}

// --- figures ---

type canaryLoadFigures struct {
	phases      []logPhase // engine log lines at the end of each phase
	logs        []logKind
	cfg         canaryLoadConfig
	setup, ramp time.Duration
	distinct    int
	steady      steadyFigures
	rollbacks   rollbackFiguresLoad
	shared      sharedFigures
}

func (f *canaryLoadFigures) report(b *testing.B) {
	b.Helper()
	s, r, sh := f.steady, f.rollbacks, f.shared
	secs := s.window.Seconds()
	intervals := s.window.Seconds() / canaryCheckInterval.Seconds()
	goalCalls := (f.distinct + cloudwatch.MaxAlarmNames - 1) / cloudwatch.MaxAlarmNames
	perInterval := float64(s.calls["DescribeAlarms"]) / intervals
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(perInterval, "describealarms/interval")
	b.ReportMetric(float64(s.calls["GetMetricData"])/intervals, "getmetricdata/interval")
	b.ReportMetric(float64(s.calls["DescribeRules"])/secs, "describerules/s")
	b.ReportMetric(s.cpu.Seconds()/secs*100, "engine-cpu-%")
	b.ReportMetric(float64(s.heapPeak)/(1<<20), "heap-peak-MB")
	b.ReportMetric(float64(s.rssPeak)/(1<<20), "rss-peak-MB")
	b.ReportMetric(s.motoCPU.Seconds()/secs*100, "moto-cpu-%")
	b.ReportMetric(ms(r.e2e.p50), "rollback-p50-ms")
	b.ReportMetric(ms(r.e2e.p99), "rollback-p99-ms")
	b.ReportMetric(ms(r.engine.p50), "engine-p50-ms")
	b.ReportMetric(ms(r.engine.p99), "engine-p99-ms")
	if f.cfg.shared {
		b.ReportMetric(ms(sh.restore.max), "shared-all-restored-ms")
	}

	// testing keeps only the first 10 lines of a benchmark's log, so the
	// table goes to standard output.
	var out strings.Builder
	logf := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
	defer func() {
		fmt.Fprint(os.Stdout, out.String())
		b.Log("figures in the table above")
	}()
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	logf("%d releases on %d listeners, check_interval %s, controller interval 1s, AWS rate limits %q; setup %s, all baking after %s",
		f.cfg.releases, (f.cfg.releases+canaryPerListener-1)/canaryPerListener, canaryCheckInterval, f.cfg.limitsText,
		f.setup.Round(time.Second), f.ramp.Round(100*time.Millisecond))
	logf("steady state over %s (%d distinct alarms):", s.window.Round(time.Millisecond), f.distinct)
	logf("  DescribeAlarms   %6.2f per interval (goal ≤ %d: %s), %d–%d names a call, %d of %d calls for one release's 2 alarms only;",
		perInterval, goalCalls, verdict(perInterval <= float64(goalCalls)), max(s.namesMin, 0), s.namesMax, s.singles, s.calls["DescribeAlarms"])
	logf("                   batched calls came in %d bursts (one per controller tick that read any; gap p50 %s, max %s)",
		s.batches, s.tickGap.p50.Round(time.Millisecond), s.tickGap.max.Round(time.Millisecond))
	logf("  GetMetricData    %6.2f per interval", float64(s.calls["GetMetricData"])/intervals)
	actions := make([]string, 0, len(s.calls))
	for a := range s.calls {
		actions = append(actions, a)
	}
	slices.Sort(actions)
	logf("  %-22s %9s %9s %9s %9s   (moto's answer, through the proxy)", "engine → AWS call", "per s", "p50", "p99", "max")
	for _, a := range actions {
		l := s.latency[a]
		logf("  %-22s %9.1f %9s %9s %9s", a, float64(s.calls[a])/secs, l.p50.Round(10*time.Microsecond), l.p99.Round(10*time.Microsecond), l.max.Round(10*time.Microsecond))
	}
	logf("  gate reads of one release (DescribeRules of its rule): every p50 %s, p99 %s, max %s; bake accrued %.3f s/s (min %.3f) over %d releases (%d not baking)",
		s.readGap.p50.Round(time.Millisecond), s.readGap.p99.Round(time.Millisecond), s.readGap.max.Round(time.Millisecond),
		s.bakeRatio, s.bakeRatioMin, s.engineSeenReleases, s.engineBad)
	total := 0
	for _, n := range s.calls {
		total += n
	}
	if total > 0 {
		logf("  moto's CPU per call: %s (%d calls through the proxy, %.1f a second)", (s.motoCPU / time.Duration(total)).Round(10*time.Microsecond), total, float64(total)/secs)
	}
	others := s.machineBusy - (s.cpu+s.motoCPU+s.proxyCPU).Seconds()/secs*100/float64(runtime.NumCPU())
	logf("  engine process CPU %.1f%% of one core (%s per interval); moto %.1f%%, proxy %.1f%%; machine busy %.1f%% of %d cores, other processes %.1f%%",
		s.cpu.Seconds()/secs*100, (s.cpu / time.Duration(intervals)).Round(time.Millisecond), s.motoCPU.Seconds()/secs*100,
		s.proxyCPU.Seconds()/secs*100, s.machineBusy, runtime.NumCPU(), max(others, 0))
	logf("  memory peaks: heap in use %.1f MB, Go runtime total %.1f MB, RSS %.1f MB (process lifetime max RSS %.1f MB); %d GC cycles",
		float64(s.heapPeak)/(1<<20), float64(s.sysPeak)/(1<<20), float64(s.rssPeak)/(1<<20), float64(s.maxRSS)/(1<<20), s.gcCycles)

	goal := canaryCheckInterval + 500*time.Millisecond
	logf("rollbacks, one at a time, %d runs (%d without a matched hook or read; %d seen by a one-release DescribeAlarms):",
		r.runs, r.missingHooks, r.singleReads)
	logf("  %-46s %9s %9s %9s %9s %9s", "", "min", "p50", "p90", "p99", "max")
	row := func(name string, l latencySummary) {
		logf("  %-46s %9s %9s %9s %9s %9s", name, l.min.Round(time.Millisecond), l.p50.Round(time.Millisecond),
			l.p90.Round(time.Millisecond), l.p99.Round(time.Millisecond), l.max.Round(time.Millisecond))
	}
	row("ALARM → weights 100/0 read back (end to end)", r.e2e)
	row("  ALARM → the gate read that saw it starts", r.wait)
	row("  that DescribeAlarms (moto)", r.read)
	row("  its answer → rollback written (engine)", r.engine)
	row("  AfterGateFailure → AfterSetWeights", r.hookWrite)
	row("  written → seen by the benchmark", r.reread)
	row("ALARM → engine reports rolled_back", r.reported)
	logf("  goal p99 ≤ %s: %s", goal, verdict(r.e2e.p99 <= goal))
	if f.cfg.shared {
		logf("shared alarm, %d releases at once (new releases on the rolled-back environments baking again after %s):",
			sh.releases, sh.rampAgain.Round(100*time.Millisecond))
		logf("  ALARM → gate read starts %s, moto answers in %s; engine: first rollback written %s and last %s after that answer (AfterGateFailure spread %s)",
			sh.wait.Round(time.Millisecond), sh.read.Round(time.Millisecond), sh.firstWrite.Round(time.Millisecond),
			sh.lastWrite.Round(time.Millisecond), sh.hookSpread.Round(time.Millisecond))
		row("ALARM → each rule at 100/0 (read back)", sh.restore)
		logf("  all %d restored after %s, all reported rolled_back after %s; ELB calls meanwhile: %d (%d DescribeRules, %d ModifyRule)",
			sh.releases, sh.restore.max.Round(time.Millisecond), sh.reported.Round(time.Millisecond), sh.allELB, sh.describeRules, sh.modifyRule)
	}
	prev := 0
	var perPhase []string
	for _, p := range f.phases {
		perPhase = append(perPhase, fmt.Sprintf("%s %d", p.name, p.lines-prev))
		prev = p.lines
	}
	logf("engine log lines (warnings and errors) by phase: %s", strings.Join(perPhase, ", "))
	for i, k := range f.logs {
		if i == 12 {
			logf("  … %d more kinds", len(f.logs)-i)
			break
		}
		logf("  %6d × %s", k.count, k.text)
	}
}

// --- the engine's log ---

type logPhase struct {
	name  string
	lines int
}

type logKind struct {
	text  string
	count int
}

var (
	logStamp = regexp.MustCompile(`^\S+ `)
	logIDs   = regexp.MustCompile(`svc-\d+|rel_[0-9a-f]+|arn:\S+|epoch=\d+|release=\S+|\d+(\.\d+)?(ms|s|µs)`)
)

// summarizeLog counts the engine's log lines by kind: the message with
// names, IDs and durations blanked, the lines of multi-line errors each on
// their own.
func summarizeLog(s string) []logKind {
	counts := map[string]int{}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		line = logIDs.ReplaceAllString(logStamp.ReplaceAllString(line, ""), "…")
		if len(line) > 150 {
			line = line[:150] + "…"
		}
		counts[line]++
	}
	kinds := make([]logKind, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, logKind{k, n})
	}
	slices.SortFunc(kinds, func(a, b logKind) int { return b.count - a.count })
	return kinds
}

// --- helpers ---

// canaryWait polls ok every poll until it holds, failing after
// canaryDeadline with ok's last description.
func canaryWait(b *testing.B, what string, poll time.Duration, ok func() (bool, string)) {
	b.Helper()
	deadline := time.Now().Add(canaryDeadline)
	for {
		done, last := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: not within %s; last: %s", what, canaryDeadline, last)
		}
		time.Sleep(poll)
	}
}

// parallelDo calls f(0) … f(n-1) on workers goroutines and returns the
// first error.
func parallelDo(n, workers int, f func(i int) error) error {
	idx := make(chan int)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range idx {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		idx <- i
	}
	close(idx)
	wg.Wait()
	return first
}

func tvDur(tv syscall.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

type memPeaks struct{ heap, sys, rss uint64 }

// sampleMemory samples the heap in use (objects and the unused part of
// their spans, as MemStats.HeapInuse), the Go runtime's total and the
// process's RSS every 100 ms until stop closes, and returns their peaks.
func sampleMemory(stop <-chan struct{}) memPeaks {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	var p memPeaks
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(s)
		p.heap = max(p.heap, s[0].Value.Uint64()+s[1].Value.Uint64())
		p.sys = max(p.sys, s[2].Value.Uint64())
		p.rss = max(p.rss, rss())
		select {
		case <-stop:
			return p
		case <-tick.C:
		}
	}
}

// rss reads this process's resident set size from /proc (0 elsewhere).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// procCPU is a process's user and system CPU time from /proc/<pid>/stat,
// assuming 100 clock ticks a second (Linux's USER_HZ); 0 when unknown.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseUint(fields[11], 10, 64)
	stime, _ := strconv.ParseUint(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// findMotoPID finds the moto_server serving motoURL among this machine's
// processes, reading /proc; 0 when there is none (an external endpoint).
func findMotoPID(motoURL string) int {
	u, err := url.Parse(motoURL)
	if err != nil {
		return 0
	}
	port := u.Port()
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		if !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "moto_server") }) {
			continue
		}
		if i := slices.Index(args, "-p"); i >= 0 && i+1 < len(args) && args[i+1] == port {
			return pid
		}
	}
	return 0
}

// --- the counting proxy ---

const (
	canaryProxyEnv   = "CANARY_LOAD_PROXY_TARGET"
	canaryProxyReady = "canary-load proxy listening on "
	canaryProxyCalls = "/canary-load-proxy/calls"
	canaryProxyCount = "/canary-load-proxy/count"
)

// proxyCall is one AWS call that went through the proxy: its Query-protocol
// Action, when it went to moto and when moto's answer was through (Unix
// nanoseconds), the alarm names a DescribeAlarms asked for and the rule a
// DescribeRules or ModifyRule named.
type proxyCall struct {
	Action     string
	Start, End int64
	Status     int
	Names      []string `json:",omitempty"`
	Rule       string   `json:",omitempty"`
}

// canaryProxy is the proxy child process, seen from the benchmark.
type canaryProxy struct {
	url string
	pid int
}

// startCanaryProxy runs this test binary again as the counting proxy in
// front of target and stops it when the benchmark ends.
func startCanaryProxy(b *testing.B, target string) *canaryProxy {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestCanaryLoadProxyProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), canaryProxyEnv+"="+target)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	waited := make(chan error, 1)
	b.Cleanup(func() {
		stdin.Close() // the child serves until its stdin closes
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			cancel() // kills the child
			<-waited
		}
		cancel()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), canaryProxyReady); ok {
				addr <- a
			}
		}
		waited <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		return &canaryProxy{url: "http://" + a, pid: cmd.Process.Pid}
	case <-time.After(30 * time.Second):
		b.Fatalf("the proxy process did not start within 30s: %s", stderr.String())
	}
	return nil
}

// mark returns how many calls the proxy has seen so far.
func (p *canaryProxy) mark(b *testing.B) int {
	b.Helper()
	var n int
	p.get(b, canaryProxyCount, &n)
	return n
}

// calls returns the calls the proxy saw from index from on.
func (p *canaryProxy) calls(b *testing.B, from int) []proxyCall {
	b.Helper()
	var out []proxyCall
	p.get(b, canaryProxyCalls+"?from="+strconv.Itoa(from), &out)
	return out
}

func (p *canaryProxy) get(b *testing.B, path string, out any) {
	b.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		b.Fatalf("ask the proxy: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		b.Fatalf("ask the proxy: %v", err)
	}
}

// TestCanaryLoadProxyProcess is the counting proxy of BenchmarkCanaryLoad,
// not a test: the benchmark runs this test binary again with
// CANARY_LOAD_PROXY_TARGET set to moto's URL, and in that process this
// function forwards every request to moto, records each AWS call, and
// serves the record until its stdin closes. Without that variable it
// returns at once.
func TestCanaryLoadProxyProcess(t *testing.T) {
	target := os.Getenv(canaryProxyEnv)
	if target == "" {
		return
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{rp: &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute},
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("%s%s\n", canaryProxyReady, ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}

type countingProxy struct {
	rp    *httputil.ReverseProxy
	mu    sync.Mutex
	calls []proxyCall
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case canaryProxyCalls, canaryProxyCount:
		p.serveCalls(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := proxyCall{Action: "?"}
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
		c.Action = form.Get("Action")
		for k, v := range form {
			switch {
			case strings.HasPrefix(k, "AlarmNames.member."):
				c.Names = append(c.Names, v...)
			case k == "RuleArns.member.1", k == "RuleArn":
				c.Rule = v[0]
			}
		}
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	c.Start = time.Now().UnixNano()
	p.rp.ServeHTTP(sw, r)
	c.End = time.Now().UnixNano()
	c.Status = sw.status
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
}

// serveCalls answers the benchmark: the number of calls so far, or the
// calls from an index on.
func (p *countingProxy) serveCalls(w http.ResponseWriter, r *http.Request) {
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	p.mu.Lock()
	var out any = len(p.calls)
	if r.URL.Path == canaryProxyCalls {
		out = []proxyCall{}
		if from >= 0 && from < len(p.calls) {
			out = slices.Clone(p.calls[from:])
		}
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
