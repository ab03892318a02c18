package cloudwatch_test

import (
	"context"
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
