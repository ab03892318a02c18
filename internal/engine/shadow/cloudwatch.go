package shadow

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
)

// DefaultNamespace is the CloudWatch namespace of dark launch metrics.
const DefaultNamespace = "Progressive/DarkLaunch"

// PutMetricDataAPI is the one CloudWatch call the publisher makes.
type PutMetricDataAPI interface {
	PutMetricData(ctx context.Context, in *sdk.PutMetricDataInput, opts ...func(*sdk.Options)) (*sdk.PutMetricDataOutput, error)
}

// CloudWatchPublisher publishes each report as CloudWatch metrics, so that
// alarms can watch the dark backend: Requests, Errors, Compared, Diffs and
// Dropped (Count), and LatencyP99 (Milliseconds, when dark answered in
// the period), each with the dimension DarkLaunch=<name> and the report's
// end as timestamp.
type CloudWatchPublisher struct {
	API       PutMetricDataAPI
	Namespace string
}

// NewCloudWatchPublisher returns a publisher over a client built the
// engine's one way (analysis/cloudwatch.NewClient: the Query protocol).
// An empty namespace means DefaultNamespace.
func NewCloudWatchPublisher(cfg aws.Config, namespace string) *CloudWatchPublisher {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &CloudWatchPublisher{API: cloudwatch.NewClient(cfg), Namespace: namespace}
}

// Publish sends r's figures in one PutMetricData call. A report without a
// dark launch name (the proxy has had no config yet) is not published.
func (c *CloudWatchPublisher) Publish(ctx context.Context, r Report) error {
	if r.DarkLaunch == "" {
		return nil
	}
	dims := []types.Dimension{{Name: aws.String("DarkLaunch"), Value: aws.String(r.DarkLaunch)}}
	ts := aws.Time(r.To)
	datum := func(name string, v float64, unit types.StandardUnit) types.MetricDatum {
		return types.MetricDatum{MetricName: aws.String(name), Dimensions: dims, Timestamp: ts, Value: aws.Float64(v), Unit: unit}
	}
	s := r.Stats
	data := []types.MetricDatum{
		datum("Requests", float64(s.Requests), types.StandardUnitCount),
		datum("Errors", float64(s.Errors), types.StandardUnitCount),
		datum("Compared", float64(s.Compared), types.StandardUnitCount),
		datum("Diffs", float64(s.Diffs), types.StandardUnitCount),
		datum("Dropped", float64(s.Dropped), types.StandardUnitCount),
	}
	if s.Latency.Count() > 0 {
		p99 := float64(s.Latency.Quantile(0.99).Microseconds()) / 1000
		data = append(data, datum("LatencyP99", p99, types.StandardUnitMilliseconds))
	}
	_, err := c.API.PutMetricData(ctx, &sdk.PutMetricDataInput{Namespace: aws.String(c.Namespace), MetricData: data})
	if err != nil {
		return fmt.Errorf("CloudWatch PutMetricData (namespace %s): %w", c.Namespace, err)
	}
	return nil
}
