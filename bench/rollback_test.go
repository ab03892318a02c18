package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// TestMain stops the services that testenv started (moto) when the
// benchmarks end.
func TestMain(m *testing.M) { testenv.Main(m) }

// Rollback on an alarm, blue-green on an ALB, against moto: from
// SetAlarmState ALARM to the listener rule forwarding 100 % to the slot that
// was live again, read back through DescribeRules.
//
// One engine runs in process over SQLite; one environment has
// check_interval = 1s, a 10-minute bake time (so every release stays in
// baking until the alarm fires) and the alarm as its only rollback alarm.
// Each run: alarm OK, a release to green with a new trigger, wait until it
// bakes (100 % on green, verified by the engine), wait a random part of
// check_interval (an alarm fires at any point of the gate-read cycle, not
// just after a read), then t0, SetAlarmState ALARM, and DescribeRules every
// 10 ms until blue has 100 % again: t1. The figure is t1 − t0. The run ends
// once the engine reports rolled_back, so runs never overlap.
//
// ROLLBACK_RUNS sets the number of runs (default 100);
// ROLLBACK_CONTROLLER_INTERVAL sets the engine's controller interval
// (PROGRESSIVE_CONTROLLER_INTERVAL; default 1s, as the engine's). Gates
// are read at the first controller tick from 95 % of check_interval after
// the previous read, so the tick bounds how late a read can be (see
// bench/RESULTS.md).
//
// The measurement takes minutes, so it is made once per process: b.Loop
// makes one iteration of it whatever b.N is, and -count repetitions after
// the first report the first one's figures again (`make bench` runs
// -count 6) rather than measure 6 times.
func BenchmarkRollbackLatency(b *testing.B) {
	if rollbackResult != nil {
		for b.Loop() {
		}
		rollbackResult.report(b)
		b.Log("repeats the figures measured in this process's first repetition")
		return
	}
	runs := 100
	if v := os.Getenv("ROLLBACK_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ROLLBACK_RUNS=%q: want a positive number of runs", v)
		}
		runs = n
	}
	interval := time.Second // the engine's default
	if v := os.Getenv("ROLLBACK_CONTROLLER_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("ROLLBACK_CONTROLLER_INTERVAL=%q: want a positive duration such as 200ms", v)
		}
		interval = d
	}
	rb := newRollbackBench(b, interval)
	var restored, reported []time.Duration
	for b.Loop() {
		if restored != nil {
			continue // one measurement per process, whatever b.N is
		}
		restored, reported = make([]time.Duration, 0, runs), make([]time.Duration, 0, runs)
		for i := range runs {
			r, e := rb.run(b, i)
			restored, reported = append(restored, r), append(reported, e)
		}
	}
	if s := rb.logs.String(); s != "" {
		b.Logf("engine warnings during the runs:\n%s", s)
	}
	rollbackResult = &rollbackFigures{interval: interval, runs: runs, restored: summarize(restored), reported: summarize(reported)}
	rollbackResult.report(b)
}

// rollbackResult is this process's measurement, once made.
var rollbackResult *rollbackFigures

type rollbackFigures struct {
	interval           time.Duration
	runs               int
	restored, reported latencySummary
}

func (f *rollbackFigures) report(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	rs, es := f.restored, f.reported
	b.ReportMetric(ms(rs.p50), "p50-ms")
	b.ReportMetric(ms(rs.p99), "p99-ms")
	b.ReportMetric(ms(rs.max), "max-ms")
	b.ReportMetric(ms(es.p99), "rolled_back-p99-ms")
	b.Logf("controller interval %s, check_interval %s, %d runs", f.interval, rollbackCheckInterval, f.runs)
	b.Logf("ALARM → ALB weights restored (DescribeRules): min %s  p50 %s  p90 %s  p99 %s  max %s", rs.min, rs.p50, rs.p90, rs.p99, rs.max)
	b.Logf("ALARM → engine reports rolled_back (API):     min %s  p50 %s  p90 %s  p99 %s  max %s", es.min, es.p50, es.p90, es.p99, es.max)
}

const (
	rollbackCheckInterval = time.Second
	rollbackPoll          = 10 * time.Millisecond
	rollbackEnv           = "checkout"
	rollbackProject       = "default"
	rollbackPriority      = 100
)

type rollbackBench struct {
	ctx     context.Context
	c       *client.Client
	cw      *sdk.Client
	lb      testenv.ALB
	alarm   string
	logs    *rollbackLog
	version int64 // the release intent's version; 0 before it exists
}

func newRollbackBench(b *testing.B, interval time.Duration) *rollbackBench {
	b.Helper()
	testenv.Moto(b)
	ctx := context.Background()
	lb := testenv.NewALB(b)
	lb.RegisterTarget(b, lb.BlueTG, "10.0.1.10")
	lb.RegisterTarget(b, lb.GreenTG, "10.0.2.10")
	cw := cloudwatch.NewClient(testenv.AWSConfig(b))
	alarm := "checkout-5xx-" + testenv.Suffix()
	if _, err := cw.PutMetricAlarm(ctx, &sdk.PutMetricAlarmInput{
		AlarmName: aws.String(alarm), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		b.Fatal(err)
	}

	admin := model.NewTokenSecret()
	ready := make(chan string, 1)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	logs := &rollbackLog{}
	go func() {
		done <- engine.Run(runCtx, engine.Config{
			Listen: "127.0.0.1:0", DataDir: b.TempDir(), DatabaseURL: "sqlite:" + filepath.Join(b.TempDir(), "p.db"),
			BootstrapToken: admin, ControllerInterval: interval, LeaseTTL: 5 * time.Second,
			Log: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: logs}), Ready: ready,
		})
	}()
	b.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("engine: %v", err)
		}
		if s := logs.String(); s != "" && b.Failed() {
			b.Logf("engine log:\n%s", s)
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
	c, err := client.New("http://"+addr, admin)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateEnvironment(ctx, rollbackProject, model.EnvironmentSpec{
		Name:           rollbackEnv,
		Blue:           model.Slot{Version: "v1", TargetGroupARN: lb.BlueTG},
		Green:          model.Slot{Version: "v2", TargetGroupARN: lb.GreenTG},
		ALB:            &model.ALB{ListenerARN: lb.ListenerARN, RulePriority: rollbackPriority},
		BakeTime:       model.Duration(10 * time.Minute),
		CheckInterval:  model.Duration(rollbackCheckInterval),
		RollbackAlarms: []string{alarm},
	}, client.NewIdempotencyKey()); err != nil {
		b.Fatal(err)
	}
	waitUntil(b, "routing ready", func() (bool, string) {
		env, err := c.GetEnvironment(ctx, rollbackProject, rollbackEnv)
		return err == nil && env.Routing == model.RoutingReady, fmt.Sprintf("%+v %v", env, err)
	})
	return &rollbackBench{ctx: ctx, c: c, cw: cw, lb: lb, alarm: alarm, logs: logs}
}

// run releases green, waits until it bakes, raises the alarm and returns
// how long until AWS forwards 100 % to blue again, and until the engine
// reports the release rolled back.
func (rb *rollbackBench) run(b *testing.B, i int) (restored, reported time.Duration) {
	b.Helper()
	ctx := rb.ctx
	rb.setAlarm(b, cwtypes.StateValueOk)
	trigger := fmt.Sprintf("run-%d-%s", i, testenv.Suffix())
	spec := model.ReleaseSpec{Environment: rollbackEnv, Slot: model.SlotGreen, Trigger: trigger}
	var rel wire.Release
	var err error
	if rb.version == 0 {
		rel, err = rb.c.CreateRelease(ctx, rollbackProject, spec, client.NewIdempotencyKey())
	} else {
		rel, err = rb.c.UpdateRelease(ctx, rollbackProject, spec, rb.version)
	}
	if err != nil {
		b.Fatalf("run %d: release: %v", i, err)
	}
	rb.version = rel.Version
	waitUntil(b, fmt.Sprintf("run %d: baking", i), func() (bool, string) {
		rel, err := rb.c.GetRelease(ctx, rollbackProject, rollbackEnv)
		if err != nil {
			return false, err.Error()
		}
		cur := rel.Current
		if cur == nil || cur.Trigger != trigger {
			return false, fmt.Sprintf("%+v", rel)
		}
		if cur.Phase.Terminal() {
			b.Fatalf("run %d: the release ended before the alarm: %s: %s", i, cur.Phase, cur.Message)
		}
		return cur.Phase == model.PhaseBaking, fmt.Sprintf("%s: %s", cur.Phase, cur.Message)
	})
	if w := rb.lb.Weights(b, strconv.Itoa(rollbackPriority)); w[rb.lb.GreenTG] != 100 || w[rb.lb.BlueTG] != 0 {
		b.Fatalf("run %d: baking, but AWS forwards %v", i, w)
	}
	// An alarm fires at any point of the gate-read cycle.
	time.Sleep(rand.N(rollbackCheckInterval))

	t0 := time.Now()
	rb.setAlarm(b, cwtypes.StateValueAlarm)
	waitUntil(b, fmt.Sprintf("run %d: weights restored", i), func() (bool, string) {
		w := rb.lb.Weights(b, strconv.Itoa(rollbackPriority))
		return w[rb.lb.BlueTG] == 100 && w[rb.lb.GreenTG] == 0, fmt.Sprint(w)
	})
	restored = time.Since(t0)
	waitUntil(b, fmt.Sprintf("run %d: rolled_back", i), func() (bool, string) {
		rel, err := rb.c.GetRelease(ctx, rollbackProject, rollbackEnv)
		if err != nil {
			return false, err.Error()
		}
		cur := rel.Current
		return cur != nil && cur.Phase.Terminal(), fmt.Sprintf("%+v", cur)
	})
	reported = time.Since(t0)
	rel, err = rb.c.GetRelease(ctx, rollbackProject, rollbackEnv)
	if err != nil || rel.Current.Phase != model.PhaseRolledBack || !bytes.Contains([]byte(rel.Current.Reason), []byte(rb.alarm)) {
		b.Fatalf("run %d: release = %+v (%v), want rolled back on %s", i, rel.Current, err, rb.alarm)
	}
	return restored, reported
}

func (rb *rollbackBench) setAlarm(b *testing.B, s cwtypes.StateValue) {
	b.Helper()
	if _, err := rb.cw.SetAlarmState(rb.ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String(rb.alarm), StateValue: s,
		StateReason: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
}

// waitUntil polls ok every rollbackPoll until it holds; after a generous
// 60 s it fails with ok's last description.
func waitUntil(b *testing.B, what string, ok func() (bool, string)) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, last := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: not within 60s; last: %s", what, last)
		}
		time.Sleep(rollbackPoll)
	}
}

// rollbackLog collects the engine's warnings, printed when the benchmark ends.
type rollbackLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *rollbackLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *rollbackLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type latencySummary struct{ min, p50, p90, p99, max time.Duration }

// summarize returns nearest-rank percentiles.
func summarize(d []time.Duration) latencySummary {
	if len(d) == 0 {
		return latencySummary{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := func(p int) time.Duration { return s[max((p*len(s)+99)/100, 1)-1] }
	return latencySummary{min: s[0], p50: rank(50), p90: rank(90), p99: rank(99), max: s[len(s)-1]}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
