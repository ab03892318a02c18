package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/darklaunch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

var darkNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func collectingLaunch() (wire.DarkLaunch, wire.DarkLaunchStatus) {
	on := true
	d := wire.DarkLaunch{Project: "default", Status: model.DarkCollecting, DarkLaunchSpec: model.DarkLaunchSpec{
		Name: "chat-backend", LiveURL: "http://chat-v1.internal:8080", DarkURL: "http://chat-v2.internal:8080",
		MirrorPercent: 12.5, Methods: []string{"GET", "HEAD"}, Compare: model.DarkCompare{Enabled: &on},
		Acceptance:    model.DarkAcceptance{MinRequests: 10000, MaxErrorRate: 0.01, MaxP99Latency: model.Duration(300 * time.Millisecond), MaxDiffRate: 0.02},
		ReleaseToggle: "chat-ui",
	}}
	st := wire.DarkLaunchStatus{Project: "default", Name: "chat-backend", Status: model.DarkCollecting,
		Message:         "collecting: 3,200 of 10,000 requests, error rate 0.4 %",
		CollectingSince: darkNow.Add(-time.Hour), MinRequests: 10000, ReleaseToggle: "chat-ui", Held: true,
		Figures: darklaunch.Figures{Requests: 3200, Synthetic: 200, Errors: 13, ErrorRate: 13.0 / 3200,
			P50Latency: model.Duration(12*time.Millisecond + 345*time.Microsecond), P99Latency: model.Duration(180 * time.Millisecond),
			Compared: 3000, Diffs: 24, DiffRate: 0.008, Dropped: 7, Skipped: 2},
		Proxies: map[string]darklaunch.Proxy{
			"web-2-77-bbbbbb": {Sequence: 40, LastReport: darkNow.Add(-3 * time.Second), Revision: "4.0.collecting"},
			"web-1-42-aaaaaa": {Sequence: 41, LastReport: darkNow.Add(-1500 * time.Millisecond), Revision: "3.0.collecting", ConfigError: "mirror_percent: 120 is outside 0..100"},
		},
	}
	return d, st
}

// The status block shows each figure against its bound, the held toggle
// and each proxy with the age of its last report.
func TestRenderDarkStatus(t *testing.T) {
	d, st := collectingLaunch()
	var b bytes.Buffer
	renderDarkStatus(&b, d, st, darkNow)
	want := `dark launch default/chat-backend: collecting
  collecting: 3,200 of 10,000 requests, error rate 0.4 %
  mirroring         12.5 % of GET, HEAD, from http://chat-v1.internal:8080 to http://chat-v2.internal:8080
  requests          3,200 of 10,000 (200 synthetic)
  error rate        0.41 % (13 errors; max 1.00 %)
  latency           p50 12.3ms, p99 180ms (max 300ms)
  diff rate         0.80 % (24 of 3,000 compared; max 2.00 %)
  dropped           7 (copies not sent: a proxy's queue was full)
  skipped           2 (request bodies too large to mirror)
  release toggle    chat-ui, held off until this dark launch is proven
  collecting since  2026-11-26T09:00:00Z
  proxies           2
    web-1-42-aaaaaa  last report 2s ago, config revision 3.0.collecting, refusing its config: mirror_percent: 120 is outside 0..100
    web-2-77-bbbbbb  last report 3s ago, config revision 4.0.collecting
`
	if got := b.String(); got != want {
		t.Errorf("status block:\n%s\nwant:\n%s", got, want)
	}

	// A new launch: nothing measured, nobody reporting, comparison off.
	off := false
	d.Compare.Enabled, d.ReleaseToggle, d.Acceptance.MaxP99Latency = &off, "", 0
	st = wire.DarkLaunchStatus{Project: "default", Name: "chat-backend", Status: model.DarkCollecting, MinRequests: 10000}
	b.Reset()
	renderDarkStatus(&b, d, st, darkNow)
	wantContains(t, "new launch", b.String(), "requests          0 of 10,000\n", "latency           - (nothing has reached",
		"diff rate         - (comparison is off)", "release toggle    none",
		"proxies           none has reported; run `progressive shadow --dark-launch chat-backend` in front of http://chat-v1.internal:8080")
}

func TestRenderDarkList(t *testing.T) {
	d, st := collectingLaunch()
	d2 := wire.DarkLaunch{Project: "default", Status: model.DarkProven, DarkLaunchSpec: model.DarkLaunchSpec{Name: "search", MirrorPercent: 100}}
	st2 := wire.DarkLaunchStatus{Name: "search", Status: model.DarkProven, MinRequests: 100, Figures: darklaunch.Figures{Requests: 120}, ReleaseToggle: "search-ui", Message: "proven after 120 requests"}
	var b bytes.Buffer
	if err := renderDarkList(&b, []darkRow{{d, st}, {d2, st2}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("list:\n%s", b.String())
	}
	wantContains(t, "header", lines[0], "NAME", "STATUS", "MIRROR", "TOGGLE", "REQUESTS", "ERROR RATE", "DIFF RATE", "MESSAGE")
	wantContains(t, "row 1", lines[1], "chat-backend", "collecting", "12.5 %", "chat-ui (held)", "3,200 of 10,000", "0.41 %", "0.80 %", "collecting: 3,200")
	wantContains(t, "row 2", lines[2], "search", "proven", "100 %", "search-ui ", "120 of 100", "proven after 120 requests")
	if strings.Contains(lines[2], "(held)") {
		t.Errorf("a proven launch shows its toggle held: %s", lines[2])
	}
}

// Diffs print newest first, a field per line, live against dark, with
// values that would break the table quoted.
func TestRenderDiffs(t *testing.T) {
	older := darklaunch.Sample{Instance: "web-1", Diff: shadow.Diff{Time: darkNow.Add(-time.Minute), Method: "GET", Path: "/api/rooms",
		Fields: []shadow.FieldDiff{{Kind: "status", Live: "200", Dark: "500"}}}}
	newer := darklaunch.Sample{Instance: "web-2", Diff: shadow.Diff{Time: darkNow, Method: "POST", Path: "/api/rooms/42/messages", Truncated: true,
		Fields: []shadow.FieldDiff{
			{Kind: "header", Name: "Etag", Live: `"abc"`, Dark: "(absent)"},
			{Kind: "body", Name: "$.items[0].text", Live: `"hi"`, Dark: `"hi\nthere"`},
			{Kind: "body", Live: "line one\nline two", Dark: ""},
		}}}
	samples := newestFirst([]darklaunch.Sample{older, newer})
	if samples[0].Instance != "web-2" || samples[1].Instance != "web-1" {
		t.Fatalf("newestFirst: %+v", samples)
	}
	var b bytes.Buffer
	renderDiffs(&b, samples)
	want := `POST /api/rooms/42/messages  2026-11-26T10:00:00Z  (proxy web-2)
  FIELD                 LIVE                  DARK
  header Etag           "abc"                 (absent)
  body $.items[0].text  "hi"                  "hi\nthere"
  body                  "line one\nline two"  ""
  (more fields differed than the sample keeps)

GET /api/rooms  2026-11-26T09:59:00Z  (proxy web-1)
  FIELD   LIVE  DARK
  status  200   500
`
	if got := b.String(); got != want {
		t.Errorf("diffs:\n%s\nwant:\n%s", got, want)
	}
}

func TestDarkActionOutcome(t *testing.T) {
	at := func(status, msg string) wire.DarkLaunch {
		return wire.DarkLaunch{DarkLaunchSpec: model.DarkLaunchSpec{Name: "chat-backend"}, Status: status, Message: msg}
	}
	for _, c := range []struct {
		action        string
		before, after wire.DarkLaunch
		want          string
	}{
		{"pause", at(model.DarkCollecting, ""), at(model.DarkPaused, "paused by ci"), "Paused dark launch chat-backend: proxies stop mirroring at their next config poll"},
		{"pause", at(model.DarkPaused, ""), at(model.DarkPaused, "paused by ci: nothing is mirrored or generated"), "Dark launch chat-backend was already paused: paused by ci: nothing is mirrored or generated"},
		{"resume", at(model.DarkPaused, ""), at(model.DarkProven, ""), "Resumed dark launch chat-backend: it is proven again"},
		{"resume", at(model.DarkFailed, ""), at(model.DarkFailed, ""), "is not paused (it is failed): nothing to resume; after a fix, `progressive dark reset chat-backend`"},
		{"reset", at(model.DarkFailed, ""), at(model.DarkCollecting, ""), "Reset dark launch chat-backend: collecting afresh from 0 requests"},
	} {
		if got := darkActionOutcome(c.action, c.before, c.after); !strings.Contains(got, c.want) {
			t.Errorf("%s from %s: %q; want it to contain %q", c.action, c.before.Status, got, c.want)
		}
	}
}

func TestDarkFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{grouped(0), "0"}, {grouped(999), "999"}, {grouped(1000), "1,000"}, {grouped(1234567), "1,234,567"}, {grouped(-5), "-5"},
		{rate(0), "0.00 %"}, {rate(0.0041), "0.41 %"}, {rate(1), "100.00 %"},
		{formatPercent(100), "100"}, {formatPercent(12.5), "12.5"}, {formatPercent(0.125), "0.125"},
		{latency(model.Duration(850*time.Microsecond + 300)), "850µs"}, {latency(model.Duration(2345 * time.Microsecond)), "2.3ms"},
		{printable("plain value"), "plain value"}, {printable(""), `""`}, {printable("a\tb"), `"a\tb"`},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// Wrong arguments are refused before the engine is called.
func TestDarkCommandArguments(t *testing.T) {
	cleanShadowEnv(t)
	t.Setenv("PROGRESSIVE_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("PROGRESSIVE_TOKEN", "prog_test")
	for _, c := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{args: []string{"dark"}, usage: true},
		{args: []string{"dark", "promote", "chat-backend"}, want: `unknown dark command "promote": use list, status, diff, pause, resume or reset`},
		{args: []string{"dark", "status"}, want: "dark status takes one argument: the dark launch's name"},
		{args: []string{"dark", "pause", "a", "b"}, want: "dark pause takes one argument"},
		{args: []string{"dark", "list", "chat-backend"}, want: "dark list takes no arguments"},
		{args: []string{"dark", "diff", "--limit", "-1", "chat-backend"}, want: "--limit -1 cannot be negative"},
		{args: []string{"dark", "status", "--bogus", "chat-backend"}, usage: true},
	} {
		_, _, err := cli(t, c.args...)
		if err == nil {
			t.Errorf("%q: no error", c.args)
			continue
		}
		if errors.Is(err, errUsage) != c.usage {
			t.Errorf("%q: %v; errUsage %v, want %v", c.args, err, errors.Is(err, errUsage), c.usage)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want it to contain %q", c.args, err, c.want)
		}
	}
	t.Setenv("PROGRESSIVE_TOKEN", "")
	if _, _, err := cli(t, "dark", "status", "chat-backend"); err == nil || !strings.Contains(err.Error(), "PROGRESSIVE_TOKEN") {
		t.Errorf("dark status without a token: %v", err)
	}
}
