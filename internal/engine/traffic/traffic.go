// Package traffic moves customer traffic between an environment's two slots.
// A Router owns its routing objects on AWS (ALB listener rules it created, or
// Route 53 weighted records), writes weights, and reads them back: a shift
// counts only once AWS shows it. Implementations live in traffic/alb and
// traffic/route53; traffic/nop is for environments without that layer.
//
// Routers know nothing about stages or releases.
package traffic

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Slot names.
const (
	Blue  = "blue"
	Green = "green"
)

// Weights are percentages of customer traffic per slot; they sum to 100.
type Weights struct {
	Blue  int `json:"blue"`
	Green int `json:"green"`
}

// All returns the weights that send everything to slot.
func All(slot string) Weights {
	if slot == Green {
		return Weights{Green: 100}
	}
	return Weights{Blue: 100}
}

// Of returns the weight of slot.
func (w Weights) Of(slot string) int {
	if slot == Green {
		return w.Green
	}
	return w.Blue
}

func (w Weights) String() string { return fmt.Sprintf("blue %d%% / green %d%%", w.Blue, w.Green) }

// Valid reports whether w is a split of 100 percent.
func (w Weights) Valid() bool { return w.Blue >= 0 && w.Green >= 0 && w.Blue+w.Green == 100 }

// Options tune a weight write.
type Options struct {
	// DisableStickiness turns target-group stickiness off in the same write,
	// so that every user follows a rollback at once (ALB only).
	DisableStickiness bool
}

// Router moves traffic for one environment.
type Router interface {
	// Ensure checks that the AWS objects the environment names exist (the
	// error names whichever is missing) and creates or adopts the routing
	// objects the engine owns, sending all traffic to initial when it creates
	// them. It never touches routing objects it does not own.
	Ensure(ctx context.Context, initial string) error
	// SetWeights writes weights. Writes are idempotent.
	SetWeights(ctx context.Context, w Weights, o Options) error
	// Weights reads the weights AWS holds now.
	Weights(ctx context.Context) (Weights, error)
	// Verify reads AWS back until it shows w or ctx ends; it reports whether
	// it did. For Route 53 a change counts only once INSYNC.
	Verify(ctx context.Context, w Weights) (bool, error)
	// Remove deletes the routing objects the engine owns.
	Remove(ctx context.Context) error
	// TargetHealth counts the healthy targets behind slot (ALB), or reports
	// -1 where the router cannot tell (Route 53).
	HealthyTargets(ctx context.Context, slot string) (int, error)
}

// Source builds the router of an environment.
type Source interface {
	For(project string, env model.EnvironmentSpec) (Router, error)
}

// Audience is a set of requests routed to one slot ahead of the weights: the
// internal users of a canary stage. Every condition must match: one of the
// source CIDR blocks (when any) and each header (one of its values).
type Audience struct {
	Slot      string
	SourceIPs []string
	Headers   []Header
}

// Header matches a request header against any of Values.
type Header struct {
	Name   string
	Values []string
}

func (a *Audience) String() string {
	if a == nil {
		return "no audience"
	}
	var parts []string
	if len(a.SourceIPs) > 0 {
		parts = append(parts, "source "+strings.Join(a.SourceIPs, ","))
	}
	for _, h := range a.Headers {
		parts = append(parts, h.Name+"="+strings.Join(h.Values, ","))
	}
	return "audience " + strings.Join(parts, " and ") + " to " + a.Slot
}

// SameAudience reports whether a and b route the same requests to the same
// slot (order of values aside; header names compare case-insensitively).
func SameAudience(a, b *Audience) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Slot == b.Slot && a.key() == b.key()
}

func (a *Audience) key() string {
	ips := slices.Clone(a.SourceIPs)
	slices.Sort(ips)
	hs := make([]string, 0, len(a.Headers))
	for _, h := range a.Headers {
		v := slices.Clone(h.Values)
		slices.Sort(v)
		hs = append(hs, strings.ToLower(h.Name)+"="+strings.Join(v, "\x00"))
	}
	slices.Sort(hs)
	return strings.Join(ips, ",") + "|" + strings.Join(hs, "|")
}

// AudienceFrom converts a canary stage's audience for slot; nil stays nil.
func AudienceFrom(a *model.Audience, slot string) *Audience {
	if a == nil {
		return nil
	}
	out := &Audience{Slot: slot, SourceIPs: a.SourceIPs}
	for _, h := range a.HTTPHeaders {
		out.Headers = append(out.Headers, Header{Name: h.Name, Values: h.Values})
	}
	return out
}

// AudienceRouter is implemented by routers that can route an audience (ALB).
type AudienceRouter interface {
	// SetAudience creates or updates the audience rule; nil removes it.
	SetAudience(ctx context.Context, a *Audience) error
	// Audience reads the audience rule AWS holds; nil when there is none.
	Audience(ctx context.Context) (*Audience, error)
}
