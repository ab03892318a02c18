package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// Alarm-driven auto-off against moto: a toggle naming an alarm is served as
// disabled while the alarm is in ALARM, and restored when it returns to OK;
// both transitions are audited.
func TestToggleFollowsAlarm(t *testing.T) {
	testenv.Moto(t)
	ctx := context.Background()
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewClient(awsCfg)
	alarm := "checkout-p99-latency-" + time.Now().Format("150405.000000")
	if _, err := cw.PutMetricAlarm(ctx, &sdk.PutMetricAlarmInput{
		AlarmName: aws.String(alarm), MetricName: aws.String("TargetResponseTime"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(0.5),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	setState := func(state types.StateValue) {
		t.Helper()
		if _, err := cw.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String(alarm), StateValue: state, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
	}

	admin := model.NewTokenSecret()
	ready := make(chan string, 1)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- engine.Run(runCtx, engine.Config{
			Listen: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "p.db"),
			BootstrapToken: admin, AlarmPoll: 200 * time.Millisecond, SnapshotPoll: 50 * time.Millisecond, LeaseTTL: 2 * time.Second,
			Log: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}}), Ready: ready,
		})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("engine stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("engine not ready")
	}
	endpoint := "http://" + addr
	c, err := client.New(endpoint, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateToggle(ctx, "default", model.ToggleSpec{
		Key:             "new-checkout",
		Variants:        map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)},
		DefaultVariant:  "on",
		OffVariant:      "off",
		DisableOnAlarms: []string{alarm},
	}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	sdkTok, err := c.CreateToken(ctx, model.TokenSpec{Name: "app", Kind: model.TokenSDK}, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	evaluate := func() map[string]any {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/ofrep/v1/evaluate/flags/new-checkout", bytes.NewReader([]byte(`{"context":{}}`)))
		req.Header.Set("X-API-Key", sdkTok.Secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	waitFor := func(what string, ok func(map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			got := evaluate()
			if ok(got) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %v after 60s", what, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if got := evaluate(); got["value"] != true || got["reason"] != "STATIC" {
		t.Fatalf("before the alarm: %v", got)
	}

	setState(types.StateValueAlarm)
	got := waitFor("auto-off", func(m map[string]any) bool { return m["reason"] == "DISABLED" })
	md, _ := got["metadata"].(map[string]any)
	if got["value"] != false || md["heldBy"] != "alarm" || md["alarm"] != alarm {
		t.Fatalf("held evaluation = %v", got)
	}
	st, err := c.ToggleStatus(ctx, "default", "new-checkout")
	if err != nil || st.EffectiveEnabled || st.Hold == nil || st.Hold.Name != alarm || !st.Enabled {
		t.Fatalf("status while held = %+v %v", st, err)
	}

	setState(types.StateValueOk)
	waitFor("restore", func(m map[string]any) bool { return m["reason"] == "STATIC" && m["value"] == true })

	page, err := c.ListEvents(ctx, client.EventQuery{ObjectKind: model.KindToggle, ObjectName: "new-checkout", Actor: "controller"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[1].Action != model.ActionStatus || page.Events[0].Action != model.ActionStatus {
		t.Fatalf("audit events for the two transitions = %+v", page.Events)
	}
	if !bytes.Contains([]byte(page.Events[1].Message), []byte("is in ALARM")) || !bytes.Contains([]byte(page.Events[0].Message), []byte("no longer in ALARM")) {
		t.Fatalf("audit messages: %q then %q", page.Events[1].Message, page.Events[0].Message)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
