package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/api"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
)

// OFREP single-flag evaluation over loopback HTTP, against a bare net/http
// handler that reads the same request body and writes a response of the
// same size. Both are served by real net/http servers on 127.0.0.1 and
// loaded by the same Go load generator (below) in the same process, so the
// client and the servers share the machine's cores: compare the ratio
// within one run, not absolute figures across machines.

const (
	ofrepFlagKey = "new-checkout"
	ofrepBody    = `{"context":{"targetingKey":"user-123","email":"ann@corp.example"}}`
	ofrepToggle  = `{"key":"new-checkout","variants":{"on":true,"off":false},"default_variant":"off",` +
		`"rule":[{"name":"employees","variant":"on","condition":[{"attribute":"email","operator":"ends_with","values":["@example.com"]}]}],` +
		`"rollout":{"weights":{"on":10,"off":90}}}`

	// loadConns is the number of client goroutines (each keeps one
	// keep-alive connection busy) in both the closed- and open-loop runs.
	loadConns = 32
	// loadWarmup opens the connections and warms both sides before the
	// first measurement.
	loadWarmup = 300 * time.Millisecond
	// The machine's load may drift during a run (other processes, a
	// virtual CPU's stolen time), so both targets are measured in short
	// slots, alternately (ofrep, baseline, baseline, ofrep, …): each
	// target's figure then covers the same stretch of time as the other's.
	// Each slot starts with a short warm-up of its own.
	loadSlots      = 12
	loadSlotWarmup = 50 * time.Millisecond
	loadSlot       = 200 * time.Millisecond
	// latencySlot is one open-loop slot; BenchmarkOFREPLatencyAtHalfLoad
	// runs 4, alternately.
	latencySlot = 750 * time.Millisecond
)

// slotOrder is the target (0 or 1) of each of n slots: 0 1 1 0 0 1 1 0 …
func slotOrder(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = (i + i/2) % 2
	}
	return order
}

// ofrepTarget is one endpoint under load: what to send, and what must come back.
type ofrepTarget struct {
	URL    string
	Token  string // sent as a bearer token when set
	Body   []byte
	Status int
}

// ofrepServers serves the engine and the baseline on loopback listeners.
type ofrepServers struct {
	OFREP, Baseline ofrepTarget
	// Response is the engine's answer, which the baseline writes verbatim.
	Response []byte
}

// startOFREPServers builds an engine on a SQLite store, creates the toggle
// through the management API, and serves the engine and the baseline.
func startOFREPServers(tb testing.TB) *ofrepServers {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	secrets := map[model.TokenKind]string{}
	for _, kind := range []model.TokenKind{model.TokenAdmin, model.TokenSDK} {
		secret := model.NewTokenSecret()
		tok := model.Token{ID: model.NewTokenID(), Name: "bench-" + string(kind), Kind: kind, Hash: model.HashToken(secret),
			Hint: model.TokenHint(secret), CreatedAt: time.Now(), CreatedBy: "bench"}
		if err := st.CreateToken(ctx, tok, model.Audit{Actor: "bench", Time: time.Now()}); err != nil {
			tb.Fatal(err)
		}
		secrets[kind] = secret
	}
	authn := auth.New(st, hclog.NewNullLogger())
	if err := authn.Refresh(ctx); err != nil {
		tb.Fatal(err)
	}
	engineURL := serveLoopback(tb, (&api.Server{Store: st, Auth: authn, Version: "bench"}).Handler())

	// The toggle, through the API as Terraform would create it.
	status, _, err := postOnce(engineURL+"/v1/projects/default/toggles", secrets[model.TokenAdmin], []byte(ofrepToggle))
	if err != nil || status != http.StatusCreated {
		tb.Fatalf("create toggle: status %d, %v", status, err)
	}

	s := &ofrepServers{OFREP: ofrepTarget{URL: engineURL + "/ofrep/v1/evaluate/flags/" + ofrepFlagKey, Token: secrets[model.TokenSDK],
		Body: []byte(ofrepBody), Status: http.StatusOK}}
	status, resp, err := postOnce(s.OFREP.URL, s.OFREP.Token, s.OFREP.Body)
	if err != nil || status != http.StatusOK {
		tb.Fatalf("evaluate: status %d, %v: %s", status, err, resp)
	}
	s.Response = resp
	s.Baseline = ofrepTarget{URL: serveLoopback(tb, baselineHandler(resp)) + "/ofrep/v1/evaluate/flags/" + ofrepFlagKey,
		Body: []byte(ofrepBody), Status: http.StatusOK}
	return s
}

// baselineHandler is the bare net/http handler: it reads the request body
// and writes a fixed response.
func baselineHandler(response []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(response)
	})
}

// serveLoopback serves h on a fresh 127.0.0.1 listener and returns its base URL.
func serveLoopback(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func postOnce(url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// loadClient loads one target over keep-alive HTTP/1.1 connections, one
// per client goroutine, like wrk: each connection writes the same
// serialized request and reads the answer into its own buffer, without
// allocating. (net/http's client costs more CPU per request than the
// servers measured here do; on a 2-core machine it would leave them too
// little, and its own queueing would dominate the latency.)
type loadClient struct {
	target ofrepTarget
	addr   string
	req    []byte
	pool   []*loadConn
}

func newLoadClient(t ofrepTarget) *loadClient {
	u, err := url.Parse(t.URL)
	if err != nil {
		panic(err)
	}
	req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
		u.RequestURI(), u.Host, len(t.Body))
	if t.Token != "" {
		req = fmt.Appendf(req, "Authorization: Bearer %s\r\n", t.Token)
	}
	req = append(append(req, "\r\n"...), t.Body...)
	return &loadClient{target: t, addr: u.Host, req: req}
}

// conns returns n open connections, dialing those it lacks; later calls
// reuse them.
func (c *loadClient) conns(n int) ([]*loadConn, error) {
	for len(c.pool) < n {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return nil, err
		}
		c.pool = append(c.pool, &loadConn{conn: conn, req: c.req, status: c.target.Status, buf: make([]byte, 16<<10)})
	}
	return c.pool[:n], nil
}

func (c *loadClient) close() {
	for _, conn := range c.pool {
		_ = conn.conn.Close()
	}
	c.pool = nil
}

// loadConn is one keep-alive connection.
type loadConn struct {
	conn   net.Conn
	req    []byte
	status int
	buf    []byte
}

var errStatus = errors.New("unexpected status")

// do sends the request and reads the whole answer, which must have the
// expected status and a Content-Length.
func (c *loadConn) do() error {
	if _, err := c.conn.Write(c.req); err != nil {
		return err
	}
	n, end := 0, -1
	for end < 0 {
		if n == len(c.buf) {
			return errors.New("answer header too large")
		}
		m, err := c.conn.Read(c.buf[n:])
		if err != nil {
			return err
		}
		n += m
		end = bytes.Index(c.buf[:n], []byte("\r\n\r\n"))
	}
	head := c.buf[:end]
	// HTTP/1.1 200 OK
	if len(head) < 12 || string(head[:9]) != "HTTP/1.1 " {
		return fmt.Errorf("malformed answer %q", head)
	}
	if status, _ := strconv.Atoi(string(head[9:12])); status != c.status {
		return fmt.Errorf("%w %d", errStatus, status)
	}
	length := -1
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(value)))
		}
	}
	if length < 0 || end+4+length > len(c.buf) {
		return fmt.Errorf("answer without a usable Content-Length: %q", head)
	}
	for n < end+4+length {
		m, err := c.conn.Read(c.buf[n:])
		if err != nil {
			return err
		}
		n += m
	}
	if n != end+4+length {
		return errors.New("more bytes than one answer")
	}
	return nil
}

// closedLoopResult is a max-throughput measurement.
type closedLoopResult struct {
	Requests int64
	Elapsed  time.Duration
	// Bytes and Allocs are the process's allocations during Elapsed:
	// the client's and the server's together.
	Bytes, Allocs uint64
	Err           error // the first failed request, if any
}

func (r closedLoopResult) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// closedLoop keeps conns requests in flight (each goroutine sends its next
// request as soon as the previous answer is read) and counts the answers
// that arrive during d, after a warm-up.
func closedLoop(c *loadClient, conns int, warmup, d time.Duration) closedLoopResult {
	pool, err := c.conns(conns)
	if err != nil {
		return closedLoopResult{Err: err}
	}
	var (
		done    atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for _, conn := range pool {
		wg.Go(func() {
			for !stop.Load() {
				if err := conn.do(); err != nil {
					errOnce.Do(func() { first = err })
					stop.Store(true)
					return
				}
				done.Add(1)
			}
		})
	}
	time.Sleep(warmup)
	m0 := readMem()
	n0, t0 := done.Load(), time.Now()
	time.Sleep(d)
	n1, elapsed := done.Load(), time.Since(t0)
	m1 := readMem()
	stop.Store(true)
	wg.Wait()
	return closedLoopResult{Requests: n1 - n0, Elapsed: elapsed, Bytes: m1.bytes - m0.bytes, Allocs: m1.allocs - m0.allocs, Err: first}
}

// openLoopResult is a fixed-rate run's latencies, sorted.
type openLoopResult struct {
	Latencies []time.Duration
	Elapsed   time.Duration
	Err       error
}

func (r openLoopResult) PerSecond() float64 { return float64(len(r.Latencies)) / r.Elapsed.Seconds() }

// Quantile returns the q-quantile (nearest rank) of the latencies.
func (r openLoopResult) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// openLoop sends rate requests per second for d, spread over conns
// goroutines: goroutine k sends requests k, k+conns, k+2·conns, … each at
// its own due time on a fixed schedule, whatever the answers before it
// took. A request's latency runs from its due time when the goroutine was
// still waiting for an earlier answer then (the server made it late: no
// coordinated omission), and otherwise from when it was sent, so that the
// sleep's wake-up delay (timers here have about 1 ms resolution) is not
// charged to the server.
func openLoop(c *loadClient, rate float64, conns int, warmup, d time.Duration) openLoopResult {
	// Open the connections and warm both sides with a short closed-loop burst.
	if r := closedLoop(c, conns, 0, warmup); r.Err != nil {
		return openLoopResult{Err: r.Err}
	}
	pool, err := c.conns(conns)
	if err != nil {
		return openLoopResult{Err: err}
	}
	total := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([][]time.Duration, conns)
	var (
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	start := time.Now().Add(10 * time.Millisecond)
	for k, conn := range pool {
		lat[k] = make([]time.Duration, 0, total/conns+1)
		wg.Go(func() {
			for i := k; i < total; i += conns {
				due := start.Add(time.Duration(i) * interval)
				sent := time.Now()
				if sent.Before(due) {
					time.Sleep(due.Sub(sent))
					sent = time.Now()
				} else {
					sent = due
				}
				if err := conn.do(); err != nil {
					errOnce.Do(func() { first = err })
					return
				}
				lat[k] = append(lat[k], time.Since(sent))
			}
		})
	}
	wg.Wait()
	res := openLoopResult{Elapsed: time.Since(start), Err: first}
	for _, l := range lat {
		res.Latencies = append(res.Latencies, l...)
	}
	slices.Sort(res.Latencies)
	return res
}

// cpuTicks is the machine's busy and total CPU time, and this process's,
// in clock ticks, from /proc (Linux; ok is false elsewhere).
type cpuTicks struct {
	busy, total, self uint64
	ok                bool
}

func readCPU() cpuTicks {
	stat, err1 := os.ReadFile("/proc/stat")
	self, err2 := os.ReadFile("/proc/self/stat")
	if err1 != nil || err2 != nil {
		return cpuTicks{}
	}
	// cpu  user nice system idle iowait irq softirq steal …
	line, _, _ := strings.Cut(string(stat), "\n")
	var t cpuTicks
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		if i >= 8 { // guest time is already in user time
			break
		}
		t.total += n
		if i != 3 && i != 4 && i != 5 && i != 6 { // idle, iowait; interrupts (much of it this process's loopback traffic)
			t.busy += n
		}
	}
	// pid (comm) state … utime stime: the 12th and 13th fields after comm.
	fields := strings.Fields(string(self[bytes.LastIndexByte(self, ')')+1:]))
	if len(fields) < 13 {
		return cpuTicks{}
	}
	utime, _ := strconv.ParseUint(fields[11], 10, 64)
	stime, _ := strconv.ParseUint(fields[12], 10, 64)
	t.self, t.ok = utime+stime, true
	return t
}

// reportOthersCPU reports the share of the machine's CPU that other
// processes used since t0, in percent: a run that other work disturbed
// shows it here.
func reportOthersCPU(b *testing.B, t0 cpuTicks) {
	t1 := readCPU()
	if !t0.ok || !t1.ok || t1.total <= t0.total {
		return
	}
	others := float64(t1.busy-t0.busy) - float64(t1.self-t0.self)
	b.ReportMetric(max(others, 0)/float64(t1.total-t0.total)*100, "others_cpu_%")
}

// memStats is the process's allocation count so far.
type memStats struct{ bytes, allocs uint64 }

func readMem() memStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memStats{bytes: m.TotalAlloc, allocs: m.Mallocs}
}

// BenchmarkOFREPThroughput is the closed-loop maximum throughput of OFREP
// single-flag evaluation and of the bare baseline handler, measured in
// alternate slots. It reports req/s for each (over all its slots), their
// ratio (the median of the ratios in adjacent pairs of slots), and the
// allocations per request (client and server together: both live in this
// process). An iteration is the whole measurement; -count repeats it.
func BenchmarkOFREPThroughput(b *testing.B) {
	s := startOFREPServers(b)
	clients := []*loadClient{newLoadClient(s.OFREP), newLoadClient(s.Baseline)}
	defer clients[0].close()
	defer clients[1].close()
	cpu0 := readCPU()
	var (
		sums   [2]closedLoopResult
		last   [2]float64 // each target's latest slot, in req/s
		ratios []float64  // OFREP over baseline, in adjacent slots
	)
	for i, c := range clients {
		if r := closedLoop(c, loadConns, loadWarmup, 0); r.Err != nil {
			b.Fatalf("%s: %v", []string{"ofrep", "baseline"}[i], r.Err)
		}
	}
	for n, i := range slotOrder(loadSlots) {
		r := closedLoop(clients[i], loadConns, loadSlotWarmup, loadSlot)
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		sums[i].Requests += r.Requests
		sums[i].Elapsed += r.Elapsed
		sums[i].Bytes += r.Bytes
		sums[i].Allocs += r.Allocs
		last[i] = r.PerSecond()
		if n%2 == 1 {
			ratios = append(ratios, last[0]/last[1])
		}
	}
	slices.Sort(ratios)
	b.ReportMetric(0, "ns/op")
	reportOthersCPU(b, cpu0)
	b.ReportMetric(sums[0].PerSecond(), "ofrep_req/s")
	b.ReportMetric(sums[1].PerSecond(), "baseline_req/s")
	// The median over pairs of adjacent slots, so that a burst of other
	// work on the machine during one slot does not sway it.
	b.ReportMetric((ratios[(len(ratios)-1)/2]+ratios[len(ratios)/2])/2, "ratio")
	for i, name := range []string{"ofrep", "baseline"} {
		b.ReportMetric(float64(sums[i].Allocs)/float64(sums[i].Requests), name+"_allocs/req")
		b.ReportMetric(float64(sums[i].Bytes)/float64(sums[i].Requests), name+"_B/req")
	}
}

// BenchmarkOFREPLatencyAtHalfLoad measures OFREP's maximum throughput with
// the closed loop of BenchmarkOFREPThroughput, then sends requests at a
// fixed rate of half that, open loop, to OFREP and to the baseline in
// alternate slots, and reports latency percentiles in milliseconds.
func BenchmarkOFREPLatencyAtHalfLoad(b *testing.B) {
	s := startOFREPServers(b)
	clients := []*loadClient{newLoadClient(s.OFREP), newLoadClient(s.Baseline)}
	defer clients[0].close()
	defer clients[1].close()
	cpu0 := readCPU()
	if r := closedLoop(clients[1], loadConns, loadWarmup, 0); r.Err != nil {
		b.Fatal(r.Err)
	}
	var peak closedLoopResult
	for range loadSlots / 2 {
		r := closedLoop(clients[0], loadConns, loadSlotWarmup, loadSlot)
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		peak.Requests += r.Requests
		peak.Elapsed += r.Elapsed
	}
	rate := peak.PerSecond() / 2
	var runs [2]openLoopResult
	for _, i := range slotOrder(4) {
		r := openLoop(clients[i], rate, loadConns, loadSlotWarmup, latencySlot)
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		runs[i].Latencies = append(runs[i].Latencies, r.Latencies...)
		runs[i].Elapsed += r.Elapsed
	}
	b.ReportMetric(0, "ns/op")
	reportOthersCPU(b, cpu0)
	b.ReportMetric(rate, "rate_req/s")
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for i, name := range []string{"ofrep", "baseline"} {
		r := runs[i]
		slices.Sort(r.Latencies)
		b.ReportMetric(ms(r.Quantile(0.50)), name+"_p50_ms")
		b.ReportMetric(ms(r.Quantile(0.99)), name+"_p99_ms")
		b.ReportMetric(ms(r.Quantile(0.999)), name+"_p99.9_ms")
		if r.PerSecond() < rate*0.95 {
			b.Logf("%s: sent %.0f req/s of %.0f", name, r.PerSecond(), rate)
		}
	}
}

// TestOFREPLoad checks the setup the load benchmarks rely on: the engine
// answers the evaluation, the baseline's answer has the same size, and both
// load generators run without errors. It asserts nothing about time.
func TestOFREPLoad(t *testing.T) {
	s := startOFREPServers(t)
	for _, target := range []ofrepTarget{s.OFREP, s.Baseline} {
		status, resp, err := postOnce(target.URL, target.Token, target.Body)
		if err != nil || status != http.StatusOK || !bytes.Equal(resp, s.Response) {
			t.Fatalf("%s: status %d, %v: %s", target.URL, status, err, resp)
		}
		lc := newLoadClient(target)
		if r := closedLoop(lc, 4, 0, 50*time.Millisecond); r.Err != nil || r.Requests == 0 {
			t.Fatalf("closed loop: %d requests, %v", r.Requests, r.Err)
		}
		if r := openLoop(lc, 200, 4, 10*time.Millisecond, 100*time.Millisecond); r.Err != nil || len(r.Latencies) == 0 {
			t.Fatalf("open loop: %d requests, %v", len(r.Latencies), r.Err)
		}
		lc.close()
	}
	// Without the token the engine refuses, so the benchmark does measure
	// the token check; and the load generator notices.
	if status, _, _ := postOnce(s.OFREP.URL, "", s.OFREP.Body); status != http.StatusUnauthorized {
		t.Fatalf("no token: status %d", status)
	}
	bad := s.OFREP
	bad.Token = "not-a-token"
	lc := newLoadClient(bad)
	if r := closedLoop(lc, 1, 0, 10*time.Millisecond); !errors.Is(r.Err, errStatus) {
		t.Fatalf("closed loop with a bad token: %v", r.Err)
	}
	lc.close()
	t.Logf("response (%d bytes): %s", len(s.Response), s.Response)
}
