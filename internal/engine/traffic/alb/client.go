package alb

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ELBv2API is the part of the Elastic Load Balancing v2 client the router
// calls; *elasticloadbalancingv2.Client implements it.
type ELBv2API interface {
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	CreateRule(ctx context.Context, in *elbv2.CreateRuleInput, opts ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error)
	ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error)
	DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error)
}

var _ ELBv2API = (*elbv2.Client)(nil)

// Client retry budget: the SDK's standard retryer (throttling, 5xx,
// connection resets) with its own token bucket per client, so a hot path on
// one client (say, a fleet of environments' weight reads) cannot drain the
// retry quota that another client's rollback writes need.
const (
	clientMaxAttempts = 6
	clientMaxBackoff  = 5 * time.Second
)

// NewClient builds an ELBv2 client for the router with its own retryer. Pass
// a region option (func(o *elasticloadbalancingv2.Options) { o.Region = … })
// when the listener lives outside cfg's region; Config.Region reads it from
// the listener ARN.
func NewClient(cfg aws.Config, opts ...func(*elbv2.Options)) *elbv2.Client {
	opts = append([]func(*elbv2.Options){func(o *elbv2.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = clientMaxAttempts
			so.MaxBackoff = clientMaxBackoff
		})
	}}, opts...)
	return elbv2.NewFromConfig(cfg, opts...)
}
