package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// planWorkspace is a tofu working directory using the locally built provider.
type planWorkspace struct {
	t        *testing.T
	tofu     string
	dir      string
	rc       string
	endpoint string
	token    string
}

func (w planWorkspace) write(config string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func (w planWorkspace) run(args ...string) (string, error) {
	cmd := exec.CommandContext(context.Background(), w.tofu, args...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+w.rc, "PROGRESSIVE_ENDPOINT="+w.endpoint, "PROGRESSIVE_TOKEN="+w.token, "TF_IN_AUTOMATION=1")
	b, err := cmd.CombinedOutput()
	return string(b), err
}

func (w planWorkspace) must(args ...string) string {
	w.t.Helper()
	out, err := w.run(args...)
	if err != nil {
		w.t.Fatalf("tofu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// A saved plan made before another release changed the environment is
// refused at apply; after a rollback the next plan is empty and warns what
// rolled back and why.
func TestReleasePlans(t *testing.T) {
	tofu := testenv.TofuPath(t)
	bin := build(t)
	lb := testenv.NewALB(t)
	lb.RegisterTarget(t, lb.BlueTG, "10.0.1.10")
	lb.RegisterTarget(t, lb.GreenTG, "10.0.1.20")
	ctx := context.Background()
	cwc := cloudwatch.NewClient(testenv.AWSConfig(t))
	alarm := "plan-5xx-" + testenv.Suffix()
	if _, err := cwc.PutMetricAlarm(ctx, &sdk.PutMetricAlarmInput{AlarmName: aws.String(alarm), MetricName: aws.String("Errors"), Namespace: aws.String("Test"),
		Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}

	admin := model.NewTokenSecret()
	ready := make(chan string, 1)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- engine.Run(runCtx, engine.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "p.db"),
			BootstrapToken: admin, ControllerInterval: 100 * time.Millisecond, LeaseTTL: 2 * time.Second, Ready: ready,
			Log: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}})})
	}()
	defer func() { stop(); <-done }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("engine: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("engine not ready")
	}
	endpoint := "http://" + addr
	c, err := client.New(endpoint, admin)
	if err != nil {
		t.Fatal(err)
	}
	write, err := c.CreateToken(ctx, model.TokenSpec{Name: "ci", Kind: model.TokenWrite}, client.NewIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	rc := filepath.Join(dir, "tofurc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.opentofu.org/progressive-delivery/progressive\" = %q\n  }\n  direct {}\n}\n", bin)), 0o600); err != nil {
		t.Fatal(err)
	}
	w := planWorkspace{t: t, tofu: tofu, dir: dir, rc: rc, endpoint: endpoint, token: write.Secret}
	config := func(slot, trigger string) string {
		return fmt.Sprintf(`
terraform {
  required_providers {
    progressive = { source = "progressive-delivery/progressive" }
  }
}
resource "progressive_release_environment" "checkout" {
  name = "checkout"
  blue {
    target_group_arn = %q
  }
  green {
    target_group_arn = %q
  }
  alb {
    listener_arn  = %q
    rule_priority = 100
  }
  bake_time       = "2s"
  check_interval  = "1s"
  rollback_alarms = [%q]
}
resource "progressive_release" "checkout" {
  environment = progressive_release_environment.checkout.name
  slot        = %q
  trigger     = %q
  wait_for    = "completion"
}
`, lb.BlueTG, lb.GreenTG, lb.ListenerARN, alarm, slot, trigger)
	}

	// Release green.
	w.write(config("green", "v2"))
	w.must("apply", "-auto-approve", "-input=false", "-no-color")

	// Plan a release of blue and save it; meanwhile someone else releases.
	w.write(config("blue", "v3"))
	w.must("plan", "-input=false", "-no-color", "-out=release.tfplan")
	if _, err := c.UpdateRelease(ctx, "default", model.ReleaseSpec{Environment: "checkout", Slot: "blue", Trigger: "hotfix"}, 0); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, c, model.PhaseReleased, "hotfix")
	out, err := w.run("apply", "-input=false", "-no-color", "release.tfplan")
	if err == nil || !strings.Contains(out, "Stale Plan") || !strings.Contains(out, "plan again") {
		t.Fatalf("the stale plan was not refused (%v):\n%s", err, out)
	}

	// Release green again; the alarm fires during the bake and it rolls back.
	w.write(config("green", "v4"))
	go func() {
		time.Sleep(700 * time.Millisecond)
		_, _ = cwc.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String(alarm), StateValue: types.StateValueAlarm, StateReason: aws.String("test")})
	}()
	out, err = w.run("apply", "-auto-approve", "-input=false", "-no-color")
	if err == nil || !strings.Contains(out, "Release Rolled Back") {
		t.Fatalf("apply did not fail with the rollback (%v):\n%s", err, out)
	}
	// The next plan changes nothing and warns what rolled back and why.
	plan := w.must("plan", "-input=false", "-json", "-detailed-exitcode")
	warned, changes := false, false
	sc := bufio.NewScanner(strings.NewReader(plan))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var msg struct {
			Type       string `json:"type"`
			Diagnostic struct {
				Severity string `json:"severity"`
				Summary  string `json:"summary"`
				Detail   string `json:"detail"`
			} `json:"diagnostic"`
			Changes struct {
				Add, Change, Remove int
			} `json:"changes"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil {
			continue
		}
		if msg.Type == "diagnostic" && msg.Diagnostic.Severity == "warning" && msg.Diagnostic.Summary == "Release Rolled Back" &&
			strings.Contains(msg.Diagnostic.Detail, alarm) && strings.Contains(msg.Diagnostic.Detail, "trigger") {
			warned = true
		}
		if msg.Type == "change_summary" && msg.Changes.Add+msg.Changes.Change+msg.Changes.Remove > 0 {
			changes = true
		}
	}
	if !warned || changes {
		t.Fatalf("plan after a rollback: warned=%v changes=%v\n%s", warned, changes, plan)
	}
}

func waitPhase(t *testing.T, c *client.Client, phase model.ReleasePhase, trigger string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rel, err := c.GetRelease(context.Background(), "default", "checkout")
		if err == nil && rel.Current != nil && rel.Current.Trigger == trigger && rel.Current.Phase == phase {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("release did not reach %s: %+v (%v)", phase, rel, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
