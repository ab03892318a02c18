package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/clock"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/darklaunch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/lease"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/alb"
)

// PreviewRules creates and removes dark launches' ALB preview rules.
type PreviewRules interface {
	Ensure(ctx context.Context, p alb.Preview) error
	Remove(ctx context.Context, p alb.Preview) error
}

// DarkLaunches runs what the leader does for dark launches: it generates
// their synthetic load (while they collect or are proven; pause, failure
// and deletion stop it at once) and adds its figures to theirs, and it sets
// up their ALB preview rules. Mirroring itself happens in the proxies.
type DarkLaunches struct {
	Store store.Store
	// Previews returns the preview-rule router of a listener; nil without
	// AWS (preview rules then report an error).
	Previews  func(listenerARN string) PreviewRules
	ClusterID string
	Clock     clock.Clock
	Log       hclog.Logger
	// Instance names this engine's synthetic load in reports.
	Instance string
	// Synthetic tunes the generators (tests shorten the timeout).
	Synthetic shadow.SyntheticOptions

	mu       sync.Mutex
	runners  map[string]*synthRunner
	lastTick time.Time
	watching bool
}

type synthRunner struct {
	project, name string
	version       int64
	epoch         int64
	gen           *shadow.Synthetic
	stats         *shadow.Stats
	seq           uint64
	from          time.Time
}

// Name identifies the step.
func (d *DarkLaunches) Name() string { return "dark-launches" }

// Reconcile does one pass over every dark launch.
func (d *DarkLaunches) Reconcile(ctx context.Context, _ *lease.Term) error {
	objs, err := d.Store.ListObjectsByKind(ctx, model.KindDarkLaunch)
	if err != nil {
		return err
	}
	now := d.Clock.Now()
	d.mu.Lock()
	if d.runners == nil {
		d.runners = map[string]*synthRunner{}
	}
	d.lastTick = time.Now()
	if !d.watching {
		d.watching = true
		go d.watchdog()
	}
	d.mu.Unlock()

	seen := map[string]bool{}
	var errs []error
	for _, o := range objs {
		var spec model.DarkLaunchSpec
		if json.Unmarshal(o.Spec, &spec) != nil {
			continue
		}
		key := o.Project + "/" + o.Name
		seen[key] = true
		st := darklaunch.StatusOf(o.Status, o.CreatedAt)
		if err := d.synthetic(ctx, o, &spec, st, now); err != nil {
			errs = append(errs, err)
		}
		if spec.ALB != nil {
			if err := d.preview(ctx, o, &spec, st); err != nil {
				errs = append(errs, err)
			}
		}
	}
	d.mu.Lock()
	for key, r := range d.runners {
		if !seen[key] {
			r.gen.Stop()
			delete(d.runners, key)
		}
	}
	d.mu.Unlock()
	return errors.Join(errs...)
}

// synthetic starts, restarts or stops a launch's generator as its spec and
// state say, and records what it sent since the last tick.
func (d *DarkLaunches) synthetic(ctx context.Context, o model.Object, spec *model.DarkLaunchSpec, st darklaunch.Status, now time.Time) error {
	key := o.Project + "/" + o.Name
	want := spec.Synthetic != nil && st.Active()
	d.mu.Lock()
	r := d.runners[key]
	if r != nil && (!want || r.version != o.Version || r.epoch != st.Epoch) {
		r.gen.Stop()
		delete(d.runners, key)
		r = nil
	}
	if r == nil && want {
		var err error
		if r, err = d.start(o, spec, st, now); err != nil {
			d.mu.Unlock()
			return fmt.Errorf("synthetic load of %s: %w", key, err)
		}
		d.runners[key] = r
	}
	d.mu.Unlock()
	if r == nil {
		return nil
	}
	snap := r.stats.Swap()
	if snap.Empty() {
		return nil
	}
	r.seq++
	rep := shadow.Report{DarkLaunch: o.Name, Instance: d.Instance, Sequence: r.seq, From: r.from, To: now, Stats: snap}
	r.from = now
	return d.Store.UpdateObjectStatus(ctx, o.Ref, func(cur json.RawMessage) (json.RawMessage, string, error) {
		next, msg, changed, err := darklaunch.ApplyReport(*spec, cur, o.CreatedAt, rep, now)
		if err == nil && !changed {
			err = store.ErrNoChange
		}
		return next, msg, err
	}, model.Audit{Actor: "controller", Time: now})
}

func (d *DarkLaunches) start(o model.Object, spec *model.DarkLaunchSpec, st darklaunch.Status, now time.Time) (*synthRunner, error) {
	reqs := make([]shadow.SyntheticRequest, len(spec.Synthetic.Requests))
	for i, q := range spec.Synthetic.Requests {
		reqs[i] = shadow.SyntheticRequest{Method: q.Method, Path: q.Path, Headers: q.Headers}
	}
	stats := shadow.NewStats(0)
	gen, err := shadow.NewSynthetic(spec.DarkURL, reqs, spec.Synthetic.RequestsPerSecond, stats, d.Synthetic)
	if err != nil {
		return nil, err
	}
	gen.Start()
	d.Log.Info("synthetic load started", "dark_launch", o.Project+"/"+o.Name, "requests_per_second", spec.Synthetic.RequestsPerSecond)
	return &synthRunner{project: o.Project, name: o.Name, version: o.Version, epoch: st.Epoch, gen: gen, stats: stats,
		seq: uint64(now.UnixNano()), from: now}, nil
}

// watchdog stops every generator once the controller has stopped calling
// Reconcile (this replica lost the lease, or the engine is stopping).
func (d *DarkLaunches) watchdog() {
	for {
		time.Sleep(time.Second)
		d.mu.Lock()
		if time.Since(d.lastTick) > 5*time.Second {
			for key, r := range d.runners {
				r.gen.Stop()
				delete(d.runners, key)
			}
			d.watching = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
}

// Stop stops every generator (engine shutdown).
func (d *DarkLaunches) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for key, r := range d.runners {
		r.gen.Stop()
		delete(d.runners, key)
	}
}

// preview ensures a launch's preview rule once per spec version, and
// records the outcome on its status.
func (d *DarkLaunches) preview(ctx context.Context, o model.Object, spec *model.DarkLaunchSpec, st darklaunch.Status) error {
	want := fmt.Sprintf("ready (version %d)", o.Version)
	if st.Preview == want {
		return nil
	}
	var err error
	if d.Previews == nil {
		err = errors.New("the engine has no AWS configuration: set AWS_REGION and credentials the standard SDK way")
	} else {
		err = d.Previews(spec.ALB.ListenerARN).Ensure(ctx, alb.PreviewFor(d.ClusterID, o.Project, spec))
	}
	state, detail, msg := want, "", fmt.Sprintf("preview rule ready at priority %d on %s", spec.ALB.RulePriority, spec.ALB.ListenerARN)
	if err != nil {
		state, detail, msg = "error", err.Error(), "preview rule could not be set up: "+err.Error()
		if st.Preview == "error" && st.PreviewMessage == detail {
			return err
		}
	}
	now := d.Clock.Now()
	werr := d.Store.UpdateObjectStatus(ctx, o.Ref, func(cur json.RawMessage) (json.RawMessage, string, error) {
		s := darklaunch.StatusOf(cur, o.CreatedAt)
		s.Preview, s.PreviewMessage = state, detail
		b, err := json.Marshal(s)
		return b, msg, err
	}, model.Audit{Actor: "controller", Time: now})
	return errors.Join(err, werr)
}
