package provider_test

import (
	"net"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

const engineConfig = `
data "progressive_engine" "this" {}
`

func TestAccEngineDataSource(t *testing.T) {
	e := newTestEngine(t)
	ds := "data.progressive_engine.this"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config: e.providerConfig() + engineConfig,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("backend"), knownvalue.StringExact("sqlite")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("healthy"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("version"), knownvalue.StringExact("test")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("endpoint"), knownvalue.StringExact(e.URL)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("project"), knownvalue.StringExact("default")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("token_name"), knownvalue.StringExact("test-write")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("token_kind"), knownvalue.StringExact("write")),
			},
		}},
	})
}

// Each way of misconfiguring the provider gets a diagnostic that says which
// and how to fix it.
func TestAccProviderMisconfigured(t *testing.T) {
	e := newTestEngine(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config:      e.providerConfigWith(closed, e.Token(model.TokenWrite)) + engineConfig,
				ExpectError: regexp.MustCompile(`(?s)Engine Unreachable.*progressive serve`),
			},
			{
				Config:      e.providerConfigWith(e.URL, "prog_not-a-real-token-at-all-0000000000") + engineConfig,
				ExpectError: regexp.MustCompile(`(?s)Engine Token Rejected.*progressive token create`),
			},
			{
				Config:      e.providerConfigWith(e.URL, e.Token(model.TokenSDK)) + projectConfig("team-a", ""),
				ExpectError: regexp.MustCompile(`(?s)Engine Token Lacks Permission.*"sdk".*"write"`),
			},
			{
				Config:      `provider "progressive" { endpoint = "` + e.URL + `" }` + engineConfig,
				ExpectError: regexp.MustCompile(`(?s)Missing Engine Token.*PROGRESSIVE_TOKEN`),
			},
			{
				Config:      e.providerConfigWith("ftp://example", e.Token(model.TokenWrite)) + engineConfig,
				ExpectError: regexp.MustCompile(`(?s)Invalid Engine Endpoint`),
			},
		},
	})
}
