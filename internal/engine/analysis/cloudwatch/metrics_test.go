package cloudwatch_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/awsconfig"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// motoCloudWatch returns a CloudWatch client of moto.
func motoCloudWatch(t *testing.T) *sdk.Client {
	t.Helper()
	testenv.Moto(t)
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cloudwatch.NewClient(cfg)
}

// putValues writes values of a metric at ts. moto matches GetMetricData
// queries with dimensions on the metric name and dimensions alone (not the
// namespace), so every test uses its own dimension value.
func putValues(t *testing.T, cw *sdk.Client, q cloudwatch.MetricQuery, ts time.Time, values ...float64) {
	t.Helper()
	var data []types.MetricDatum
	for _, v := range values {
		d := types.MetricDatum{MetricName: aws.String(q.MetricName), Timestamp: aws.Time(ts), Value: aws.Float64(v)}
		for k, val := range q.Dimensions {
			d.Dimensions = append(d.Dimensions, types.Dimension{Name: aws.String(k), Value: aws.String(val)})
		}
		data = append(data, d)
	}
	if _, err := cw.PutMetricData(context.Background(), &sdk.PutMetricDataInput{Namespace: aws.String(q.Namespace), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
}

func conversions(service string, start, end time.Time) cloudwatch.MetricQuery {
	return cloudwatch.MetricQuery{
		Namespace: "Shop", MetricName: "Conversions", Dimensions: map[string]string{"Service": service},
		Statistic: "Average", Period: 60, Start: start, End: end,
	}
}

// Values put in the last complete minute read back as their average, and
// data put a week back reads back through a window offset by 168h. Data
// just outside the window does not count.
func TestMetricValuesAgainstMoto(t *testing.T) {
	cw := motoCloudWatch(t)
	service := "checkout-" + testenv.Suffix()
	now := time.Now()
	start, end := cloudwatch.Window(now, 60, 0)
	bStart, bEnd := cloudwatch.Window(now, 60, 168*time.Hour)
	cur, base := conversions(service, start, end), conversions(service, bStart, bEnd)

	putValues(t, cw, cur, start.Add(5*time.Second), 0.1, 0.2, 0.3)
	putValues(t, cw, cur, end.Add(time.Second), 5) // the current, incomplete period
	putValues(t, cw, base, bStart.Add(30*time.Second), 0.4)
	putValues(t, cw, base, bStart.Add(-time.Second), 9) // the period before the baseline window

	got, err := cloudwatch.Metrics{API: cw}.Values(context.Background(), []cloudwatch.MetricQuery{cur, base, cur})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d answers for 2 distinct queries: %v", len(got), got)
	}
	if d := got[cur.Key()]; !d.Found || !near(d.Value, 0.2) {
		t.Errorf("current = %+v, want the average 0.2", d)
	}
	if d := got[base.Key()]; !d.Found || !near(d.Value, 0.4) || !d.Timestamp.Equal(bStart) {
		t.Errorf("baseline = %+v, want 0.4 at %s", d, bStart)
	}
}

// A metric without a datapoint in the window answers Found = false.
func TestMetricValuesNoDatapoint(t *testing.T) {
	cw := motoCloudWatch(t)
	start, end := cloudwatch.Window(time.Now(), 60, 0)
	q := conversions("nothing-"+testenv.Suffix(), start, end)
	got, err := cloudwatch.Metrics{API: cw}.Values(context.Background(), []cloudwatch.MetricQuery{q})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := got[q.Key()]; !ok || d.Found {
		t.Fatalf("answer = %+v (present %v), want present and not found", d, ok)
	}
}

// countingMetricsAPI wraps a GetMetricDataAPI to record each call's window
// and number of queries.
type countingMetricsAPI struct {
	cloudwatch.GetMetricDataAPI
	calls []metricCall
}

type metricCall struct {
	start   time.Time
	queries int
}

func (c *countingMetricsAPI) GetMetricData(ctx context.Context, in *sdk.GetMetricDataInput, opts ...func(*sdk.Options)) (*sdk.GetMetricDataOutput, error) {
	c.calls = append(c.calls, metricCall{aws.ToTime(in.StartTime), len(in.MetricDataQueries)})
	return c.GetMetricDataAPI.GetMetricData(ctx, in, opts...)
}

// 1200 distinct queries, 600 in each of two windows, take exactly four
// calls: per window one of 500 queries and one of 100 (a call carries one
// window; moto returns every result on one page). Duplicates add no query,
// and a datapoint reaches the right query across batches.
func TestMetricValuesBatchesBy500PerWindow(t *testing.T) {
	cw := motoCloudWatch(t)
	suffix := testenv.Suffix()
	now := time.Now()
	cs, ce := cloudwatch.Window(now, 60, 0)
	bs, be := cloudwatch.Window(now, 60, 168*time.Hour)
	var queries []cloudwatch.MetricQuery
	for i := range 600 {
		service := fmt.Sprintf("svc-%s-%03d", suffix, i)
		queries = append(queries, conversions(service, cs, ce), conversions(service, bs, be))
	}
	queries = append(queries, queries[:50]...) // duplicates
	putValues(t, cw, queries[2*550], cs.Add(time.Second), 7)
	putValues(t, cw, queries[2*550+1], bs.Add(time.Second), 3)

	api := &countingMetricsAPI{GetMetricDataAPI: cw}
	got, err := cloudwatch.Metrics{API: api}.Values(context.Background(), queries)
	if err != nil {
		t.Fatal(err)
	}
	want := []metricCall{{bs, 500}, {bs, 100}, {cs, 500}, {cs, 100}}
	if !slices.EqualFunc(api.calls, want, func(a, b metricCall) bool { return a.start.Equal(b.start) && a.queries == b.queries }) {
		t.Fatalf("calls = %v, want %v", api.calls, want)
	}
	if len(got) != 1200 {
		t.Fatalf("%d answers, want 1200", len(got))
	}
	found := 0
	for _, d := range got {
		if d.Found {
			found++
		}
	}
	if found != 2 || got[queries[1100].Key()].Value != 7 || got[queries[1101].Key()].Value != 3 {
		t.Fatalf("found %d; current 550 = %+v, baseline 550 = %+v", found, got[queries[1100].Key()], got[queries[1101].Key()])
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
