package cloudwatch

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// GetMetricDataAPI is the one CloudWatch call metric gates make.
type GetMetricDataAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// MaxMetricQueries is how many queries one GetMetricData call may carry.
const MaxMetricQueries = 500

// MetricQuery is one statistic of one metric over one time window.
type MetricQuery struct {
	Namespace  string
	MetricName string
	Dimensions map[string]string
	// Statistic is Average, Sum, Minimum, Maximum, SampleCount or a
	// percentile such as p99 (GetMetricData takes both as MetricStat.Stat).
	Statistic string
	// Period in seconds.
	Period     int
	Start, End time.Time
}

// Key identifies the query: two queries with the same key ask for the same
// datapoint, whatever the order of their dimensions.
func (q MetricQuery) Key() string {
	var b strings.Builder
	b.WriteString(strconv.Quote(q.Namespace))
	b.WriteByte(' ')
	b.WriteString(strconv.Quote(q.MetricName))
	b.WriteString(" {")
	for i, k := range slices.Sorted(maps.Keys(q.Dimensions)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(q.Dimensions[k]))
	}
	b.WriteString("} ")
	b.WriteString(strconv.Quote(q.Statistic))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(q.Period))
	b.WriteByte(' ')
	b.WriteString(q.Start.UTC().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(q.End.UTC().Format(time.RFC3339Nano))
	return b.String()
}

// String describes the query for messages: "Shop Conversions Average (60s,
// Service=checkout)".
func (q MetricQuery) String() string {
	parts := []string{strconv.Itoa(q.Period) + "s"}
	for _, k := range slices.Sorted(maps.Keys(q.Dimensions)) {
		parts = append(parts, k+"="+q.Dimensions[k])
	}
	return fmt.Sprintf("%s %s %s (%s)", q.Namespace, q.MetricName, q.Statistic, strings.Join(parts, ", "))
}

// Window returns the last complete period before now, aligned to multiples
// of period seconds since the Unix epoch (as CloudWatch aggregates), and
// shifted back by offset: offset 0 for the current reading, 168h for the
// same window a week ago.
func Window(now time.Time, period int, offset time.Duration) (start, end time.Time) {
	p := int64(max(period, 1))
	s := now.Unix()
	aligned := s - ((s%p)+p)%p // floor, also before the epoch
	end = time.Unix(aligned, 0).UTC().Add(-offset)
	return end.Add(-time.Duration(p) * time.Second), end
}

// Datapoint is a query's answer. Found is false when CloudWatch has no
// datapoint in the window.
type Datapoint struct {
	Found     bool
	Value     float64
	Timestamp time.Time
}

// Metrics reads metric statistics with GetMetricData.
type Metrics struct {
	API GetMetricDataAPI
}

// window is a query's time range; GetMetricData takes one per call.
type window struct{ start, end int64 }

// Values reads every query and returns its datapoint by Key. Identical
// queries are read once; queries are grouped by time window (one range per
// call) and sent at most MaxMetricQueries a call, following NextToken. A
// query whose window holds several datapoints answers with the latest.
// Every query has an entry in the result, Found or not.
func (m Metrics) Values(ctx context.Context, queries []MetricQuery) (map[string]Datapoint, error) {
	out := make(map[string]Datapoint, len(queries))
	groups := map[window][]MetricQuery{}
	for _, q := range queries {
		k := q.Key()
		if _, dup := out[k]; dup {
			continue
		}
		out[k] = Datapoint{}
		w := window{q.Start.UnixNano(), q.End.UnixNano()}
		groups[w] = append(groups[w], q)
	}
	order := slices.SortedFunc(maps.Keys(groups), func(a, b window) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end))
	})
	for _, w := range order {
		qs := groups[w]
		for start := 0; start < len(qs); start += MaxMetricQueries {
			if err := m.read(ctx, qs[start:min(start+MaxMetricQueries, len(qs))], out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// read sends one batch of queries sharing a window, and stores the latest
// datapoint of each in out.
func (m Metrics) read(ctx context.Context, qs []MetricQuery, out map[string]Datapoint) error {
	in := &cloudwatch.GetMetricDataInput{
		StartTime:         aws.Time(qs[0].Start),
		EndTime:           aws.Time(qs[0].End),
		ScanBy:            types.ScanByTimestampDescending,
		MetricDataQueries: make([]types.MetricDataQuery, len(qs)),
	}
	keys := make(map[string]string, len(qs)) // query ID → MetricQuery.Key
	for i, q := range qs {
		id := "q" + strconv.Itoa(i) // IDs must match ^[a-z][a-zA-Z0-9_]*$
		keys[id] = q.Key()
		dims := make([]types.Dimension, 0, len(q.Dimensions))
		for _, k := range slices.Sorted(maps.Keys(q.Dimensions)) {
			dims = append(dims, types.Dimension{Name: aws.String(k), Value: aws.String(q.Dimensions[k])})
		}
		in.MetricDataQueries[i] = types.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(q.Namespace), MetricName: aws.String(q.MetricName), Dimensions: dims},
				Period: aws.Int32(int32(q.Period)),
				Stat:   aws.String(q.Statistic),
			},
			ReturnData: aws.Bool(true),
		}
	}
	p := cloudwatch.NewGetMetricDataPaginator(m.API, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("CloudWatch GetMetricData: %w", err)
		}
		for _, r := range page.MetricDataResults {
			key, ok := keys[aws.ToString(r.Id)]
			if !ok {
				continue
			}
			switch r.StatusCode {
			case types.StatusCodeInternalError, types.StatusCodeForbidden:
				return fmt.Errorf("CloudWatch GetMetricData: %s: %s%s", qs[idIndex(r.Id)], r.StatusCode, resultMessages(r.Messages))
			}
			for i := range min(len(r.Timestamps), len(r.Values)) {
				if d := out[key]; !d.Found || r.Timestamps[i].After(d.Timestamp) {
					out[key] = Datapoint{Found: true, Value: r.Values[i], Timestamp: r.Timestamps[i]}
				}
			}
		}
	}
	return nil
}

// idIndex returns the batch index of a query ID made by read.
func idIndex(id *string) int {
	i, _ := strconv.Atoi(strings.TrimPrefix(aws.ToString(id), "q"))
	return i
}

func resultMessages(ms []types.MessageData) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(" (")
		b.WriteString(aws.ToString(m.Value))
		b.WriteString(")")
	}
	return b.String()
}
