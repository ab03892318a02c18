// Package nop is a traffic router without a routing layer: it keeps the
// weights in memory, so that environments without AWS routing, and tests of
// the controller, run the release state machine end to end. Nothing outside
// the process sees its weights.
package nop

import (
	"context"
	"fmt"
	"sync"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
)

// Router holds one environment's weights in memory. It is safe for
// concurrent use; the zero value has no routing yet (Weights fails until
// Ensure or SetWeights).
type Router struct {
	mu       sync.Mutex
	weights  *traffic.Weights
	audience *traffic.Audience
}

var (
	_ traffic.Router         = (*Router)(nil)
	_ traffic.AudienceRouter = (*Router)(nil)
)

// New returns a router with no routing yet.
func New() *Router { return &Router{} }

// Ensure sends all traffic to initial unless weights are already held.
func (r *Router) Ensure(_ context.Context, initial string) error {
	if initial != traffic.Blue && initial != traffic.Green {
		return fmt.Errorf("initial slot %q is not blue or green", initial)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.weights == nil {
		w := traffic.All(initial)
		r.weights = &w
	}
	return nil
}

// SetWeights stores w.
func (r *Router) SetWeights(_ context.Context, w traffic.Weights, _ traffic.Options) error {
	if !w.Valid() {
		return fmt.Errorf("weights %s do not split 100%%", w)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.weights = &w
	return nil
}

// Weights returns the stored weights.
func (r *Router) Weights(context.Context) (traffic.Weights, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.weights == nil {
		return traffic.Weights{}, fmt.Errorf("no routing: Ensure has not run or Remove has")
	}
	return *r.weights, nil
}

// Verify reports whether the stored weights are w; memory needs no waiting.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	got, err := r.Weights(ctx)
	if err != nil {
		return false, err
	}
	return got == w, nil
}

// Remove forgets the weights.
func (r *Router) Remove(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.weights = nil
	r.audience = nil
	return nil
}

// HealthyTargets reports -1: there are no targets to count.
func (r *Router) HealthyTargets(context.Context, string) (int, error) { return -1, nil }

// SetAudience stores a (nil forgets it).
func (r *Router) SetAudience(_ context.Context, a *traffic.Audience) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.audience = a
	return nil
}

// Audience returns the stored audience.
func (r *Router) Audience(context.Context) (*traffic.Audience, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.audience, nil
}
