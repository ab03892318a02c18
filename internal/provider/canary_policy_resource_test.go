package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/provider"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

const policyRes = "progressive_canary_policy.standard"

// policyConfig is a canary policy named standard with the given stage
// blocks and body (acceptance, check_interval).
func policyConfig(stages, body string) string {
	return `
resource "progressive_canary_policy" "standard" {
  name = "standard"
` + stages + body + `
}
`
}

func stage(name string, percent int, bake, extra string) string {
	return fmt.Sprintf(`
  stage {
    name            = %q
    traffic_percent = %d
    bake_time       = %q
%s
  }
`, name, percent, bake, extra)
}

const employeesAudience = `
    audience {
      source_ips = ["10.0.0.0/8"]
      http_header {
        name   = "x-employee"
        values = ["true"]
      }
    }`

// threeStages is the policy: employees (an audience only), early
// customers (5 %), the fleet.
func threeStages(employees, early, fleet string) string {
	return stage("employees", 0, employees, employeesAudience) + stage("early-customers", 5, early, "") + stage("fleet", 100, fleet, "")
}

func acceptance(alarms ...string) string {
	return `
  acceptance {
    alarm_names = [` + quoted(alarms) + `]

    metric {
      name        = "conversion"
      namespace   = "Shop"
      metric_name = "Conversions"
      dimensions  = { Service = "checkout" }
      min         = 0.15
      baseline {
        offset           = "168h"
        max_drop_percent = 20
      }
    }
  }
`
}

// spaced compiles an expected error, whose spaces match the line breaks
// with which OpenTofu wraps long messages.
func spaced(re string) *regexp.Regexp {
	return regexp.MustCompile(`(?is)` + strings.ReplaceAll(re, " ", `\s+`))
}

func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// diagnosticLog records the warnings the provider returns to OpenTofu, which
// terraform-plugin-testing does not expose: tests wrap the provider server.
type diagnosticLog struct {
	mu       sync.Mutex
	warnings []*tfprotov6.Diagnostic
}

type recordingServer struct {
	tfprotov6.ProviderServer
	log *diagnosticLog
}

func (s recordingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	resp, err := s.ProviderServer.PlanResourceChange(ctx, req)
	if resp != nil {
		s.log.record(resp.Diagnostics)
	}
	return resp, err
}

func (s recordingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	resp, err := s.ProviderServer.ApplyResourceChange(ctx, req)
	if resp != nil {
		s.log.record(resp.Diagnostics)
	}
	return resp, err
}

func (l *diagnosticLog) record(diags []*tfprotov6.Diagnostic) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityWarning {
			l.warnings = append(l.warnings, d)
		}
	}
}

func (l *diagnosticLog) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"progressive": func() (tfprotov6.ProviderServer, error) {
			srv, err := providerserver.NewProtocol6WithError(provider.New("test")())()
			return recordingServer{ProviderServer: srv, log: l}, err
		},
	}
}

func (l *diagnosticLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warnings = nil
}

// expectWarning checks that a warning with summary and a detail matching
// detail was returned since the last reset.
func (l *diagnosticLog) expectWarning(summary, detail string) resource.TestCheckFunc {
	re := regexp.MustCompile(detail)
	return func(*terraform.State) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		var seen []string
		for _, d := range l.warnings {
			if d.Summary == summary && re.MatchString(d.Detail) {
				return nil
			}
			seen = append(seen, d.Summary+": "+d.Detail)
		}
		return fmt.Errorf("no warning %q matching %q; warnings: %q", summary, detail, seen)
	}
}

// expectNoWarning checks that no warning with summary was returned since the
// last reset.
func (l *diagnosticLog) expectNoWarning(summary string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, d := range l.warnings {
			if d.Summary == summary {
				return fmt.Errorf("unexpected warning %s: %s", d.Summary, d.Detail)
			}
		}
		return nil
	}
}

// A policy's life through OpenTofu: create with every default and the
// summary known at plan time, import by name and by project/name, update,
// a rewritten duration plans nothing, and disappears.
func TestAccCanaryPolicy(t *testing.T) {
	e := newTestEngine(t)
	v1 := policyConfig(threeStages("10m", "15m", "15m"), acceptance("checkout-5xx", "checkout-p99"))
	v2 := policyConfig(threeStages("10m", "20m", "15m")+`  check_interval = "30s"`, acceptance("checkout-5xx"))
	v2Rewritten := strings.Replace(v2, `"10m"`, `"600s"`, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			if ps, err := e.Client(t).ListCanaryPolicies(context.Background(), "default"); err != nil || len(ps) != 0 {
				return fmt.Errorf("policies left after destroy: %v (%w)", ps, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: e.providerConfig() + v1,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policyRes, plancheck.ResourceActionCreate),
					plancheck.ExpectKnownValue(policyRes, tfjsonpath.New("summary"), knownvalue.StringExact("employees 10m → early-customers 15m → fleet 15m, at least 40m")),
					plancheck.ExpectKnownValue(policyRes, tfjsonpath.New("min_duration"), knownvalue.StringExact("40m")),
					plancheck.ExpectKnownValue(policyRes, tfjsonpath.New("project"), knownvalue.StringExact("default")),
					plancheck.ExpectKnownValue(policyRes, tfjsonpath.New("check_interval"), knownvalue.StringExact("10s")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("id"), knownvalue.StringExact("default/standard")),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("stage").AtSliceIndex(0).AtMapKey("approval"), knownvalue.StringExact("automatic")),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("stage").AtSliceIndex(0).AtMapKey("audience").AtMapKey("http_header").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("x-employee")),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("stage").AtSliceIndex(1).AtMapKey("audience"), knownvalue.Null()),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("insufficient_data"), knownvalue.StringExact("ignore")),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("failure_limit"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("error_limit"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("metric").AtSliceIndex(0).AtMapKey("statistic"), knownvalue.StringExact("Average")),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("metric").AtSliceIndex(0).AtMapKey("period"), knownvalue.Int64Exact(60)),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("metric").AtSliceIndex(0).AtMapKey("max"), knownvalue.Null()),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("metric").AtSliceIndex(0).AtMapKey("baseline").AtMapKey("max_rise_percent"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					p, err := e.Client(t).GetCanaryPolicy(context.Background(), "default", "standard")
					if err != nil {
						return err
					}
					if a := p.Stages[0].Audience; a == nil || len(a.HTTPHeaders) != 1 || a.HTTPHeaders[0].Values[0] != "true" || a.SourceIPs[0] != "10.0.0.0/8" {
						return fmt.Errorf("the engine holds the audience %+v", a)
					}
					if m := p.Acceptance.Metrics[0]; *m.Min != 0.15 || *m.Baseline.MaxDropPercent != 20 || m.Dimensions["Service"] != "checkout" || time.Duration(m.Baseline.Offset) != 168*time.Hour {
						return fmt.Errorf("the engine holds the metric gate %+v", m)
					}
					return nil
				},
			},
			{
				ResourceName: policyRes, ImportState: true, ImportStateId: "standard",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "id",
			},
			{
				ResourceName: policyRes, ImportState: true, ImportStateId: "default/standard",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "id",
			},
			{ // a longer second stage, a slower check, one alarm fewer
				Config: e.providerConfig() + v2,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policyRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(policyRes, tfjsonpath.New("summary"), knownvalue.StringExact("employees 10m → early-customers 20m → fleet 15m, at least 45m")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("min_duration"), knownvalue.StringExact("45m")),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance").AtMapKey("alarm_names"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("checkout-5xx")})),
				},
			},
			{ // "600s" is "10m": no change
				Config:           e.providerConfig() + v2Rewritten,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{ // disappears: deleted out of band, the next plan recreates it
				PreConfig: func() {
					if err := e.Client(t).DeleteCanaryPolicy(context.Background(), "default", "standard", 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: e.providerConfig() + v2,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policyRes, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// A policy without an acceptance block, in another project, with a manual
// stage: the block stays absent in state, and the summary says which stage
// waits for approval.
func TestAccCanaryPolicyMinimal(t *testing.T) {
	e := newTestEngine(t)
	if _, err := e.Client(t).CreateProject(context.Background(), model.ProjectSpec{Name: "payments"}, "p-1"); err != nil {
		t.Fatal(err)
	}
	config := `
resource "progressive_canary_policy" "standard" {
  name    = "one-step"
  project = "payments"
` + stage("half", 50, "1h30m", `    approval = "manual"`) + stage("all", 100, "0s", "") + `
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: e.providerConfig() + config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("id"), knownvalue.StringExact("payments/one-step")),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("acceptance"), knownvalue.Null()),
					statecheck.ExpectKnownValue(policyRes, tfjsonpath.New("summary"), knownvalue.StringExact("half 1h30m (manual approval) → all 0s, at least 1h30m")),
				},
			},
			{
				ResourceName: policyRes, ImportState: true, ImportStateId: "payments/one-step",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "id",
			},
			{
				Config:           e.providerConfig() + config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{ // the data source reads it by name
				Config: e.providerConfig() + config + `
data "progressive_canary_policy" "one_step" {
  project = "payments"
  name    = progressive_canary_policy.standard.name
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.progressive_canary_policy.one_step", tfjsonpath.New("summary"), knownvalue.StringExact("half 1h30m (manual approval) → all 0s, at least 1h30m")),
					statecheck.ExpectKnownValue("data.progressive_canary_policy.one_step", tfjsonpath.New("check_interval"), knownvalue.StringExact("10s")),
					statecheck.ExpectKnownValue("data.progressive_canary_policy.one_step", tfjsonpath.New("stages"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("half"), "traffic_percent": knownvalue.Int64Exact(50),
							"bake_time": knownvalue.StringExact("1h30m"), "approval": knownvalue.StringExact("manual"), "audience": knownvalue.Bool(false)}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("all"), "traffic_percent": knownvalue.Int64Exact(100),
							"bake_time": knownvalue.StringExact("0s"), "approval": knownvalue.StringExact("automatic"), "audience": knownvalue.Bool(false)}),
					})),
					statecheck.ExpectKnownValue("data.progressive_canary_policy.one_step", tfjsonpath.New("alarm_names"), knownvalue.ListSizeExact(0)),
				},
			},
			{ // a policy that does not exist fails the plan
				Config: e.providerConfig() + config + `
data "progressive_canary_policy" "missing" {
  name = "missing"
}
`,
				ExpectError: spaced(`read canary policy "missing" in project "default"`),
			},
		},
	})
}

// Bad input is refused at plan time, on the attribute at fault (the error
// quotes its line), and never reaches the engine.
func TestAccCanaryPolicyInvalid(t *testing.T) {
	e := newTestEngine(t)
	fleet := stage("fleet", 100, "1m", "")
	metric := func(body string) string {
		return `
  acceptance {
    metric {
      name        = "latency"
      namespace   = "AWS/ApplicationELB"
      metric_name = "TargetResponseTime"
` + body + `
    }
  }
`
	}
	cases := []struct{ config, want string }{
		{policyConfig(stage("a", 10, "1m", "")+stage("a", 100, "1m", ""), ""),
			`name\s+= "a"\n.*stage name "a" is used by stage 1 too`},
		{policyConfig(stage("a", 10, "1m", "")+stage("b", 5, "1m", "")+fleet, ""),
			`traffic_percent = 5\n.*traffic_percent 5 is below the previous stage's 10`},
		{policyConfig(stage("a", 150, "1m", "")+fleet, ""),
			`traffic_percent = 150\n.*traffic_percent 150 is outside 0\.\.100`},
		{policyConfig(stage("a", -1, "1m", "")+fleet, ""),
			`traffic_percent -1 is outside 0\.\.100`},
		{policyConfig(stage("a", 10, "1m", "")+stage("b", 50, "1m", ""), ""),
			`traffic_percent = 50\n.*the last stage sends 50%; it must send 100%`},
		{policyConfig(stage("a", 10, "1m", "")+stage("fleet", 100, "1m", employeesAudience), ""),
			`audience \{\n.*an audience there has no effect`},
		{policyConfig(fleet, metric("")),
			`metric \{\n.*metric "latency" has no bound: set min, max or a baseline`},
		{policyConfig(fleet, `  check_interval = "500ms"`),
			`check_interval = "500ms"\n.*check_interval 500ms is under 1s`},
		{policyConfig(fleet, `  check_interval = "0s"`),
			`check_interval = "0s"\n.*0s is under 1s`},
		{policyConfig(fleet, metric(`      baseline {
        offset           = "168h"
        max_drop_percent = 120
      }`)),
			`max_drop_percent = 120\n.*max_drop_percent 120 is outside 0\.\.100`},
		{policyConfig(fleet, metric(`      baseline {
        offset           = "168h"
        max_drop_percent = -5
      }`)),
			`max_drop_percent -5 is outside 0\.\.100`},
		{policyConfig(fleet, metric(`      baseline {
        offset           = "168h"
        max_rise_percent = 1500
      }`)),
			`max_rise_percent = 1500\n.*max_rise_percent 1500 is outside 0\.\.1000`},
		{policyConfig(stage("a", 10, "1m", `    approval = "sometimes"`)+fleet, ""),
			`approval = "sometimes"\n.*value must be one of.*"automatic".*"manual"`},
		{policyConfig(fleet, `
  acceptance {
    insufficient_data = "maybe"
  }`),
			`insufficient_data = "maybe"\n.*value must be one of.*"ignore".*"hold".*"fail"`},
		{policyConfig(fleet, metric(`      min       = 1
      statistic = "Avg"`)),
			`statistic = "Avg"\n.*statistic "Avg" is not valid: use Average, Sum`},
		{policyConfig(fleet, metric(`      min    = 1
      period = 45`)),
			`period = 45\n.*period 45 is not valid`},
		{policyConfig("", ""), `a policy needs at least one stage`},
		{policyConfig(stage("a", 10, "1m", `
    audience {
      source_ips = ["10.0.0.0/33"]
    }`)+fleet, ""),
			`source_ips = \["10\.0\.0\.0/33"\]\n.*"10\.0\.0\.0/33" is not a CIDR block`},
		{policyConfig(stage("a", 10, "1m", `
    audience {
      http_header {
        name   = "x employee"
        values = ["true"]
      }
    }`)+fleet, ""),
			`name\s+= "x employee"\n.*the header name "x employee" is not valid`},
		{policyConfig(fleet, `
  acceptance {
    error_limit = 0
  }`),
			`error_limit = 0\n.*must be at least 1`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: e.providerConfig() + c.config, PlanOnly: true, ExpectError: spaced(c.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: providerFactories, Steps: steps})
	if ps, err := e.Client(t).ListCanaryPolicies(context.Background(), "default"); err != nil || len(ps) != 0 {
		t.Fatalf("invalid policies reached the engine: %v (%v)", ps, err)
	}
}

// Alarm names CloudWatch does not know are refused at apply, with their
// names, and nothing is created.
func TestAccCanaryPolicyUnknownAlarm(t *testing.T) {
	e := newFullEngine(t)
	known, _ := newAlarm(t)
	missing := "checkout-missing-" + testenv.Suffix()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config:      e.providerConfig() + policyConfig(threeStages("1m", "1m", "1m"), acceptance(known, missing)),
			ExpectError: spaced(`alarm_names.*CloudWatch has no alarm named "` + missing + `"`),
		}},
	})
	if ps, err := e.Client(t).ListCanaryPolicies(context.Background(), "default"); err != nil || len(ps) != 0 {
		t.Fatalf("a refused policy was stored: %v (%v)", ps, err)
	}
}

// r53EnvConfig is a Route 53 environment named checkout in zone using the
// policy.
func r53EnvConfig(zone testenv.Zone, ttl int) string {
	return fmt.Sprintf(`
resource "progressive_release_environment" "checkout" {
  name = "checkout"
  blue {
    dns_value = "blue.checkout.internal"
  }
  green {
    dns_value = "green.checkout.internal"
  }
  route53 {
    zone_id     = %q
    record_name = "checkout.%s"
    record_type = "CNAME"
    ttl         = %d
  }
  canary_policy = progressive_canary_policy.standard.name
}
`, zone.ID, zone.Name, ttl)
}

// Route 53 environments: a policy with audiences is refused (audiences need
// alb), on the environment and on a later policy update; a release plan
// warns with the stages and about stages shorter than the TTL, and the
// release takes the stages' weights.
func TestAccCanaryPolicyRoute53(t *testing.T) {
	e := newFullEngine(t)
	zone := testenv.NewZone(t)
	var diags diagnosticLog
	plain := policyConfig(stage("early", 10, "1s", "")+stage("fleet", 100, "5s", "")+`  check_interval = "1s"`, "")
	withAudience := policyConfig(threeStages("1s", "1s", "5s")+`  check_interval = "1s"`, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: diags.factories(),
		Steps: []resource.TestStep{
			{
				Config:      e.providerConfig() + withAudience + r53EnvConfig(zone, 2),
				ExpectError: spaced(`canary policy "standard" sends an audience to the new slot in stage "employees", which needs an ALB environment`),
			},
			{
				PreConfig: func() {
					if envs, err := e.Client(t).ListEnvironments(context.Background(), "default"); err != nil || len(envs) != 0 {
						t.Fatalf("a refused environment was stored: %v (%v)", envs, err)
					}
				},
				Config: e.providerConfig() + plain + r53EnvConfig(zone, 2),
			},
			{
				PreConfig: diags.reset,
				Config:    e.providerConfig() + plain + r53EnvConfig(zone, 2) + releaseConfig("green", "v2", "completion"),
				Check: resource.ComposeAggregateTestCheckFunc(
					diags.expectWarning("Release Runs Canary Policy", `^release of checkout runs canary policy standard: early 1s → fleet 5s, at least 6s$`),
					diags.expectWarning("Canary Stage Shorter Than DNS TTL", `Stage "early" of canary policy "standard" bakes 1s, less than the 2s TTL`),
					func(*terraform.State) error {
						if w := zone.Weights(t, "checkout."+zone.Name+"."); w["checkout-green"] != 100 || w["checkout-blue"] != 0 {
							return fmt.Errorf("Route 53 holds %v, want all on green", w)
						}
						return nil
					},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("released")),
				},
			},
			{ // a plan that starts no release says nothing about the policy
				PreConfig: diags.reset,
				Config:    e.providerConfig() + plain + r53EnvConfig(zone, 2) + releaseConfig("green", "v2", "completion"),
				Check:     diags.expectNoWarning("Release Runs Canary Policy"),
			},
			{
				Config:      e.providerConfig() + withAudience + r53EnvConfig(zone, 2) + releaseConfig("green", "v2", "completion"),
				ExpectError: spaced(`environment checkout uses this policy: canary policy "standard" sends an audience`),
			},
		},
	})
}

// canaryFlow is an environment over a moto ALB under the policy standard,
// whose alarm gate has one alarm.
type canaryFlow struct {
	e        *testEngine
	lb       albEnv
	alarm    string
	setAlarm func(cwtypes.StateValue)
}

func newCanaryFlow(t *testing.T) canaryFlow {
	e := newFullEngine(t)
	alarm, set := newAlarm(t)
	return canaryFlow{e: e, lb: newALBEnv(t), alarm: alarm, setAlarm: set}
}

// config is the provider, the policy with the given stages, the environment
// with the slots' versions, and extra (a release).
func (f canaryFlow) config(stages, blue, green, extra string) string {
	return f.e.providerConfig() + policyConfig(stages+`  check_interval = "1s"`, `
  acceptance {
    alarm_names = ["`+f.alarm+`"]
  }
`) + f.lb.config(blue, green, `  canary_policy = progressive_canary_policy.standard.name`) + extra
}

// weights checks the weighted rule's target groups, and whether the
// audience rule exists.
func (f canaryFlow) weights(t *testing.T, blue, green int32, audience bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if w := f.lb.lb.Weights(t, "100"); w[f.lb.lb.BlueTG] != blue || w[f.lb.lb.GreenTG] != green {
			return fmt.Errorf("AWS forwards %v, want blue %d green %d", w, blue, green)
		}
		if w := f.lb.lb.Weights(t, strconv.Itoa(100-model.AudienceRuleOffset)); (w != nil) != audience {
			return fmt.Errorf("audience rule present = %v (%v), want %v", w != nil, w, audience)
		}
		return nil
	}
}

// waitForStage blocks until the release answering trigger is baking stage
// index, or fails the test.
func (f canaryFlow) waitForStage(t *testing.T, trigger string, index int) {
	c := f.e.Client(t)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		rel, err := c.GetRelease(context.Background(), "default", "checkout")
		if err == nil && rel.Current != nil && rel.Current.Trigger == trigger {
			cur := rel.Current
			if cur.StageIndex == index && cur.Phase == model.PhaseBaking {
				return
			}
			if cur.Phase.Terminal() {
				t.Errorf("release %s ended (%s: %s) before baking stage %d", cur.ID, cur.Phase, cur.Reason, index+1)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("release %q did not bake stage %d within 2 minutes", trigger, index+1)
}

// A release under a canary policy, through OpenTofu: the plan warns with
// the stages; it goes through every stage and promotes (the weights and the
// audience rule as AWS holds them); an alarm of the policy fired in stage 2
// rolls it back, naming the gate; a manual stage returns the apply with a
// warning, and promote finishes the release.
func TestAccCanaryPolicyRelease(t *testing.T) {
	f := newCanaryFlow(t)
	var diags diagnosticLog
	fast := threeStages("1s", "1s", "1s")
	slowSecond := threeStages("1s", "5m", "1s")
	manualFirst := strings.Replace(threeStages("1s", "1s", "1s"), employeesAudience, employeesAudience+"\n    approval = \"manual\"", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: diags.factories(),
		Steps: []resource.TestStep{
			{ // policy and environment; nothing released yet
				Config: f.config(fast, "v1", "v2", ""),
				Check:  f.weights(t, 100, 0, false),
			},
			{ // release green through the three stages
				PreConfig: diags.reset,
				Config:    f.config(fast, "v1", "v2", releaseConfig("green", "v2", "completion")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("released")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					diags.expectWarning("Release Runs Canary Policy", `^release of checkout runs canary policy standard: employees 1s → early-customers 1s → fleet 1s, at least 3s$`),
					diags.expectNoWarning("Canary Stage Shorter Than DNS TTL"),
					f.weights(t, 0, 100, false),
					func(*terraform.State) error {
						rel, err := f.e.Client(t).GetRelease(context.Background(), "default", "checkout")
						if err != nil {
							return err
						}
						if p := rel.Current.Policy; p == nil || p.Name != "standard" || len(p.Spec.Stages) != 3 {
							return fmt.Errorf("the release did not run under the policy: %+v", p)
						}
						return nil
					},
				),
			},
			{ // release blue (v3); a policy alarm fires in stage 2
				PreConfig: func() {
					go func() {
						f.waitForStage(t, "v3", 1)
						f.setAlarm(cwtypes.StateValueAlarm)
					}()
				},
				Config:      f.config(slowSecond, "v3", "v2", releaseConfig("blue", "v3", "completion")),
				ExpectError: regexp.MustCompile(`(?s)Release Rolled Back.*` + regexp.QuoteMeta(f.alarm)),
			},
			{ // customers are back on green, the audience rule is gone, and the plan is empty
				Config:           f.config(slowSecond, "v3", "v2", releaseConfig("blue", "v3", "completion")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("rolled_back")),
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("message"), knownvalue.StringRegexp(regexp.MustCompile(regexp.QuoteMeta(f.alarm)))),
				},
				Check: f.weights(t, 0, 100, false),
			},
			{ // a manual first stage: apply returns while the release waits for approval
				PreConfig: func() {
					f.setAlarm(cwtypes.StateValueOk)
					diags.reset()
				},
				Config: f.config(manualFirst, "v3.1", "v2", releaseConfig("blue", "v3.1", "completion")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("progressing")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					diags.expectWarning("Release Runs Canary Policy", `employees 1s \(manual approval\) → early-customers 1s → fleet 1s, at least 3s`),
					diags.expectWarning("Release Awaits Approval", `(?s)stage 1 of 3 \("employees".*progressive promote checkout`),
					// Only the audience reaches blue: 0 % of ordinary traffic.
					f.weights(t, 0, 100, true),
				),
			},
			{ // promoted out of band, the release finishes; refresh shows it
				PreConfig: func() {
					c := f.e.Client(t)
					if err := c.ReleaseAction(context.Background(), "default", "checkout", "promote"); err != nil {
						t.Fatal(err)
					}
					deadline := time.Now().Add(2 * time.Minute)
					for time.Now().Before(deadline) {
						if rel, err := c.GetRelease(context.Background(), "default", "checkout"); err == nil && rel.Current != nil && rel.Current.Phase.Terminal() {
							return
						}
						time.Sleep(200 * time.Millisecond)
					}
					t.Error("the promoted release did not finish within 2 minutes")
				},
				Config:           f.config(manualFirst, "v3.1", "v2", releaseConfig("blue", "v3.1", "completion")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(relRes, tfjsonpath.New("status"), knownvalue.StringExact("released")),
				},
				Check: f.weights(t, 100, 0, false),
			},
		},
	})
}
