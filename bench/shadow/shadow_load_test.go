// Package shadowbench measures what the dark launch mirroring proxy
// (internal/engine/shadow) adds to the live path, against a direct
// connection and against nginx's mirror module, under the same load from
// the same generator in one run. See RESULTS.md for the figures and the
// command that reproduces them.
package shadowbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

// The setup: one process (this one) runs the load generator and the
// upstreams (live, dark, and a dark that stalls); the shadow proxy runs in
// a process of its own (this test binary, re-executed), as does nginx, so
// that each proxy's memory can be read from /proc and neither shares a Go
// runtime with the generator. Everything shares the machine's cores:
// compare figures within one run, not across machines.

const (
	// childEnv makes the test binary run the shadow proxy instead of the
	// tests: its value is the live URL, a space, the dark URL.
	childEnv = "SHADOW_BENCH_CHILD"
	// loadConns is the number of keep-alive connections of the generator.
	loadConns = 32
	// upstreamBody is live's and dark's answer: a small JSON document.
	upstreamBody = `{"id":42,"name":"general","members":[{"id":1,"name":"ann"},{"id":2,"name":"bob"}],"unread":3,"topic":"all things shadow"}`
	// darkTimeout is the mirror timeout of both proxies.
	darkTimeout = 5 * time.Second
)

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(runProxyChild(v))
	}
	os.Exit(m.Run())
}

// runProxyChild serves the shadow proxy at 100 % mirroring with
// comparison on, and a stats endpoint; it prints both addresses and runs
// until its standard input closes.
func runProxyChild(arg string) int {
	live, dark, _ := strings.Cut(arg, " ")
	if path := os.Getenv("SHADOW_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	p, err := shadow.NewProxy(shadow.Options{DarkTimeout: darkTimeout})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = p.SetConfig(shadow.Config{Name: "bench", LiveURL: live, DarkURL: dark, MirrorPercent: envFloat("SHADOW_BENCH_PERCENT", 100),
		Compare: shadow.Compare{Enabled: os.Getenv("SHADOW_BENCH_COMPARE") != "off", IgnoreJSONPaths: []string{"$.served_at"}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() { _ = (&shadow.Server{Proxy: p}).Serve(ln) }()
	go func() {
		_ = (&http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(p.Stats().Swap())
		})}).Serve(admin)
	}()
	fmt.Printf("%s %s\n", ln.Addr(), admin.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if path := os.Getenv("SHADOW_BENCH_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			_ = f.Close()
		}
	}
	return 0
}

// serveLoopback serves h on a fresh 127.0.0.1 listener and returns its
// address.
func serveLoopback(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// upstream answers upstreamBody with a served_at member that differs
// from one answer to the next, as real answers do (timestamps, ids): the
// proxy's comparison then decodes both bodies and ignores $.served_at,
// rather than finding equal bytes.
func upstream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := fmt.Appendf(make([]byte, 0, len(upstreamBody)+40), `%s,"served_at":%d}`, upstreamBody[:len(upstreamBody)-1], time.Now().UnixNano())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

// stallServer accepts connections, reads what comes and never answers,
// until the test ends.
func stallServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// proxyChild is the shadow proxy running in its own process.
type proxyChild struct {
	Addr, Admin string
	cmd         *exec.Cmd
}

func startProxyChild(tb testing.TB, live, dark string) *proxyChild {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), exe)
	cmd.Env = append(os.Environ(), childEnv+"=http://"+live+" http://"+dark)
	// Extra environment for the proxy only, for experiments such as
	// SHADOW_BENCH_CHILD_ENV="GOMAXPROCS=1 GOGC=400".
	cmd.Env = append(cmd.Env, strings.Fields(os.Getenv("SHADOW_BENCH_CHILD_ENV"))...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("shadow proxy child: %v", err)
	}
	addr, admin, _ := strings.Cut(strings.TrimSpace(line), " ")
	return &proxyChild{Addr: addr, Admin: admin, cmd: cmd}
}

// stats reads and resets the child proxy's figures.
func (c *proxyChild) stats(tb testing.TB) shadow.Snapshot {
	tb.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+c.Admin+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var s shadow.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// cpuTicks returns the CPU time (user and system, in clock ticks of
// 10 ms) that the processes used so far.
func cpuTicks(pids ...int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state … utime stime: the 12th and 13th fields after comm.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		total += utime + stime
	}
	return total
}

// machineTicks returns the machine's busy and total CPU time in clock
// ticks, from /proc/stat.
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		if i >= 8 { // guest time is already in user time
			break
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// memory is a process's resident memory and its peak, in KiB.
type memory struct{ RSS, Peak int64 }

func readMemory(pid int) memory {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}
	}
	var m memory
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			m.RSS = kb
		case "VmHWM":
			m.Peak = kb
		}
	}
	return m
}

// nginxMirror is nginx, mirroring every request to dark with its mirror
// module, run by hand in the foreground.
type nginxMirror struct {
	Addr string
	cmd  *exec.Cmd
}

// nginxConfig proxies to live over keep-alive connections, and mirrors
// every request (body included) to dark with the same timeouts as the
// shadow proxy's.
const nginxConfig = `%s
worker_processes 2;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    upstream live { server %[3]s; keepalive 64; }
    upstream dark { server %[4]s; keepalive 64; }
    server {
        listen %[5]s;
        location / {
            mirror /mirror;
            mirror_request_body on;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://live;
        }
        location = /mirror {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout %[6]ds;
            proxy_send_timeout %[6]ds;
            proxy_read_timeout %[6]ds;
            proxy_pass http://dark$request_uri;
        }
    }
}
`

// startNginx starts nginx, or returns nil when it is not installed.
func startNginx(tb testing.TB, live, dark string) *nginxMirror {
	tb.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			return nil
		}
	}
	dir := tb.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil { // workers may run as another user
		tb.Fatal(err)
	}
	addr := freeAddr(tb)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(nginxConfig, user, dir, live, dark, addr, int(darkTimeout.Seconds()))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	waitListening(tb, addr)
	return &nginxMirror{Addr: addr, cmd: cmd}
}

// pids returns nginx's processes: the master and its workers.
func (n *nginxMirror) pids() []int {
	return append([]int{n.cmd.Process.Pid}, childPIDs(n.cmd.Process.Pid)...)
}

// memory sums the resident memory of nginx's processes.
func (n *nginxMirror) memory() memory {
	var total memory
	for _, pid := range n.pids() {
		m := readMemory(pid)
		total.RSS += m.RSS
		total.Peak += m.Peak
	}
	return total
}

func childPIDs(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for f := range strings.FieldsSeq(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadClient loads one target over keep-alive HTTP/1.1 connections, one
// per generator goroutine, like wrk: each connection writes the same
// serialized GET and reads the answer into its own buffer without
// allocating (net/http's client would cost more CPU than the proxies).
type loadClient struct {
	addr string
	req  []byte
	pool []*loadConn
}

func newLoadClient(addr string) *loadClient {
	req := fmt.Appendf(nil, "GET /api/rooms/42?view=full HTTP/1.1\r\nHost: %s\r\nUser-Agent: shadow-bench\r\nAccept: application/json\r\n\r\n", addr)
	return &loadClient{addr: addr, req: req}
}

// conns returns n open connections, dialing those it lacks; broken ones
// are replaced.
func (c *loadClient) conns(n int) ([]*loadConn, error) {
	c.pool = slices.DeleteFunc(c.pool, func(lc *loadConn) bool {
		if lc.broken {
			_ = lc.conn.Close()
		}
		return lc.broken
	})
	for len(c.pool) < n {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return nil, err
		}
		c.pool = append(c.pool, &loadConn{conn: conn, req: c.req, buf: make([]byte, 16<<10)})
	}
	return c.pool[:n], nil
}

func (c *loadClient) close() {
	for _, lc := range c.pool {
		_ = lc.conn.Close()
	}
	c.pool = nil
}

// loadConn is one keep-alive connection.
type loadConn struct {
	conn   net.Conn
	req    []byte
	buf    []byte
	broken bool
}

// do sends the request and reads the whole answer, which must be a 200
// with a Content-Length.
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
	if len(head) < 12 || string(head[:12]) != "HTTP/1.1 200" {
		return fmt.Errorf("unexpected answer %q", head)
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
	return nil
}

// openLoopResult is one fixed-rate slot's latencies, sorted. Requests that
// had no answer by the end of the slot (plus a grace period) count with
// the time they had waited by then: a lower bound, so quantiles that reach
// them are lower bounds too (Censored says how many).
type openLoopResult struct {
	Latencies []time.Duration
	Censored  int
	Elapsed   time.Duration
	Err       error
}

func (r openLoopResult) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// openLoop sends rate requests per second for d over conns connections:
// connection k sends requests k, k+conns, … each at its own due time on a
// fixed schedule, whatever the answers before it took. A request's latency
// runs from its due time when an earlier answer on its connection made it
// late (no coordinated omission), otherwise from when it was sent.
func openLoop(c *loadClient, rate float64, conns int, d, grace time.Duration) openLoopResult {
	pool, err := c.conns(conns)
	if err != nil {
		return openLoopResult{Err: err}
	}
	total := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([][]time.Duration, conns)
	censored := make([]int, conns)
	var (
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	start := time.Now().Add(10 * time.Millisecond)
	stop := start.Add(d + grace)
	for k, conn := range pool {
		lat[k] = make([]time.Duration, 0, total/conns+1)
		_ = conn.conn.SetDeadline(stop)
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
					conn.broken = true
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
						errOnce.Do(func() { first = err })
						return
					}
					// No answer by the deadline: this request and the
					// ones still due on this connection waited at least
					// until then.
					for j := i; j < total; j += conns {
						lat[k] = append(lat[k], max(stop.Sub(start.Add(time.Duration(j)*interval)), 0))
						censored[k]++
					}
					return
				}
				lat[k] = append(lat[k], time.Since(sent))
			}
		})
	}
	wg.Wait()
	res := openLoopResult{Elapsed: time.Since(start), Err: first}
	for k, l := range lat {
		res.Latencies = append(res.Latencies, l...)
		res.Censored += censored[k]
	}
	slices.Sort(res.Latencies)
	for _, lc := range pool {
		_ = lc.conn.SetDeadline(time.Time{})
	}
	return res
}

// warmRequests is the number of requests warm sends on each connection.
const warmRequests = 20

// warm sends a few requests on every connection, within a few seconds: a
// connection that gets no answer by then (nginx behind a stalled mirror)
// is dropped, to be dialed again.
func warm(c *loadClient, conns int) error {
	pool, err := c.conns(conns)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, lc := range pool {
		_ = lc.conn.SetDeadline(deadline)
	}
	defer func() {
		for _, lc := range pool {
			_ = lc.conn.SetDeadline(time.Time{})
		}
	}()
	var wg sync.WaitGroup
	var errOnce sync.Once
	var first error
	for _, lc := range pool {
		wg.Go(func() {
			for range warmRequests {
				if err := lc.do(); err != nil {
					lc.broken = true
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
						errOnce.Do(func() { first = err })
					}
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// envFloat reads a tuning knob from the environment.
func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v >= 0 {
		return v
	}
	return def
}
