package alb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// TagDarkLaunch marks a dark launch's preview rule (with TagCluster and
// TagProject).
const TagDarkLaunch = "progressive:dark-launch"

// Preview is a dark launch's preview rule: requests carrying the headers
// reach the dark target group through the real load balancer.
type Preview struct {
	ListenerARN    string
	Priority       int
	TargetGroupARN string
	// Headers: every header must match one of its values.
	Headers    map[string][]string
	ClusterID  string
	Project    string
	DarkLaunch string
}

// PreviewFor describes a dark launch's preview rule.
func PreviewFor(clusterID, project string, d *model.DarkLaunchSpec) Preview {
	h := map[string][]string{}
	for _, x := range d.ALB.HTTPHeaders {
		h[x.Name] = append(h[x.Name], x.Values...)
	}
	return Preview{ListenerARN: d.ALB.ListenerARN, Priority: d.ALB.RulePriority, TargetGroupARN: d.ALB.TargetGroupARN,
		Headers: h, ClusterID: clusterID, Project: project, DarkLaunch: d.Name}
}

// PreviewRouter owns preview rules on one ELBv2 client.
type PreviewRouter struct {
	API ELBv2API
}

func (p Preview) tags() []types.Tag {
	return []types.Tag{
		{Key: aws.String(TagCluster), Value: aws.String(p.ClusterID)},
		{Key: aws.String(TagProject), Value: aws.String(p.Project)},
		{Key: aws.String(TagDarkLaunch), Value: aws.String(p.DarkLaunch)},
	}
}

func (p Preview) owns(tags map[string]string) bool {
	return tags[TagCluster] == p.ClusterID && tags[TagProject] == p.Project && tags[TagDarkLaunch] == p.DarkLaunch
}

func (p Preview) conditions() []types.RuleCondition {
	var cs []types.RuleCondition
	for _, n := range sortedKeys(p.Headers) {
		cs = append(cs, types.RuleCondition{Field: aws.String("http-header"),
			HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String(n), Values: p.Headers[n]}})
	}
	return cs
}

func (p Preview) actions() []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
		TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String(p.TargetGroupARN), Weight: aws.Int32(1)}},
	}}}
}

// find returns the rule at the preview's priority, if any, and its tags.
func (pr PreviewRouter) find(ctx context.Context, p Preview) (*types.Rule, map[string]string, error) {
	var marker *string
	for {
		out, err := pr.API.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(p.ListenerARN), Marker: marker, PageSize: aws.Int32(maxDescribeRulesPage)})
		if err != nil {
			if errorCode(err) == "ListenerNotFound" {
				return nil, nil, fmt.Errorf("the listener %s does not exist (dark launch %q, alb.listener_arn): %w", p.ListenerARN, p.DarkLaunch, ErrNotFound)
			}
			return nil, nil, fmt.Errorf("ELBv2 DescribeRules on listener %s: %w", p.ListenerARN, err)
		}
		for _, r := range out.Rules {
			if aws.ToString(r.Priority) != strconv.Itoa(p.Priority) {
				continue
			}
			tags, err := pr.API.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(r.RuleArn)}})
			if err != nil {
				return nil, nil, fmt.Errorf("ELBv2 DescribeTags of rule %s: %w", aws.ToString(r.RuleArn), err)
			}
			m := map[string]string{}
			for _, d := range tags.TagDescriptions {
				for _, t := range d.Tags {
					m[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			return &r, m, nil
		}
		if out.NextMarker == nil || aws.ToString(out.NextMarker) == aws.ToString(marker) {
			return nil, nil, nil
		}
		marker = out.NextMarker
	}
}

// Ensure creates the preview rule, or brings the engine's own rule at that
// priority up to date. A rule at the priority that the engine does not own
// is refused (ErrNotOwned), changing nothing.
func (pr PreviewRouter) Ensure(ctx context.Context, p Preview) error {
	rule, tags, err := pr.find(ctx, p)
	if err != nil {
		return err
	}
	if rule != nil {
		if !p.owns(tags) {
			return fmt.Errorf("priority %d on listener %s holds rule %s, which this dark launch does not own (%s); choose a free alb.rule_priority: %w",
				p.Priority, p.ListenerARN, aws.ToString(rule.RuleArn), ownerOf(tags), ErrNotOwned)
		}
		_, err := pr.API.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: rule.RuleArn, Conditions: p.conditions(), Actions: p.actions()})
		if err != nil {
			return fmt.Errorf("ELBv2 ModifyRule of the preview rule %s: %w", aws.ToString(rule.RuleArn), err)
		}
		return nil
	}
	_, err = pr.API.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(p.ListenerARN), Priority: aws.Int32(int32(p.Priority)),
		Conditions: p.conditions(), Actions: p.actions(), Tags: p.tags()})
	if err != nil {
		return fmt.Errorf("ELBv2 CreateRule of the preview rule at priority %d on listener %s: %w", p.Priority, p.ListenerARN, err)
	}
	return nil
}

// Remove deletes the engine's preview rule at the priority, if it is there.
func (pr PreviewRouter) Remove(ctx context.Context, p Preview) error {
	rule, tags, err := pr.find(ctx, p)
	if err != nil || rule == nil || !p.owns(tags) {
		if err != nil && errorCode(err) == "ListenerNotFound" {
			return nil
		}
		return err
	}
	if _, err := pr.API.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: rule.RuleArn}); err != nil && errorCode(err) != codeRuleNotFound {
		return fmt.Errorf("ELBv2 DeleteRule of the preview rule %s: %w", aws.ToString(rule.RuleArn), err)
	}
	return nil
}

func sortedKeys(m map[string][]string) []string {
	return slices.Sorted(maps.Keys(m))
}
