package shadow

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what happens to the copies. Recording is safe for
// concurrent use and lock-free except for sample diffs; Swap reads and
// resets the figures for a report.
type Stats struct {
	requests, synthetic, errors, timeouts atomic.Int64
	compared, diffs, noisy, noiseErrors   atomic.Int64
	dropped, skipped                      atomic.Int64
	latency                               [NumBuckets]atomic.Int64
	samplesMu                             sync.Mutex
	samples                               []Diff
	maxSamples                            int
	now                                   func() time.Time
}

// NewStats returns empty stats that keep up to maxSamples sample diffs
// between two Swaps.
func NewStats(maxSamples int) *Stats {
	return &Stats{maxSamples: maxSamples, now: time.Now}
}

// Snapshot is the figures of one period: what the proxy reports to the
// engine, and what the engine adds up.
type Snapshot struct {
	// Requests is the copies that dark answered or failed: mirrored and
	// synthetic.
	Requests int64 `json:"requests"`
	// Synthetic is the part of Requests sent by a Synthetic load.
	Synthetic int64 `json:"synthetic"`
	// Errors is the part of Requests that failed: 5xx answers, timeouts
	// and connection errors.
	Errors int64 `json:"errors"`
	// Timeouts is the part of Errors that hit the copy's timeout.
	Timeouts int64 `json:"timeouts"`
	// Compared is the mirrored requests whose live and dark responses
	// were compared.
	Compared int64 `json:"compared"`
	// Diffs is the part of Compared that differed beyond the ignore
	// lists and the noise.
	Diffs int64 `json:"diffs"`
	// Noisy is the part of Compared whose every difference was noise.
	Noisy int64 `json:"noisy"`
	// NoiseErrors is the mirrored requests left uncompared because the
	// noise instance did not answer.
	NoiseErrors int64 `json:"noise_errors"`
	// Dropped is the sampled requests not copied because the queue (or
	// its byte budget) was full, or, for synthetic load, because too many
	// requests were in flight.
	Dropped int64 `json:"dropped"`
	// Skipped is the sampled requests not copied because their body was
	// larger than the proxy mirrors, or live answered before reading it.
	Skipped int64 `json:"skipped"`
	// Latency is dark's latency (to the end of the response body) for
	// every answer, 5xx included, and every timeout.
	Latency Histogram `json:"latency"`
	// Samples are sample diffs, redacted.
	Samples []Diff `json:"samples,omitempty"`
}

// ErrorRate is Errors over Requests (0 without requests).
func (s Snapshot) ErrorRate() float64 { return ratio(s.Errors, s.Requests) }

// DiffRate is Diffs over Compared (0 without comparisons).
func (s Snapshot) DiffRate() float64 { return ratio(s.Diffs, s.Compared) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Empty reports whether nothing happened in the period.
func (s Snapshot) Empty() bool {
	return s.Requests == 0 && s.Compared == 0 && s.Dropped == 0 && s.Skipped == 0 && s.NoiseErrors == 0 &&
		len(s.Samples) == 0
}

// Merge adds o to s, keeping at most maxSamples samples (all of them when
// maxSamples < 0).
func (s *Snapshot) Merge(o Snapshot, maxSamples int) {
	s.Requests += o.Requests
	s.Synthetic += o.Synthetic
	s.Errors += o.Errors
	s.Timeouts += o.Timeouts
	s.Compared += o.Compared
	s.Diffs += o.Diffs
	s.Noisy += o.Noisy
	s.NoiseErrors += o.NoiseErrors
	s.Dropped += o.Dropped
	s.Skipped += o.Skipped
	s.Latency.Merge(o.Latency)
	for _, d := range o.Samples {
		if maxSamples >= 0 && len(s.Samples) >= maxSamples {
			break
		}
		s.Samples = append(s.Samples, d)
	}
}

// Swap returns the figures since the previous Swap and resets them. Each
// counter is read and reset atomically, so no event is lost or counted
// twice across reports, though one report may hold a copy's request
// and the next its comparison.
func (s *Stats) Swap() Snapshot {
	snap := Snapshot{
		Requests:    s.requests.Swap(0),
		Synthetic:   s.synthetic.Swap(0),
		Errors:      s.errors.Swap(0),
		Timeouts:    s.timeouts.Swap(0),
		Compared:    s.compared.Swap(0),
		Diffs:       s.diffs.Swap(0),
		Noisy:       s.noisy.Swap(0),
		NoiseErrors: s.noiseErrors.Swap(0),
		Dropped:     s.dropped.Swap(0),
		Skipped:     s.skipped.Swap(0),
	}
	for i := range s.latency {
		snap.Latency.counts[i] = s.latency[i].Swap(0)
	}
	s.samplesMu.Lock()
	snap.Samples, s.samples = s.samples, nil
	s.samplesMu.Unlock()
	return snap
}

// recordDark counts one copy's outcome at dark.
func (s *Stats) recordDark(r result, synthetic bool) {
	s.requests.Add(1)
	if synthetic {
		s.synthetic.Add(1)
	}
	switch {
	case r.timeout:
		s.errors.Add(1)
		s.timeouts.Add(1)
		s.latency[bucketOf(r.elapsed)].Add(1)
	case r.err != nil:
		s.errors.Add(1)
	default:
		if r.resp.status >= 500 {
			s.errors.Add(1)
		}
		s.latency[bucketOf(r.elapsed)].Add(1)
	}
}

// recordComparison counts one comparison and keeps it as a sample when it
// differed and there is room.
func (s *Stats) recordComparison(j *job, fields []FieldDiff, noisy bool) {
	s.compared.Add(1)
	switch {
	case noisy:
		s.noisy.Add(1)
		return
	case len(fields) == 0:
		return
	}
	s.diffs.Add(1)
	s.samplesMu.Lock()
	defer s.samplesMu.Unlock()
	if len(s.samples) >= s.maxSamples {
		return
	}
	d := Diff{Time: s.now().UTC(), Method: j.method, Path: j.uri.Path, Fields: fields}
	if len(d.Fields) > maxFieldDiffs {
		d.Fields, d.Truncated = d.Fields[:maxFieldDiffs:maxFieldDiffs], true
	}
	s.samples = append(s.samples, d)
}

// Histogram buckets.
const (
	// NumBuckets is the number of latency buckets. Bucket 0 holds
	// latencies below 100 µs; bucket i holds [B(i-1), B(i)) with
	// B(i) = 100 µs · 2^(i/8), about 9 % apart; the last bucket holds
	// everything from B(NumBuckets-2) ≈ 105 s on.
	NumBuckets         = 162
	histogramBase      = 100 * time.Microsecond
	bucketsPerDoubling = 8
)

// bucketBounds[i] is the exclusive upper bound of bucket i.
var bucketBounds = func() [NumBuckets - 1]time.Duration {
	var b [NumBuckets - 1]time.Duration
	for i := range b {
		b[i] = time.Duration(float64(histogramBase) * math.Exp2(float64(i)/bucketsPerDoubling))
	}
	return b
}()

// BucketUpperBound returns the exclusive upper bound of bucket i; the last
// bucket has none (math.MaxInt64).
func BucketUpperBound(i int) time.Duration {
	if i >= len(bucketBounds) {
		return math.MaxInt64
	}
	return bucketBounds[i]
}

func bucketOf(d time.Duration) int {
	return sort.Search(len(bucketBounds), func(i int) bool { return d < bucketBounds[i] })
}

// Histogram counts latencies in fixed buckets, so that histograms from
// many proxies and periods add up exactly (Merge). Its JSON form lists the
// non-empty buckets by index: {"buckets":{"31":12,"32":40}}. The zero
// value is empty. It is not safe for concurrent use.
type Histogram struct {
	counts [NumBuckets]int64
}

// Observe counts one latency.
func (h *Histogram) Observe(d time.Duration) { h.counts[bucketOf(d)]++ }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o Histogram) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
}

// Count returns the number of latencies counted.
func (h *Histogram) Count() int64 {
	var n int64
	for _, c := range h.counts {
		n += c
	}
	return n
}

// Bucket returns the count of bucket i.
func (h *Histogram) Bucket(i int) int64 { return h.counts[i] }

// Quantile returns an estimate of the q-quantile (0 ≤ q ≤ 1): the bucket
// holding that rank is found exactly, and the value interpolated linearly
// within it, so the estimate is off by at most the bucket's width (about
// 9 %). It returns 0 for an empty histogram, and the last bucket's lower
// bound for ranks in it.
func (h *Histogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(total)
	var seen float64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lower := time.Duration(0)
			if i > 0 {
				lower = bucketBounds[i-1]
			}
			if i == NumBuckets-1 {
				return lower
			}
			frac := (rank - seen) / float64(c)
			return lower + time.Duration(frac*float64(bucketBounds[i]-lower))
		}
		seen += float64(c)
	}
	return bucketBounds[len(bucketBounds)-1]
}

type histogramJSON struct {
	Buckets map[string]int64 `json:"buckets"`
}

// MarshalJSON encodes the non-empty buckets.
func (h Histogram) MarshalJSON() ([]byte, error) {
	out := histogramJSON{Buckets: map[string]int64{}}
	for i, c := range h.counts {
		if c != 0 {
			out.Buckets[strconv.Itoa(i)] = c
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes buckets, refusing unknown indexes and negative
// counts.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var in histogramJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*h = Histogram{}
	for k, c := range in.Buckets {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= NumBuckets {
			return fmt.Errorf("latency histogram: bucket %q is not an index in 0..%d", k, NumBuckets-1)
		}
		if c < 0 {
			return fmt.Errorf("latency histogram: bucket %s has a negative count", k)
		}
		h.counts[i] = c
	}
	return nil
}
