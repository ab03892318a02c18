package model

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/jsonpath"
)

// KindDarkLaunch is the object kind of dark launches.
const KindDarkLaunch = "dark-launch"

// Dark launch states.
const (
	DarkCollecting = "collecting"
	DarkProven     = "proven"
	DarkFailed     = "failed"
	DarkPaused     = "paused"
)

// DarkMethods are the methods a dark launch may mirror; DefaultDarkMethods
// (those without side effects) are mirrored when none are named.
var (
	DarkMethods        = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	DefaultDarkMethods = []string{"GET", "HEAD"}
)

// DarkLaunchSpec is a backend live in production before its UI: a share of
// live traffic mirrored to it (by `progressive shadow`), responses compared
// and discarded, and acceptance bounds that must hold before the release
// toggle may turn on.
type DarkLaunchSpec struct {
	Name          string         `json:"name"`
	LiveURL       string         `json:"live_url"`
	DarkURL       string         `json:"dark_url"`
	MirrorPercent float64        `json:"mirror_percent"`
	Methods       []string       `json:"methods"`
	StripHeaders  []string       `json:"strip_headers"`
	Compare       DarkCompare    `json:"compare"`
	Synthetic     *Synthetic     `json:"synthetic,omitempty"`
	ALB           *DarkALB       `json:"alb,omitempty"`
	Acceptance    DarkAcceptance `json:"acceptance"`
	ReleaseToggle string         `json:"release_toggle,omitempty"`
}

// DarkCompare says how live and dark responses are compared.
type DarkCompare struct {
	Enabled         *bool    `json:"enabled,omitempty"`
	IgnoreHeaders   []string `json:"ignore_headers"`
	IgnoreJSONPaths []string `json:"ignore_json_paths"`
	NoiseURL        string   `json:"noise_url,omitempty"`
}

// IsEnabled reports whether comparison is on (the default).
func (c DarkCompare) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Synthetic is simulated user actions the engine sends to the dark backend.
type Synthetic struct {
	RequestsPerSecond float64            `json:"requests_per_second"`
	Requests          []SyntheticRequest `json:"requests"`
}

// SyntheticRequest is one simulated action, sent in turn with the others.
type SyntheticRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
}

// DarkALB is an engine-owned preview rule: matching requests reach the dark
// target group through the real load balancer.
type DarkALB struct {
	ListenerARN    string       `json:"listener_arn"`
	RulePriority   int          `json:"rule_priority"`
	TargetGroupARN string       `json:"target_group_arn"`
	HTTPHeaders    []HTTPHeader `json:"http_headers"`
}

// DarkAcceptance bounds what the dark backend must show before it is proven.
type DarkAcceptance struct {
	MinRequests   int64    `json:"min_requests"`
	MaxErrorRate  float64  `json:"max_error_rate"`
	MaxP99Latency Duration `json:"max_p99_latency"`
	MaxDiffRate   float64  `json:"max_diff_rate"`
}

// Normalize fills defaulted fields.
func (s *DarkLaunchSpec) Normalize() {
	if len(s.Methods) == 0 {
		s.Methods = slices.Clone(DefaultDarkMethods)
	}
	if s.StripHeaders == nil {
		s.StripHeaders = []string{}
	}
	if s.Compare.Enabled == nil {
		on := true
		s.Compare.Enabled = &on
	}
	if s.Compare.IgnoreHeaders == nil {
		s.Compare.IgnoreHeaders = []string{}
	}
	if s.Compare.IgnoreJSONPaths == nil {
		s.Compare.IgnoreJSONPaths = []string{}
	}
	if s.ALB != nil && s.ALB.HTTPHeaders == nil {
		s.ALB.HTTPHeaders = []HTTPHeader{}
	}
}

// Validate checks a dark launch, reporting every problem with a pointer.
func (s *DarkLaunchSpec) Validate() error {
	var p Problems
	switch {
	case s.Name == "":
		p.Add("/name", "the dark launch name is required: 1 to 63 lower-case letters, digits and hyphens, such as \"chat-backend\"")
	case !envNameRE.MatchString(s.Name):
		p.Add("/name", "the dark launch name "+quote(s.Name)+" is not valid: use 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	live, liveOK := checkUpstream(&p, "/live_url", s.LiveURL, true)
	dark, darkOK := checkUpstream(&p, "/dark_url", s.DarkURL, true)
	if liveOK && darkOK && sameURL(live, dark) {
		p.Add("/dark_url", "dark_url is the live_url: mirrored copies would hit the live service twice; point it at the new backend")
	}
	if m := s.MirrorPercent; math.IsNaN(m) || m < 0 || m > 100 {
		p.Add("/mirror_percent", fmt.Sprintf("mirror_percent %s is outside 0..100", ftoa(m)))
	} else if x := m * 1000; math.Abs(x-math.Round(x)) > 1e-6 {
		p.Add("/mirror_percent", fmt.Sprintf("mirror_percent %s has more than 3 decimals", ftoa(m)))
	}
	for i, m := range s.Methods {
		if !slices.Contains(DarkMethods, m) {
			hint := ""
			if up := strings.ToUpper(m); up != m && slices.Contains(DarkMethods, up) {
				hint = " (methods are upper case: " + up + ")"
			}
			p.Add(Pointer("methods", i), fmt.Sprintf("unknown HTTP method %q%s: use one of %s", m, hint, strings.Join(DarkMethods, ", ")))
		}
	}
	for i, h := range s.StripHeaders {
		if !headerRE.MatchString(h) {
			p.Add(Pointer("strip_headers", i), quote(h)+" is not a valid header name")
		}
	}
	c := s.Compare
	for i, h := range c.IgnoreHeaders {
		if !headerRE.MatchString(h) {
			p.Add(Pointer("compare", "ignore_headers", i), quote(h)+" is not a valid header name")
		}
	}
	for i, jp := range c.IgnoreJSONPaths {
		if _, err := jsonpath.Parse(jp); err != nil {
			p.Add(Pointer("compare", "ignore_json_paths", i), err.Error())
		}
	}
	if c.NoiseURL != "" {
		noise, ok := checkUpstream(&p, "/compare/noise_url", c.NoiseURL, false)
		switch {
		case ok && liveOK && sameURL(noise, live):
			p.Add("/compare/noise_url", "noise_url is the live_url; the noise instance is a second live instance, so that live-vs-noise differences show what varies by itself")
		case ok && darkOK && sameURL(noise, dark):
			p.Add("/compare/noise_url", "noise_url is the dark_url; the noise instance runs the live version")
		}
	}
	if sy := s.Synthetic; sy != nil {
		if r := sy.RequestsPerSecond; math.IsNaN(r) || r <= 0 || r > 10000 {
			p.Add("/synthetic/requests_per_second", fmt.Sprintf("requests_per_second %s is outside (0, 10000]", ftoa(r)))
		}
		if len(sy.Requests) == 0 {
			p.Add("/synthetic/requests", "synthetic load needs at least one request")
		}
		for i, r := range sy.Requests {
			base := Pointer("synthetic", "requests", i)
			if !slices.Contains(DarkMethods, r.Method) {
				p.Add(base+"/method", fmt.Sprintf("unknown HTTP method %q: use one of %s", r.Method, strings.Join(DarkMethods, ", ")))
			}
			if !strings.HasPrefix(r.Path, "/") {
				p.Add(base+"/path", quote(r.Path)+" is not a path: start it with /")
			}
			for h := range r.Headers {
				if !headerRE.MatchString(h) {
					p.Add(base+Pointer("headers", h), quote(h)+" is not a valid header name")
				}
			}
		}
	}
	if a := s.ALB; a != nil {
		switch {
		case a.ListenerARN == "":
			p.Add("/alb/listener_arn", "listener_arn is required")
		case !elbARNRE.MatchString(a.ListenerARN) || !strings.Contains(a.ListenerARN, ":listener/"):
			p.Add("/alb/listener_arn", quote(a.ListenerARN)+" is not a listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<lb>/<id>/<id>)")
		}
		if !elbARNRE.MatchString(a.TargetGroupARN) || !strings.Contains(a.TargetGroupARN, ":targetgroup/") {
			p.Add("/alb/target_group_arn", quote(a.TargetGroupARN)+" is not a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)")
		}
		if a.RulePriority < 1 || a.RulePriority > MaxRulePriority {
			p.Add("/alb/rule_priority", fmt.Sprintf("rule_priority %d is outside 1..%d", a.RulePriority, MaxRulePriority))
		}
		if len(a.HTTPHeaders) == 0 {
			p.Add("/alb/http_headers", "the preview rule needs an http_header that testers send, such as x-dark-launch: chat")
		}
		n := 0
		for i, h := range a.HTTPHeaders {
			hb := Pointer("alb", "http_headers", i)
			if !headerRE.MatchString(h.Name) {
				p.Add(hb+"/name", "the header name "+quote(h.Name)+" is not valid: 1 to 40 token characters such as x-dark-launch")
			}
			if len(h.Values) == 0 {
				p.Add(hb+"/values", "an http_header needs at least one value")
			}
			n += len(h.Values)
		}
		if n > MaxConditionValues {
			p.Add("/alb/http_headers", fmt.Sprintf("%d header values is more than ALB's limit of %d condition values per rule", n, MaxConditionValues))
		}
	}
	a := s.Acceptance
	if a.MinRequests < 0 {
		p.Add("/acceptance/min_requests", "min_requests cannot be negative")
	}
	for ptr, v := range map[string]float64{"/acceptance/max_error_rate": a.MaxErrorRate, "/acceptance/max_diff_rate": a.MaxDiffRate} {
		if math.IsNaN(v) || v < 0 || v > 1 {
			p.Add(ptr, fmt.Sprintf("%s is not a rate between 0 and 1 (0.01 is 1%%)", ftoa(v)))
		}
	}
	if a.MaxP99Latency < 0 {
		p.Add("/acceptance/max_p99_latency", "max_p99_latency cannot be negative")
	}
	if s.ReleaseToggle != "" && !toggleKeyRE.MatchString(s.ReleaseToggle) {
		p.Add("/release_toggle", quote(s.ReleaseToggle)+" is not a toggle key")
	}
	return p.Err()
}

func checkUpstream(p *Problems, ptr, raw string, required bool) (*url.URL, bool) {
	if raw == "" {
		if required {
			p.Add(ptr, "the URL is required, such as http://chat-v2.internal:8080")
		}
		return nil, false
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		p.Add(ptr, quote(raw)+" is not a URL: "+err.Error())
	case u.Scheme != "http" && u.Scheme != "https":
		p.Add(ptr, quote(raw)+" is not an http:// or https:// URL")
	case u.Host == "":
		p.Add(ptr, quote(raw)+" has no host, such as http://chat-v2.internal:8080")
	case u.RawQuery != "" || u.Fragment != "":
		p.Add(ptr, quote(raw)+" has a query or fragment; give the upstream's base URL (each request's own path and query are appended)")
	default:
		return u, true
	}
	return nil, false
}

func sameURL(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b) &&
		strings.TrimSuffix(a.Path, "/") == strings.TrimSuffix(b.Path, "/")
}

// DarkProgress is what a held toggle's refusal says about the dark launch:
// "3,200 of 10,000 requests, error rate 0.4 %".
func DarkProgress(requests, minRequests int64, errorRate float64) string {
	return fmt.Sprintf("%s of %s requests, error rate %s %%", thousands(requests), thousands(minRequests), ftoa(math.Round(errorRate*1000)/10))
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// DarkLaunchDiffRetention is how long sample diffs are kept.
const DarkLaunchDiffRetention = 7 * 24 * time.Hour
