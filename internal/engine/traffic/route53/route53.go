// Package route53 routes an environment's traffic with two weighted Route 53
// records that the engine owns: one per slot, with the set identifiers
// "<environment>-blue" and "<environment>-green", written together in one
// change batch.
//
// A weight write counts only once Route 53 reports the change INSYNC, and
// resolvers may keep answering from cache for the record's TTL after that:
// SettleTime tells the controller how long to wait before counting a switch
// complete. Route 53 splits traffic equally when every weight of a name is 0,
// so the router never writes two zero weights.
package route53

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
)

// Errors the router wraps, so callers can tell a configuration problem
// (fail the apply, do not retry) from a passing AWS error.
var (
	// ErrNotFound: the hosted zone or the engine's records do not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotOwned: records the environment does not own share its name and
	// type, and would share its traffic.
	ErrNotOwned = errors.New("record name not owned")
)

// Defaults of the Config timings.
const (
	DefaultSyncTimeout        = 10 * time.Minute
	DefaultPollInterval       = 2 * time.Second
	DefaultPropagationTimeout = 2 * time.Minute
	// maxPollInterval caps the growing pause between GetChange calls.
	maxPollInterval = 15 * time.Second
)

// Config names the hosted zone and the records of one environment.
type Config struct {
	ZoneID     string
	RecordName string
	RecordType string // CNAME, A or AAAA
	TTL        int    // seconds
	BlueValue  string // the blue slot's CNAME target or address
	GreenValue string
	// Environment names the records' set identifiers: <env>-blue, <env>-green.
	Environment string

	// SyncTimeout bounds the wait for a change to be INSYNC (default
	// DefaultSyncTimeout).
	SyncTimeout time.Duration
	// PollInterval is the first pause between GetChange calls; pauses
	// double up to 15s (default DefaultPollInterval).
	PollInterval time.Duration
	// PropagationTimeout bounds the retries of throttling and
	// PriorRequestNotComplete (default DefaultPropagationTimeout).
	PropagationTimeout time.Duration
}

// ConfigFor builds the router configuration of an environment with route53
// routing.
func ConfigFor(spec *model.EnvironmentSpec) Config {
	r := spec.Route53
	return Config{
		ZoneID:      r.ZoneID,
		RecordName:  r.RecordName,
		RecordType:  r.RecordType,
		TTL:         r.TTL,
		BlueValue:   spec.Blue.DNSValue,
		GreenValue:  spec.Green.DNSValue,
		Environment: spec.Name,
	}
}

// SetIdentifier returns the set identifier of slot's record.
func (c Config) SetIdentifier(slot string) string { return c.Environment + "-" + slot }

func (c Config) value(slot string) string {
	if slot == traffic.Green {
		return c.GreenValue
	}
	return c.BlueValue
}

// Router moves an environment's traffic with its two weighted records. It is
// safe for concurrent use.
type Router struct {
	api Route53API
	cfg Config

	mu sync.Mutex
	// pending is the ID of the last change this router submitted that it
	// has not yet seen INSYNC.
	pending string
}

var _ traffic.Router = (*Router)(nil)

// New returns the router of one environment.
func New(api Route53API, cfg Config) *Router {
	if cfg.SyncTimeout <= 0 {
		cfg.SyncTimeout = DefaultSyncTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.PropagationTimeout <= 0 {
		cfg.PropagationTimeout = DefaultPropagationTimeout
	}
	return &Router{api: api, cfg: cfg}
}

// SettleTime is how long after INSYNC resolvers may still answer with the
// previous weights: the record's TTL. The controller adds it before it counts
// a switch complete; SetWeights does not wait for it.
func (r *Router) SettleTime() time.Duration { return time.Duration(r.cfg.TTL) * time.Second }

// Ensure checks the hosted zone, then adopts the environment's two records,
// or writes them (one change batch, waiting for INSYNC) sending all traffic
// to initial. If only one of the two exists, it alone serves today, so it
// keeps all traffic and the missing one is written with weight 0. Ensure
// refuses, changing nothing, when other records share the name and type.
func (r *Router) Ensure(ctx context.Context, initial string) error {
	if initial != traffic.Blue && initial != traffic.Green {
		return fmt.Errorf("initial slot %q is not blue or green", initial)
	}
	if err := r.checkZone(ctx); err != nil {
		return err
	}
	set, err := r.records(ctx)
	if err != nil {
		return err
	}
	if len(set.foreign) > 0 {
		return r.notOwned(set.foreign)
	}
	blue, green := set.ours[traffic.Blue], set.ours[traffic.Green]
	switch {
	case blue != nil && green != nil:
		return nil
	case blue != nil:
		return r.write(ctx, traffic.All(traffic.Blue))
	case green != nil:
		return r.write(ctx, traffic.All(traffic.Green))
	default:
		return r.write(ctx, traffic.All(initial))
	}
}

// SetWeights upserts both records, with the configured values and TTL, in
// one change batch and waits until Route 53 reports it INSYNC. Options do
// not apply to DNS.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights, _ traffic.Options) error {
	if !w.Valid() {
		return fmt.Errorf("weights %s do not split 100%%", w)
	}
	return r.write(ctx, w)
}

// Weights reads the records and returns each slot's share of the name's
// traffic: weights as Route 53 applies them (all zero is an equal split;
// one record alone gets everything). Records of the same name and type
// that are not the environment's count toward the total, so blue and green
// then sum to less than 100.
func (r *Router) Weights(ctx context.Context) (traffic.Weights, error) {
	set, err := r.records(ctx)
	if err != nil {
		return traffic.Weights{}, err
	}
	blue, green := set.ours[traffic.Blue], set.ours[traffic.Green]
	if blue == nil && green == nil {
		return traffic.Weights{}, fmt.Errorf("the records %s and %s of %s %s are not in hosted zone %s: %w",
			r.cfg.SetIdentifier(traffic.Blue), r.cfg.SetIdentifier(traffic.Green), r.cfg.RecordType, r.cfg.RecordName, r.cfg.ZoneID, ErrNotFound)
	}
	weight := func(rr *types.ResourceRecordSet) int64 {
		if rr == nil {
			return -1 // absent: no share at all
		}
		return aws.ToInt64(rr.Weight)
	}
	shares := []int64{weight(blue), weight(green)}
	for _, rr := range set.foreign {
		shares = append(shares, weight(&rr))
	}
	// Route 53 splits equally among present records when all weights are 0.
	var total int64
	for _, s := range shares {
		total += max(s, 0)
	}
	if total == 0 {
		for i, s := range shares {
			if s == 0 {
				shares[i] = 1
				total++
			}
		}
	}
	b, g := max(shares[0], 0), max(shares[1], 0)
	pb := int(math.Round(float64(100*b) / float64(total)))
	if b+g == total {
		return traffic.Weights{Blue: pb, Green: 100 - pb}, nil
	}
	return traffic.Weights{Blue: pb, Green: int(math.Round(float64(100*g) / float64(total)))}, nil
}

// Verify reads the records back until they show w and the last change this
// router submitted is INSYNC, or ctx ends; pauses grow from 250ms to 2s.
// Transient and not-found errors count as "not yet"; any other error ends
// the wait. When ctx ends first, Verify reports false with the last read's
// error, if any.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	b := backoff{first: 250 * time.Millisecond, limit: 2 * time.Second}
	var last error
	for {
		synced, err := r.pendingInsync(ctx)
		var got traffic.Weights
		if err == nil {
			got, err = r.Weights(ctx)
		}
		switch {
		case err == nil && synced && got == w:
			return true, nil
		case err == nil:
			last = nil
		case ctx.Err() != nil:
			return false, last
		case errors.Is(err, ErrNotFound) || isTransient(err):
			last = err
		default:
			return false, err
		}
		if b.wait(ctx) != nil {
			return false, last
		}
	}
}

// Remove deletes the environment's records, both in one change batch, and
// waits for INSYNC. Records already gone are fine.
func (r *Router) Remove(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		set, err := r.records(ctx)
		if errors.Is(err, ErrNotFound) {
			return nil // the zone is gone, and the records with it
		}
		if err != nil {
			return err
		}
		var changes []types.Change
		for _, slot := range []string{traffic.Blue, traffic.Green} {
			if rr := set.ours[slot]; rr != nil {
				// A DELETE must repeat the record exactly as it is.
				changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: rr})
			}
		}
		if len(changes) == 0 {
			return nil
		}
		err = r.submit(ctx, changes, "remove the records of environment "+r.cfg.Environment)
		// Someone changed or deleted a record between the read and the
		// delete: read again, once.
		if errorCode(err) == "InvalidChangeBatch" && attempt == 0 {
			continue
		}
		return err
	}
}

// HealthyTargets reports -1: DNS routing cannot count targets.
func (r *Router) HealthyTargets(context.Context, string) (int, error) { return -1, nil }

func (r *Router) checkZone(ctx context.Context) error {
	var out *route53.GetHostedZoneOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(r.cfg.ZoneID)})
		return err
	})
	if errorCode(err) == "NoSuchHostedZone" {
		return r.zoneMissing(err)
	}
	if err != nil {
		return fmt.Errorf("read hosted zone %s (Route 53 GetHostedZone): %w", r.cfg.ZoneID, err)
	}
	zone := normName(aws.ToString(out.HostedZone.Name))
	name := normName(r.cfg.RecordName)
	if zone != "" && name != zone && !strings.HasSuffix(name, "."+zone) {
		return fmt.Errorf("the record %s is not in hosted zone %s (%s) (environment %q, route53.record_name)", r.cfg.RecordName, r.cfg.ZoneID, zone, r.cfg.Environment)
	}
	return nil
}

func (r *Router) zoneMissing(err error) error {
	return fmt.Errorf("the hosted zone %s does not exist (environment %q, route53.zone_id): %w", r.cfg.ZoneID, r.cfg.Environment, errors.Join(ErrNotFound, err))
}

func (r *Router) notOwned(foreign []types.ResourceRecordSet) error {
	var parts []string
	for _, rr := range foreign {
		if id := aws.ToString(rr.SetIdentifier); id != "" {
			parts = append(parts, fmt.Sprintf("%s record set %q", rr.Type, id))
		} else {
			parts = append(parts, fmt.Sprintf("a %s record without a set identifier (simple routing)", rr.Type))
		}
	}
	return fmt.Errorf("%s %s in hosted zone %s already has records that environment %q does not own: %s; weighted records of one name share its traffic, so give the environment a record name of its own: %w",
		r.cfg.RecordType, r.cfg.RecordName, r.cfg.ZoneID, r.cfg.Environment, strings.Join(parts, ", "), ErrNotOwned)
}

// write upserts both records with weights w in one change batch.
func (r *Router) write(ctx context.Context, w traffic.Weights) error {
	if w.Blue == 0 && w.Green == 0 {
		// Never reached through Weights.Valid; kept because two zero
		// weights would split traffic equally instead of sending none.
		return fmt.Errorf("refusing to write weight 0 to both records: Route 53 would split traffic equally")
	}
	changes := make([]types.Change, 0, 2)
	for _, slot := range []string{traffic.Blue, traffic.Green} {
		changes = append(changes, types.Change{
			Action: types.ChangeActionUpsert,
			ResourceRecordSet: &types.ResourceRecordSet{
				Name:            aws.String(r.cfg.RecordName),
				Type:            types.RRType(r.cfg.RecordType),
				SetIdentifier:   aws.String(r.cfg.SetIdentifier(slot)),
				Weight:          aws.Int64(int64(w.Of(slot))),
				TTL:             aws.Int64(int64(r.cfg.TTL)),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String(r.cfg.value(slot))}},
			},
		})
	}
	return r.submit(ctx, changes, fmt.Sprintf("set environment %s to %s", r.cfg.Environment, w))
}

// submit sends one change batch, described by what, and waits until it is
// INSYNC.
func (r *Router) submit(ctx context.Context, changes []types.Change, what string) error {
	var out *route53.ChangeResourceRecordSetsOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(r.cfg.ZoneID),
			ChangeBatch:  &types.ChangeBatch{Comment: aws.String("progressive: " + what), Changes: changes},
		})
		return err
	})
	if errorCode(err) == "NoSuchHostedZone" {
		return r.zoneMissing(err)
	}
	if err != nil {
		return fmt.Errorf("%s in hosted zone %s (Route 53 ChangeResourceRecordSets): %w", what, r.cfg.ZoneID, err)
	}
	info := out.ChangeInfo
	if info == nil || info.Status == types.ChangeStatusInsync {
		r.setPending("")
		return nil
	}
	id := aws.ToString(info.Id)
	r.setPending(id)
	return r.waitInsync(ctx, id)
}

// waitInsync polls GetChange, gently, until the change is INSYNC or
// SyncTimeout passes.
func (r *Router) waitInsync(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SyncTimeout)
	defer cancel()
	b := backoff{first: r.cfg.PollInterval, limit: max(r.cfg.PollInterval, maxPollInterval)}
	for {
		if err := b.wait(ctx); err != nil {
			return fmt.Errorf("change %s in hosted zone %s is not INSYNC after %s: %w", id, r.cfg.ZoneID, r.cfg.SyncTimeout, err)
		}
		synced, err := r.insync(ctx, id)
		if err != nil {
			return err
		}
		if synced {
			return nil
		}
	}
}

// pendingInsync reports whether the last change this router submitted is
// INSYNC (true when there is none).
func (r *Router) pendingInsync(ctx context.Context) (bool, error) {
	r.mu.Lock()
	id := r.pending
	r.mu.Unlock()
	if id == "" {
		return true, nil
	}
	return r.insync(ctx, id)
}

func (r *Router) insync(ctx context.Context, id string) (bool, error) {
	var out *route53.GetChangeOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(strings.TrimPrefix(id, "/change/"))})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read the status of change %s (Route 53 GetChange): %w", id, err)
	}
	if out.ChangeInfo == nil || out.ChangeInfo.Status != types.ChangeStatusInsync {
		return false, nil
	}
	r.mu.Lock()
	if r.pending == id {
		r.pending = ""
	}
	r.mu.Unlock()
	return true, nil
}

func (r *Router) setPending(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = id
}

// recordSet is what the zone holds under the environment's name and type.
type recordSet struct {
	ours    map[string]*types.ResourceRecordSet // by slot
	foreign []types.ResourceRecordSet
}

// maxPages guards the listing against a server that does not advance.
const maxPages = 100

// records lists the record sets of RecordName and RecordType, starting the
// listing there and stopping at the first record past them.
func (r *Router) records(ctx context.Context) (recordSet, error) {
	set := recordSet{ours: map[string]*types.ResourceRecordSet{}}
	ids := map[string]string{
		r.cfg.SetIdentifier(traffic.Blue):  traffic.Blue,
		r.cfg.SetIdentifier(traffic.Green): traffic.Green,
	}
	name := normName(r.cfg.RecordName)
	in := &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(r.cfg.ZoneID),
		StartRecordName: aws.String(r.cfg.RecordName),
		StartRecordType: types.RRType(r.cfg.RecordType),
	}
	seen := map[string]bool{}
	for range maxPages {
		var out *route53.ListResourceRecordSetsOutput
		err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
			var err error
			out, err = r.api.ListResourceRecordSets(ctx, in)
			return err
		})
		if errorCode(err) == "NoSuchHostedZone" {
			return set, r.zoneMissing(err)
		}
		if err != nil {
			return set, fmt.Errorf("list the %s records %s in hosted zone %s (Route 53 ListResourceRecordSets): %w", r.cfg.RecordType, r.cfg.RecordName, r.cfg.ZoneID, err)
		}
		for i := range out.ResourceRecordSets {
			rr := out.ResourceRecordSets[i]
			if normName(aws.ToString(rr.Name)) != name || string(rr.Type) != r.cfg.RecordType {
				return set, nil // past our name and type
			}
			id := aws.ToString(rr.SetIdentifier)
			if seen[id] {
				continue // a page boundary repeated a record
			}
			seen[id] = true
			if slot, ok := ids[id]; ok {
				set.ours[slot] = &rr
			} else {
				set.foreign = append(set.foreign, rr)
			}
		}
		if !out.IsTruncated {
			return set, nil
		}
		in.StartRecordName = out.NextRecordName
		in.StartRecordType = out.NextRecordType
		in.StartRecordIdentifier = out.NextRecordIdentifier
	}
	return set, fmt.Errorf("listing the %s records %s in hosted zone %s (Route 53 ListResourceRecordSets) did not end after %d pages", r.cfg.RecordType, r.cfg.RecordName, r.cfg.ZoneID, maxPages)
}

// normName puts a DNS name in the form Route 53 lists it in, for comparison:
// lower case, no trailing dot, and "*" rather than its octal escape.
func normName(s string) string {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	return strings.ReplaceAll(s, `\052`, "*")
}
