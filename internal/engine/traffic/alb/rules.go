package alb

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
)

// Tag keys that mark the listener rules an engine owns.
const (
	TagCluster     = "progressive:cluster"
	TagProject     = "progressive:project"
	TagEnvironment = "progressive:environment"
)

// AWS limits of the calls the scan makes.
const (
	maxDescribeRulesPage = 400
	maxDescribeTagsARNs  = 20
)

// blockRule is a listener rule whose priority lies in the environment's
// block.
type blockRule struct {
	rule     types.Rule
	arn      string
	priority int
	tags     map[string]string
}

// scan is what the listener holds in the environment's priority block.
type scan struct {
	weighted *blockRule  // ours, at RulePriority
	owned    []blockRule // ours, anywhere in the block (weighted included)
	foreign  []blockRule // in the block, not ours
}

// scanBlock reads every rule of the listener, keeps those in the priority
// block and sorts them by owner using their tags. A rule deleted between the
// two reads (RuleNotFound from DescribeTags) makes it read again.
func (r *Router) scanBlock(ctx context.Context) (scan, error) {
	for attempt := 1; ; attempt++ {
		s, err := r.scanBlockOnce(ctx)
		if errorCode(err) != codeRuleNotFound || attempt == 3 {
			return s, err
		}
	}
}

func (r *Router) scanBlockOnce(ctx context.Context) (scan, error) {
	lo, hi := r.cfg.block()
	var inBlock []blockRule
	var marker *string
	for {
		var out *elbv2.DescribeRulesOutput
		err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
			var err error
			out, err = r.api.DescribeRules(ctx, &elbv2.DescribeRulesInput{
				ListenerArn: aws.String(r.cfg.ListenerARN),
				Marker:      marker,
				PageSize:    aws.Int32(maxDescribeRulesPage),
			})
			return err
		})
		if err != nil {
			if errorCode(err) == "ListenerNotFound" {
				return scan{}, r.listenerMissing(err)
			}
			return scan{}, fmt.Errorf("ELBv2 DescribeRules on listener %s: %w", r.cfg.ListenerARN, err)
		}
		for _, rule := range out.Rules {
			p, err := strconv.Atoi(aws.ToString(rule.Priority))
			if err != nil || aws.ToBool(rule.IsDefault) || p < lo || p > hi {
				continue // the default rule, or outside the block
			}
			inBlock = append(inBlock, blockRule{rule: rule, arn: aws.ToString(rule.RuleArn), priority: p})
		}
		if out.NextMarker == nil || aws.ToString(out.NextMarker) == aws.ToString(marker) {
			break
		}
		marker = out.NextMarker
	}
	if err := r.readTags(ctx, inBlock); err != nil {
		return scan{}, err
	}
	sort.Slice(inBlock, func(i, j int) bool { return inBlock[i].priority > inBlock[j].priority })
	var s scan
	for i := range inBlock {
		br := inBlock[i]
		switch {
		case !r.owns(br.tags):
			s.foreign = append(s.foreign, br)
		case br.priority == r.cfg.RulePriority:
			s.weighted = &inBlock[i]
			s.owned = append(s.owned, br)
		default:
			s.owned = append(s.owned, br)
		}
	}
	return s, nil
}

// readTags fills in the tags of rules, asking for 20 ARNs a call.
func (r *Router) readTags(ctx context.Context, rules []blockRule) error {
	byARN := make(map[string]*blockRule, len(rules))
	arns := make([]string, 0, len(rules))
	for i := range rules {
		rules[i].tags = map[string]string{}
		byARN[rules[i].arn] = &rules[i]
		arns = append(arns, rules[i].arn)
	}
	for start := 0; start < len(arns); start += maxDescribeTagsARNs {
		batch := arns[start:min(start+maxDescribeTagsARNs, len(arns))]
		var out *elbv2.DescribeTagsOutput
		err := retryTransient(ctx, r.cfg.PropagationTimeout, func(ctx context.Context) error {
			var err error
			out, err = r.api.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: batch})
			return err
		})
		if err != nil {
			return fmt.Errorf("ELBv2 DescribeTags on the rules of listener %s: %w", r.cfg.ListenerARN, err)
		}
		for _, d := range out.TagDescriptions {
			br := byARN[aws.ToString(d.ResourceArn)]
			if br == nil {
				continue
			}
			for _, t := range d.Tags {
				br.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	}
	return nil
}

// owns reports whether tags mark a rule as this environment's on this engine.
func (r *Router) owns(tags map[string]string) bool {
	return tags[TagCluster] == r.cfg.ClusterID &&
		tags[TagProject] == r.cfg.Project &&
		tags[TagEnvironment] == r.cfg.Environment
}

// ownerOf describes who a foreign rule belongs to, for error messages.
func ownerOf(tags map[string]string) string {
	if tags[TagCluster] == "" && tags[TagEnvironment] == "" {
		return "it carries no progressive tags"
	}
	return fmt.Sprintf("it is tagged %s=%q, %s=%q, %s=%q", TagCluster, tags[TagCluster], TagProject, tags[TagProject], TagEnvironment, tags[TagEnvironment])
}

func (r *Router) tags() []types.Tag {
	return []types.Tag{
		{Key: aws.String(TagCluster), Value: aws.String(r.cfg.ClusterID)},
		{Key: aws.String(TagProject), Value: aws.String(r.cfg.Project)},
		{Key: aws.String(TagEnvironment), Value: aws.String(r.cfg.Environment)},
	}
}

func (r *Router) conditions() []types.RuleCondition {
	var cs []types.RuleCondition
	if len(r.cfg.HostHeaders) > 0 {
		cs = append(cs, types.RuleCondition{
			Field:            aws.String("host-header"),
			HostHeaderConfig: &types.HostHeaderConditionConfig{Values: r.cfg.HostHeaders},
		})
	}
	cs = append(cs, types.RuleCondition{
		Field:             aws.String("path-pattern"),
		PathPatternConfig: &types.PathPatternConditionConfig{Values: r.cfg.paths()},
	})
	return cs
}

// actions is the one forward action of the weighted rule.
func (r *Router) actions(w traffic.Weights, sticky bool) []types.Action {
	st := &types.TargetGroupStickinessConfig{Enabled: aws.Bool(sticky)}
	if sticky {
		// ELBv2 counts whole seconds, at least 1.
		st.DurationSeconds = aws.Int32(int32(max(1, math.Ceil(r.cfg.StickinessDuration.Seconds()))))
	}
	return []types.Action{{
		Type: types.ActionTypeEnumForward,
		ForwardConfig: &types.ForwardActionConfig{
			TargetGroups: []types.TargetGroupTuple{
				{TargetGroupArn: aws.String(r.cfg.BlueTargetGroupARN), Weight: aws.Int32(int32(w.Blue))},
				{TargetGroupArn: aws.String(r.cfg.GreenTargetGroupARN), Weight: aws.Int32(int32(w.Green))},
			},
			TargetGroupStickinessConfig: st,
		},
	}}
}

// weightsOf reads the split a rule sends to the two target groups, as
// percentages of all the traffic the rule forwards. Blue and green sum to
// 100 unless the rule sends traffic elsewhere (someone edited it to forward
// to another target group, or to stop forwarding), in which case the
// shortfall is the share that goes elsewhere.
func weightsOf(rule types.Rule, blueARN, greenARN string) traffic.Weights {
	var blue, green, total int64
	add := func(arn string, weight int64) {
		total += weight
		switch arn {
		case blueARN:
			blue += weight
		case greenARN:
			green += weight
		}
	}
	for _, a := range rule.Actions {
		if a.Type != types.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			for _, tg := range a.ForwardConfig.TargetGroups {
				weight := int64(1) // ELBv2's default weight
				if tg.Weight != nil {
					weight = int64(*tg.Weight)
				}
				add(aws.ToString(tg.TargetGroupArn), weight)
			}
		} else if a.TargetGroupArn != nil {
			add(*a.TargetGroupArn, 1)
		}
		break // a rule has at most one forward action, and it is the last
	}
	if total == 0 {
		return traffic.Weights{}
	}
	pb := int(math.Round(float64(100*blue) / float64(total)))
	if blue+green == total {
		return traffic.Weights{Blue: pb, Green: 100 - pb}
	}
	return traffic.Weights{Blue: pb, Green: int(math.Round(float64(100*green) / float64(total)))}
}

func describeForeign(rules []blockRule) string {
	parts := make([]string, 0, len(rules))
	for _, br := range rules {
		parts = append(parts, fmt.Sprintf("rule %s at priority %d (%s)", br.arn, br.priority, ownerOf(br.tags)))
	}
	return strings.Join(parts, "; ")
}
