package model_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func TestReleaseStatus(t *testing.T) {
	tests := map[model.ReleasePhase]model.ReleaseStatus{
		model.PhasePending:     model.ReleaseStatusProgressing,
		model.PhaseChecking:    model.ReleaseStatusProgressing,
		model.PhaseShifting:    model.ReleaseStatusProgressing,
		model.PhaseBaking:      model.ReleaseStatusProgressing,
		model.PhasePromoting:   model.ReleaseStatusProgressing,
		model.PhaseRollingBack: model.ReleaseStatusProgressing,
		model.PhasePaused:      model.ReleaseStatusPaused,
		model.PhaseReleased:    model.ReleaseStatusReleased,
		model.PhaseRolledBack:  model.ReleaseStatusRolledBack,
		model.PhaseFailed:      model.ReleaseStatusFailed,
	}
	for phase, want := range tests {
		if got := (model.Release{Phase: phase}).Status(); got != want {
			t.Errorf("%s: status %s, want %s", phase, got, want)
		}
		if terminal := phase == model.PhaseReleased || phase == model.PhaseRolledBack || phase == model.PhaseFailed; phase.Terminal() != terminal {
			t.Errorf("%s: terminal %v", phase, phase.Terminal())
		}
	}
}

func TestReleaseJSONRoundTrip(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r := model.NewRelease("rel-1", "default", "checkout", model.SlotGreen, "v42", now)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"finished_at", "intended_weights", "shifted_at", "last_gate_read_at"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("zero %s written: %s", absent, b)
		}
	}
	r.Phase = model.PhaseBaking
	r.IntendedWeights = model.AllTo(model.SlotGreen)
	r.ShiftedAt = now.Add(time.Minute)
	r.LastGateReadAt = now.Add(2 * time.Minute)
	r.Baked = model.Duration(90 * time.Second)
	b, err = json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"baked":"1m30s"`) || !strings.Contains(string(b), `"intended_weights":{"blue":0,"green":100}`) {
		t.Fatalf("json %s", b)
	}
	var back model.Release
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip:\n got  %+v\n want %+v", back, r)
	}
}

func TestWeights(t *testing.T) {
	if w := model.AllTo(model.SlotBlue); w != (model.Weights{Blue: 100}) || !w.Valid() || w.Of(model.SlotBlue) != 100 {
		t.Errorf("AllTo(blue) = %v", w)
	}
	if w := model.Split(model.SlotGreen, 5); w != (model.Weights{Blue: 95, Green: 5}) || w.Of(model.SlotGreen) != 5 {
		t.Errorf("Split(green, 5) = %v", w)
	}
	if w := model.Split(model.SlotBlue, 150); w != (model.Weights{Blue: 100}) {
		t.Errorf("Split clamps: %v", w)
	}
	if !(model.Weights{}).IsZero() || (model.Weights{}).Valid() || (model.Weights{}).String() != "none" {
		t.Error("the zero Weights is no intent")
	}
	if s := (model.Weights{Blue: 95, Green: 5}).String(); s != "blue 95% / green 5%" {
		t.Errorf("String() = %q", s)
	}
}

func TestReleaseValidate(t *testing.T) {
	ok := model.NewRelease("rel-1", "default", "checkout", model.SlotBlue, "", time.Unix(0, 0))
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := model.Release{Environment: "Checkout!", TargetSlot: "purple", FromSlot: "purple", Phase: "dancing"}
	got := fields(t, bad.Validate())
	var ptrs []string
	for _, f := range got {
		ptrs = append(ptrs, f.Pointer)
	}
	if want := []string{"/id", "/environment", "/target_slot", "/from_slot", "/phase"}; !reflect.DeepEqual(ptrs, want) {
		t.Fatalf("pointers %v, want %v", ptrs, want)
	}
}
