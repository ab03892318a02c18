package alb_test

import (
	"context"
	"sync"
	"testing"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/alb"
)

// flaky wraps the real moto-backed client and injects the transient errors
// AWS produces and moto never does: throttling, and a rule that does not
// resolve by ARN right after CreateRule (ELBv2's eventual consistency).
// Every call still reaches moto once the injected errors are spent.
type flaky struct {
	alb.ELBv2API

	mu sync.Mutex
	// throttle is how many calls of each operation fail with Throttling
	// before reaching moto.
	throttle map[string]int
	// notFoundAfterCreate is how many DescribeRules-by-ARN calls after a
	// CreateRule fail with RuleNotFound.
	notFoundAfterCreate int
	created             bool
	calls               map[string]int
}

func (f *flaky) inject(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	if f.throttle[op] > 0 {
		f.throttle[op]--
		return &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	}
	return nil
}

func (f *flaky) CreateRule(ctx context.Context, in *elbv2.CreateRuleInput, opts ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error) {
	if err := f.inject("CreateRule"); err != nil {
		return nil, err
	}
	out, err := f.ELBv2API.CreateRule(ctx, in, opts...)
	f.mu.Lock()
	f.created = err == nil
	f.mu.Unlock()
	return out, err
}

func (f *flaky) DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	if err := f.inject("DescribeRules"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.created && len(in.RuleArns) > 0 && f.notFoundAfterCreate > 0 {
		f.notFoundAfterCreate--
		f.mu.Unlock()
		return nil, &smithy.GenericAPIError{Code: "RuleNotFound", Message: "One or more rules not found"}
	}
	f.mu.Unlock()
	return f.ELBv2API.DescribeRules(ctx, in, opts...)
}

func (f *flaky) ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error) {
	if err := f.inject("ModifyRule"); err != nil {
		return nil, err
	}
	return f.ELBv2API.ModifyRule(ctx, in, opts...)
}

func (f *flaky) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	if err := f.inject("DescribeListeners"); err != nil {
		return nil, err
	}
	return f.ELBv2API.DescribeListeners(ctx, in, opts...)
}

// The router waits out throttling and a new rule's propagation delay, and
// ends with the weights AWS (moto) holds.
func TestTransientErrorsAreRetried(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	f := &flaky{
		ELBv2API:            l.elb,
		throttle:            map[string]int{"DescribeListeners": 2, "CreateRule": 1, "ModifyRule": 2},
		notFoundAfterCreate: 3,
	}
	r := alb.New(f, l.config())
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure through throttling and propagation delay: %v", err)
	}
	if n := len(l.rules(t)); n != 1 {
		t.Fatalf("listener has %d rules after a throttled CreateRule, want 1", n)
	}
	if err := r.SetWeights(ctx, traffic.All(traffic.Green), traffic.Options{}); err != nil {
		t.Fatalf("SetWeights through throttling: %v", err)
	}
	if w, err := r.Weights(ctx); err != nil || w != traffic.All(traffic.Green) {
		t.Fatalf("Weights = %v, %v; want green 100", w, err)
	}
	if f.calls["ModifyRule"] != 3 || f.calls["CreateRule"] != 2 {
		t.Errorf("calls = %v; want 2 CreateRule and 3 ModifyRule (the throttled ones retried)", f.calls)
	}
}

// A rule deleted by someone else is not waited for as if it were
// propagating: Weights reports it missing at once.
func TestRuleNotFoundOnAnAdoptedRuleIsNotRetried(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	if err := alb.New(l.elb, l.config()).Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	r := alb.New(l.elb, l.config())
	if _, err := r.Weights(ctx); err != nil { // finds and caches the rule
		t.Fatalf("Weights: %v", err)
	}
	if _, err := l.elb.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: l.ruleAt(t, "100").RuleArn}); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	if _, err := r.Weights(ctx); err == nil {
		t.Fatal("Weights of a deleted rule succeeded")
	}
}
