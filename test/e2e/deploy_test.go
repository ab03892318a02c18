package e2e

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// A deploy that changes the rule's conditions reaches AWS without moving
// traffic, and is audited.
func TestDeployUpdatesRouting(t *testing.T) {
	ctx := context.Background()
	lb := bgReadyALB(t)
	admin := model.NewTokenSecret()
	e := bgStart(t, ctx, bgNewDB(t), admin, nil)
	c := e.c
	spec := bgALBEnv("checkout", lb)
	spec.ALB.HostHeaders = []string{"checkout.example.com"}
	if _, err := c.CreateEnvironment(ctx, "default", spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	bgWaitRouting(t, c, "checkout")
	spec.ALB.HostHeaders = []string{"checkout.example.com", "shop.example.com"}
	spec.Green.Version = "v43"
	if _, err := c.UpdateEnvironment(ctx, "default", spec, 0); err != nil {
		t.Fatal(err)
	}
	hosts := func(r elbtypes.Rule) []string {
		for _, cond := range r.Conditions {
			if aws.ToString(cond.Field) == "host-header" {
				if cond.HostHeaderConfig != nil {
					return cond.HostHeaderConfig.Values
				}
				return cond.Values
			}
		}
		return nil
	}
	bgEventually(t, "the rule's host headers to follow the deploy",
		func() (elbtypes.Rule, error) { return bgReadRule(ctx, lb, "100") },
		func(r elbtypes.Rule) bool { return slices.Contains(hosts(r), "shop.example.com") }, nil)
	bgAssertALB(t, lb, model.AllTo(model.SlotBlue), "after a deploy")
	if n := bgCount(bgEvents(t, c, model.KindEnvironment, "checkout"), "routing updated to version 2"); n != 1 {
		t.Fatalf("%d audit events for the routing update, want 1", n)
	}
}
