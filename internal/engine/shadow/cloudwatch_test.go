package shadow_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// The publisher writes a report's figures to CloudWatch (moto, over the
// Query protocol) under the DarkLaunch dimension; they read back.
func TestCloudWatchPublisher(t *testing.T) {
	testenv.Moto(t)
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	namespace := "Progressive/DarkLaunchTest-" + testenv.Suffix()
	pub := shadow.NewCloudWatchPublisher(cfg, namespace)

	to := time.Now().UTC().Truncate(time.Second)
	r := shadow.Report{DarkLaunch: "chat-backend", To: to, Stats: shadow.Snapshot{Requests: 120, Errors: 3, Compared: 100, Diffs: 2, Dropped: 1}}
	for range 100 {
		r.Stats.Latency.Observe(40 * time.Millisecond)
	}
	if err := pub.Publish(ctx, r); err != nil {
		t.Fatal(err)
	}
	// A report from a proxy without config has no name: nothing to publish.
	if err := pub.Publish(ctx, shadow.Report{Stats: shadow.Snapshot{Requests: 1}}); err != nil {
		t.Fatal(err)
	}

	cw := cloudwatch.NewClient(cfg)
	listed, err := cw.ListMetrics(ctx, &sdk.ListMetricsInput{Namespace: aws.String(namespace)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range listed.Metrics {
		names = append(names, aws.ToString(m.MetricName))
		if len(m.Dimensions) != 1 || aws.ToString(m.Dimensions[0].Name) != "DarkLaunch" || aws.ToString(m.Dimensions[0].Value) != "chat-backend" {
			t.Fatalf("%s dimensions %+v", aws.ToString(m.MetricName), m.Dimensions)
		}
	}
	slices.Sort(names)
	if want := []string{"Compared", "Diffs", "Dropped", "Errors", "LatencyP99", "Requests"}; !slices.Equal(names, want) {
		t.Fatalf("metrics %v, want %v", names, want)
	}
	for name, want := range map[string]float64{"Requests": 120, "Errors": 3, "Diffs": 2} {
		out, err := cw.GetMetricStatistics(ctx, &sdk.GetMetricStatisticsInput{
			Namespace:  aws.String(namespace),
			MetricName: aws.String(name),
			Dimensions: []types.Dimension{{Name: aws.String("DarkLaunch"), Value: aws.String("chat-backend")}},
			StartTime:  aws.Time(to.Add(-time.Hour)),
			EndTime:    aws.Time(to.Add(time.Hour)),
			Period:     aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticSum},
		})
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, p := range out.Datapoints {
			sum += aws.ToFloat64(p.Sum)
		}
		if sum != want {
			t.Errorf("%s: sum %v, want %v (%+v)", name, sum, want, out.Datapoints)
		}
	}
}
