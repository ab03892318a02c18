package provider_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// readExamples concatenates examples/<dir>/*/<file>.
func readExamples(t *testing.T, dir, file string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "examples", dir, "*", file))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples in examples/%s: %v", dir, err)
	}
	var b strings.Builder
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
		b.WriteString("\n")
	}
	return b.String()
}

// The examples in the docs apply for real: every resource example, then the
// data source examples beside them, and a second plan is empty.
func TestAccExamples(t *testing.T) {
	e := newTestEngine(t)
	resources := readExamples(t, "resources", "resource.tf")
	dataSources := readExamples(t, "data-sources", "data-source.tf")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{Config: e.providerConfig() + resources},
			{
				Config: e.providerConfig() + resources + dataSources,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}
