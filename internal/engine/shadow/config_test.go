package shadow_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/shadow"
)

func TestConfigValidate(t *testing.T) {
	valid := config("http://chat-v1.internal:8080", "http://chat-v2.internal:8080")
	if err := valid.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*shadow.Config)
		want   string
	}{
		{"no name", func(c *shadow.Config) { c.Name = " " }, "name: required"},
		{"no live", func(c *shadow.Config) { c.LiveURL = "" }, "live_url: required"},
		{"scheme", func(c *shadow.Config) { c.LiveURL = "ftp://chat" }, `live_url: "ftp://chat" is not an http:// or https:// URL`},
		{"no scheme", func(c *shadow.Config) { c.DarkURL = "chat-v2.internal:8080" }, "dark_url: "},
		{"no host", func(c *shadow.Config) { c.DarkURL = "http:///x" }, "has no host"},
		{"bad port", func(c *shadow.Config) { c.DarkURL = "http://dark:99999" }, "invalid port"},
		{"query", func(c *shadow.Config) { c.DarkURL = "http://dark/?a=1" }, "has a query"},
		{"credentials", func(c *shadow.Config) { c.DarkURL = "http://u:p@dark" }, "credentials"},
		{"malformed", func(c *shadow.Config) { c.DarkURL = "http://dark:port:x/%zz" }, "is not a URL"},
		{"live is dark", func(c *shadow.Config) { c.DarkURL = "HTTP://Chat-V1.internal:8080/" }, "dark_url: \"HTTP://Chat-V1.internal:8080/\" is the live_url"},
		{"default port", func(c *shadow.Config) { c.LiveURL, c.DarkURL = "http://a", "http://a:80" }, "is the live_url"},
		{"percent high", func(c *shadow.Config) { c.MirrorPercent = 100.5 }, "mirror_percent: 100.5 is outside 0..100"},
		{"percent low", func(c *shadow.Config) { c.MirrorPercent = -1 }, "outside 0..100"},
		{"percent NaN", func(c *shadow.Config) { c.MirrorPercent = math.NaN() }, "outside 0..100"},
		{"decimals", func(c *shadow.Config) { c.MirrorPercent = 12.3456 }, "more than 3 decimals"},
		{"method", func(c *shadow.Config) { c.Methods = []string{"GET", "FETCH"} }, `methods[1]: unknown HTTP method "FETCH"; use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS`},
		{"lower case", func(c *shadow.Config) { c.Methods = []string{"post"} }, "(methods are upper case: POST)"},
		{"strip", func(c *shadow.Config) { c.StripHeaders = []string{"X Bad"} }, `strip_headers[0]: "X Bad" is not a valid header name`},
		{"ignore header", func(c *shadow.Config) { c.Compare.IgnoreHeaders = []string{""} }, "compare.ignore_headers[0]"},
		{"json path", func(c *shadow.Config) { c.Compare.IgnoreJSONPaths = []string{"$.ok", "$.a["} },
			`compare.ignore_json_paths[1]: invalid JSONPath "$.a[": unterminated bracket at offset 3`},
		{"noise is live", func(c *shadow.Config) { c.Compare.NoiseURL = c.LiveURL }, "compare.noise_url: \"http://chat-v1.internal:8080\" is the live_url"},
		{"noise is dark", func(c *shadow.Config) { c.Compare.NoiseURL = c.DarkURL }, "is the dark_url"},
		{"noise bad", func(c *shadow.Config) { c.Compare.NoiseURL = "noise" }, "compare.noise_url"},
	} {
		c := valid
		c.Methods = append([]string(nil), valid.Methods...)
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// Every problem at once.
	c := valid
	c.MirrorPercent, c.Methods, c.DarkURL = 101, []string{"FETCH"}, ""
	if err := c.Validate(); err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("three problems, one per line: %v", err)
	}
	for _, ok := range []float64{0, 0.001, 12.345, 99.999, 100} {
		c := valid
		c.MirrorPercent = ok
		if err := c.Validate(); err != nil {
			t.Errorf("mirror_percent %v: %v", ok, err)
		}
	}
}

// The JSON shape the engine serves; the revision may be a number or a
// string.
func TestConfigJSON(t *testing.T) {
	in := `{"name":"chat-backend","live_url":"http://chat-v1.internal:8080","dark_url":"http://chat-v2.internal:8080",
		"mirror_percent":10.5,"methods":["GET","HEAD"],"strip_headers":["Cookie"],
		"compare":{"enabled":true,"ignore_headers":["Date","X-Request-Id"],"ignore_json_paths":["$.timestamp","$.items[*].etag"],
		"noise_url":"http://chat-v1-b.internal:8080"},"paused":false,"revision":42}`
	var c shadow.Config
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Revision != "42" || c.MirrorPercent != 10.5 || !c.Compare.Enabled || c.Compare.NoiseURL == "" || len(c.Compare.IgnoreJSONPaths) != 2 {
		t.Fatalf("%+v", c)
	}
	if err := json.Unmarshal([]byte(`{"revision":"abc"}`), &c); err != nil || c.Revision != "abc" {
		t.Fatalf("string revision: %q, %v", c.Revision, err)
	}
	if err := json.Unmarshal([]byte(`{"revision":[1]}`), &c); err == nil {
		t.Fatal("an array revision must be refused")
	}
	out, _ := json.Marshal(shadow.Config{Revision: "7"})
	if !strings.Contains(string(out), `"revision":"7"`) {
		t.Fatalf("%s", out)
	}
}
