package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// AlarmStates reads CloudWatch alarm states by name.
type AlarmStates interface {
	States(ctx context.Context, names []string) (map[string]string, error)
}

// ToggleAlarms holds toggles off while one of their disable_on_alarms is in
// ALARM, and restores them when none is. Each change is a fenced status write,
// so it bumps the store revision and appends an audit event.
type ToggleAlarms struct {
	Store  store.Store
	Alarms AlarmStates
	Clock  clock.Clock
	Log    hclog.Logger
	// Every is how often alarms are read (PROGRESSIVE_ALARM_POLL_INTERVAL).
	Every time.Duration

	last time.Time
}

// Name identifies the step.
func (r *ToggleAlarms) Name() string { return "toggle-alarms" }

// Reconcile reads the alarms when due and moves holds.
func (r *ToggleAlarms) Reconcile(ctx context.Context, term *lease.Term) error {
	now := r.Clock.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.Every {
		return nil
	}
	r.last = now
	objs, err := r.Store.ListObjectsByKind(ctx, model.KindToggle)
	if err != nil {
		return err
	}
	type watched struct {
		obj    model.Object
		alarms []string
		status model.ToggleStatus
	}
	var toggles []watched
	names := map[string]bool{}
	for _, o := range objs {
		var spec model.ToggleSpec
		if json.Unmarshal(o.Spec, &spec) != nil {
			continue
		}
		var status model.ToggleStatus
		_ = json.Unmarshal(o.Status, &status)
		if len(spec.DisableOnAlarms) == 0 && (status.Hold == nil || status.Hold.Kind != "alarm") {
			continue
		}
		toggles = append(toggles, watched{o, spec.DisableOnAlarms, status})
		for _, a := range spec.DisableOnAlarms {
			names[a] = true
		}
	}
	if len(toggles) == 0 {
		return nil
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	states := map[string]string{}
	if len(list) > 0 {
		if states, err = r.Alarms.States(ctx, list); err != nil {
			return err
		}
	}
	for _, t := range toggles {
		firing := ""
		for _, a := range t.alarms {
			if states[a] == "ALARM" {
				firing = a
				break
			}
		}
		held := t.status.Hold != nil && t.status.Hold.Kind == "alarm"
		var msg string
		next := t.status
		switch {
		case firing != "" && (!held || t.status.Hold.Name != firing):
			next.Hold = &model.ToggleHold{Kind: "alarm", Name: firing, Since: now.UTC()}
			msg = fmt.Sprintf("alarm %q is in ALARM: serving off_variant until it returns to OK", firing)
		case firing == "" && held:
			next.Hold = nil
			msg = fmt.Sprintf("alarm %q is no longer in ALARM: toggle restored", t.status.Hold.Name)
		default:
			continue
		}
		body, _ := json.Marshal(next)
		if err := r.Store.SetObjectStatus(ctx, t.obj.Ref, body, term.Fence(), model.Audit{Actor: "controller", Time: now, Message: msg}); err != nil {
			return fmt.Errorf("toggle %s: %w", t.obj.Ref, err)
		}
		r.Log.Info("toggle hold changed", "project", t.obj.Project, "toggle", t.obj.Name, "reason", msg)
	}
	return nil
}
