package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

const (
	darkRes   = "progressive_dark_launch.chat"
	darkData  = "data.progressive_dark_launch.chat"
	chatUIRes = "progressive_feature_toggle.chat_ui"
)

// chatUIToggle is the release toggle chat-ui, switched on or off.
func chatUIToggle(enabled bool) string {
	return fmt.Sprintf(`
resource "progressive_feature_toggle" "chat_ui" {
  key     = "chat-ui"
  enabled = %t
  variants = {
    on  = jsonencode(true)
    off = jsonencode(false)
  }
  default_variant = "on"
  off_variant     = "off"
}
`, enabled)
}

// darkLaunch is the dark launch chat-backend holding chat-ui, with
// the given mirror_percent, max_p99_latency, min_requests and extra body.
func darkLaunch(mirror, latency string, minRequests int, extra string) string {
	return fmt.Sprintf(`
resource "progressive_dark_launch" "chat" {
  name           = "chat-backend"
  live_url       = "http://chat-v1.internal:8080"
  dark_url       = "http://chat-v2.internal:8080"
  mirror_percent = %s
  strip_headers  = ["Cookie"]

  compare {
    ignore_headers    = ["Date", "X-Request-Id"]
    ignore_json_paths = ["$.timestamp", "$.items[*].etag"]
  }

  synthetic {
    requests_per_second = 20
    request {
      method = "GET"
      path   = "/api/rooms"
    }
    request {
      method  = "GET"
      path    = "/api/rooms/42/messages"
      headers = { "X-User" = "synthetic" }
    }
  }

  alb {
    listener_arn     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e"
    rule_priority    = 50
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chat-v2/1a2b3c4d5e6f7a8b"
    http_header {
      name   = "x-dark-launch"
      values = ["chat"]
    }
  }

  acceptance {
    min_requests    = %d
    max_error_rate  = 0.02
    max_p99_latency = %q
    max_diff_rate   = 0.02
  }

  release_toggle = progressive_feature_toggle.chat_ui.key
%s
}
`, mirror, minRequests, latency, extra)
}

// darkLaunchData reads the figures of chat-backend once it exists.
const darkLaunchData = `
data "progressive_dark_launch" "chat" {
  name = progressive_dark_launch.chat.name
}
`

// proxyReport posts what a `progressive shadow` proxy reports for
// chat-backend: requests copies answered in 20ms (errors of them failed),
// all compared and none different.
func (e *testEngine) proxyReport(t *testing.T, requests, errors int64) {
	t.Helper()
	stats := shadow.Snapshot{Requests: requests, Errors: errors, Compared: requests}
	for range requests {
		stats.Latency.Observe(20 * time.Millisecond)
	}
	now := time.Now()
	err := e.Client(t).ShadowReport(context.Background(), "default", "chat-backend", shadow.Report{
		DarkLaunch: "chat-backend", Instance: "test-proxy", Sequence: uint64(proxySequence.Add(1)),
		From: now.Add(-5 * time.Second), To: now, Stats: stats,
	})
	if err != nil {
		t.Fatal(err)
	}
}

var proxySequence atomic.Int64

// sideEffect is a plan check that changes the world between plan and apply.
type sideEffect func()

func (f sideEffect) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	f()
}

func (e *testEngine) darkStatus(t *testing.T) string {
	t.Helper()
	d, err := e.Client(t).GetDarkLaunch(context.Background(), "default", "chat-backend")
	if err != nil {
		t.Fatal(err)
	}
	return d.Status
}

func TestAccDarkLaunch(t *testing.T) {
	e := newTestEngine(t)
	config := func(mirror, latency string) string {
		return e.providerConfig() + chatUIToggle(false) + darkLaunch(mirror, latency, 100, "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			if ds, err := e.Client(t).ListDarkLaunches(context.Background(), "default"); err != nil || len(ds) != 0 {
				return fmt.Errorf("dark launches left after destroy: %v (%w)", ds, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{ // create, with the defaults known at plan time
				Config: config("10", "300ms"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(darkRes, tfjsonpath.New("project"), knownvalue.StringExact("default")),
					plancheck.ExpectKnownValue(darkRes, tfjsonpath.New("methods"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("GET"), knownvalue.StringExact("HEAD")})),
					plancheck.ExpectKnownValue(darkRes, tfjsonpath.New("compare").AtMapKey("enabled"), knownvalue.Bool(true)),
					plancheck.ExpectKnownValue(darkRes, tfjsonpath.New("compare").AtMapKey("noise_url"), knownvalue.Null()),
					plancheck.ExpectUnknownValue(darkRes, tfjsonpath.New("status")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("id"), knownvalue.StringExact("default/chat-backend")),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("status"), knownvalue.StringExact("collecting")),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("proven_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("release_toggle"), knownvalue.StringExact("chat-ui")),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("synthetic").AtMapKey("request").AtSliceIndex(0).AtMapKey("headers"), knownvalue.Null()),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("synthetic").AtMapKey("request").AtSliceIndex(1).AtMapKey("headers").AtMapKey("X-User"), knownvalue.StringExact("synthetic")),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
				},
			},
			{ // import as <project>/<name>
				ResourceName: darkRes, ImportState: true, ImportStateId: "default/chat-backend",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "id",
			},
			{ // import as <name>, in the provider's project
				ResourceName: darkRes, ImportState: true, ImportStateId: "chat-backend",
				ImportStateVerify: true, ImportStateVerifyIdentifierAttribute: "id",
			},
			{ // update; the engine proves the launch between plan and apply,
				// and the apply still returns what the plan said
				Config: config("12.5", "300ms"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(darkRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(darkRes, tfjsonpath.New("status"), knownvalue.StringExact("collecting")),
					plancheck.ExpectKnownValue(darkRes, tfjsonpath.New("proven_at"), knownvalue.Null()),
					sideEffect(func() {
						e.proxyReport(t, 100, 0)
						if got := e.darkStatus(t); got != model.DarkProven {
							t.Errorf("status after 100 good requests = %s, want proven", got)
						}
					}),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("mirror_percent"), knownvalue.Float64Exact(12.5)),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
				},
			},
			{ // the refresh records the verdict without a diff, and a
				// duration written differently is no change
				Config: config("12.5", "0.3s"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("status"), knownvalue.StringExact("proven")),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("proven_at"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("acceptance").AtMapKey("max_p99_latency"), knownvalue.StringExact("300ms")),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
				},
			},
			{ // the data source gives the live figures
				Config: config("12.5", "300ms") + darkLaunchData,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("status"), knownvalue.StringExact("proven")),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("requests"), knownvalue.Int64Exact(100)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("min_requests"), knownvalue.Int64Exact(100)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("compared"), knownvalue.Int64Exact(100)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("diffs"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("error_rate"), knownvalue.Float64Exact(0)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("p99_latency"), knownvalue.StringRegexp(regexp.MustCompile(`^[1-9][0-9.]*ms$`))),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("dropped"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("held"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("release_toggle"), knownvalue.StringExact("chat-ui")),
					statecheck.CompareValuePairs(darkData, tfjsonpath.New("proven_at"), darkRes, tfjsonpath.New("proven_at"), compare.ValuesSame()),
				},
			},
			{ // without optional blocks, they stay absent; methods with side
				// effects are mirrored when named
				Config: e.providerConfig() + chatUIToggle(false) + `
resource "progressive_dark_launch" "chat" {
  name           = "chat-backend"
  live_url       = "http://chat-v1.internal:8080"
  dark_url       = "https://chat-v2.internal"
  mirror_percent = 0.125
  methods        = ["GET", "POST"]
  acceptance {
    min_requests   = 10
    max_error_rate = 0
  }
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("compare"), knownvalue.Null()),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("synthetic"), knownvalue.Null()),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("alb"), knownvalue.Null()),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("release_toggle"), knownvalue.Null()),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("acceptance").AtMapKey("max_p99_latency"), knownvalue.Null()),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("acceptance").AtMapKey("max_diff_rate"), knownvalue.Float64Exact(0)),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("strip_headers"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("methods").AtSliceIndex(1), knownvalue.StringExact("POST")),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("status"), knownvalue.StringExact("proven")),
				},
			},
			{ // disappears: deleted out of band, the next plan recreates it
				PreConfig: func() {
					if err := e.Client(t).DeleteDarkLaunch(context.Background(), "default", "chat-backend", 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: config("12.5", "300ms"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(darkRes, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("status"), knownvalue.StringExact("collecting")),
				},
			},
		},
	})
}

// The release toggle is held through OpenTofu: an apply that switches it on
// is refused with the dark launch's progress until the launch is proven,
// and the same apply goes through afterwards.
func TestAccDarkLaunchHoldsReleaseToggle(t *testing.T) {
	e := newTestEngine(t)
	launch := darkLaunch("10", "300ms", 100, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: e.providerConfig() + chatUIToggle(false) + launch + darkLaunchData,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("held"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("requests"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("status"), knownvalue.StringExact("collecting")),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("proven_at"), knownvalue.StringExact("")),
				},
			},
			{ // 40 of 100 requests: switching the toggle on is refused
				PreConfig:   func() { e.proxyReport(t, 40, 1) },
				Config:      e.providerConfig() + chatUIToggle(true) + launch + darkLaunchData,
				ExpectError: spaced(`chat-ui is held by dark launch chat-backend: 40 of 100 requests, error rate 2\.5 %`),
			},
			{ // the refused apply changed nothing: the toggle is still off
				Config: e.providerConfig() + chatUIToggle(false) + launch + darkLaunchData,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("requests"), knownvalue.Int64Exact(40)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("errors"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("held"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("status"), knownvalue.StringExact("collecting")),
				},
				Check: func(*terraform.State) error {
					e.expectEvaluation(t, "chat-ui", map[string]any{}, "DISABLED", false)()
					return nil
				},
			},
			{ // 60 more requests prove the launch, and the same apply goes through
				PreConfig: func() { e.proxyReport(t, 60, 0) },
				Config:    e.providerConfig() + chatUIToggle(true) + launch + darkLaunchData,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(chatUIRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(darkRes, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(chatUIRes, tfjsonpath.New("enabled"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("status"), knownvalue.StringExact("proven")),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("status"), knownvalue.StringExact("proven")),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("held"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("requests"), knownvalue.Int64Exact(100)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("errors"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("error_rate"), knownvalue.Float64Exact(0.01)),
					statecheck.ExpectKnownValue(darkData, tfjsonpath.New("message"), knownvalue.StringRegexp(regexp.MustCompile(`^proven after 100 requests`))),
				},
				Check: func(*terraform.State) error {
					e.expectEvaluation(t, "chat-ui", map[string]any{}, "STATIC", true)()
					return nil
				},
			},
		},
	})
}

// The engine refuses, at apply, a release toggle that does not exist (with
// its name) and one that already serves more than its off variant; nothing
// is stored.
func TestAccDarkLaunchReleaseToggleRefused(t *testing.T) {
	e := newTestEngine(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: e.providerConfig() + strings.Replace(darkLaunch("10", "300ms", 100, ""),
					"progressive_feature_toggle.chat_ui.key", `"chat-ui-v2"`, 1),
				ExpectError: spaced(`release_toggle = "chat-ui-v2"\n.*no toggle named "chat-ui-v2" exists in project "default"`),
			},
			{
				Config:      e.providerConfig() + chatUIToggle(true) + darkLaunch("10", "300ms", 100, ""),
				ExpectError: spaced(`chat-ui already serves more than its off variant \("off"\), so dark launch chat-backend cannot hold it: 0 of 100 requests`),
			},
		},
	})
	if ds, err := e.Client(t).ListDarkLaunches(context.Background(), "default"); err != nil || len(ds) != 0 {
		t.Fatalf("a refused dark launch was stored: %v (%v)", ds, err)
	}
}

// Each bad input gets a plan-time diagnostic on its attribute, and nothing
// reaches the engine.
func TestAccDarkLaunchInvalid(t *testing.T) {
	e := newTestEngine(t)
	launch := func(body string) string {
		return `
resource "progressive_dark_launch" "bad" {
  name = "chat-backend"
` + body + `
}
`
	}
	// base fills what a case does not set.
	base := func(set ...string) string {
		lines := map[string]string{
			"live_url":       `  live_url       = "http://chat-v1.internal:8080"`,
			"dark_url":       `  dark_url       = "http://chat-v2.internal:8080"`,
			"mirror_percent": `  mirror_percent = 10`,
			"acceptance": `  acceptance {
    min_requests   = 100
    max_error_rate = 0.01
  }`,
		}
		var b strings.Builder
		for _, s := range set {
			b.WriteString(s + "\n")
		}
		for _, k := range []string{"live_url", "dark_url", "mirror_percent", "acceptance"} {
			if !slicesContainsPrefix(set, k) {
				b.WriteString(lines[k] + "\n")
			}
		}
		return launch(b.String())
	}
	alb := func(headers string) string {
		return `  alb {
    listener_arn     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e"
    rule_priority    = 50
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chat-v2/1a2b3c4d5e6f7a8b"
` + headers + `
  }`
	}
	cases := []struct{ config, want string }{
		// mirror_percent outside 0..100, or too precise
		{base(`mirror_percent = 150`), `mirror_percent = 150\n.*mirror_percent 150 is outside 0\.\.100`},
		{base(`mirror_percent = -1`), `mirror_percent = -1\n.*mirror_percent -1 is outside 0\.\.100`},
		{base(`mirror_percent = 12.3456`), `mirror_percent = 12\.3456\n.*mirror_percent 12\.3456 has more than 3 decimals`},
		// an unknown HTTP method
		{base(`methods = ["GET", "FETCH"]`), `methods = \["GET", "FETCH"\]\n.*unknown HTTP method "FETCH": use one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS`},
		{base(`methods = ["get"]`), `unknown HTTP method "get" \(methods are upper case: GET\)`},
		{base(`methods = []`), `methods = \[\]\n.*list must contain at least 1 elements`},
		{base(`
  synthetic {
    requests_per_second = 5
    request {
      method = "BREW"
      path   = "/coffee"
    }
  }`), `method = "BREW"\n.*unknown HTTP method "BREW"`},
		// malformed URLs
		{base(`live_url = "chat-v1.internal:8080"`), `live_url = "chat-v1\.internal:8080"\n.*"chat-v1\.internal:8080" is not an http:// or https:// URL`},
		{base(`dark_url = "http://"`), `dark_url = "http://"\n.*"http://" has no host`},
		{base(`dark_url = "http://chat v2"`), `dark_url = "http://chat v2"\n.*"http://chat v2" is not a URL`},
		{base(`dark_url = "http://chat-v2.internal:8080/?debug=1"`), `has a query or fragment`},
		{base(`
  compare {
    noise_url = "ftp://chat-v1-b.internal"
  }`), `noise_url = "ftp://chat-v1-b\.internal"\n.*is not an http:// or https:// URL`},
		// live_url equal to dark_url (written differently)
		{base(`dark_url = "http://CHAT-V1.internal:8080/"`), `dark_url = "http://CHAT-V1\.internal:8080/"\n.*dark_url is the live_url: mirrored copies would hit the live service twice`},
		// negative bounds
		{base(`
  acceptance {
    min_requests   = -1
    max_error_rate = 0.01
  }`), `min_requests = -1\n.*min_requests cannot be negative`},
		{base(`
  acceptance {
    min_requests   = 100
    max_error_rate = -0.01
  }`), `max_error_rate = -0\.01\n.*-0\.01 is not a rate between 0 and 1`},
		{base(`
  acceptance {
    min_requests    = 100
    max_error_rate  = 0.01
    max_p99_latency = "-300ms"
  }`), `max_p99_latency = "-300ms"\n.*max_p99_latency cannot be negative`},
		{base(`
  acceptance {
    min_requests   = 100
    max_error_rate = 0.01
    max_diff_rate  = 2
  }`), `max_diff_rate\s+= 2\n.*2 is not a rate between 0 and 1`},
		{base(`
  synthetic {
    requests_per_second = -5
    request {
      method = "GET"
      path   = "/api/rooms"
    }
  }`), `requests_per_second = -5\n.*requests_per_second -5 is outside \(0, 10000\]`},
		// an invalid JSONPath
		{base(`
  compare {
    ignore_json_paths = ["$.items["]
  }`), `ignore_json_paths = \["\$\.items\["\]\n.*invalid JSONPath "\$\.items\[": unterminated bracket`},
		// more than 5 condition values
		{base(alb(`    http_header {
      name   = "x-dark-launch"
      values = ["chat", "chat-2", "chat-3"]
    }
    http_header {
      name   = "x-tester"
      values = ["ann", "bob", "cyd"]
    }`)), `alb \{\n.*6 header values is more than ALB's limit of 5 condition values per rule`},
		{base(alb(`    http_header {
      name   = "x dark launch"
      values = ["chat"]
    }`)), `name\s+= "x dark launch"\n.*the header name "x dark launch" is not valid`},
		{base(alb("")), `alb \{\n.*the preview rule needs an http_header`},
		{base(strings.Replace(alb(`    http_header {
      name   = "x-dark-launch"
      values = ["chat"]
    }`), "rule_priority    = 50", "rule_priority    = 0", 1)), `rule_priority\s+= 0\n.*rule_priority 0 is outside 1\.\.50000`},
		// bad header names in lists and maps
		{base(`strip_headers = ["Cookie", "Bad Header"]`), `strip_headers = \["Cookie", "Bad Header"\]\n.*"Bad Header" is not a valid header name`},
		{base(`
  synthetic {
    requests_per_second = 5
    request {
      method  = "GET"
      path    = "api/rooms"
      headers = { "X User" = "synthetic" }
    }
  }`), `path\s+= "api/rooms"\n.*"api/rooms" is not a path: start it with /.*"X User" is not a valid header name`},
		{base(`release_toggle = "Chat UI"`), `release_toggle = "Chat UI"\n.*"Chat UI" is not a toggle key`},
		{strings.Replace(base(), `name = "chat-backend"`, `name = "Chat"`, 1), `name = "Chat"\n.*the dark launch name "Chat" is not valid`},
		// the acceptance block is required
		{launch(`
  live_url       = "http://chat-v1.internal:8080"
  dark_url       = "http://chat-v2.internal:8080"
  mirror_percent = 10`), `it needs an acceptance block`},
		// values known only at apply are left to the engine, but every
		// known value is still judged: the listener ARN comes from another
		// resource, mirror_percent is wrong
		{`
resource "terraform_data" "listener" {
  input = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e"
}
` + base(`mirror_percent = 101`, strings.Replace(alb(`    http_header {
      name   = "x-dark-launch"
      values = ["chat"]
    }`), `listener_arn     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e"`, `listener_arn     = terraform_data.listener.output`, 1)),
			`mirror_percent 101 is outside 0\.\.100`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: e.providerConfig() + c.config, PlanOnly: true, ExpectError: spaced(c.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: providerFactories, Steps: steps})
	if ds, err := e.Client(t).ListDarkLaunches(context.Background(), "default"); err != nil || len(ds) != 0 {
		t.Fatalf("invalid dark launches reached the engine: %v (%v)", ds, err)
	}
}

// A configuration whose only unknown value is an ALB ARN from another
// resource plans without a diagnostic about that ARN.
func TestAccDarkLaunchUnknownARN(t *testing.T) {
	e := newTestEngine(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config: e.providerConfig() + `
resource "terraform_data" "listener" {
  input = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e"
}

resource "progressive_dark_launch" "chat" {
  name           = "chat-backend"
  live_url       = "http://chat-v1.internal:8080"
  dark_url       = "http://chat-v2.internal:8080"
  mirror_percent = 10
  alb {
    listener_arn     = terraform_data.listener.output
    rule_priority    = 50
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chat-v2/1a2b3c4d5e6f7a8b"
    http_header {
      name   = "x-dark-launch"
      values = ["chat"]
    }
  }
  acceptance {
    min_requests   = 100
    max_error_rate = 0.01
  }
}
`,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(darkRes, plancheck.ResourceActionCreate),
				plancheck.ExpectUnknownValue(darkRes, tfjsonpath.New("alb").AtMapKey("listener_arn")),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(darkRes, tfjsonpath.New("alb").AtMapKey("listener_arn"),
					knownvalue.StringExact("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e")),
			},
		}},
	})
}

func slicesContainsPrefix(set []string, prefix string) bool {
	for _, s := range set {
		if strings.HasPrefix(strings.TrimSpace(s), prefix) {
			return true
		}
	}
	return false
}
