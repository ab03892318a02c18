package shadow

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/jsonpath"
)

// Config is one dark launch as the proxy runs it: what the engine serves to
// `progressive shadow`. The engine resolves every default before it sends
// a Config (compare.enabled, methods), except where a field says otherwise.
type Config struct {
	// Name is the dark launch's name.
	Name string `json:"name"`
	// LiveURL is the upstream whose responses the clients get.
	LiveURL string `json:"live_url"`
	// DarkURL receives the mirrored copies; its responses are compared and
	// discarded.
	DarkURL string `json:"dark_url"`
	// MirrorPercent is the share of live requests copied to dark, 0..100
	// with up to 3 decimals.
	MirrorPercent float64 `json:"mirror_percent"`
	// Methods are the request methods that may be mirrored; empty means
	// GET and HEAD.
	Methods []string `json:"methods,omitempty"`
	// StripHeaders are removed from mirrored copies, and never appear in
	// sample diffs.
	StripHeaders []string `json:"strip_headers,omitempty"`
	// Compare says whether and how responses are compared.
	Compare Compare `json:"compare"`
	// Paused stops mirroring; live traffic still flows.
	Paused bool `json:"paused"`
	// Revision identifies this version of the config; the proxy echoes it
	// in its reports.
	Revision Revision `json:"revision,omitempty"`
}

// Compare configures the comparison of live and dark responses.
type Compare struct {
	// Enabled turns comparison on; off, dark responses are only counted
	// and timed.
	Enabled bool `json:"enabled"`
	// IgnoreHeaders are response headers left out of the comparison, on
	// top of those always left out (see IgnoredHeaders).
	IgnoreHeaders []string `json:"ignore_headers,omitempty"`
	// IgnoreJSONPaths are removed from JSON bodies before they are
	// compared (see package jsonpath for the syntax).
	IgnoreJSONPaths []string `json:"ignore_json_paths,omitempty"`
	// NoiseURL is an optional second live instance: a field whose value
	// differs between live and noise for a request is noise for that
	// request, and a live-vs-dark difference there is not counted.
	NoiseURL string `json:"noise_url,omitempty"`
}

// Revision is an opaque version of a Config. It decodes from a JSON string
// or number and always encodes as a JSON string.
type Revision string

// UnmarshalJSON accepts a string, a number or null.
func (r *Revision) UnmarshalJSON(b []byte) error {
	var v any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*r = ""
	case string:
		*r = Revision(v)
	case json.Number:
		*r = Revision(v.String())
	default:
		return fmt.Errorf("revision must be a string or a number, not %s", b)
	}
	return nil
}

// DefaultMethods are mirrored when a Config names none: methods without
// side effects.
var DefaultMethods = []string{http.MethodGet, http.MethodHead}

// knownMethods are the methods a Config may name.
var knownMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// Validate checks the config and returns every problem at once, each
// prefixed with its field ("mirror_percent: …").
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Name) == "" {
		add("name", "required")
	}
	live, liveErr := parseUpstream(c.LiveURL)
	if liveErr != nil {
		add("live_url", "%v", liveErr)
	}
	dark, darkErr := parseUpstream(c.DarkURL)
	if darkErr != nil {
		add("dark_url", "%v", darkErr)
	}
	if liveErr == nil && darkErr == nil && sameUpstream(live, dark) {
		add("dark_url", "%q is the live_url: mirrored copies would reach the live service twice", c.DarkURL)
	}
	if p := c.MirrorPercent; math.IsNaN(p) || p < 0 || p > 100 {
		add("mirror_percent", "%v is outside 0..100", p)
	} else if scaled := p * 1000; math.Abs(scaled-math.Round(scaled)) > 1e-6 {
		add("mirror_percent", "%v has more than 3 decimals", p)
	}
	for i, m := range c.Methods {
		if !slices.Contains(knownMethods, m) {
			hint := ""
			if up := strings.ToUpper(m); up != m && slices.Contains(knownMethods, up) {
				hint = " (methods are upper case: " + up + ")"
			}
			add(fmt.Sprintf("methods[%d]", i), "unknown HTTP method %q%s; use %s", m, hint, strings.Join(knownMethods, ", "))
		}
	}
	for i, h := range c.StripHeaders {
		if !validHeaderName(h) {
			add(fmt.Sprintf("strip_headers[%d]", i), "%q is not a valid header name", h)
		}
	}
	for i, h := range c.Compare.IgnoreHeaders {
		if !validHeaderName(h) {
			add(fmt.Sprintf("compare.ignore_headers[%d]", i), "%q is not a valid header name", h)
		}
	}
	for i, p := range c.Compare.IgnoreJSONPaths {
		if _, err := jsonpath.Parse(p); err != nil {
			add(fmt.Sprintf("compare.ignore_json_paths[%d]", i), "%v", err)
		}
	}
	if c.Compare.NoiseURL != "" {
		noise, err := parseUpstream(c.Compare.NoiseURL)
		switch {
		case err != nil:
			add("compare.noise_url", "%v", err)
		case liveErr == nil && sameUpstream(noise, live):
			add("compare.noise_url", "%q is the live_url; the noise instance is a second live instance, so that live-vs-noise differences show what varies by itself", c.Compare.NoiseURL)
		case darkErr == nil && sameUpstream(noise, dark):
			add("compare.noise_url", "%q is the dark_url; the noise instance runs the live version", c.Compare.NoiseURL)
		}
	}
	return errors.Join(errs...)
}

// parseUpstream parses an upstream base URL: http or https, with a host,
// and neither query nor fragment (the request's own are appended).
func parseUpstream(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", raw, unwrapURLError(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("%q has credentials in it; pass them as headers instead", raw)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q has a query; an upstream URL is a base, and each request brings its own query", raw)
	case u.Fragment != "":
		return nil, fmt.Errorf("%q has a fragment", raw)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has an invalid port", raw)
		}
	}
	return u, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// sameUpstream reports whether a and b reach the same service under the
// same path: scheme and host compared case-insensitively, default ports
// made explicit, a trailing slash ignored.
func sameUpstream(a, b *url.URL) bool {
	hostPort := func(u *url.URL) string {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		return strings.ToLower(u.Hostname()) + ":" + port
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && hostPort(a) == hostPort(b) &&
		strings.TrimSuffix(a.EscapedPath(), "/") == strings.TrimSuffix(b.EscapedPath(), "/")
}

// validHeaderName reports whether h is an RFC 9110 token.
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
