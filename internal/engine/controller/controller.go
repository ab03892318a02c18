// Package controller is the engine's control loop. It runs only on the
// replica that holds the controller lease (package lease), and only for the
// length of one term: every tick gets a context that ends with the term, and
// every write it makes carries the term's fence.
//
// The loop itself decides nothing. Each tick runs an ordered list of small
// Reconcilers; each may return early, and an error in one does not stop the
// others.
package controller

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
)

// Reconciler is one step of a tick.
type Reconciler interface {
	// Name identifies the step in logs and metrics.
	Name() string
	// Reconcile does one pass. ctx ends with the term.
	Reconcile(ctx context.Context, term *lease.Term) error
}

// Controller runs its reconcilers every Interval while leading.
type Controller struct {
	Interval    time.Duration
	Reconcilers []Reconciler
	Log         hclog.Logger
	// OnTick, when set, is told how each tick went (for metrics).
	OnTick func(step string, err error)
}

// Lead is an lease.Elector leader function.
func (c *Controller) Lead(ctx context.Context, term *lease.Term) {
	interval := c.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		c.tick(ctx, term)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Controller) tick(ctx context.Context, term *lease.Term) {
	for _, r := range c.Reconcilers {
		if ctx.Err() != nil {
			return
		}
		tctx, cancel := term.Context(ctx)
		err := r.Reconcile(tctx, term)
		cancel()
		if err != nil && c.Log != nil {
			c.Log.Error("reconcile step failed", "step", r.Name(), "epoch", term.Epoch(), "error", err)
		}
		if c.OnTick != nil {
			c.OnTick(r.Name(), err)
		}
	}
}
