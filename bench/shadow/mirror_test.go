package shadowbench

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

// counted wraps an upstream and counts its requests.
type counted struct {
	h http.Handler
	n atomic.Int64
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// target is one way to reach live.
type target struct {
	name   string
	client *loadClient
	pids   func() []int // the proxy's processes; none for direct
}

// slotFigures is one target's figures in one slot.
type slotFigures struct {
	p50, p99  time.Duration
	answered  int
	censored  int
	sent      int // warm-up included
	perSecond float64
	cpuTicks  int64 // the proxy's CPU time in the slot, warm-up included
}

// run is a whole measurement: figures[round][target], and the share of
// the machine's CPU that processes other than the benchmark's used.
type run struct {
	figures   [][]slotFigures
	othersCPU float64
}

// measure runs rounds of one open-loop slot per target, the order rotating
// each round so that every target sees every part of the run, and returns
// figures[round][target].
func measure(tb testing.TB, targets []target, rate float64, rounds int, slot, grace time.Duration) run {
	tb.Helper()
	ours := func() []int {
		pids := []int{os.Getpid()}
		for _, t := range targets {
			if t.pids != nil {
				pids = append(pids, t.pids()...)
			}
		}
		return pids
	}
	busy0, total0 := machineTicks()
	ours0 := cpuTicks(ours()...)
	figures := make([][]slotFigures, rounds)
	for r := range rounds {
		figures[r] = make([]slotFigures, len(targets))
		for i := range targets {
			ti := (i + r) % len(targets)
			t := targets[ti]
			var pids []int
			if t.pids != nil {
				pids = t.pids()
			}
			cpu0 := cpuTicks(pids...)
			if err := warm(t.client, loadConns); err != nil {
				tb.Logf("%s: warm-up: %v", t.name, err)
			}
			res := openLoop(t.client, rate, loadConns, slot, grace)
			if res.Err != nil {
				tb.Fatalf("%s: %v", t.name, res.Err)
			}
			figures[r][ti] = slotFigures{p50: res.Quantile(0.50), p99: res.Quantile(0.99), answered: len(res.Latencies) - res.Censored,
				censored: res.Censored, sent: len(res.Latencies) + warmRequests*loadConns,
				perSecond: float64(len(res.Latencies)-res.Censored) / slot.Seconds(), cpuTicks: cpuTicks(pids...) - cpu0}
		}
	}
	busy1, total1 := machineTicks()
	others := float64(busy1-busy0-(cpuTicks(ours()...)-ours0)) / float64(max(total1-total0, 1))
	return run{figures: figures, othersCPU: max(others, 0) * 100}
}

// bench is a running setup: the upstreams, the proxies, and the targets
// (direct, shadow, and nginx when it is installed).
type bench struct {
	live      string // live's address
	targets   []target
	child     *proxyChild
	ngx       *nginxMirror
	darkCount *counted
}

// setup starts live and dark upstreams (dark stalled when asked), the
// shadow proxy and nginx.
func setup(tb testing.TB, stalled bool) *bench {
	tb.Helper()
	live := serveLoopback(tb, upstream())
	darkCount := &counted{h: upstream()}
	dark := serveLoopback(tb, darkCount)
	if stalled {
		dark = stallServer(tb)
	}
	child := startProxyChild(tb, live, dark)
	ngx := startNginx(tb, live, dark)
	bn := &bench{live: live, child: child, ngx: ngx, darkCount: darkCount}
	bn.targets = []target{{name: "direct", client: newLoadClient(live)}, child.target("shadow")}
	if ngx != nil {
		bn.targets = append(bn.targets, target{name: "nginx", client: newLoadClient(ngx.Addr), pids: ngx.pids})
	} else {
		tb.Log("nginx is not installed (apt-get install -y nginx): measuring without it")
	}
	tb.Cleanup(func() {
		for _, t := range bn.targets {
			t.client.close()
		}
	})
	return bn
}

// target is the load target of a proxy child.
func (c *proxyChild) target(name string) target {
	return target{name: name, client: newLoadClient(c.Addr), pids: func() []int { return []int{c.cmd.Process.Pid} }}
}

// index returns the position of the named target, or -1.
func (bn *bench) index(name string) int {
	for i, t := range bn.targets {
		if t.name == name {
			return i
		}
	}
	return -1
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// BenchmarkShadowAddedLatency is the latency the shadow proxy and nginx's
// mirror module add to the live path at 100 % mirroring, over a direct
// connection to live, at a fixed rate (SHADOW_BENCH_RATE, default 2,000
// req/s) over 32 keep-alive connections, in rounds (SHADOW_BENCH_ROUNDS,
// default 5) of one 2 s slot per target. Added figures are each round's
// difference to direct, then the median over rounds. An iteration is the
// whole measurement.
func BenchmarkShadowAddedLatency(b *testing.B) {
	rate := envFloat("SHADOW_BENCH_RATE", 2000)
	rounds := int(envFloat("SHADOW_BENCH_ROUNDS", 5))
	bn := setup(b, false)
	targets, child, ngx := bn.targets, bn.child, bn.ngx
	for range b.N {
		child.stats(b) // reset
		m := measure(b, targets, rate, rounds, 2*time.Second, 2*time.Second)
		b.StopTimer()
		stats := child.stats(b)
		reportFigures(b, targets, m)
		sent := 0
		for _, round := range m.figures {
			sent += round[1].sent
		}
		b.ReportMetric(rate, "rate_req/s")
		b.ReportMetric(100*float64(stats.Requests)/float64(max(sent, 1)), "shadow_mirrored_%")
		b.ReportMetric(float64(stats.Diffs), "shadow_diffs")
		b.ReportMetric(float64(stats.Dropped), "shadow_dropped")
		b.ReportMetric(mib(readMemory(child.cmd.Process.Pid).Peak), "shadow_peak_MiB")
		if ngx != nil {
			b.ReportMetric(mib(ngx.memory().Peak), "nginx_peak_MiB")
		}
		b.StartTimer()
	}
}

// BenchmarkShadowStalledDark is the live path while the dark upstream
// accepts connections and never answers: the live p99 through each proxy
// against the direct p99, and against the same shadow proxy mirroring to a
// healthy dark upstream (target shadow_healthy), in rounds
// (SHADOW_BENCH_ROUNDS, default 3) of one 3 s slot per target at
// SHADOW_BENCH_RATE (default 2,000 req/s), and the proxies' memory.
// Requests without an answer 3 s after the slot count with the time they
// had waited then (a lower bound; *_censored says how many).
func BenchmarkShadowStalledDark(b *testing.B) {
	rate := envFloat("SHADOW_BENCH_RATE", 2000)
	rounds := int(envFloat("SHADOW_BENCH_ROUNDS", 3))
	bn := setup(b, true)
	healthy := startProxyChild(b, bn.live, serveLoopback(b, upstream()))
	bn.targets = append(bn.targets, healthy.target("shadow_healthy"))
	child, ngx := bn.child, bn.ngx
	shadowAt, directAt, healthyAt := bn.index("shadow"), bn.index("direct"), bn.index("shadow_healthy")
	for range b.N {
		child.stats(b)
		m0 := readMemory(child.cmd.Process.Pid)
		m := measure(b, bn.targets, rate, rounds, 3*time.Second, 3*time.Second)
		b.StopTimer()
		m1 := readMemory(child.cmd.Process.Pid)
		stats := child.stats(b)
		reportFigures(b, bn.targets, m)
		var overDirect, overHealthy []float64
		for _, round := range m.figures {
			overDirect = append(overDirect, float64(round[shadowAt].p99)/float64(round[directAt].p99))
			overHealthy = append(overHealthy, float64(round[shadowAt].p99)/float64(round[healthyAt].p99))
		}
		b.ReportMetric(median(overDirect), "shadow_p99_over_direct")
		b.ReportMetric(median(overHealthy), "shadow_p99_over_healthy")
		b.ReportMetric(float64(stats.Dropped), "shadow_dropped")
		b.ReportMetric(float64(stats.Timeouts), "shadow_timeouts")
		b.ReportMetric(mib(m0.RSS), "shadow_rss_before_MiB")
		b.ReportMetric(mib(m1.RSS), "shadow_rss_after_MiB")
		b.ReportMetric(mib(m1.Peak), "shadow_peak_MiB")
		if ngx != nil {
			b.ReportMetric(mib(ngx.memory().Peak), "nginx_peak_MiB")
		}
		b.StartTimer()
	}
}

// reportFigures reports each target's median p50 and p99 over rounds, for
// the proxies the median over rounds of what they added to direct's and
// their CPU time per request, and logs the rounds.
func reportFigures(b *testing.B, targets []target, m run) {
	var log strings.Builder
	fmt.Fprintf(&log, "\n%-6s %-15s %9s %9s %9s %9s %12s\n", "round", "target", "p50_ms", "p99_ms", "answered", "censored", "cpu_us/req")
	for r, round := range m.figures {
		for i, f := range round {
			fmt.Fprintf(&log, "%-6d %-15s %9.3f %9.3f %9d %9d %12.0f\n", r, targets[i].name, ms(f.p50), ms(f.p99), f.answered, f.censored, f.cpuPerRequest())
		}
	}
	fmt.Fprintf(&log, "other processes used %.0f%% of the machine's CPU during the run\n", m.othersCPU)
	// Printed rather than logged: benchmark logs are cut after a few lines.
	fmt.Print(log.String())
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(m.othersCPU, "others_cpu_%")
	for i, t := range targets {
		var p50, p99, added50, added99, rate, cpu []float64
		censored := 0
		for _, round := range m.figures {
			p50 = append(p50, ms(round[i].p50))
			p99 = append(p99, ms(round[i].p99))
			added50 = append(added50, ms(round[i].p50-round[0].p50))
			added99 = append(added99, ms(round[i].p99-round[0].p99))
			rate = append(rate, round[i].perSecond)
			cpu = append(cpu, round[i].cpuPerRequest())
			censored += round[i].censored
		}
		b.ReportMetric(median(p50), t.name+"_p50_ms")
		b.ReportMetric(median(p99), t.name+"_p99_ms")
		b.ReportMetric(median(rate), t.name+"_answered_req/s")
		if i > 0 {
			b.ReportMetric(median(added50), t.name+"_added_p50_ms")
			b.ReportMetric(median(added99), t.name+"_added_p99_ms")
			b.ReportMetric(median(cpu), t.name+"_cpu_us/req")
		}
		if censored > 0 {
			b.ReportMetric(float64(censored), t.name+"_censored")
		}
	}
}

// cpuPerRequest is the proxy's CPU time per request sent in the slot, in
// microseconds (a clock tick is 10 ms).
func (f slotFigures) cpuPerRequest() float64 {
	return float64(f.cpuTicks) * 10000 / float64(max(f.sent, 1))
}

// TestShadowBenchSetup checks what the benchmarks rely on, quickly: the
// proxy child and nginx (when installed) forward to live and mirror to
// dark, and the generator runs without errors. It asserts nothing about
// time.
func TestShadowBenchSetup(t *testing.T) {
	bn := setup(t, false)
	child, ngx, darkCount := bn.child, bn.ngx, bn.darkCount
	for _, tg := range bn.targets {
		if err := warm(tg.client, 4); err != nil {
			t.Fatalf("%s: %v", tg.name, err)
		}
		if res := openLoop(tg.client, 200, 4, 100*time.Millisecond, 5*time.Second); res.Err != nil || res.Censored > 0 || len(res.Latencies) == 0 {
			t.Fatalf("%s: %d answers, %d censored, %v", tg.name, len(res.Latencies), res.Censored, res.Err)
		}
	}
	want := int64(100) // 80 warm-up requests and 20 in the slot, per proxy
	if ngx != nil {
		want *= 2
	}
	var sum shadow.Snapshot
	deadline := time.Now().Add(30 * time.Second)
	for darkCount.n.Load() < want || sum.Compared < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("dark received %d copies (want %d); shadow proxy figures %+v", darkCount.n.Load(), want, sum)
		}
		time.Sleep(10 * time.Millisecond)
		sum.Merge(child.stats(t), 0)
	}
	if sum.Requests != 100 || sum.Diffs != 0 || sum.Errors != 0 || sum.Compared != 100 {
		t.Fatalf("shadow proxy figures %+v", sum)
	}
}
