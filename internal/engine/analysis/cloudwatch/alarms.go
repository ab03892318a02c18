package cloudwatch

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// DescribeAlarmsAPI is the one CloudWatch call alarm gates make.
type DescribeAlarmsAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// MaxAlarmNames is how many names one DescribeAlarms call may ask for.
const MaxAlarmNames = 100

// Alarms reads alarm states.
type Alarms struct {
	API DescribeAlarmsAPI
}

// States returns the state (OK, ALARM, INSUFFICIENT_DATA) of each named
// alarm that exists, asking for at most 100 names a call. Alarms that do not
// exist are absent from the map.
func (a Alarms) States(ctx context.Context, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for start := 0; start < len(names); start += MaxAlarmNames {
		end := min(start+MaxAlarmNames, len(names))
		in := &cloudwatch.DescribeAlarmsInput{
			AlarmNames: names[start:end],
			AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm},
			// AWS pages 50 alarms by default: one page for the batch.
			MaxRecords: aws.Int32(MaxAlarmNames),
		}
		p := cloudwatch.NewDescribeAlarmsPaginator(a.API, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("CloudWatch DescribeAlarms: %w", err)
			}
			for _, m := range page.MetricAlarms {
				out[deref(m.AlarmName)] = string(m.StateValue)
			}
			for _, c := range page.CompositeAlarms {
				out[deref(c.AlarmName)] = string(c.StateValue)
			}
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
