package shadow_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

// Live's response reaches the client as live sent it, whatever dark does,
// and every mirrored copy reaches dark with the same method, path and
// query.
func TestLiveResponseUnchanged(t *testing.T) {
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("X-Live", "yes")
			w.WriteHeader(http.StatusAccepted)
			for i := range 5 {
				_, _ = fmt.Fprintf(w, "chunk %d\n", i)
				w.(http.Flusher).Flush()
			}
			return
		}
		liveHandler(u, w, r)
	})
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusTeapot, `{"dark":true}`)
	})
	p := newProxy(t, shadow.Options{})
	if err := p.SetConfig(config(live.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)

	status, header, body := do(t, http.DefaultClient, http.MethodGet, front+"/stream?x=1&y=%2F", nil, nil)
	if status != http.StatusAccepted || header.Get("X-Live") != "yes" || body != "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n" {
		t.Fatalf("stream: %d %v %q", status, header, body)
	}
	status, body = get(t, front+"/text")
	if status != http.StatusOK || body != "hello\n" {
		t.Fatalf("text: %d %q", status, body)
	}
	status, header, _ = do(t, http.DefaultClient, http.MethodHead, front+"/text", nil, nil)
	if status != http.StatusOK || header.Get("Content-Type") != "text/plain" {
		t.Fatalf("HEAD: %d %v", status, header)
	}
	s := drain(t, p)
	if s.Requests != 3 {
		t.Fatalf("dark saw %d copies, want 3: %+v", s.Requests, s)
	}
	// Copies run concurrently: their order at dark is not the clients'.
	got := map[string]seenRequest{}
	for _, r := range dark.requests() {
		got[r.Method+" "+r.Path] = r
	}
	if r := got["GET /stream"]; r.Query != "x=1&y=%2F" || len(got) != 3 || got["HEAD /text"].Method != http.MethodHead {
		t.Fatalf("dark received %+v", got)
	}
	// The live request carried the client's address; so did the copy.
	if xff := live.requests()[0].Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Fatalf("live X-Forwarded-For = %q", xff)
	}
	if xff := got["GET /stream"].Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Fatalf("dark X-Forwarded-For = %q", xff)
	}
}

// The figures the verdict uses: compared, diffs (honouring the ignore
// lists), errors (5xx, timeouts) and latency counts, against a dark
// backend that differs on some paths, is slow, fails or hangs on others.
func TestComparisonFigures(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{DarkTimeout: 300 * time.Millisecond, MaxSamples: 100})
	if err := p.SetConfig(config(live.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	sent := map[string]int{"/same": 20, "/differs": 5, "/slow": 4, "/fail": 3, "/hang": 2, "/text": 3, "/status": 2}
	for path, n := range sent {
		for range n {
			if status, _ := get(t, front+path); status != http.StatusOK {
				t.Fatalf("%s: live status %d", path, status)
			}
		}
	}
	s := drain(t, p)
	total := 0
	for _, n := range sent {
		total += n
	}
	// Every copy reached dark; the hung ones timed out and are errors,
	// as are the 500s; only answered copies are compared.
	if s.Requests != int64(total) || s.Errors != 5 || s.Timeouts != 2 {
		t.Fatalf("requests %d errors %d timeouts %d, want %d, 5, 2", s.Requests, s.Errors, s.Timeouts, total)
	}
	if s.Compared != int64(total-2) {
		t.Fatalf("compared %d, want %d", s.Compared, total-2)
	}
	// /differs (count 1 vs 2), /fail (status and body) and /status (200
	// vs 404) differ; /same, /slow and /text do not, thanks to the ignore
	// lists and number comparison by value.
	if want := int64(5 + 3 + 2); s.Diffs != want {
		for _, d := range s.Samples {
			t.Logf("sample: %+v", d)
		}
		t.Fatalf("diffs %d, want %d", s.Diffs, want)
	}
	if s.Latency.Count() != int64(total) {
		t.Fatalf("latency count %d, want %d (answers and timeouts)", s.Latency.Count(), total)
	}
	if s.Dropped != 0 || s.Skipped != 0 {
		t.Fatalf("dropped %d skipped %d", s.Dropped, s.Skipped)
	}
	fields := map[string]shadow.FieldDiff{}
	for _, d := range s.Samples {
		for _, f := range d.Fields {
			fields[d.Path+" "+f.Kind+" "+f.Name] = f
		}
	}
	if f := fields["/differs body $.count"]; f.Live != "1" || f.Dark != "2" {
		t.Fatalf("/differs sample: %+v", fields)
	}
	if f := fields["/status status "]; f.Live != "200" || f.Dark != "404" {
		t.Fatalf("/status sample: %+v", fields)
	}
	if f := fields["/fail status "]; f.Live != "200" || f.Dark != "500" {
		t.Fatalf("/fail sample: %+v", fields)
	}
	for key := range fields {
		if strings.HasPrefix(key, "/same") || strings.Contains(key, "X-Request-Id") || strings.Contains(key, "timestamp") {
			t.Fatalf("ignored field counted: %s", key)
		}
	}
}

// Without ignore lists, the fields that vary by themselves count as
// diffs: the ignore lists are what keeps /same equal.
func TestIgnoreListsMatter(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	c := config(live.URL, dark.URL)
	c.Compare.IgnoreHeaders, c.Compare.IgnoreJSONPaths = nil, nil
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	for range 4 {
		get(t, front+"/same")
	}
	s := drain(t, p)
	if s.Compared != 4 || s.Diffs != 4 {
		t.Fatalf("compared %d diffs %d, want 4 and 4", s.Compared, s.Diffs)
	}
	var names []string
	for _, f := range s.Samples[0].Fields {
		names = append(names, f.Name)
	}
	want := []string{"X-Request-Id", "$.items[0].etag", "$.items[1].etag", "$.timestamp"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("differing fields %v, want %v", names, want)
	}
}

// With a noise instance, fields that differ between two live instances
// are discounted (Diffy's method); a real difference still counts.
func TestNoiseDiscount(t *testing.T) {
	live := newUpstream(t, liveHandler)
	noise := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)

	run := func(noiseURL string) shadow.Snapshot {
		p := newProxy(t, shadow.Options{MaxSamples: 100})
		c := config(live.URL, dark.URL)
		c.Compare.IgnoreHeaders = nil // X-Request-Id varies: noise must find it
		c.Compare.NoiseURL = noiseURL
		if err := p.SetConfig(c); err != nil {
			t.Fatal(err)
		}
		front := serve(t, p)
		for range 10 {
			get(t, front+"/noisy")
		}
		for range 4 {
			get(t, front+"/noisy-and-differs")
		}
		return drain(t, p)
	}

	without := run("")
	if without.Compared != 14 || without.Diffs != 14 || without.Noisy != 0 {
		t.Fatalf("without noise: compared %d diffs %d noisy %d, want 14, 14, 0", without.Compared, without.Diffs, without.Noisy)
	}
	with := run(noise.URL)
	if with.Compared != 14 || with.Diffs != 4 || with.Noisy != 10 || with.NoiseErrors != 0 {
		t.Fatalf("with noise: compared %d diffs %d noisy %d noise errors %d, want 14, 4, 10, 0", with.Compared, with.Diffs, with.Noisy, with.NoiseErrors)
	}
	for _, d := range with.Samples {
		if len(d.Fields) != 1 || d.Fields[0].Name != "$.v" {
			t.Fatalf("sample with noise: %+v, want only $.v", d)
		}
	}
	if n := noise.count("/noisy"); n != 10 {
		t.Fatalf("noise instance saw %d copies of /noisy, want 10", n)
	}
}

// A dark upstream that never answers (its timeout is an hour here) never
// delays live: every live request completes, the queue fills, the copies
// beyond it are dropped and counted, and Close gives up at its deadline.
func TestHungDarkNeverDelaysLive(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) { u.hang(r) })
	p, err := shadow.NewProxy(shadow.Options{Workers: 2, QueueSize: 3, DarkTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetConfig(config(live.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)

	const clients, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for range clients {
		wg.Go(func() {
			for range each {
				ctx, cancel := context.WithTimeout(context.Background(), patience)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front+"/same", nil)
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				cancel()
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("live request failed while dark hung: %v", err)
	}
	if n := live.count("/same"); n != clients*each {
		t.Fatalf("live served %d, want %d", n, clients*each)
	}
	// Two copies hang in the workers and three wait in the queue; every
	// other one was dropped.
	waitFor(t, "the workers to reach dark", func() bool { return dark.count("/same") == 2 })
	stopServing(p)
	s := p.Stats().Swap()
	if s.Dropped != clients*each-5 || s.Requests != 0 {
		t.Fatalf("dropped %d, requests %d; want %d dropped and none answered", s.Dropped, s.Requests, clients*each-5)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close with copies hung: %v", err)
	}
	// Cut short by Close, the hung copies are not counted as errors.
	if s := p.Stats().Swap(); s.Requests != 0 || s.Errors != 0 {
		t.Fatalf("after close: %+v", s)
	}
	// Live still answers after Close (copies stop, forwarding does not).
	if status, _ := get(t, serve(t, p)+"/same"); status != http.StatusOK {
		t.Fatalf("after close: status %d", status)
	}
}

// The queue's byte budget drops copies too.
func TestQueueBytesBudget(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) { u.hang(r) })
	p := newProxy(t, shadow.Options{Workers: 1, QueueSize: 100, QueueBytes: 4000, DarkTimeout: time.Hour})
	c := config(live.URL, dark.URL)
	c.Methods = []string{"POST"}
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	for range 10 {
		status, _, _ := do(t, http.DefaultClient, http.MethodPost, front+"/echo", nil, strings.NewReader(strings.Repeat("x", 1000)))
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	}
	stopServing(p)
	// 1,000-byte bodies plus their overhead: the 4,000-byte budget holds
	// two or three copies, never ten.
	if s := p.Stats().Swap(); s.Dropped < 7 {
		t.Fatalf("dropped %d of 10 with a 4,000-byte budget", s.Dropped)
	}
}

// Upgrade requests (websockets) reach live, switch protocols, and are
// never mirrored.
func TestUpgradePassthrough(t *testing.T) {
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			liveHandler(u, w, r)
			return
		}
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "echo")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	})
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	if err := p.SetConfig(config(live.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)

	conn, err := net.Dial("tcp", strings.TrimPrefix(front, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(patience))
	_, _ = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_, _ = io.WriteString(conn, "hi\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hi\n" {
		t.Fatalf("through the upgraded connection: %q, %v", line, err)
	}
	get(t, front+"/same") // a normal request, mirrored
	s := drain(t, p)
	if s.Requests != 1 || dark.count("/ws") != 0 {
		t.Fatalf("copies %d, dark saw /ws %d times; want 1 and 0", s.Requests, dark.count("/ws"))
	}
}

// Bodies over MaxBodyBytes stream to live in full but are not mirrored
// (skipped), announced or chunked; smaller ones are mirrored byte for
// byte.
func TestBodyCapSkip(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{MaxBodyBytes: 1024})
	c := config(live.URL, dark.URL)
	c.Methods = []string{"POST", "PUT"}
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)

	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	status, _, body := do(t, http.DefaultClient, http.MethodPost, front+"/echo", nil, bytes.NewReader(big))
	if status != http.StatusOK || body != "POST /echo got 65536 bytes" {
		t.Fatalf("announced large body: %d %q", status, body)
	}
	// No Content-Length: the proxy finds out while streaming.
	status, _, body = do(t, http.DefaultClient, http.MethodPut, front+"/echo", nil, io.MultiReader(bytes.NewReader(big)))
	if status != http.StatusOK || body != "PUT /echo got 65536 bytes" {
		t.Fatalf("chunked large body: %d %q", status, body)
	}
	small := []byte(`{"message":"hello"}`)
	status, _, _ = do(t, http.DefaultClient, http.MethodPost, front+"/echo?x=1", nil, bytes.NewReader(small))
	if status != http.StatusOK {
		t.Fatalf("small body: %d", status)
	}
	chunkedSmall := io.MultiReader(bytes.NewReader(small[:5]), bytes.NewReader(small[5:]))
	status, _, _ = do(t, http.DefaultClient, http.MethodPut, front+"/echo", nil, chunkedSmall)
	if status != http.StatusOK {
		t.Fatalf("small chunked body: %d", status)
	}
	get(t, front+"/same") // GET is not in methods: not mirrored

	s := drain(t, p)
	if s.Skipped != 2 || s.Requests != 2 {
		t.Fatalf("skipped %d, copies %d; want 2 and 2", s.Skipped, s.Requests)
	}
	got := map[string]seenRequest{}
	for _, r := range dark.requests() {
		got[r.Method] = r
	}
	if len(got) != 2 || !bytes.Equal(got["POST"].Body, small) || got["POST"].Query != "x=1" || !bytes.Equal(got["PUT"].Body, small) {
		t.Fatalf("dark received %+v", got)
	}
	if sha256.Sum256(live.requests()[0].Body) != sha256.Sum256(big) {
		t.Fatal("live did not receive the large body intact")
	}
}

// strip_headers never reach dark; Authorization, Cookie, Set-Cookie and
// strip_headers never appear in sample diffs.
func TestStripHeadersAndRedaction(t *testing.T) {
	const secret = "s3cr3t-value"
	live := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=live-"+secret)
		w.Header().Set("X-Api-Key", "live-"+secret)
		w.Header().Set("Authorization", "live-"+secret)
		writeJSON(w, http.StatusOK, `{"ok":true}`)
	})
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=dark-"+secret)
		w.Header().Set("X-Api-Key", "dark-"+secret)
		w.Header().Set("Authorization", "dark-"+secret)
		w.Header().Set("X-Extra", "visible")
		writeJSON(w, http.StatusOK, `{"ok":true}`)
	})
	p := newProxy(t, shadow.Options{})
	c := config(live.URL, dark.URL)
	c.StripHeaders = []string{"Cookie", "x-api-key"}
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	h := http.Header{"Cookie": {"session=" + secret}, "X-Api-Key": {secret}, "Authorization": {"Bearer " + secret}, "X-Other": {"kept"}}
	do(t, http.DefaultClient, http.MethodGet, front+"/anything?token="+secret, h, nil)
	s := drain(t, p)

	seen := dark.requests()[0].Header
	if seen.Get("Cookie") != "" || seen.Get("X-Api-Key") != "" {
		t.Fatalf("stripped headers reached dark: %v", seen)
	}
	if seen.Get("X-Other") != "kept" || seen.Get("Authorization") != "Bearer "+secret {
		t.Fatalf("other headers must reach dark as they came: %v", seen)
	}
	if live.requests()[0].Header.Get("Cookie") != "session="+secret {
		t.Fatal("live must receive the request unchanged")
	}
	if s.Diffs != 1 || len(s.Samples) != 1 {
		t.Fatalf("diffs %d samples %d", s.Diffs, len(s.Samples))
	}
	b, _ := json.Marshal(s)
	if bytes.Contains(b, []byte(secret)) {
		t.Fatalf("a secret reached the stored sample: %s", b)
	}
	byName := map[string]shadow.FieldDiff{}
	for _, f := range s.Samples[0].Fields {
		byName[f.Name] = f
	}
	for _, name := range []string{"Set-Cookie", "X-Api-Key", "Authorization"} {
		if f := byName[name]; f.Live != shadow.Redacted || f.Dark != shadow.Redacted {
			t.Fatalf("%s: %+v, want both redacted", name, f)
		}
	}
	if f := byName["X-Extra"]; f.Live != shadow.Absent || f.Dark != "visible" {
		t.Fatalf("X-Extra: %+v", f)
	}
	if s.Samples[0].Path != "/anything" {
		t.Fatalf("sample path %q: the query stays out", s.Samples[0].Path)
	}
}

// The config changes at runtime without dropping the client's keep-alive
// connection: percent 0 mirrors nothing, 100 everything, paused nothing;
// an invalid config is refused and the previous one stays.
func TestConfigSwap(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	front := serve(t, p)
	c := config(live.URL, dark.URL)
	c.MirrorPercent = 0
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var conns []net.Conn
	send := func() {
		t.Helper()
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { conns = append(conns, info.Conn) }}
		ctx := httptrace.WithClientTrace(context.Background(), trace)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front+"/same", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	darkCount := func() int { return dark.count("/same") }

	for range 5 {
		send()
	}
	c.MirrorPercent, c.Revision = 100, "2"
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		send()
	}
	waitFor(t, "5 copies at dark", func() bool { return darkCount() == 5 })

	c.Paused, c.Revision = true, "3"
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	bad := c
	bad.DarkURL = c.LiveURL
	if err := p.SetConfig(bad); err == nil || !strings.Contains(err.Error(), "dark_url") {
		t.Fatalf("invalid config accepted: %v", err)
	}
	if cur, _ := p.Config(); cur.Revision != "3" || !cur.Paused {
		t.Fatalf("config after a refused one: %+v", cur)
	}
	for range 5 {
		send()
	}
	s := drain(t, p)
	if s.Requests != 5 || darkCount() != 5 {
		t.Fatalf("copies %d, dark saw %d; want 5 (only while at 100%% and not paused)", s.Requests, darkCount())
	}
	for i, c := range conns {
		if c != conns[0] {
			t.Fatalf("request %d used another connection: a config change dropped it", i)
		}
	}
}

// A sample of the requests is mirrored at a partial percentage.
func TestPartialMirroring(t *testing.T) {
	live := newUpstream(t, liveHandler)
	dark := newUpstream(t, darkHandler)
	p := newProxy(t, shadow.Options{})
	c := config(live.URL, dark.URL)
	c.MirrorPercent = 25.5
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	const n = 400
	for range n {
		get(t, front+"/text")
	}
	s := drain(t, p)
	// Binomial(400, 0.255): mean 102, standard deviation 8.7; the bounds
	// are 6 deviations wide, so this fails about once in 10⁹ runs.
	if s.Requests < 50 || s.Requests > 155 {
		t.Fatalf("%d of %d mirrored at 25.5%%", s.Requests, n)
	}
}

// Without a config the proxy answers 503 saying why, or forwards to its
// fallback without mirroring.
func TestNoConfig(t *testing.T) {
	live := newUpstream(t, liveHandler)
	p := newProxy(t, shadow.Options{})
	front := serve(t, p)
	status, body := get(t, front+"/text")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "no dark launch config") {
		t.Fatalf("no config, no fallback: %d %q", status, body)
	}
	fb := newProxy(t, shadow.Options{Fallback: live.URL})
	status, body = get(t, serve(t, fb)+"/text")
	if status != http.StatusOK || body != "hello\n" {
		t.Fatalf("fallback: %d %q", status, body)
	}
	if _, err := shadow.NewProxy(shadow.Options{Fallback: "ftp://x"}); err == nil {
		t.Fatal("a bad fallback URL must be refused")
	}
}

// A live upstream that cannot be reached gives 502, and its copy is still
// sent (dark's load does not depend on live's health) but not compared.
func TestLiveDown(t *testing.T) {
	dark := newUpstream(t, darkHandler)
	down := newUpstream(t, liveHandler)
	down.Close()
	p := newProxy(t, shadow.Options{})
	if err := p.SetConfig(config(down.URL, dark.URL)); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, serve(t, p)+"/same"); status != http.StatusBadGateway {
		t.Fatalf("status %d", status)
	}
	s := drain(t, p)
	if s.Requests != 1 || s.Compared != 0 {
		t.Fatalf("requests %d compared %d", s.Requests, s.Compared)
	}
}

// A dark upstream that cannot be reached counts connection errors.
func TestDarkDown(t *testing.T) {
	live := newUpstream(t, liveHandler)
	down := newUpstream(t, darkHandler)
	down.Close()
	p := newProxy(t, shadow.Options{})
	if err := p.SetConfig(config(live.URL, down.URL)); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	for range 3 {
		if status, _ := get(t, front+"/same"); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	}
	s := drain(t, p)
	if s.Requests != 3 || s.Errors != 3 || s.Timeouts != 0 || s.Compared != 0 || s.Latency.Count() != 0 {
		t.Fatalf("%+v", s)
	}
}

// Pausing stops mirroring at once: copies still in the queue are not sent.
func TestPauseStopsQueuedCopies(t *testing.T) {
	live := newUpstream(t, liveHandler)
	gate := make(chan struct{})
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		<-gate
		darkHandler(u, w, r)
	})
	p := newProxy(t, shadow.Options{Workers: 1})
	c := config(live.URL, dark.URL)
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	front := serve(t, p)
	for range 5 {
		get(t, front+"/same")
	}
	waitFor(t, "the first copy at dark", func() bool { return dark.count("/same") == 1 })
	c.Paused, c.Revision = true, "2"
	if err := p.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	close(gate)
	s := drain(t, p)
	if s.Requests != 1 || dark.count("/same") != 1 {
		t.Fatalf("copies %d, dark saw %d; want only the one in flight when paused", s.Requests, dark.count("/same"))
	}
}
