package shadow_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

// Synthetic load reaches dark round robin, with its headers, and counts
// into the stats as synthetic requests.
func TestSynthetic(t *testing.T) {
	// Dark lives under a base path, which requests are joined under.
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/base")
		darkHandler(u, w, r)
	})
	stats := shadow.NewStats(10)
	reqs := []shadow.SyntheticRequest{
		{Method: "GET", Path: "/same"},
		{Method: "GET", Path: "/fail?page=2", Headers: map[string]string{"X-User": "synthetic"}},
	}
	s, err := shadow.NewSynthetic(dark.URL+"/base/", reqs, 200, stats, shadow.SyntheticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	s.Start() // a second Start does nothing
	waitFor(t, "ten synthetic requests of each kind", func() bool {
		return dark.count("/base/same") >= 10 && dark.count("/base/fail") >= 10
	})
	s.Stop()
	s.Stop()
	got := stats.Swap()
	if got.Requests == 0 || got.Synthetic != got.Requests || got.Errors == 0 || got.Errors > got.Requests/2+1 || got.Compared != 0 {
		t.Fatalf("synthetic figures %+v", got)
	}
	for _, r := range dark.requests() {
		if r.Path == "/base/fail" && (r.Header.Get("X-User") != "synthetic" || r.Query != "page=2") {
			t.Fatalf("synthetic request arrived as %+v", r)
		}
	}
	// Stopped means stopped: nothing more arrives.
	n := len(dark.requests())
	time.Sleep(50 * time.Millisecond)
	if m := len(dark.requests()); m != n {
		t.Fatalf("%d requests after Stop", m-n)
	}
}

// Against a dark upstream that never answers, synthetic load stays within
// MaxInFlight (the rest is dropped and counted) and Stop still returns,
// cancelling what hangs without counting it.
func TestSyntheticHungDark(t *testing.T) {
	dark := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) { u.hang(r) })
	stats := shadow.NewStats(10)
	s, err := shadow.NewSynthetic(dark.URL, []shadow.SyntheticRequest{{Method: "GET", Path: "/"}}, 500, stats,
		shadow.SyntheticOptions{MaxInFlight: 4, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	var sum shadow.Snapshot
	waitFor(t, "drops", func() bool {
		sum.Merge(stats.Swap(), -1)
		return sum.Dropped > 0 && len(dark.requests()) == 4
	})
	s.Stop()
	sum.Merge(stats.Swap(), -1)
	if sum.Requests != 0 || len(dark.requests()) != 4 {
		t.Fatalf("figures %+v, dark saw %d", sum, len(dark.requests()))
	}
}

func TestSyntheticInput(t *testing.T) {
	stats := shadow.NewStats(1)
	ok := []shadow.SyntheticRequest{{Method: "GET", Path: "/"}}
	for _, tc := range []struct {
		dark string
		reqs []shadow.SyntheticRequest
		rate float64
		want string
	}{
		{"chat", ok, 1, "dark_url"},
		{"http://dark", ok, 0, "requests_per_second"},
		{"http://dark", nil, 1, "at least one"},
		{"http://dark", []shadow.SyntheticRequest{{Method: "get", Path: "/"}}, 1, "request[0].method"},
		{"http://dark", []shadow.SyntheticRequest{{Method: "GET", Path: "rooms"}}, 1, "must start with /"},
		{"http://dark", []shadow.SyntheticRequest{{Method: "GET", Path: "/", Headers: map[string]string{"Bad Header": "x"}}}, 1, "not a valid header name"},
	} {
		_, err := shadow.NewSynthetic(tc.dark, tc.reqs, tc.rate, stats, shadow.SyntheticOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSynthetic(%q, %v, %v) = %v, want %q", tc.dark, tc.reqs, tc.rate, err, tc.want)
		}
	}
}
