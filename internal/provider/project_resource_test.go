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

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func projectConfig(name, description string) string {
	return `
resource "progressive_project" "test" {
  name        = "` + name + `"
  description = "` + description + `"
}
`
}

func TestAccProject(t *testing.T) {
	e := newTestEngine(t)
	res := "progressive_project.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{ // create
				Config: e.providerConfig() + projectConfig("team-a", "Team A"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("name"), knownvalue.StringExact("team-a")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("description"), knownvalue.StringExact("Team A")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("created_at"), knownvalue.NotNull()),
				},
			},
			{ // import
				ResourceName:                         res,
				ImportState:                          true,
				ImportStateId:                        "team-a",
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "name",
			},
			{ // update in place
				Config: e.providerConfig() + projectConfig("team-a", "Team A, checkout"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("description"), knownvalue.StringExact("Team A, checkout")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
				},
			},
			{ // the same config again plans nothing
				Config: e.providerConfig() + projectConfig("team-a", "Team A, checkout"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{ // disappears: deleted outside Terraform, the next plan recreates it
				PreConfig: func() {
					if err := e.Client(t).DeleteProject(context.Background(), "team-a", 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: e.providerConfig() + projectConfig("team-a", "Team A, checkout"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
				},
			},
			{ // renaming replaces
				Config: e.providerConfig() + projectConfig("team-b", "Team A, checkout"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionDestroyBeforeCreate)},
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			ps, err := e.Client(t).ListProjects(context.Background())
			if err != nil {
				return err
			}
			if len(ps) != 1 || ps[0].Name != model.DefaultProject {
				return fmt.Errorf("projects left after destroy: %+v", ps)
			}
			return nil
		},
	})
	// The audit log names the provider's token as the actor.
	page, err := e.Client(t).ListEvents(context.Background(), client.EventQuery{ObjectKind: model.KindProject, Actor: "test-write"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) < 4 {
		t.Fatalf("audit log has %d project events by the provider's token, want at least 4", len(page.Events))
	}
}

// Creating never overwrites: an existing project gets an error that says to import it.
func TestAccProjectAlreadyExists(t *testing.T) {
	e := newTestEngine(t)
	if _, err := e.Client(t).CreateProject(context.Background(), model.ProjectSpec{Name: "taken", Description: "made by hand"}, ""); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config:      e.providerConfig() + projectConfig("taken", "from Terraform"),
			ExpectError: regexp.MustCompile(`(?s)Already Exists.*import`),
		}},
	})
	p, err := e.Client(t).GetProject(context.Background(), "taken")
	if err != nil || p.Description != "made by hand" || p.Version != 1 {
		t.Fatalf("the existing project was changed: %+v %v", p, err)
	}
}

// Bad names are refused at plan time with the engine's own words, and
// nothing reaches the engine.
func TestAccProjectInvalidInput(t *testing.T) {
	e := newTestEngine(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config:      e.providerConfig() + projectConfig("Team_A", ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)project name "Team_A" is not valid: use 1 to 63 lower-case`),
			},
			{
				Config:      e.providerConfig() + projectConfig("ok", strings.Repeat("x", 1025)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)description is 1025 characters long; shorten it to at most 1024`),
			},
			{
				ResourceName:  "progressive_project.test",
				Config:        requiredProviders + e.providerConfig() + projectConfig("ok", ""),
				ImportState:   true,
				ImportStateId: "Not A Name",
				ExpectError:   regexp.MustCompile(`(?s)Invalid Import ID`),
			},
		},
	})
	page, err := e.Client(t).ListEvents(context.Background(), client.EventQuery{ObjectKind: model.KindProject})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 {
		t.Fatalf("refused input reached the engine: %+v", page.Events)
	}
}
