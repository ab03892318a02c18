package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// ALB is a load balancer in moto: a listener whose default action is a fixed
// 404, and the target groups of the two slots.
type ALB struct {
	ELB         *elbv2.Client
	ListenerARN string
	BlueTG      string
	GreenTG     string
}

// Suffix returns a random suffix for AWS names, so that tests sharing one
// moto server never meet.
func Suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AWSConfig returns an SDK configuration pointed at moto.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	Moto(t)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// NewALB builds a VPC, two subnets, an ALB, its listener and two target
// groups in moto through the SDK.
func NewALB(t testing.TB) ALB {
	t.Helper()
	cfg := AWSConfig(t)
	ctx := context.Background()
	ec := ec2.NewFromConfig(cfg)
	elb := elbv2.NewFromConfig(cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatalf("CreateSubnet: %v", err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	id := Suffix()
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("lb-" + id), Subnets: subnets, Type: elbtypes.LoadBalancerTypeEnumApplication})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	l, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no route")}}},
	})
	if err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	tg := func(name string) string {
		out, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name + "-" + id), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(80), VpcId: vpc.Vpc.VpcId, TargetType: elbtypes.TargetTypeEnumIp})
		if err != nil {
			t.Fatalf("CreateTargetGroup %s: %v", name, err)
		}
		return aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	return ALB{ELB: elb, ListenerARN: aws.ToString(l.Listeners[0].ListenerArn), BlueTG: tg("blue"), GreenTG: tg("green")}
}

// RegisterTarget registers one target in a target group (moto reports
// registered targets healthy).
func (a ALB) RegisterTarget(t testing.TB, tg, ip string) {
	t.Helper()
	if _, err := a.ELB.RegisterTargets(context.Background(), &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg),
		Targets: []elbtypes.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(80)}}}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
}

// Weights reads the forward weights of the rule at priority, by target group.
func (a ALB) Weights(t testing.TB, priority string) map[string]int32 {
	t.Helper()
	out, err := a.ELB.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(a.ListenerARN)})
	if err != nil {
		t.Fatalf("DescribeRules: %v", err)
	}
	for _, r := range out.Rules {
		if aws.ToString(r.Priority) != priority {
			continue
		}
		w := map[string]int32{}
		for _, act := range r.Actions {
			if act.ForwardConfig != nil {
				for _, tg := range act.ForwardConfig.TargetGroups {
					w[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
				}
			}
		}
		return w
	}
	return nil
}

// Zone is a hosted zone in moto.
type Zone struct {
	R53  *route53.Client
	ID   string
	Name string
}

// NewZone creates a hosted zone named <suffix>.example.com.
func NewZone(t testing.TB) Zone {
	t.Helper()
	cfg := AWSConfig(t)
	c := route53.NewFromConfig(cfg)
	name := Suffix() + ".example.com"
	out, err := c.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String(Suffix())})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	return Zone{R53: c, ID: aws.ToString(out.HostedZone.Id), Name: name}
}

// Weights reads the weighted records of name by set identifier.
func (z Zone) Weights(t testing.TB, name string) map[string]int64 {
	t.Helper()
	out, err := z.R53.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(z.ID)})
	if err != nil {
		t.Fatalf("ListResourceRecordSets: %v", err)
	}
	w := map[string]int64{}
	for _, rr := range out.ResourceRecordSets {
		if rr.SetIdentifier != nil && rr.Type != r53types.RRTypeSoa && rr.Type != r53types.RRTypeNs {
			w[aws.ToString(rr.SetIdentifier)] = aws.ToInt64(rr.Weight)
		}
	}
	return w
}
