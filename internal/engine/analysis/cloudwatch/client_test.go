package cloudwatch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The client reaches moto over the Query protocol: an alarm written through
// it reads back, and its state change is visible.
func TestClientSpeaksQueryToMoto(t *testing.T) {
	testenv.Moto(t)
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewClient(cfg)
	_, err = cw.PutMetricAlarm(ctx, &sdk.PutMetricAlarmInput{
		AlarmName:          aws.String("checkout-5xx"),
		MetricName:         aws.String("HTTPCode_Target_5XX_Count"),
		Namespace:          aws.String("AWS/ApplicationELB"),
		Statistic:          types.StatisticSum,
		Period:             aws.Int32(60),
		EvaluationPeriods:  aws.Int32(1),
		Threshold:          aws.Float64(10),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
	})
	if err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	_, err = cw.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String("checkout-5xx"), StateValue: types.StateValueAlarm, StateReason: aws.String("test")})
	if err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	out, err := cw.DescribeAlarms(ctx, &sdk.DescribeAlarmsInput{AlarmNames: []string{"checkout-5xx"}})
	if err != nil {
		t.Fatalf("DescribeAlarms: %v", err)
	}
	if len(out.MetricAlarms) != 1 || out.MetricAlarms[0].StateValue != types.StateValueAlarm {
		t.Fatalf("alarms read back = %+v", out.MetricAlarms)
	}
}

// countingAPI wraps the real client to count calls and the names per call.
type countingAPI struct {
	cloudwatch.DescribeAlarmsAPI
	calls        []int
	pageTooSmall bool // a call asked for fewer records than its names
}

func (c *countingAPI) DescribeAlarms(ctx context.Context, in *sdk.DescribeAlarmsInput, opts ...func(*sdk.Options)) (*sdk.DescribeAlarmsOutput, error) {
	c.calls = append(c.calls, len(in.AlarmNames))
	if in.MaxRecords == nil || int(*in.MaxRecords) < len(in.AlarmNames) {
		c.pageTooSmall = true
	}
	return c.DescribeAlarmsAPI.DescribeAlarms(ctx, in, opts...)
}

// States asks for at most 100 names a call and reads every alarm's state.
func TestAlarmStatesBatchesBy100(t *testing.T) {
	testenv.Moto(t)
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewClient(cfg)
	var names []string
	for i := range 150 {
		name := fmt.Sprintf("batch-%03d", i)
		names = append(names, name)
		if _, err := cw.PutMetricAlarm(ctx, &sdk.PutMetricAlarmInput{
			AlarmName: aws.String(name), MetricName: aws.String("Errors"), Namespace: aws.String("Test"),
			Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cw.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String("batch-123"), StateValue: types.StateValueAlarm, StateReason: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	api := &countingAPI{DescribeAlarmsAPI: cw}
	states, err := cloudwatch.Alarms{API: api}.States(ctx, append(names, "does-not-exist"))
	if err != nil {
		t.Fatal(err)
	}
	if len(api.calls) != 2 || api.calls[0] != 100 || api.calls[1] != 51 {
		t.Fatalf("calls asked for %v names, want [100 51]", api.calls)
	}
	if api.pageTooSmall {
		t.Fatal("a call left MaxRecords at AWS's default of 50: a batch of 100 names would take two pages")
	}
	if len(states) != 150 || states["batch-123"] != "ALARM" || states["batch-000"] != "OK" {
		t.Fatalf("read %d states; batch-123=%q batch-000=%q", len(states), states["batch-123"], states["batch-000"])
	}
	if _, ok := states["does-not-exist"]; ok {
		t.Fatal("a missing alarm has a state")
	}
}
