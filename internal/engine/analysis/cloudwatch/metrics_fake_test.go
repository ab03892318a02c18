package cloudwatch_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
)

// fakeMetricData answers GetMetricData from a function of each query, a
// page at a time. It stands in for CloudWatch where moto falls short: moto
// has no percentile (extended) statistics and never paginates.
type fakeMetricData struct {
	// answer returns a query's timestamps, values and status.
	answer   func(q types.MetricDataQuery) (ts []time.Time, vs []float64, status types.StatusCode)
	pageSize int // results per page; 0: all on one page
	inputs   []*sdk.GetMetricDataInput
}

var idRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func (f *fakeMetricData) GetMetricData(_ context.Context, in *sdk.GetMetricDataInput, _ ...func(*sdk.Options)) (*sdk.GetMetricDataOutput, error) {
	f.inputs = append(f.inputs, in)
	var results []types.MetricDataResult
	for _, q := range in.MetricDataQueries {
		ts, vs, status := f.answer(q)
		results = append(results, types.MetricDataResult{Id: q.Id, Timestamps: ts, Values: vs, StatusCode: status})
	}
	from := 0
	if in.NextToken != nil {
		from = len(aws.ToString(in.NextToken))
	}
	to := len(results)
	if f.pageSize > 0 {
		to = min(from+f.pageSize, len(results))
	}
	out := &sdk.GetMetricDataOutput{MetricDataResults: results[from:to]}
	if to < len(results) {
		out.NextToken = aws.String(strings.Repeat("x", to))
	}
	return out, nil
}

// Percentiles go out as MetricStat.Stat ("p99"), as GetMetricData takes
// them; moto lacks them, so this runs against a fake.
func TestMetricValuesPercentile(t *testing.T) {
	start, end := cloudwatch.Window(time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC), 60, 0)
	f := &fakeMetricData{answer: func(q types.MetricDataQuery) ([]time.Time, []float64, types.StatusCode) {
		if aws.ToString(q.MetricStat.Stat) == "p99" {
			return []time.Time{start}, []float64{0.734}, types.StatusCodeComplete
		}
		return nil, nil, types.StatusCodeComplete
	}}
	q := cloudwatch.MetricQuery{Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Dimensions: map[string]string{"LoadBalancer": "app/shop/1"},
		Statistic: "p99", Period: 60, Start: start, End: end}
	got, err := cloudwatch.Metrics{API: f}.Values(context.Background(), []cloudwatch.MetricQuery{q})
	if err != nil {
		t.Fatal(err)
	}
	if d := got[q.Key()]; !d.Found || d.Value != 0.734 || !d.Timestamp.Equal(start) {
		t.Fatalf("p99 = %+v", d)
	}
	in := f.inputs[0]
	ms := in.MetricDataQueries[0].MetricStat
	if !aws.ToTime(in.StartTime).Equal(start) || !aws.ToTime(in.EndTime).Equal(end) || aws.ToInt32(ms.Period) != 60 ||
		aws.ToString(ms.Metric.Namespace) != "AWS/ApplicationELB" || aws.ToString(ms.Metric.Dimensions[0].Name) != "LoadBalancer" {
		t.Fatalf("sent %+v with %+v", in, ms)
	}
}

// Results spread over pages are all read by following NextToken; a query
// with several datapoints answers with the latest; query IDs are valid.
func TestMetricValuesFollowsNextToken(t *testing.T) {
	start, end := cloudwatch.Window(time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC), 300, 0)
	f := &fakeMetricData{pageSize: 3, answer: func(q types.MetricDataQuery) ([]time.Time, []float64, types.StatusCode) {
		if aws.ToString(q.MetricStat.Metric.MetricName) == "M6" {
			return []time.Time{start.Add(time.Minute), start.Add(2 * time.Minute), start}, []float64{1, 2, 0}, types.StatusCodeComplete
		}
		return []time.Time{start}, []float64{float64(len(aws.ToString(q.MetricStat.Metric.MetricName)))}, types.StatusCodeComplete
	}}
	var qs []cloudwatch.MetricQuery
	for _, name := range []string{"M", "MM", "MMM", "MMMM", "MMMMM", "M6", "MMMMMMM"} {
		qs = append(qs, cloudwatch.MetricQuery{Namespace: "N", MetricName: name, Statistic: "Sum", Period: 60, Start: start, End: end})
	}
	got, err := cloudwatch.Metrics{API: f}.Values(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.inputs) != 3 {
		t.Fatalf("%d pages read, want 3", len(f.inputs))
	}
	for i, q := range qs {
		want := float64(len(q.MetricName))
		if q.MetricName == "M6" {
			want = 2
		}
		if d := got[q.Key()]; !d.Found || d.Value != want {
			t.Errorf("query %d (%s) = %+v, want %v", i, q.MetricName, d, want)
		}
	}
	for _, q := range f.inputs[0].MetricDataQueries {
		if !idRE.MatchString(aws.ToString(q.Id)) {
			t.Errorf("query ID %q does not match %s", aws.ToString(q.Id), idRE)
		}
	}
}

// A query CloudWatch could not answer (InternalError, Forbidden) fails the
// read with the query named, rather than passing for a missing datapoint.
func TestMetricValuesQueryError(t *testing.T) {
	start, end := cloudwatch.Window(time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC), 60, 0)
	f := &fakeMetricData{answer: func(types.MetricDataQuery) ([]time.Time, []float64, types.StatusCode) {
		return nil, nil, types.StatusCodeForbidden
	}}
	q := cloudwatch.MetricQuery{Namespace: "Shop", MetricName: "Orders", Statistic: "Sum", Period: 60, Start: start, End: end}
	_, err := cloudwatch.Metrics{API: f}.Values(context.Background(), []cloudwatch.MetricQuery{q})
	if err == nil || !strings.Contains(err.Error(), "Shop Orders Sum (60s): Forbidden") {
		t.Fatalf("err = %v", err)
	}
}

func TestWindow(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		now        string
		period     int
		offset     time.Duration
		start, end string
	}{
		{"2025-03-01T12:00:30Z", 60, 0, "2025-03-01T11:59:00Z", "2025-03-01T12:00:00Z"},
		{"2025-03-01T12:00:00Z", 60, 0, "2025-03-01T11:59:00Z", "2025-03-01T12:00:00Z"},
		{"2025-03-01T12:07:59Z", 300, 0, "2025-03-01T12:00:00Z", "2025-03-01T12:05:00Z"},
		{"2025-03-01T12:00:30Z", 60, 168 * time.Hour, "2025-02-22T11:59:00Z", "2025-02-22T12:00:00Z"},
		{"2025-03-01T12:00:07Z", 5, 0, "2025-03-01T12:00:00Z", "2025-03-01T12:00:05Z"},
		// 420s does not divide a day: windows align on the Unix epoch.
		{"1970-01-01T00:15:00+00:00", 420, 0, "1970-01-01T00:07:00Z", "1970-01-01T00:14:00Z"},
		{"2025-03-01T12:00:30+02:00", 3600, 0, "2025-03-01T09:00:00Z", "2025-03-01T10:00:00Z"},
	} {
		s, e := cloudwatch.Window(at(c.now), c.period, c.offset)
		if !s.Equal(at(c.start)) || !e.Equal(at(c.end)) {
			t.Errorf("Window(%s, %d, %s) = %s..%s, want %s..%s", c.now, c.period, c.offset, s, e, c.start, c.end)
		}
	}
}

// Keys ignore the order of dimensions and tell apart everything else.
func TestMetricQueryKey(t *testing.T) {
	start, end := cloudwatch.Window(time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC), 60, 0)
	base := func() cloudwatch.MetricQuery {
		return cloudwatch.MetricQuery{Namespace: "Shop", MetricName: "Conversions", Dimensions: map[string]string{"Service": "checkout", "Region": "eu"},
			Statistic: "Average", Period: 60, Start: start, End: end}
	}
	a, b := base(), base()
	b.Dimensions = map[string]string{"Region": "eu", "Service": "checkout"}
	b.Start = start.In(time.FixedZone("x", 3600))
	if a.Key() != b.Key() {
		t.Fatalf("%q != %q", a.Key(), b.Key())
	}
	variants := []func(q *cloudwatch.MetricQuery){
		func(q *cloudwatch.MetricQuery) { q.Namespace = "Shop2" },
		func(q *cloudwatch.MetricQuery) { q.MetricName = "Orders" },
		func(q *cloudwatch.MetricQuery) { q.Dimensions = map[string]string{"Service": "checkout"} },
		func(q *cloudwatch.MetricQuery) { q.Dimensions = map[string]string{"Service": "checkout,Region=eu"} },
		func(q *cloudwatch.MetricQuery) { q.Statistic = "p99" },
		func(q *cloudwatch.MetricQuery) { q.Period = 300 },
		func(q *cloudwatch.MetricQuery) { q.Start = q.Start.Add(-time.Hour) },
		func(q *cloudwatch.MetricQuery) { q.End = q.End.Add(time.Hour) },
	}
	seen := map[string]int{a.Key(): -1}
	for i, v := range variants {
		q := base()
		v(&q)
		if j, dup := seen[q.Key()]; dup {
			t.Errorf("variant %d has the key of %d: %q", i, j, q.Key())
		}
		seen[q.Key()] = i
	}
}
