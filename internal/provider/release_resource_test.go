package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	cw "github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

const relRes = "progressive_release.checkout"

func releaseConfig(slot, trigger, waitFor string) string {
	return `
resource "progressive_release" "checkout" {
  environment = progressive_release_environment.checkout.name
  slot        = "` + slot + `"
  trigger     = "` + trigger + `"
  wait_for    = "` + waitFor + `"
}
`
}

// newAlarm creates a CloudWatch alarm in moto and returns a setter of its state.
func newAlarm(t *testing.T) (string, func(cwtypes.StateValue)) {
	t.Helper()
	client := cw.NewClient(testenv.AWSConfig(t))
	name := "checkout-5xx-" + testenv.Suffix()
	ctx := context.Background()
	if _, err := client.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	return name, func(s cwtypes.StateValue) {
		if _, err := client.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: s, StateReason: aws.String("test")}); err != nil {
			t.Fatal(err)
		}
	}
}

// The whole life of a release through OpenTofu: release, import, roll back
// on an alarm (apply fails with the reason; the next plan is empty), retry
// with a new trigger, and disappear.
func TestAccRelease(t *testing.T) {
	e := newFullEngine(t)
	lb := newALBEnv(t)
	alarm, setAlarm := newAlarm(t)
	env := func(blue, green string) string {
		return lb.config(blue, green, `
  bake_time       = "2s"
  check_interval  = "1s"
  rollback_alarms = ["`+alarm+`"]`)
	}
	weights := func(blue, green int32) func(*terraform.State) error {
		return func(*terraform.State) error {
			if w := lb.lb.Weights(t, "100"); w[lb.lb.BlueTG] != blue || w[lb.lb.GreenTG] != green {
				return fmt.Errorf("AWS forwards %v, want blue %d green %d", w, blue, green)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{ // deploy v42 to green, release it, and wait for the outcome
				Config: e.providerConfig() + env("v41", "v42") + releaseConfig("green", "v42", "completion"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("released")),
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^rel_`))),
				},
				Check: weights(0, 100),
			},
			{ // refresh shows the environment's new active slot
				RefreshState: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(envRes, "active_slot", "green"),
					resource.TestCheckResourceAttr(envRes, "idle_slot", "blue"),
				),
			},
			{
				ResourceName: relRes, ImportState: true, ImportStateId: "checkout",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "environment",
				// Only in Terraform: how to wait, and what a plan was made against.
				ImportStateVerifyIgnore: []string{"wait_for", "timeouts", "planned_active_slot", "planned_last_release_id"},
			},
			{ // deploy v43 to blue (now idle), release it; the alarm fires during the bake
				PreConfig: func() {
					go func() {
						time.Sleep(500 * time.Millisecond)
						setAlarm(cwtypes.StateValueAlarm)
					}()
				},
				Config:      e.providerConfig() + env("v43", "v42") + releaseConfig("blue", "v43", "completion"),
				ExpectError: regexp.MustCompile(`(?s)Release Rolled Back.*` + alarm),
			},
			{ // the same configuration plans nothing; customers are back on green
				Config:           e.providerConfig() + env("v43", "v42") + releaseConfig("blue", "v43", "completion"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("rolled_back")),
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("message"), knownvalue.StringRegexp(regexp.MustCompile(alarm))),
				},
				Check: weights(0, 100),
			},
			{ // retry with a fix and a new trigger, once the alarm is OK again
				PreConfig: func() { setAlarm(cwtypes.StateValueOk) },
				Config:    e.providerConfig() + env("v43.1", "v42") + releaseConfig("blue", "v43.1", "completion"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("released")),
				},
				Check: weights(100, 0),
			},
			{ // disappears: deleted out of band, the next plan recreates it (moving nothing)
				PreConfig: func() {
					if err := e.Client(t).DeleteRelease(context.Background(), "default", "checkout"); err != nil {
						t.Fatal(err)
					}
				},
				Config: e.providerConfig() + env("v43.1", "v42") + releaseConfig("blue", "v43.1", "completion"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(relRes, plancheck.ResourceActionCreate),
				}},
				Check: weights(100, 0),
			},
		},
	})
}

// A release whose slot has no healthy targets fails without moving traffic,
// and apply says why; a second release resource for one environment is
// refused.
func TestAccReleaseFailsAndStaysSingle(t *testing.T) {
	e := newFullEngine(t)
	lb := testenv.NewALB(t)
	lb.RegisterTarget(t, lb.BlueTG, "10.0.1.10") // green has no targets
	envCfg := envConfigWith(lb.BlueTG, lb.GreenTG, lb.ListenerARN, "v1", "v2", "")
	second := `
resource "progressive_release" "second" {
  environment = progressive_release_environment.checkout.name
  slot        = "blue"
  depends_on  = [progressive_release.checkout]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config:      e.providerConfig() + envCfg + releaseConfig("green", "v2", "start"),
				ExpectError: regexp.MustCompile(`(?s)Release Failed.*healthy`),
			},
			{
				PreConfig: func() {
					rel, err := e.Client(t).GetRelease(context.Background(), "default", "checkout")
					if err != nil || rel.Current == nil || rel.Current.Phase != model.PhaseFailed {
						t.Fatalf("release = %+v (%v), want failed", rel, err)
					}
					if w := lb.Weights(t, "100"); w[lb.BlueTG] != 100 {
						t.Fatalf("a failed release moved traffic: %v", w)
					}
				},
				Config:      e.providerConfig() + envCfg + releaseConfig("blue", "v1", "start") + second,
				ExpectError: regexp.MustCompile(`(?s)Already Exists.*at\s+most\s+one\s+progressive_release`),
			},
		},
	})
}

func TestAccReleaseInvalid(t *testing.T) {
	e := newTestEngine(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: e.providerConfig() + `
resource "progressive_release" "x" {
  environment = "checkout"
  slot        = "purple"
}`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)slot.*value must be one of.*"blue".*"green"`),
			},
			{
				Config: e.providerConfig() + `
resource "progressive_release" "x" {
  environment = "Check Out"
  slot        = "blue"
}`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)environment name "Check Out" is not valid`),
			},
		},
	})
}
