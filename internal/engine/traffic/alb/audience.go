package alb

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
)

var _ traffic.AudienceRouter = (*Router)(nil)

// audiencePriority is the audience rule's priority: one ahead of the
// weighted rule, inside the environment's block, so that matching requests
// reach the audience's slot whatever the weights.
func (c Config) audiencePriority() int { return c.RulePriority - model.AudienceRuleOffset }

// SetAudience creates, updates or (a == nil) deletes the audience rule. Its
// conditions are the environment's host headers and path patterns AND the
// audience's source IPs and headers; its one action forwards to a's slot.
func (r *Router) SetAudience(ctx context.Context, a *traffic.Audience) error {
	s, err := r.scanBlock(ctx)
	if err != nil {
		return err
	}
	var current *blockRule
	for i := range s.owned {
		if s.owned[i].priority == r.cfg.audiencePriority() {
			current = &s.owned[i]
		}
	}
	if a == nil {
		if current == nil {
			return nil
		}
		err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
			_, err := r.api.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(current.arn)})
			return err
		})
		if err != nil && errorCode(err) != codeRuleNotFound {
			return fmt.Errorf("ELBv2 DeleteRule of the audience rule %s: %w", current.arn, err)
		}
		return nil
	}
	if a.Slot != traffic.Blue && a.Slot != traffic.Green {
		return fmt.Errorf("audience slot %q is not blue or green", a.Slot)
	}
	if current != nil {
		err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
			_, err := r.api.ModifyRule(ctx, &elbv2.ModifyRuleInput{
				RuleArn: aws.String(current.arn), Conditions: r.audienceConditions(a), Actions: r.audienceActions(a),
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("ELBv2 ModifyRule of the audience rule %s: %w", current.arn, err)
		}
		return nil
	}
	for _, f := range s.foreign {
		if f.priority == r.cfg.audiencePriority() {
			return r.refuseForeign(s)
		}
	}
	err = retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
		_, err := r.api.CreateRule(ctx, &elbv2.CreateRuleInput{
			ListenerArn: aws.String(r.cfg.ListenerARN),
			Priority:    aws.Int32(int32(r.cfg.audiencePriority())),
			Conditions:  r.audienceConditions(a),
			Actions:     r.audienceActions(a),
			Tags:        r.tags(),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("ELBv2 CreateRule of the audience rule at priority %d on listener %s: %w", r.cfg.audiencePriority(), r.cfg.ListenerARN, err)
	}
	return nil
}

// Audience reads the audience rule back: nil when there is none.
func (r *Router) Audience(ctx context.Context) (*traffic.Audience, error) {
	s, err := r.scanBlock(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, br := range s.owned {
		if br.priority == r.cfg.audiencePriority() {
			return r.audienceOf(br.rule), nil
		}
	}
	return nil, nil
}

func (r *Router) audienceOf(rule types.Rule) *traffic.Audience {
	a := &traffic.Audience{}
	for _, c := range rule.Conditions {
		switch {
		case c.SourceIpConfig != nil:
			a.SourceIPs = append(a.SourceIPs, c.SourceIpConfig.Values...)
		case c.HttpHeaderConfig != nil:
			a.Headers = append(a.Headers, traffic.Header{Name: aws.ToString(c.HttpHeaderConfig.HttpHeaderName), Values: c.HttpHeaderConfig.Values})
		}
	}
	w := weightsOf(rule, r.cfg.BlueTargetGroupARN, r.cfg.GreenTargetGroupARN)
	switch {
	case w.Blue == 100:
		a.Slot = traffic.Blue
	case w.Green == 100:
		a.Slot = traffic.Green
	default:
		a.Slot = "elsewhere (" + strconv.Itoa(w.Blue) + "/" + strconv.Itoa(w.Green) + ")"
	}
	return a
}

func (r *Router) audienceConditions(a *traffic.Audience) []types.RuleCondition {
	cs := r.conditions()
	if len(a.SourceIPs) > 0 {
		cs = append(cs, types.RuleCondition{Field: aws.String("source-ip"), SourceIpConfig: &types.SourceIpConditionConfig{Values: a.SourceIPs}})
	}
	for _, h := range a.Headers {
		cs = append(cs, types.RuleCondition{Field: aws.String("http-header"),
			HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String(h.Name), Values: h.Values}})
	}
	return cs
}

func (r *Router) audienceActions(a *traffic.Audience) []types.Action {
	return []types.Action{{
		Type: types.ActionTypeEnumForward,
		ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{
			{TargetGroupArn: aws.String(r.cfg.targetGroup(a.Slot)), Weight: aws.Int32(1)},
		}},
	}}
}
