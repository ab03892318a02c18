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
