package nop_test

import (
	"context"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/nop"
)

func TestRouterKeepsWeightsInMemory(t *testing.T) {
	ctx := context.Background()
	r := nop.New()
	if _, err := r.Weights(ctx); err == nil {
		t.Error("Weights before Ensure succeeded")
	}
	if err := r.Ensure(ctx, "purple"); err == nil {
		t.Error("Ensure accepted a slot other than blue or green")
	}
	if err := r.Ensure(ctx, traffic.Green); err != nil {
		t.Fatal(err)
	}
	if w, err := r.Weights(ctx); err != nil || w != traffic.All(traffic.Green) {
		t.Fatalf("Weights after Ensure(green) = %v, %v", w, err)
	}
	want := traffic.Weights{Blue: 20, Green: 80}
	if err := r.SetWeights(ctx, want, traffic.Options{DisableStickiness: true}); err != nil {
		t.Fatal(err)
	}
	// Ensure adopts what is held.
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Verify(ctx, want); !ok || err != nil {
		t.Errorf("Verify %s = %v, %v", want, ok, err)
	}
	if ok, err := r.Verify(ctx, traffic.All(traffic.Blue)); ok || err != nil {
		t.Errorf("Verify of other weights = %v, %v; want false", ok, err)
	}
	if err := r.SetWeights(ctx, traffic.Weights{Blue: 60, Green: 60}, traffic.Options{}); err == nil {
		t.Error("SetWeights accepted weights that do not split 100%")
	}
	if n, err := r.HealthyTargets(ctx, traffic.Blue); n != -1 || err != nil {
		t.Errorf("HealthyTargets = %d, %v; want -1", n, err)
	}
	if err := r.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Weights(ctx); err == nil {
		t.Error("Weights after Remove succeeded")
	}
}
