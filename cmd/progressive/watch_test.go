package main

import (
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

func watchedRelease() wire.Release {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	return wire.Release{Environment: "checkout", Slot: "green", Applied: true, Status: model.ReleaseStatusProgressing,
		Current: &model.Release{
			ID: "rel_1", Environment: "checkout", FromSlot: "blue", TargetSlot: "green", Phase: model.PhaseBaking,
			Message: "baking green", StageIndex: 1, IntendedWeights: model.Weights{Blue: 95, Green: 5},
			Baked: model.Duration(6 * time.Minute), GatesReadAt: now.Add(-2 * time.Second),
			Policy: &model.PinnedPolicy{Name: "standard", Version: 3, Spec: model.CanaryPolicySpec{Stages: []model.CanaryStage{
				{Name: "employees", BakeTime: model.Duration(10 * time.Minute)},
				{Name: "early-customers", TrafficPercent: 5, BakeTime: model.Duration(15 * time.Minute)},
				{Name: "fleet", TrafficPercent: 100, BakeTime: model.Duration(15 * time.Minute)},
			}}},
			Gates: []model.GateReading{
				{Name: "checkout-5xx", Kind: "alarm", State: model.GateOK, Value: "OK", Bound: "OK"},
				{Name: "conversion", Kind: "metric", State: model.GateFailing, Value: "0.11", Bound: "min 0.15"},
			},
		}}
}

// The frame shows stage n/m, both weights, the bake countdown and each gate.
func TestRenderWatch(t *testing.T) {
	rel := watchedRelease()
	frame := renderWatch("checkout", rel, &wire.Traffic{Blue: 95, Green: 5}, rel.Current.GatesReadAt.Add(2*time.Second))
	for _, want := range []string{
		"checkout  release rel_1  blue → green  PROGRESSING",
		"canary policy standard (version 3",
		"intended blue 95% / green 5%   AWS blue 95% / green 5%",
		"stage     2/3 early-customers (5%)",
		"] 6m0s of 15m0s (9m0s left)",
		"gates (read 2s ago)",
		"conversion", "FAILING", "0.11", "min 0.15",
	} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	if got := bakeBar(6*time.Minute, 15*time.Minute, 10); got != "[████░░░░░░] 6m0s of 15m0s (9m0s left)" {
		t.Errorf("bakeBar = %q", got)
	}
}

// Without a terminal, a line per change names the stage and failing gates.
func TestWatchLine(t *testing.T) {
	got := watchLine(watchedRelease())
	want := "rel_1 baking stage 2/3 early-customers at blue 95% / green 5%; metric conversion FAILING (0.11)\n"
	if got != want {
		t.Errorf("watchLine =\n%q\nwant\n%q", got, want)
	}
}
