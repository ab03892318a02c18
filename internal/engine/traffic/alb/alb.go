// Package alb routes an environment's traffic through an Application Load
// Balancer listener rule that the engine creates and owns.
//
// The environment owns the listener priorities RulePriority-9 .. RulePriority
// (its block). The weighted rule sits at RulePriority: its conditions are the
// environment's host headers and path patterns, and its one action forwards
// to the blue and green target groups with weights. Rules are the engine's
// when they carry its three tags (progressive:cluster, progressive:project,
// progressive:environment); the router never modifies or deletes any other
// rule, never touches the listener's default action, and refuses a block that
// overlaps rules it does not own.
//
// ELBv2 is eventually consistent: a rule just created may not resolve by ARN
// for a moment, so after creating it the router reads it back (retrying
// RuleNotFound) before it reports success. Otherwise it retries only named
// transient errors (throttling, PriorRequestNotComplete) within
// Config.PropagationTimeout; every other error is returned.
package alb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
)

// Errors the router wraps, so callers can tell a configuration problem
// (fail the apply, do not retry) from a passing AWS error.
var (
	// ErrNotFound: the listener, a target group or the engine's rule does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotOwned: the priority block holds rules this environment does not own.
	ErrNotOwned = errors.New("priority block not owned")
)

// DefaultPropagationTimeout bounds the retries of transient errors.
const DefaultPropagationTimeout = 2 * time.Minute

// Config names the AWS objects of one environment and how its rule matches.
type Config struct {
	ListenerARN string
	// RulePriority is the weighted rule's priority; the environment owns
	// RulePriority-9 .. RulePriority.
	RulePriority int
	HostHeaders  []string
	PathPatterns []string // default ["/*"]
	// StickinessDuration above 0 turns target-group stickiness on in the
	// forward action, for that long.
	StickinessDuration  time.Duration
	BlueTargetGroupARN  string
	GreenTargetGroupARN string

	// Ownership tags of the rules the engine creates.
	ClusterID   string
	Project     string
	Environment string

	// PropagationTimeout bounds the retries of transient errors (default
	// DefaultPropagationTimeout).
	PropagationTimeout time.Duration
}

// ConfigFor builds the router configuration of an environment with alb
// routing.
func ConfigFor(clusterID, project string, spec *model.EnvironmentSpec) Config {
	a := spec.ALB
	return Config{
		ListenerARN:         a.ListenerARN,
		RulePriority:        a.RulePriority,
		HostHeaders:         a.HostHeaders,
		PathPatterns:        a.PathPatterns,
		StickinessDuration:  time.Duration(a.StickinessDuration),
		BlueTargetGroupARN:  spec.Blue.TargetGroupARN,
		GreenTargetGroupARN: spec.Green.TargetGroupARN,
		ClusterID:           clusterID,
		Project:             project,
		Environment:         spec.Name,
	}
}

// Region returns the region in the listener ARN: the region of the client
// the router needs.
func (c Config) Region() string {
	a, err := arn.Parse(c.ListenerARN)
	if err != nil {
		return ""
	}
	return a.Region
}

func (c Config) block() (lo, hi int) {
	return c.RulePriority - (model.RulePriorityBlock - 1), c.RulePriority
}

func (c Config) paths() []string {
	if len(c.PathPatterns) == 0 {
		return []string{"/*"}
	}
	return c.PathPatterns
}

func (c Config) targetGroup(slot string) string {
	if slot == traffic.Green {
		return c.GreenTargetGroupARN
	}
	return c.BlueTargetGroupARN
}

// Router moves an environment's traffic with its weighted listener rule.
// It is safe for concurrent use.
type Router struct {
	api ELBv2API
	cfg Config

	mu sync.Mutex
	// ruleARN caches the weighted rule found by tags and priority, or
	// created and read back.
	ruleARN string
}

var _ traffic.Router = (*Router)(nil)

// New returns the router of one environment.
func New(api ELBv2API, cfg Config) *Router {
	if cfg.PropagationTimeout <= 0 {
		cfg.PropagationTimeout = DefaultPropagationTimeout
	}
	return &Router{api: api, cfg: cfg}
}

// Ensure checks the listener and both target groups, then adopts the
// engine's weighted rule at RulePriority or creates it sending all traffic
// to initial. It refuses, changing nothing, when the priority block holds
// rules this environment does not own.
func (r *Router) Ensure(ctx context.Context, initial string) error {
	if initial != traffic.Blue && initial != traffic.Green {
		return fmt.Errorf("initial slot %q is not blue or green", initial)
	}
	if err := r.checkListener(ctx); err != nil {
		return err
	}
	for _, slot := range []string{traffic.Blue, traffic.Green} {
		if err := r.checkTargetGroup(ctx, slot); err != nil {
			return err
		}
	}
	s, err := r.scanBlock(ctx)
	if err != nil {
		return err
	}
	if err := r.refuseForeign(s); err != nil {
		return err
	}
	if s.weighted != nil {
		r.remember(s.weighted.arn)
		return nil
	}
	return r.create(ctx, traffic.All(initial), r.cfg.StickinessDuration > 0)
}

// SetWeights writes w into the weighted rule's forward action with one
// ModifyRule; o.DisableStickiness turns stickiness off in the same call.
// Should the rule have disappeared (deleted out of band), SetWeights
// recreates it with w, under the same ownership checks as Ensure.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights, o traffic.Options) error {
	if !w.Valid() {
		return fmt.Errorf("weights %s do not split 100%%", w)
	}
	sticky := r.cfg.StickinessDuration > 0 && !o.DisableStickiness
	for attempt := 0; ; attempt++ {
		ruleARN, err := r.rule(ctx)
		if errors.Is(err, ErrNotFound) {
			return r.recreate(ctx, w, sticky)
		}
		if err != nil {
			return err
		}
		err = r.modify(ctx, ruleARN, w, sticky)
		if errorCode(err) == codeRuleNotFound && attempt == 0 {
			r.forget(ruleARN) // deleted since we cached it: look again
			continue
		}
		return err
	}
}

func (r *Router) modify(ctx context.Context, ruleARN string, w traffic.Weights, sticky bool) error {
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		_, err := r.api.ModifyRule(ctx, &elbv2.ModifyRuleInput{
			RuleArn: aws.String(ruleARN),
			Actions: r.actions(w, sticky),
			// Every write also carries the configured conditions, so that a
			// changed host_headers or path_patterns reaches the rule.
			Conditions: r.conditions(),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("ELBv2 ModifyRule %s to %s: %w", ruleARN, w, err)
	}
	return nil
}

// Weights reads the weighted rule and returns the split of its forward
// action. See weightsOf for a rule that forwards elsewhere too.
func (r *Router) Weights(ctx context.Context) (traffic.Weights, error) {
	rule, err := r.readRule(ctx)
	if err != nil {
		return traffic.Weights{}, err
	}
	return weightsOf(rule, r.cfg.BlueTargetGroupARN, r.cfg.GreenTargetGroupARN), nil
}

// readRule reads the weighted rule by its cached ARN, looking it up again by
// tags and priority when the ARN no longer resolves.
func (r *Router) readRule(ctx context.Context) (types.Rule, error) {
	for attempt := 0; ; attempt++ {
		ruleARN, err := r.rule(ctx)
		if err != nil {
			return types.Rule{}, err
		}
		rule, err := r.describeRule(ctx, ruleARN)
		if errors.Is(err, ErrNotFound) && attempt == 0 {
			r.forget(ruleARN) // deleted since we cached it: look again
			continue
		}
		return rule, err
	}
}

// describeRule reads one rule by ARN; a rule that does not resolve is
// ErrNotFound. Extra error codes are retried as transient.
func (r *Router) describeRule(ctx context.Context, ruleARN string, extra ...string) (types.Rule, error) {
	var out *elbv2.DescribeRulesOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{ruleARN}})
		if err == nil && len(out.Rules) == 0 {
			err = &types.RuleNotFoundException{Message: aws.String("DescribeRules returned no rule")}
		}
		return err
	}, extra...)
	if errorCode(err) == codeRuleNotFound {
		return types.Rule{}, fmt.Errorf("%w (%w)", r.ruleMissing(), err)
	}
	if err != nil {
		return types.Rule{}, fmt.Errorf("ELBv2 DescribeRules %s: %w", ruleARN, err)
	}
	return out.Rules[0], nil
}

// Verify reads the rule back until it shows w or ctx ends, pausing 100ms,
// 200ms, … up to 1s between reads. A read that fails with a transient or
// not-found error counts as "not yet"; any other error ends the wait. When
// ctx ends first, Verify reports false with the last read's error, if any.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	var b backoff
	var last error
	for {
		got, err := r.Weights(ctx)
		switch {
		case err == nil && got == w:
			return true, nil
		case err == nil:
			last = nil
		case ctx.Err() != nil:
			return false, last
		case errors.Is(err, ErrNotFound) || isTransient(err, codeRuleNotFound):
			last = err
		default:
			return false, err
		}
		if b.wait(ctx) != nil {
			return false, last
		}
	}
}

// Remove deletes every rule in the priority block that carries this
// environment's tags. A missing listener or rule is not an error.
func (r *Router) Remove(ctx context.Context) error {
	s, err := r.scanBlock(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, br := range s.owned {
		err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
			_, err := r.api.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(br.arn)})
			return err
		})
		if err != nil && errorCode(err) != codeRuleNotFound {
			return fmt.Errorf("ELBv2 DeleteRule %s (priority %d): %w", br.arn, br.priority, err)
		}
		r.forget(br.arn)
	}
	return nil
}

// HealthyTargets counts the targets that ELBv2 reports healthy in slot's
// target group.
func (r *Router) HealthyTargets(ctx context.Context, slot string) (int, error) {
	tg := r.cfg.targetGroup(slot)
	var out *elbv2.DescribeTargetHealthOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		return err
	})
	if errorCode(err) == "TargetGroupNotFound" {
		return 0, fmt.Errorf("the %s slot's target group %s does not exist: %w", slot, tg, errors.Join(ErrNotFound, err))
	}
	if err != nil {
		return 0, fmt.Errorf("ELBv2 DescribeTargetHealth of the %s slot's target group %s: %w", slot, tg, err)
	}
	n := 0
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth != nil && d.TargetHealth.State == types.TargetHealthStateEnumHealthy {
			n++
		}
	}
	return n, nil
}

func (r *Router) checkListener(ctx context.Context) error {
	var out *elbv2.DescribeListenersOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{r.cfg.ListenerARN}})
		return err
	})
	if errorCode(err) == "ListenerNotFound" || (err == nil && len(out.Listeners) == 0) {
		return r.listenerMissing(err)
	}
	if err != nil {
		return fmt.Errorf("ELBv2 DescribeListeners %s: %w", r.cfg.ListenerARN, err)
	}
	return nil
}

func (r *Router) listenerMissing(err error) error {
	if err == nil {
		err = ErrNotFound
	} else {
		err = errors.Join(ErrNotFound, err)
	}
	return fmt.Errorf("the listener %s does not exist (environment %q, alb.listener_arn): %w", r.cfg.ListenerARN, r.cfg.Environment, err)
}

func (r *Router) checkTargetGroup(ctx context.Context, slot string) error {
	tg := r.cfg.targetGroup(slot)
	var out *elbv2.DescribeTargetGroupsOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
		return err
	})
	if errorCode(err) == "TargetGroupNotFound" || (err == nil && len(out.TargetGroups) == 0) {
		cause := ErrNotFound
		if err != nil {
			cause = errors.Join(ErrNotFound, err)
		}
		return fmt.Errorf("the %s slot's target group %s does not exist (environment %q, %s.target_group_arn): %w", slot, tg, r.cfg.Environment, slot, cause)
	}
	if err != nil {
		return fmt.Errorf("ELBv2 DescribeTargetGroups of the %s slot's target group %s: %w", slot, tg, err)
	}
	return nil
}

func (r *Router) refuseForeign(s scan) error {
	if len(s.foreign) == 0 {
		return nil
	}
	lo, hi := r.cfg.block()
	return fmt.Errorf("the priority block %d..%d of environment %q on listener %s overlaps rules this environment does not own: %s; choose a rule_priority whose block (rule_priority-9 .. rule_priority) is free: %w",
		lo, hi, r.cfg.Environment, r.cfg.ListenerARN, describeForeign(s.foreign), ErrNotOwned)
}

// recreate makes the weighted rule again after it went missing, unless the
// block now holds rules the environment does not own.
func (r *Router) recreate(ctx context.Context, w traffic.Weights, sticky bool) error {
	s, err := r.scanBlock(ctx)
	if err != nil {
		return err
	}
	if err := r.refuseForeign(s); err != nil {
		return err
	}
	if s.weighted != nil { // it came back meanwhile
		r.remember(s.weighted.arn)
		return r.modify(ctx, s.weighted.arn, w, sticky)
	}
	return r.create(ctx, w, sticky)
}

// create makes the weighted rule at RulePriority. Another writer may take
// the priority between the scan and the create (PriorityInUse): the block is
// then scanned again, and the rule adopted if it is ours.
func (r *Router) create(ctx context.Context, w traffic.Weights, sticky bool) error {
	var out *elbv2.CreateRuleOutput
	err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		var err error
		out, err = r.api.CreateRule(ctx, &elbv2.CreateRuleInput{
			ListenerArn: aws.String(r.cfg.ListenerARN),
			Priority:    aws.Int32(int32(r.cfg.RulePriority)),
			Conditions:  r.conditions(),
			Actions:     r.actions(w, sticky),
			Tags:        r.tags(),
		})
		return err
	})
	if errorCode(err) == "PriorityInUse" {
		s, serr := r.scanBlock(ctx)
		if serr != nil {
			return serr
		}
		if ferr := r.refuseForeign(s); ferr != nil {
			return ferr
		}
		if s.weighted != nil {
			r.remember(s.weighted.arn)
			return r.modify(ctx, s.weighted.arn, w, sticky)
		}
	}
	if err != nil {
		return fmt.Errorf("ELBv2 CreateRule at priority %d on listener %s: %w", r.cfg.RulePriority, r.cfg.ListenerARN, err)
	}
	if len(out.Rules) == 0 || out.Rules[0].RuleArn == nil {
		return fmt.Errorf("ELBv2 CreateRule at priority %d on listener %s returned no rule", r.cfg.RulePriority, r.cfg.ListenerARN)
	}
	// Read the new rule back before reporting it made: right after
	// CreateRule its ARN may not resolve yet, which is the one case where
	// RuleNotFound is worth waiting out.
	created := aws.ToString(out.Rules[0].RuleArn)
	if _, err := r.describeRule(ctx, created, codeRuleNotFound); err != nil {
		return fmt.Errorf("reading back the rule just created at priority %d: %w", r.cfg.RulePriority, err)
	}
	r.remember(created)
	return nil
}

// rule returns the weighted rule's ARN, from the cache or by scanning the
// block; a missing rule is ErrNotFound.
func (r *Router) rule(ctx context.Context) (string, error) {
	r.mu.Lock()
	ruleARN := r.ruleARN
	r.mu.Unlock()
	if ruleARN != "" {
		return ruleARN, nil
	}
	s, err := r.scanBlock(ctx)
	if err != nil {
		return "", err
	}
	if s.weighted == nil {
		return "", r.ruleMissing()
	}
	r.remember(s.weighted.arn)
	return s.weighted.arn, nil
}

func (r *Router) ruleMissing() error {
	return fmt.Errorf("the engine's weighted rule of environment %q (priority %d, tagged %s=%q) is not on listener %s: %w",
		r.cfg.Environment, r.cfg.RulePriority, TagCluster, r.cfg.ClusterID, r.cfg.ListenerARN, ErrNotFound)
}

func (r *Router) remember(ruleARN string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ruleARN = ruleARN
}

func (r *Router) forget(ruleARN string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ruleARN == ruleARN {
		r.ruleARN = ""
	}
}
