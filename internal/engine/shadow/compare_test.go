package shadow

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func compileTest(t *testing.T, c Config) *compiled { return compileBench(t, c) }

func compileBench(t testing.TB, c Config) *compiled {
	t.Helper()
	o := Options{}.withDefaults()
	p := &Proxy{opts: o, log: o.Logger}
	if c.LiveURL == "" {
		c.Name, c.LiveURL, c.DarkURL = "t", "http://live", "http://dark"
	}
	cc, err := p.compile(c)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func jsonResponse(status int, body string) *response {
	return &response{status: status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: []byte(body)}
}

func fieldNames(fields []FieldDiff) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Kind+":"+f.Name)
	}
	return out
}

func TestCompareJSON(t *testing.T) {
	c := compileTest(t, Config{Compare: Compare{Enabled: true, IgnoreJSONPaths: []string{"$.ts", "$.list[*].etag"}}})
	for _, tc := range []struct {
		name, live, dark string
		want             []string
	}{
		{"member order and number forms", `{"a":1,"b":[1.0,2e0],"c":{"x":null}}`, `{"c":{"x":null},"b":[1,2],"a":1.00}`, nil},
		{"big integers exactly", `{"n":12345678901234567890}`, `{"n":12345678901234567891}`, []string{"body:$.n"}},
		{"big integers equal", `{"n":12345678901234567890}`, `{"n":12345678901234567890.0}`, nil},
		{"ignored", `{"ts":1,"list":[{"etag":"a","v":1}]}`, `{"ts":2,"list":[{"etag":"b","v":1}]}`, nil},
		{"ignored but other differs", `{"ts":1,"list":[{"etag":"a","v":1}]}`, `{"ts":2,"list":[{"etag":"b","v":2}]}`, []string{"body:$.list[0].v"}},
		{"missing member", `{"a":1,"b":2}`, `{"a":1,"c":2}`, []string{"body:$.b", "body:$.c"}},
		{"type change", `{"a":"1"}`, `{"a":1}`, []string{"body:$.a"}},
		{"array length", `{"a":[1,2]}`, `{"a":[1,2,3]}`, []string{"body:$.a"}},
		{"object vs array", `{"a":{}}`, `{"a":[]}`, []string{"body:$.a"}},
		{"odd names", `{"a b":{"it's":1}}`, `{"a b":{"it's":2}}`, []string{`body:$['a b']['it\'s']`}},
		{"root scalar", `true`, `false`, []string{"body:$"}},
	} {
		fields, noisy := compareResponses(c, jsonResponse(200, tc.live), jsonResponse(200, tc.dark), nil)
		if !slices.Equal(fieldNames(fields), tc.want) || noisy {
			t.Errorf("%s: %v (noisy %v), want %v", tc.name, fieldNames(fields), noisy, tc.want)
		}
	}
	fields, _ := compareResponses(c, jsonResponse(200, `{"a":{"b":"x"}}`), jsonResponse(200, `{"a":{}}`), nil)
	if len(fields) != 1 || fields[0].Live != `"x"` || fields[0].Dark != Absent {
		t.Fatalf("values: %+v", fields)
	}
}

func TestCompareNoise(t *testing.T) {
	c := compileTest(t, Config{Compare: Compare{Enabled: true}})
	live := jsonResponse(200, `{"v":1,"meta":{"host":"a","at":1},"list":[1,2]}`)
	noise := jsonResponse(200, `{"v":1,"meta":{"host":"b","at":1},"list":[1,2]}`)
	for _, tc := range []struct {
		name, dark string
		want       []string
		noisy      bool
	}{
		{"only noise", `{"v":1,"meta":{"host":"c","at":1},"list":[1,2]}`, nil, true},
		{"noise and a real diff", `{"v":2,"meta":{"host":"c","at":1},"list":[1,2]}`, []string{"body:$.v"}, false},
		{"same member, not noisy", `{"v":1,"meta":{"host":"a","at":2},"list":[1,2]}`, []string{"body:$.meta.at"}, false},
		// Noise at $.meta.host does not excuse a change of the whole $.meta.
		{"ancestor changed", `{"v":1,"meta":"gone","list":[1,2]}`, []string{"body:$.meta"}, false},
		{"equal", `{"v":1,"meta":{"host":"a","at":1},"list":[1,2]}`, nil, false},
	} {
		fields, noisy := compareResponses(c, live, jsonResponse(200, tc.dark), noise)
		if !slices.Equal(fieldNames(fields), tc.want) || noisy != tc.noisy {
			t.Errorf("%s: %v noisy %v, want %v noisy %v", tc.name, fieldNames(fields), noisy, tc.want, tc.noisy)
		}
	}
	// A noisy status or header discounts that field only.
	l, n, d := jsonResponse(200, `{}`), jsonResponse(503, `{}`), jsonResponse(500, `{}`)
	l.header.Set("X-Host", "a")
	n.header.Set("X-Host", "b")
	d.header.Set("X-Host", "c")
	d.header.Set("X-New", "1")
	fields, _ := compareResponses(c, l, d, n)
	if got := fieldNames(fields); !slices.Equal(got, []string{"header:X-New"}) {
		t.Fatalf("noisy status and header: %v", got)
	}
	// A noise body that is not JSON makes the whole JSON body noise.
	fields, noisy := compareResponses(c, live, jsonResponse(200, `{"v":9}`), jsonResponse(200, `oops`))
	if len(fields) != 0 || !noisy {
		t.Fatalf("non-JSON noise: %v %v", fields, noisy)
	}
}

func TestCompareBytesAndEncodings(t *testing.T) {
	c := compileTest(t, Config{Compare: Compare{Enabled: true}})
	text := func(s string) *response {
		return &response{status: 200, header: http.Header{"Content-Type": {"text/plain"}}, body: []byte(s)}
	}
	if f, _ := compareResponses(c, text("a"), text("a"), nil); len(f) != 0 {
		t.Fatalf("equal text: %v", f)
	}
	f, _ := compareResponses(c, text("a"), text("b"), nil)
	if len(f) != 1 || f[0].Kind != "body" || f[0].Name != "" || f[0].Live != "a" || f[0].Dark != "b" {
		t.Fatalf("text: %+v", f)
	}
	// Declared JSON that does not parse compares as bytes.
	f, _ = compareResponses(c, jsonResponse(200, `{"a":`), jsonResponse(200, `{"a":`), nil)
	if len(f) != 0 {
		t.Fatalf("broken JSON, same bytes: %v", f)
	}
	// Trailing data is not one JSON document.
	f, _ = compareResponses(c, jsonResponse(200, `{} {}`), jsonResponse(200, `{}`), nil)
	if len(f) != 1 || f[0].Name != "" {
		t.Fatalf("trailing data: %+v", f)
	}
	// gzip is undone: the same JSON compressed and not is equal.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write([]byte(`{"b":2,"a":1}`))
	_ = zw.Close()
	z := jsonResponse(200, zb.String())
	z.header.Set("Content-Encoding", "gzip")
	live := jsonResponse(200, `{"a":1,"b":2}`)
	live.header.Set("Content-Encoding", "gzip")
	var lz bytes.Buffer
	zw = gzip.NewWriter(&lz)
	_, _ = zw.Write(live.body)
	_ = zw.Close()
	live.body = lz.Bytes()
	if f, _ := compareResponses(c, live, z, nil); len(f) != 0 {
		t.Fatalf("gzip: %v", f)
	}
	// Truncated bodies are not compared; status and headers still are.
	long := jsonResponse(200, `{"a":1}`)
	long.truncated = true
	if f, _ := compareResponses(c, long, jsonResponse(201, `{"a":2}`), nil); !slices.Equal(fieldNames(f), []string{"status:"}) {
		t.Fatalf("truncated: %v", fieldNames(f))
	}
	// Values are cut for samples.
	f, _ = compareResponses(c, text(strings.Repeat("é", 500)), text("x"), nil)
	if len(f[0].Live) > maxValueBytes+len("…") || !strings.HasSuffix(f[0].Live, "…") {
		t.Fatalf("long value: %d bytes", len(f[0].Live))
	}
	// Date and Content-Length never count; hop-by-hop neither.
	a, b := text("x"), text("x")
	a.header.Set("Date", "Mon, 01 Jan 2024 00:00:00 GMT")
	b.header.Set("Date", "Tue, 02 Jan 2024 00:00:00 GMT")
	b.header.Set("Content-Length", "1")
	b.header.Set("Keep-Alive", "timeout=5")
	if f, _ := compareResponses(c, a, b, nil); len(f) != 0 {
		t.Fatalf("ignored headers: %v", f)
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Count() != 0 {
		t.Fatal("empty histogram")
	}
	// 1..1000 ms, uniformly: the quantiles are known.
	for i := 1; i <= 1000; i++ {
		h.Observe(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.01, 10 * time.Millisecond}} {
		got := h.Quantile(tc.q)
		if ratio := float64(got) / float64(tc.want); ratio < 0.91 || ratio > 1.09 {
			t.Errorf("q%v = %v, want %v within a bucket (9%%)", tc.q, got, tc.want)
		}
	}
	// Merging two halves gives the whole.
	var a, b Histogram
	for i := 1; i <= 1000; i++ {
		if i%2 == 0 {
			a.Observe(time.Duration(i) * time.Millisecond)
		} else {
			b.Observe(time.Duration(i) * time.Millisecond)
		}
	}
	a.Merge(b)
	if a != h {
		t.Fatal("merged halves differ from the whole")
	}
	// JSON round trip, sparse.
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(raw, &back); err != nil || back != h {
		t.Fatalf("round trip: %v", err)
	}
	if !strings.HasPrefix(string(raw), `{"buckets":{"`) {
		t.Fatalf("shape: %s", raw)
	}
	for _, bad := range []string{`{"buckets":{"162":1}}`, `{"buckets":{"x":1}}`, `{"buckets":{"3":-1}}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// Extremes land in the first and last buckets.
	var e Histogram
	e.Observe(0)
	e.Observe(time.Hour)
	if e.Bucket(0) != 1 || e.Bucket(NumBuckets-1) != 1 || e.Quantile(1) != BucketUpperBound(NumBuckets-2) {
		t.Fatalf("extremes: %v %v", e.Bucket(0), e.Quantile(1))
	}
	// Every bound is in its own bucket's successor, and bounds grow.
	for i := 1; i < NumBuckets-1; i++ {
		if bucketOf(BucketUpperBound(i-1)) != i || BucketUpperBound(i) <= BucketUpperBound(i-1) {
			t.Fatalf("bucket %d", i)
		}
	}
	// Quantiles never go backwards.
	var r Histogram
	for range 10000 {
		r.Observe(time.Duration(rand.ExpFloat64() * float64(20*time.Millisecond)))
	}
	prev := time.Duration(0)
	for q := 0.0; q <= 1; q += 0.01 {
		if v := r.Quantile(q); v < prev {
			t.Fatalf("q%v = %v < %v", q, v, prev)
		} else {
			prev = v
		}
	}
}

func TestSnapshotJSON(t *testing.T) {
	s := Snapshot{Requests: 10, Errors: 1, Compared: 9, Diffs: 2, Samples: []Diff{{Method: "GET", Path: "/x",
		Fields: []FieldDiff{{Kind: "status", Live: "200", Dark: "500"}}}}}
	s.Latency.Observe(3 * time.Millisecond)
	raw, err := json.Marshal(Report{DarkLaunch: "chat", Revision: "4", Instance: "i", Sequence: 1, Stats: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"dark_launch":"chat"`, `"revision":"4"`, `"sequence":1`, `"stats":{"requests":10,`, `"latency":{"buckets":{"`,
		`"samples":[{"time":`, `"fields":[{"kind":"status","live":"200","dark":"500"}]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("report JSON lacks %s: %s", want, raw)
		}
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil || back.Stats.Latency != s.Latency || back.Stats.Diffs != 2 {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if s.ErrorRate() != 0.1 || s.DiffRate() != 2.0/9 || (Snapshot{}).ErrorRate() != 0 || !(Snapshot{}).Empty() || s.Empty() {
		t.Fatal("rates")
	}
	var m Snapshot
	m.Merge(s, 0)
	m.Merge(s, 0)
	if m.Requests != 20 || len(m.Samples) != 0 || m.Latency.Count() != 2 {
		t.Fatalf("merge: %+v", m)
	}
}

// BenchmarkCompareJSON is the cost of one comparison of two small JSON
// bodies that differ in an ignored member, as most mirrored answers do.
func BenchmarkCompareJSON(b *testing.B) {
	c := compileBench(b, Config{Compare: Compare{Enabled: true, IgnoreJSONPaths: []string{"$.served_at"}}})
	const doc = `{"id":42,"name":"general","members":[{"id":1,"name":"ann"},{"id":2,"name":"bob"}],"unread":3,"topic":"all things shadow","served_at":%d}`
	live := jsonResponse(200, fmt.Sprintf(doc, 1))
	dark := jsonResponse(200, fmt.Sprintf(doc, 2))
	live.header.Set("X-Request-Id", "a")
	dark.header.Set("X-Request-Id", "a")
	b.ReportAllocs()
	for b.Loop() {
		if f, _ := compareResponses(c, live, dark, nil); len(f) != 0 {
			b.Fatal(f)
		}
	}
}
