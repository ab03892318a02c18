package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

const envRes = "progressive_release_environment.checkout"

// Stand-in ARNs for plan-only tests, which never reach AWS.
const tgBlue = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-blue/0123456789abcdef"
const tgGreen = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-green/0123456789abcdef"
const listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout/0123456789abcdef/0123456789abcdef"

// albEnv is an environment over a load balancer built in moto.
type albEnv struct {
	lb testenv.ALB
}

func newALBEnv(t *testing.T) albEnv {
	lb := testenv.NewALB(t)
	lb.RegisterTarget(t, lb.BlueTG, "10.0.1.10")
	lb.RegisterTarget(t, lb.GreenTG, "10.0.1.20")
	return albEnv{lb: lb}
}

func (a albEnv) config(blueVersion, greenVersion, extra string) string {
	return envConfigWith(a.lb.BlueTG, a.lb.GreenTG, a.lb.ListenerARN, blueVersion, greenVersion, extra)
}

func envConfig(blueVersion, greenVersion, greenTG, extra string) string {
	return envConfigWith(tgBlue, greenTG, listener, blueVersion, greenVersion, extra)
}

func envConfigWith(blueTG, greenTG, listenerARN, blueVersion, greenVersion, extra string) string {
	return `
resource "progressive_release_environment" "checkout" {
  name = "checkout"
  blue {
    version          = "` + blueVersion + `"
    target_group_arn = "` + blueTG + `"
  }
  green {
    version          = "` + greenVersion + `"
    target_group_arn = "` + greenTG + `"
  }
  alb {
    listener_arn  = "` + listenerARN + `"
    rule_priority = 100
  }
` + extra + `
}
`
}

func TestAccReleaseEnvironment(t *testing.T) {
	e := newFullEngine(t)
	aws := newALBEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		// on_destroy = retain (the default): AWS routing stays as it is.
		CheckDestroy: func(*terraform.State) error {
			if w := aws.lb.Weights(t, "100"); w[aws.lb.BlueTG] != 100 {
				return fmt.Errorf("destroying with on_destroy = retain changed the routing: %v", w)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: e.providerConfig() + aws.config("v41", "v41", `bake_time = "300s"`),
				Check: func(*terraform.State) error {
					if w := aws.lb.Weights(t, "100"); w[aws.lb.BlueTG] != 100 || w[aws.lb.GreenTG] != 0 {
						return fmt.Errorf("the engine's rule forwards %v, want all to blue", w)
					}
					return nil
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envRes, tfjsonpath.New("id"), knownvalue.StringExact("default/checkout")),
					statecheck.ExpectKnownValue(envRes, tfjsonpath.New("active_slot"), knownvalue.StringExact("blue")),
					statecheck.ExpectKnownValue(envRes, tfjsonpath.New("idle_slot"), knownvalue.StringExact("green")),
					statecheck.ExpectKnownValue(envRes, tfjsonpath.New("check_interval"), knownvalue.StringExact("10s")),
					statecheck.ExpectKnownValue(envRes, tfjsonpath.New("alb").AtMapKey("path_patterns"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("/*")})),
				},
			},
			{ // "300s" and "5m" are the same duration: no diff
				Config:           e.providerConfig() + aws.config("v41", "v41", `bake_time = "5m"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName: envRes, ImportState: true, ImportStateId: "checkout",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "id",
				// State keeps the configured spelling ("300s"); an import reads
				// the engine's ("5m0s"). They are the same duration.
				ImportStateVerifyIgnore: []string{"bake_time"},
			},
			{ // a deploy to the idle slot is an update that moves nothing
				Config: e.providerConfig() + aws.config("v41", "v42", `bake_time = "5m"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(envRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(envRes, tfjsonpath.New("active_slot"), knownvalue.StringExact("blue")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envRes, tfjsonpath.New("green").AtMapKey("version"), knownvalue.StringExact("v42")),
					statecheck.ExpectKnownValue(envRes, tfjsonpath.New("active_slot"), knownvalue.StringExact("blue")),
				},
			},
			{ // disappears
				PreConfig: func() {
					if err := e.Client(t).DeleteEnvironment(context.Background(), "default", "checkout", 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: e.providerConfig() + aws.config("v41", "v42", `bake_time = "5m"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(envRes, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// A missing target group fails the create with its name, and leaves nothing
// behind.
func TestAccReleaseEnvironmentMissingTargetGroup(t *testing.T) {
	e := newFullEngine(t)
	aws := newALBEnv(t)
	missing := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/does-not-exist/0123456789abcdef"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config:      e.providerConfig() + envConfigWith(aws.lb.BlueTG, missing, aws.lb.ListenerARN, "v1", "v1", ""),
			ExpectError: regexp.MustCompile(`(?s)Environment Routing Failed.*does-not-exist`),
		}},
	})
	envs, err := e.Client(t).ListEnvironments(context.Background(), "default")
	if err != nil || len(envs) != 0 {
		t.Fatalf("a failed create left %v (%v)", envs, err)
	}
	if w := aws.lb.Weights(t, "100"); w != nil {
		t.Fatalf("a failed create left a rule forwarding %v", w)
	}
}

// Changing the serving slot's routing is refused at plan time.
func TestAccReleaseEnvironmentServingSlotIsFrozen(t *testing.T) {
	e := newFullEngine(t)
	aws := newALBEnv(t)
	blueMoved := `
resource "progressive_release_environment" "checkout" {
  name = "checkout"
  blue {
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/elsewhere/0123456789abcdef"
  }
  green {
    target_group_arn = "` + aws.lb.GreenTG + `"
  }
  alb {
    listener_arn  = "` + aws.lb.ListenerARN + `"
    rule_priority = 100
  }
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{Config: e.providerConfig() + aws.config("v1", "v1", `on_destroy = "remove_routing"`)},
			{Config: e.providerConfig() + blueMoved, ExpectError: regexp.MustCompile(`(?s)Serving Slot Changed.*deploy to the idle slot \(green\)`)},
		},
		// on_destroy = remove_routing: destroying removes the engine's rule.
		CheckDestroy: func(*terraform.State) error {
			if w := aws.lb.Weights(t, "100"); w != nil {
				return fmt.Errorf("the engine's rule is still there: %v", w)
			}
			return nil
		},
	})
}

func TestAccReleaseEnvironmentInvalid(t *testing.T) {
	e := newTestEngine(t)
	r53 := func(extra string) string {
		return `
resource "progressive_release_environment" "x" {
  name = "x"
  blue {
    dns_value = "blue.internal"
  }
  green {
    dns_value = "green.internal"
  }
  route53 {
    zone_id     = "Z1"
    record_name = "x.example.com"
    record_type = "CNAME"
    ttl         = 60
  }
` + extra + `
}`
	}
	cases := []struct{ config, want string }{
		{`resource "progressive_release_environment" "x" {
  name = "x"
  initial_live_slot = "purple"
}`, `value must be one of`},
		{`resource "progressive_release_environment" "x" {
  name = "x"
  blue {
    target_group_arn = "` + tgBlue + `"
    dns_value = "b"
  }
  green {
    target_group_arn = "` + tgGreen + `"
    dns_value = "g"
  }
  alb {
    listener_arn = "` + listener + `"
    rule_priority = 100
  }
  route53 {
    zone_id = "Z1"
    record_name = "x"
    record_type = "A"
    ttl = 60
  }
}`, `set exactly one of alb and route53, not both`},
		{`resource "progressive_release_environment" "x" {
  name = "x"
}`, `set exactly one of alb and route53`},
		{envConfig("v1", "v1", "", ""), `the green slot needs target_group_arn with alb`},
		{r53("") + `
resource "progressive_release_environment" "y" {
  name = "y"
  blue {
    version = "v1"
  }
  green {
    dns_value = "g"
  }
  route53 {
    zone_id = "Z1"
    record_name = "y"
    record_type = "CNAME"
    ttl = 60
  }
}`, `the blue slot needs dns_value with route53`},
		{`resource "progressive_release_environment" "x" {
  name = "x"
  blue {
    target_group_arn = "` + tgBlue + `"
  }
  green {
    target_group_arn = "` + tgGreen + `"
  }
  alb {
    listener_arn = "` + listener + `"
    rule_priority = 5
  }
}`, `rule_priority 5 is outside 10..50000`},
		{`resource "progressive_release_environment" "x" {
  name = "x"
  blue {
    target_group_arn = "` + tgBlue + `"
  }
  green {
    target_group_arn = "` + tgGreen + `"
  }
  alb {
    listener_arn = "` + listener + `"
    rule_priority = 100
    host_headers = ["a", "b", "c", "d", "e", "f"]
  }
}`, `6 host headers is more than ALB's limit of 5`},
		{`resource "progressive_release_environment" "x" {
  name = "x"
  blue {
    target_group_arn = "not-an-arn"
  }
  green {
    target_group_arn = "` + tgGreen + `"
  }
  alb {
    listener_arn = "` + listener + `"
    rule_priority = 100
  }
}`, `"not-an-arn" is not a target group ARN`},
		{r53(`  bake_time = "-5s"`), `duration cannot be negative`},
		{r53(`  bake_time = "30s"`), `bake_time 30s is shorter than the record's TTL of 60s`},
		{`resource "progressive_release_environment" "x" {
  name = "x"
  blue {
    dns_value = "b"
  }
  green {
    dns_value = "g"
  }
  route53 {
    zone_id = "Z1"
    record_name = "x"
    record_type = "CNAME"
    ttl = 200000
  }
}`, `ttl 200000 is outside 0..172800`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: e.providerConfig() + c.config, PlanOnly: true, ExpectError: regexp.MustCompile(`(?is)` + c.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: providerFactories, Steps: steps})
	envs, err := e.Client(t).ListEnvironments(context.Background(), "default")
	if err != nil || len(envs) != 0 {
		t.Fatalf("invalid configurations reached the engine: %v %v", envs, err)
	}
}

// A second environment whose priority block overlaps the first's is refused
// at apply, naming the rule it would collide with, and changes nothing.
func TestAccReleaseEnvironmentOverlappingPriorities(t *testing.T) {
	e := newFullEngine(t)
	aws := newALBEnv(t)
	other := strings.NewReplacer(
		`progressive_release_environment" "checkout"`, `progressive_release_environment" "payments"`,
		`name = "checkout"`, `name = "payments"`,
		"rule_priority = 100", "rule_priority = 95",
	).Replace(aws.config("v1", "v1", ""))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{Config: e.providerConfig() + aws.config("v1", "v1", "")},
			{
				Config:      e.providerConfig() + aws.config("v1", "v1", "") + other,
				ExpectError: regexp.MustCompile(`(?s)Priority Block Taken.*86..95.*default/checkout`),
			},
		},
	})
	envs, err := e.Client(t).ListEnvironments(context.Background(), "default")
	if err != nil || len(envs) != 0 {
		t.Fatalf("environments left after destroy: %v (%v)", envs, err)
	}
}

// A canary policy that does not exist is refused at apply, and nothing is created.
func TestAccReleaseEnvironmentUnknownCanaryPolicy(t *testing.T) {
	e := newTestEngine(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config:      e.providerConfig() + envConfig("v1", "v1", tgGreen, `canary_policy = "standard"`),
			ExpectError: regexp.MustCompile(`(?s)no\s+canary\s+policy\s+named\s+"standard"\s+exists`),
		}},
	})
	envs, err := e.Client(t).ListEnvironments(context.Background(), "default")
	if err != nil || len(envs) != 0 {
		t.Fatalf("a refused environment was stored: %v (%v)", envs, err)
	}
}
