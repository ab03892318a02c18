package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

const toggleRes = "progressive_feature_toggle.new_checkout"

func toggleConfig(body string) string {
	return `
resource "progressive_feature_toggle" "new_checkout" {
  key             = "new-checkout"
  description     = "New checkout flow"
  variants = {
    on  = jsonencode(true)
    off = jsonencode(false)
  }
  default_variant = "off"
` + body + `
}
`
}

// evaluate asks the engine over OFREP, with an sdk token.
func (e *testEngine) evaluate(t *testing.T, key string, ctx map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"context": ctx})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.URL+"/ofrep/v1/evaluate/flags/"+key, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.Token(model.TokenSDK))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *testEngine) expectEvaluation(t *testing.T, key string, ctx map[string]any, reason string, value any) func() {
	return func() {
		t.Helper()
		got := e.evaluate(t, key, ctx)
		if got["reason"] != reason || (value != nil && got["value"] != value) {
			t.Errorf("evaluating %s with %v = %v, want reason %s value %v", key, ctx, got, reason, value)
		}
	}
}

func TestAccFeatureToggle(t *testing.T) {
	e := newTestEngine(t)
	employees := `
  rule {
    name    = "employees"
    variant = "on"
    condition {
      attribute = "email"
      operator  = "ends_with"
      values    = ["@example.com"]
    }
  }
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{ // create, with every default filled at plan time
				Config: e.providerConfig() + toggleConfig(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("off_variant"), knownvalue.StringExact("off")),
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("on_variant"), knownvalue.StringExact("on")),
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("kind"), knownvalue.StringExact("release")),
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("enabled"), knownvalue.Bool(true)),
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("project"), knownvalue.StringExact("default")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(toggleRes, tfjsonpath.New("id"), knownvalue.StringExact("default/new-checkout")),
					statecheck.ExpectKnownValue(toggleRes, tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
				},
				Check: func(*terraform.State) error {
					e.expectEvaluation(t, "new-checkout", map[string]any{}, "STATIC", false)()
					return nil
				},
			},
			{ // import
				ResourceName: toggleRes, ImportState: true, ImportStateId: "default/new-checkout",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "id",
			},
			{ // add a rule and a 10/90 rollout
				Config: e.providerConfig() + toggleConfig(employees+`
  rollout {
    weights = { on = 10, off = 90 }
  }
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(toggleRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("rollout").AtMapKey("salt"), knownvalue.StringExact("new-checkout")),
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("rollout").AtMapKey("bucket_by"), knownvalue.StringExact("targetingKey")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(toggleRes, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
				},
				Check: func(*terraform.State) error {
					e.expectEvaluation(t, "new-checkout", map[string]any{"email": "ann@example.com"}, "TARGETING_MATCH", true)()
					e.expectEvaluation(t, "new-checkout", map[string]any{"targetingKey": "user-1", "email": "x@y.z"}, "SPLIT", nil)()
					return nil
				},
			},
			{ // change weights; equal JSON written differently is no change
				Config: e.providerConfig() + `
resource "progressive_feature_toggle" "new_checkout" {
  key             = "new-checkout"
  description     = "New checkout flow"
  variants = {
    on  = "true"
    off = " false "
  }
  default_variant = "off"
` + employees + `
  rollout {
    weights = { on = 20, off = 80 }
  }
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(toggleRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(toggleRes, tfjsonpath.New("rollout").AtMapKey("weights").AtMapKey("on"), knownvalue.Float64Exact(20)),
				}},
			},
			{ // kill switch
				Config: e.providerConfig() + toggleConfig(employees+`
  enabled = false
  rollout {
    weights = { on = 20, off = 80 }
  }
`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(toggleRes, tfjsonpath.New("enabled"), knownvalue.Bool(false)),
				},
				Check: func(*terraform.State) error {
					e.expectEvaluation(t, "new-checkout", map[string]any{"email": "ann@example.com"}, "DISABLED", false)()
					return nil
				},
			},
			{ // the data source reports what is served
				Config: e.providerConfig() + toggleConfig(employees+`
  enabled = false
  rollout {
    weights = { on = 20, off = 80 }
  }
`) + `
data "progressive_feature_toggle" "status" {
  key = progressive_feature_toggle.new_checkout.key
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.progressive_feature_toggle.status", tfjsonpath.New("effective_enabled"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.progressive_feature_toggle.status", tfjsonpath.New("held_by"), knownvalue.StringExact("")),
				},
			},
			{ // disappears: deleted out of band, the next plan recreates it
				PreConfig: func() {
					if err := e.Client(t).DeleteToggle(context.Background(), "default", "new-checkout", 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: e.providerConfig() + toggleConfig(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(toggleRes, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// Each bad input gets a plan-time diagnostic on its attribute, and nothing
// reaches the engine.
func TestAccFeatureToggleInvalid(t *testing.T) {
	e := newTestEngine(t)
	cases := []struct {
		name, config, want string
	}{
		{"mixed variant types", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { a = jsonencode(true), b = jsonencode("b") }
  default_variant = "a"
}`, `variant "b" is a string but variant "a" is a boolean`},
		{"unknown default", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "maybe"
}`, `default_variant "maybe" is not one of the variants \(off, on\)`},
		{"weights not 100", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rollout {
    weights = { on = 10, off = 80 }
  }
}`, `weights add up to 90, not 100`},
		{"too many decimals", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rollout {
    weights = { on = 10.0001, off = 89.9999 }
  }
}`, `has more than 3 decimals`},
		{"unknown variant in rule", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rule {
    name = "r"
    variant = "maybe"
    condition {
      attribute = "email"
      operator = "equals"
      values = ["a"]
    }
  }
}`, `variant "maybe" is not one of the variants`},
		{"rule with variant and rollout", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rule {
    name = "r"
    variant = "on"
    condition {
      attribute = "email"
      operator = "equals"
      values = ["a"]
    }
    rollout {
      weights = { on = 50, off = 50 }
    }
  }
}`, `has both a variant and a rollout`},
		{"rule with neither", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rule {
    name = "r"
    condition {
      attribute = "email"
      operator = "equals"
      values = ["a"]
    }
  }
}`, `has neither a variant nor a rollout`},
		{"bad regex", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rule {
    name = "r"
    variant = "on"
    condition {
      attribute = "email"
      operator = "matches"
      values = ["(unclosed"]
    }
  }
}`, `is not valid RE2`},
		{"bad semver", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rule {
    name = "r"
    variant = "on"
    condition {
      attribute = "version"
      operator = "semver_gte"
      values = ["two"]
    }
  }
}`, `is not a semantic version`},
		{"empty key", `
resource "progressive_feature_toggle" "t" {
  key = ""
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
}`, `must be 1 to 128 lower-case letters`},
		{"duplicate rule names", `
resource "progressive_feature_toggle" "t" {
  key = "t"
  variants = { on = jsonencode(true), off = jsonencode(false) }
  default_variant = "off"
  rule {
    name = "r"
    variant = "on"
    condition {
      attribute = "a"
      operator = "equals"
      values = ["1"]
    }
  }
  rule {
    name = "r"
    variant = "off"
    condition {
      attribute = "a"
      operator = "equals"
      values = ["2"]
    }
  }
}`, `rule name "r" is already used by rule 0`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: e.providerConfig() + c.config, PlanOnly: true, ExpectError: regexp.MustCompile(`(?is)Invalid Value.*` + c.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: providerFactories, Steps: steps})
	toggles, err := e.Client(t).ListToggles(context.Background(), "default")
	if err != nil || len(toggles) != 0 {
		t.Fatalf("invalid configurations reached the engine: %v %v", toggles, err)
	}
}
