package alb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/alb"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// lb is a load balancer in moto with a listener whose default action is a
// fixed 404, and the target groups of two slots (plus a spare one).
type lb struct {
	elb      *elbv2.Client
	listener string
	blue     string
	green    string
	spare    string
}

func suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newLB builds a VPC, two subnets, an ALB, its listener and three target
// groups in moto through the SDK, each with a unique name so that tests
// sharing a moto server do not meet.
func newLB(t *testing.T) lb {
	t.Helper()
	testenv.Moto(t)
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ec := ec2.NewFromConfig(cfg)
	elb := alb.NewClient(cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId:            vpc.Vpc.VpcId,
			CidrBlock:        aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]),
			AvailabilityZone: aws.String(az),
		})
		if err != nil {
			t.Fatalf("CreateSubnet: %v", err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	id := suffix()
	lbOut, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name:    aws.String("lb-" + id),
		Subnets: subnets,
		Type:    types.LoadBalancerTypeEnumApplication,
	})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	l, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn,
		Protocol:        types.ProtocolEnumHttp,
		Port:            aws.Int32(80),
		DefaultActions: []types.Action{{
			Type: types.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &types.FixedResponseActionConfig{
				StatusCode:  aws.String("404"),
				ContentType: aws.String("text/plain"),
				MessageBody: aws.String("no route"),
			},
		}},
	})
	if err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	tg := func(name string) string {
		out, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name:       aws.String(name + "-" + id),
			Protocol:   types.ProtocolEnumHttp,
			Port:       aws.Int32(80),
			VpcId:      vpc.Vpc.VpcId,
			TargetType: types.TargetTypeEnumIp,
		})
		if err != nil {
			t.Fatalf("CreateTargetGroup %s: %v", name, err)
		}
		return aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	return lb{
		elb:      elb,
		listener: aws.ToString(l.Listeners[0].ListenerArn),
		blue:     tg("blue"),
		green:    tg("green"),
		spare:    tg("spare"),
	}
}

func (l lb) config() alb.Config {
	return alb.Config{
		ListenerARN:         l.listener,
		RulePriority:        100,
		HostHeaders:         []string{"checkout.example.com"},
		BlueTargetGroupARN:  l.blue,
		GreenTargetGroupARN: l.green,
		ClusterID:           "cluster-a",
		Project:             "shop",
		Environment:         "checkout",
	}
}

// rules returns the listener's rules other than the default one.
func (l lb) rules(t *testing.T) []types.Rule {
	t.Helper()
	out, err := l.elb.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(l.listener)})
	if err != nil {
		t.Fatalf("DescribeRules: %v", err)
	}
	var rules []types.Rule
	for _, r := range out.Rules {
		if !aws.ToBool(r.IsDefault) {
			rules = append(rules, r)
		}
	}
	return rules
}

func (l lb) ruleAt(t *testing.T, priority string) types.Rule {
	t.Helper()
	for _, r := range l.rules(t) {
		if aws.ToString(r.Priority) == priority {
			return r
		}
	}
	t.Fatalf("no rule at priority %s on the listener", priority)
	return types.Rule{}
}

func (l lb) tags(t *testing.T, ruleARN string) map[string]string {
	t.Helper()
	out, err := l.elb.DescribeTags(context.Background(), &elbv2.DescribeTagsInput{ResourceArns: []string{ruleARN}})
	if err != nil {
		t.Fatalf("DescribeTags: %v", err)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, tag := range d.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return tags
}

// createRule adds a rule that the environment under test does not own.
func (l lb) createRule(t *testing.T, priority int32, tags map[string]string) string {
	t.Helper()
	in := &elbv2.CreateRuleInput{
		ListenerArn: aws.String(l.listener),
		Priority:    aws.Int32(priority),
		Conditions: []types.RuleCondition{{
			Field:             aws.String("path-pattern"),
			PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/other/*"}},
		}},
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(l.spare)}},
	}
	for k, v := range tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := l.elb.CreateRule(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateRule at %d: %v", priority, err)
	}
	return aws.ToString(out.Rules[0].RuleArn)
}

// forward returns the weight per target group and the stickiness of a
// rule's forward action, as AWS holds them.
func forward(t *testing.T, r types.Rule) (map[string]int32, *types.TargetGroupStickinessConfig) {
	t.Helper()
	for _, a := range r.Actions {
		if a.Type == types.ActionTypeEnumForward && a.ForwardConfig != nil {
			w := map[string]int32{}
			for _, tg := range a.ForwardConfig.TargetGroups {
				w[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
			}
			return w, a.ForwardConfig.TargetGroupStickinessConfig
		}
	}
	t.Fatalf("rule %s has no weighted forward action: %+v", aws.ToString(r.RuleArn), r.Actions)
	return nil, nil
}

func TestEnsureCreatesTaggedWeightedRuleThenAdoptsIt(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	r := alb.New(l.elb, l.config())
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	rules := l.rules(t)
	if len(rules) != 1 || aws.ToString(rules[0].Priority) != "100" {
		t.Fatalf("rules after Ensure = %+v, want one at priority 100", rules)
	}
	rule := rules[0]
	weights, sticky := forward(t, rule)
	if weights[l.blue] != 100 || weights[l.green] != 0 || len(weights) != 2 {
		t.Errorf("forward weights = %v, want blue 100, green 0", weights)
	}
	if sticky != nil && aws.ToBool(sticky.Enabled) {
		t.Errorf("stickiness is on without stickiness_duration: %+v", sticky)
	}
	var hosts, paths []string
	for _, c := range rule.Conditions {
		switch aws.ToString(c.Field) {
		case "host-header":
			hosts = c.HostHeaderConfig.Values
		case "path-pattern":
			paths = c.PathPatternConfig.Values
		}
	}
	if strings.Join(hosts, ",") != "checkout.example.com" || strings.Join(paths, ",") != "/*" {
		t.Errorf("conditions: host %v, path %v; want checkout.example.com and the default /*", hosts, paths)
	}
	want := map[string]string{alb.TagCluster: "cluster-a", alb.TagProject: "shop", alb.TagEnvironment: "checkout"}
	if got := l.tags(t, aws.ToString(rule.RuleArn)); !maps.Equal(got, want) {
		t.Errorf("rule tags = %v, want %v", got, want)
	}

	// A new router (an engine restart) adopts the rule: no second rule, the
	// weights untouched even when asked for another initial slot.
	again := alb.New(l.elb, l.config())
	if err := again.Ensure(ctx, traffic.Green); err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	rules = l.rules(t)
	if len(rules) != 1 || aws.ToString(rules[0].RuleArn) != aws.ToString(rule.RuleArn) {
		t.Fatalf("rules after a second Ensure = %+v, want only %s", rules, aws.ToString(rule.RuleArn))
	}
	if w, err := again.Weights(ctx); err != nil || w != traffic.All(traffic.Blue) {
		t.Errorf("Weights after adoption = %v, %v; want blue 100", w, err)
	}
}

func TestEnsureSendsEverythingToTheInitialSlot(t *testing.T) {
	l := newLB(t)
	r := alb.New(l.elb, l.config())
	if err := r.Ensure(context.Background(), traffic.Green); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	weights, _ := forward(t, l.ruleAt(t, "100"))
	if weights[l.blue] != 0 || weights[l.green] != 100 {
		t.Errorf("forward weights = %v, want green 100", weights)
	}
}

func TestSetWeightsReadsBackAndVerifies(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	r := alb.New(l.elb, l.config())
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	for _, w := range []traffic.Weights{{Blue: 0, Green: 100}, {Blue: 0, Green: 100}, {Blue: 90, Green: 10}} {
		if err := r.SetWeights(ctx, w, traffic.Options{}); err != nil {
			t.Fatalf("SetWeights %s: %v", w, err)
		}
		got, err := r.Weights(ctx)
		if err != nil || got != w {
			t.Fatalf("Weights after SetWeights %s = %v, %v", w, got, err)
		}
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ok, err := r.Verify(vctx, w)
		cancel()
		if !ok || err != nil {
			t.Fatalf("Verify %s = %v, %v", w, ok, err)
		}
	}
	weights, _ := forward(t, l.ruleAt(t, "100"))
	if weights[l.blue] != 90 || weights[l.green] != 10 {
		t.Errorf("AWS holds %v, want blue 90, green 10", weights)
	}
	if len(l.rules(t)) != 1 {
		t.Errorf("SetWeights made more rules: %+v", l.rules(t))
	}
	if err := r.SetWeights(ctx, traffic.Weights{Blue: 50, Green: 60}, traffic.Options{}); err == nil {
		t.Error("SetWeights accepted weights that do not sum to 100")
	}
}

// Verify reports false, without error, when AWS keeps showing other weights
// until its context ends.
func TestVerifyReportsAMismatch(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	r := alb.New(l.elb, l.config())
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	vctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	ok, err := r.Verify(vctx, traffic.All(traffic.Green))
	if ok || err != nil {
		t.Fatalf("Verify of weights AWS does not hold = %v, %v; want false, nil", ok, err)
	}
}

// Someone edits the rule out of band: Weights reports what AWS holds, and
// SetWeights restores the intended split.
func TestWeightsReportOutOfBandChanges(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	r := alb.New(l.elb, l.config())
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	rule := l.ruleAt(t, "100")
	modify := func(tgs ...types.TargetGroupTuple) {
		t.Helper()
		_, err := l.elb.ModifyRule(ctx, &elbv2.ModifyRuleInput{
			RuleArn: rule.RuleArn,
			Actions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{TargetGroups: tgs}}},
		})
		if err != nil {
			t.Fatalf("out-of-band ModifyRule: %v", err)
		}
	}
	tuple := func(arn string, w int32) types.TargetGroupTuple {
		return types.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(w)}
	}

	modify(tuple(l.blue, 30), tuple(l.green, 70))
	if got, err := r.Weights(ctx); err != nil || got != (traffic.Weights{Blue: 30, Green: 70}) {
		t.Errorf("Weights after an out-of-band 30/70 = %v, %v", got, err)
	}
	// Weights out of another scale read as percentages.
	modify(tuple(l.blue, 1), tuple(l.green, 3))
	if got, err := r.Weights(ctx); err != nil || got != (traffic.Weights{Blue: 25, Green: 75}) {
		t.Errorf("Weights after an out-of-band 1:3 = %v, %v; want 25/75", got, err)
	}
	// Half the traffic diverted to a target group of neither slot.
	modify(tuple(l.blue, 50), tuple(l.spare, 50))
	got, err := r.Weights(ctx)
	if err != nil || got != (traffic.Weights{Blue: 50, Green: 0}) || got.Valid() {
		t.Errorf("Weights with half diverted elsewhere = %v (valid %v), %v; want blue 50, green 0", got, got.Valid(), err)
	}

	// A plain forward to one target group, without weights.
	_, err = l.elb.ModifyRule(ctx, &elbv2.ModifyRuleInput{
		RuleArn: rule.RuleArn,
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(l.green)}},
	})
	if err != nil {
		t.Fatalf("out-of-band ModifyRule: %v", err)
	}
	if got, err := r.Weights(ctx); err != nil || got != traffic.All(traffic.Green) {
		t.Errorf("Weights after an out-of-band plain forward to green = %v, %v", got, err)
	}
	// No forward at all: neither slot gets traffic.
	_, err = l.elb.ModifyRule(ctx, &elbv2.ModifyRuleInput{
		RuleArn: rule.RuleArn,
		Actions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("503")}}},
	})
	if err != nil {
		t.Fatalf("out-of-band ModifyRule: %v", err)
	}
	if got, err := r.Weights(ctx); err != nil || got != (traffic.Weights{}) {
		t.Errorf("Weights after an out-of-band fixed response = %v, %v; want 0/0", got, err)
	}

	if err := r.SetWeights(ctx, traffic.All(traffic.Blue), traffic.Options{}); err != nil {
		t.Fatalf("SetWeights to repair: %v", err)
	}
	weights, _ := forward(t, l.ruleAt(t, "100"))
	if weights[l.blue] != 100 || weights[l.green] != 0 || len(weights) != 2 {
		t.Errorf("after repair AWS holds %v, want blue 100, green 0 and nothing else", weights)
	}
}

func TestEnsureRefusesABlockOverlappingRulesItDoesNotOwn(t *testing.T) {
	for _, tc := range []struct {
		name     string
		priority int32
		tags     map[string]string
	}{
		{"untagged rule inside the block", 95, nil},
		{"untagged rule at the weighted priority", 100, nil},
		{"lowest priority of the block", 91, nil},
		{"another environment's rule", 93, map[string]string{alb.TagCluster: "cluster-a", alb.TagProject: "shop", alb.TagEnvironment: "search"}},
		{"another engine's rule for the same environment", 100, map[string]string{alb.TagCluster: "cluster-b", alb.TagProject: "shop", alb.TagEnvironment: "checkout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLB(t)
			foreign := l.createRule(t, tc.priority, tc.tags)
			err := alb.New(l.elb, l.config()).Ensure(context.Background(), traffic.Blue)
			if err == nil {
				t.Fatal("Ensure succeeded over a rule it does not own")
			}
			msg := err.Error()
			for _, want := range []string{foreign, "priority " + strconv.Itoa(int(tc.priority)), "does not own"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			if !errors.Is(err, alb.ErrNotOwned) {
				t.Errorf("error is not ErrNotOwned: %v", err)
			}
			rules := l.rules(t)
			if len(rules) != 1 || aws.ToString(rules[0].RuleArn) != foreign {
				t.Errorf("Ensure changed the listener: %+v", rules)
			}
		})
	}
}

// Rules just outside the block (90 and 101) are not in the way.
func TestEnsureIgnoresRulesOutsideTheBlock(t *testing.T) {
	l := newLB(t)
	below := l.createRule(t, 90, nil)
	above := l.createRule(t, 101, nil)
	if err := alb.New(l.elb, l.config()).Ensure(context.Background(), traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if n := len(l.rules(t)); n != 3 {
		t.Errorf("listener has %d rules, want the two foreign ones (%s, %s) and ours", n, below, above)
	}
}

func TestEnsureNamesAMissingTargetGroup(t *testing.T) {
	l := newLB(t)
	cfg := l.config()
	missing := strings.Replace(l.green, "green-", "gone-", 1)
	cfg.GreenTargetGroupARN = missing
	err := alb.New(l.elb, cfg).Ensure(context.Background(), traffic.Blue)
	if err == nil {
		t.Fatal("Ensure succeeded with a missing target group")
	}
	for _, want := range []string{"green", missing} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, alb.ErrNotFound) {
		t.Errorf("error is not ErrNotFound: %v", err)
	}
	if rules := l.rules(t); len(rules) != 0 {
		t.Errorf("Ensure created rules despite the missing target group: %+v", rules)
	}
}

func TestEnsureNamesAMissingListener(t *testing.T) {
	l := newLB(t)
	cfg := l.config()
	cfg.ListenerARN = l.listener[:strings.LastIndex(l.listener, "/")+1] + "0123456789abcdef"
	err := alb.New(l.elb, cfg).Ensure(context.Background(), traffic.Blue)
	if err == nil {
		t.Fatal("Ensure succeeded with a missing listener")
	}
	if !strings.Contains(err.Error(), cfg.ListenerARN) || !errors.Is(err, alb.ErrNotFound) {
		t.Errorf("error %q does not name the listener %s as not found", err, cfg.ListenerARN)
	}
}

// With stickiness configured the rule is sticky; a rollback write with
// DisableStickiness turns it off in the same ModifyRule.
func TestDisableStickinessInTheSameWrite(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	cfg := l.config()
	cfg.StickinessDuration = time.Hour
	r := alb.New(l.elb, cfg)
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	_, sticky := forward(t, l.ruleAt(t, "100"))
	if sticky == nil || !aws.ToBool(sticky.Enabled) || aws.ToInt32(sticky.DurationSeconds) != 3600 {
		t.Fatalf("stickiness after Ensure = %+v, want on for 3600s", sticky)
	}
	if err := r.SetWeights(ctx, traffic.Weights{Blue: 80, Green: 20}, traffic.Options{}); err != nil {
		t.Fatalf("SetWeights: %v", err)
	}
	if _, sticky = forward(t, l.ruleAt(t, "100")); !aws.ToBool(sticky.Enabled) {
		t.Fatalf("a plain weight write turned stickiness off: %+v", sticky)
	}
	if err := r.SetWeights(ctx, traffic.All(traffic.Blue), traffic.Options{DisableStickiness: true}); err != nil {
		t.Fatalf("SetWeights with DisableStickiness: %v", err)
	}
	weights, sticky := forward(t, l.ruleAt(t, "100"))
	if sticky == nil || aws.ToBool(sticky.Enabled) {
		t.Errorf("stickiness after the rollback write = %+v, want off", sticky)
	}
	if weights[l.blue] != 100 || weights[l.green] != 0 {
		t.Errorf("weights after the rollback write = %v, want blue 100", weights)
	}
}

func TestRemoveDeletesOnlyTheEnvironmentsRules(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	outside := l.createRule(t, 200, nil)
	otherCfg := l.config()
	otherCfg.Environment, otherCfg.RulePriority = "search", 300
	other := alb.New(l.elb, otherCfg)
	if err := other.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure of the other environment: %v", err)
	}
	r := alb.New(l.elb, l.config())
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	ours := aws.ToString(l.ruleAt(t, "100").RuleArn)
	if err := r.Remove(ctx); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	left := map[string]bool{}
	for _, rule := range l.rules(t) {
		left[aws.ToString(rule.RuleArn)] = true
	}
	if left[ours] || !left[outside] || len(left) != 2 {
		t.Errorf("rules left after Remove: %v; want the foreign %s and the other environment's, not %s", left, outside, ours)
	}
	if err := r.Remove(ctx); err != nil {
		t.Errorf("Remove with nothing to remove: %v", err)
	}
	if w, err := other.Weights(ctx); err != nil || w != traffic.All(traffic.Blue) {
		t.Errorf("the other environment's rule after Remove: %v, %v", w, err)
	}
	if _, err := r.Weights(ctx); !errors.Is(err, alb.ErrNotFound) {
		t.Errorf("Weights after Remove = %v, want ErrNotFound", err)
	}
}

// A rule deleted out of band is recreated, tagged, by the next weight write.
func TestSetWeightsRecreatesADeletedRule(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	r := alb.New(l.elb, l.config())
	if err := r.Ensure(ctx, traffic.Blue); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if _, err := l.elb.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: l.ruleAt(t, "100").RuleArn}); err != nil {
		t.Fatalf("out-of-band DeleteRule: %v", err)
	}
	if err := r.SetWeights(ctx, traffic.All(traffic.Green), traffic.Options{}); err != nil {
		t.Fatalf("SetWeights: %v", err)
	}
	rule := l.ruleAt(t, "100")
	if weights, _ := forward(t, rule); weights[l.green] != 100 || weights[l.blue] != 0 {
		t.Errorf("recreated rule forwards %v, want green 100", weights)
	}
	if tags := l.tags(t, aws.ToString(rule.RuleArn)); tags[alb.TagEnvironment] != "checkout" || tags[alb.TagCluster] != "cluster-a" {
		t.Errorf("recreated rule tags = %v", tags)
	}

	// Deleted again, and meanwhile someone else took a priority in the
	// block: the write refuses rather than share the block.
	if _, err := l.elb.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: rule.RuleArn}); err != nil {
		t.Fatalf("out-of-band DeleteRule: %v", err)
	}
	foreign := l.createRule(t, 95, nil)
	err := r.SetWeights(ctx, traffic.All(traffic.Blue), traffic.Options{})
	if !errors.Is(err, alb.ErrNotOwned) || !strings.Contains(err.Error(), foreign) {
		t.Errorf("SetWeights over a foreign rule in the block = %v; want ErrNotOwned naming %s", err, foreign)
	}
	if rules := l.rules(t); len(rules) != 1 {
		t.Errorf("listener rules = %+v; want only the foreign one", rules)
	}
}

// moto reports every registered target healthy (DESIGN.md), so this covers
// the count and the slot-to-target-group mapping, not unhealthy states.
func TestHealthyTargetsCountsRegisteredTargets(t *testing.T) {
	l := newLB(t)
	ctx := context.Background()
	_, err := l.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(l.blue),
		Targets:        []types.TargetDescription{{Id: aws.String("10.0.1.10"), Port: aws.Int32(80)}, {Id: aws.String("10.0.2.10"), Port: aws.Int32(80)}},
	})
	if err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
	r := alb.New(l.elb, l.config())
	if n, err := r.HealthyTargets(ctx, traffic.Blue); err != nil || n != 2 {
		t.Errorf("HealthyTargets(blue) = %d, %v; want 2", n, err)
	}
	if n, err := r.HealthyTargets(ctx, traffic.Green); err != nil || n != 0 {
		t.Errorf("HealthyTargets(green) = %d, %v; want 0", n, err)
	}
	cfg := l.config()
	cfg.GreenTargetGroupARN = strings.Replace(l.green, "green-", "gone-", 1)
	if _, err := alb.New(l.elb, cfg).HealthyTargets(ctx, traffic.Green); err == nil || !strings.Contains(err.Error(), cfg.GreenTargetGroupARN) {
		t.Errorf("HealthyTargets of a missing target group: %v", err)
	}
}

func TestConfigForAnEnvironment(t *testing.T) {
	spec := &model.EnvironmentSpec{
		Name:  "checkout",
		Blue:  model.Slot{TargetGroupARN: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/1"},
		Green: model.Slot{TargetGroupARN: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/2"},
		ALB: &model.ALB{
			ListenerARN:        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
			RulePriority:       100,
			HostHeaders:        []string{"checkout.example.com"},
			StickinessDuration: model.Duration(time.Hour),
		},
	}
	cfg := alb.ConfigFor("cluster-a", "shop", spec)
	want := alb.Config{
		ListenerARN:         spec.ALB.ListenerARN,
		RulePriority:        100,
		HostHeaders:         []string{"checkout.example.com"},
		StickinessDuration:  time.Hour,
		BlueTargetGroupARN:  spec.Blue.TargetGroupARN,
		GreenTargetGroupARN: spec.Green.TargetGroupARN,
		ClusterID:           "cluster-a",
		Project:             "shop",
		Environment:         "checkout",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("ConfigFor = %+v\nwant %+v", cfg, want)
	}
	if got := cfg.Region(); got != "eu-west-1" {
		t.Errorf("Region() = %q, want the listener's eu-west-1", got)
	}
}
