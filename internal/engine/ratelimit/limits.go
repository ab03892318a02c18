package ratelimit

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// EnvVar names the environment variable whose value, in the format of
// [ParseLimits], replaces the default limits service by service.
const EnvVar = "PROGRESSIVE_AWS_RATE_LIMITS"

// Service keys of the buckets that have default limits.
const (
	Route53              = "route53"
	ElasticLoadBalancing = "elasticloadbalancing"
	CloudWatch           = "cloudwatch"
)

// Rate is a bucket's limit: PerSecond tokens a second, at most Burst at
// once. The zero Rate, or any Rate whose PerSecond is not positive, is
// unlimited ("off"), NaN included. A Burst below 1 means the default: PerSecond rounded
// up, at least 1.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Off is the unlimited Rate.
var Off = Rate{}

// Limited reports whether r limits anything.
func (r Rate) Limited() bool { return r.PerSecond > 0 }

// burst is the effective burst of a limited Rate.
func (r Rate) burst() int {
	if r.Burst >= 1 {
		return r.Burst
	}
	if r.PerSecond >= math.MaxInt32 {
		return math.MaxInt32
	}
	return max(1, int(math.Ceil(r.PerSecond)))
}

// normalized returns r with its effective burst filled in, or Off.
func (r Rate) normalized() Rate {
	if !r.Limited() {
		return Off
	}
	return Rate{PerSecond: r.PerSecond, Burst: r.burst()}
}

// String formats r as ParseLimits reads it: "5/5", "0.5/1" or "off".
func (r Rate) String() string {
	if !r.Limited() {
		return "off"
	}
	return strconv.FormatFloat(r.PerSecond, 'g', -1, 64) + "/" + strconv.Itoa(r.burst())
}

// DefaultLimits returns the limits a [Limiter] starts from: Route 53's
// per-account limit of 5 requests a second, and 20 a second for the Elastic
// Load Balancing and CloudWatch APIs. Other services are unlimited.
func DefaultLimits() map[string]Rate {
	return map[string]Rate{
		Route53:              {PerSecond: 5, Burst: 5},
		ElasticLoadBalancing: {PerSecond: 20, Burst: 20},
		CloudWatch:           {PerSecond: 20, Burst: 20},
	}
}

// knownServices are the keys ParseLimits accepts: the services the engine
// calls. Rejecting any other key turns a misspelt one into an error instead
// of a limit that silently applies to nothing.
func knownServices() []string {
	keys := make([]string, 0, 3)
	for k := range DefaultLimits() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ServiceKey maps an SDK service ID, as awsmiddleware.GetServiceID reports
// it, to the key of its bucket: "Route 53" → "route53", "Elastic Load
// Balancing v2" → "elasticloadbalancing" (the classic "Elastic Load
// Balancing" API maps there too: both are the elasticloadbalancing API),
// "CloudWatch" → "cloudwatch". Any other ID becomes its letters and digits in
// lower case ("EC2" → "ec2", "CloudWatch Logs" → "cloudwatchlogs"). A key is
// its own key, so ServiceKey("route53") is "route53".
func ServiceKey(serviceID string) string {
	switch serviceID {
	case "Route 53", Route53:
		return Route53
	case "Elastic Load Balancing v2", "Elastic Load Balancing", ElasticLoadBalancing:
		return ElasticLoadBalancing
	case "CloudWatch", CloudWatch:
		return CloudWatch
	}
	var b strings.Builder
	b.Grow(len(serviceID))
	for _, c := range strings.ToLower(serviceID) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	key := b.String()
	if key == "elasticloadbalancingv2" {
		return ElasticLoadBalancing
	}
	return key
}

const limitsSyntax = `want service=rate[/burst] or service=off, comma-separated, e.g. "route53=5,elasticloadbalancing=50/100,cloudwatch=off"`

// ParseLimits reads limit overrides such as
// "route53=5,elasticloadbalancing=50/100,cloudwatch=off": for each service, a
// rate in requests a second (a positive number, fractions allowed) and
// optionally "/burst" (a positive integer; default: the rate rounded up), or
// "off" for no limit. Services are named by key (route53,
// elasticloadbalancing, cloudwatch) or by SDK service ID, in any case.
// Spaces around items are ignored, and so are empty items. Services not
// named keep their defaults; an empty string overrides nothing. Only the
// services that have default limits may be named: any other name is an
// error that lists them, so that a misspelt name cannot silently limit
// nothing.
func ParseLimits(s string) (map[string]Rate, error) {
	out := map[string]Rate{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("rate limit %q: %s", item, limitsSyntax)
		}
		key := ServiceKey(name)
		if !slices.Contains(knownServices(), key) {
			return nil, fmt.Errorf("rate limit %q: unknown service %q; want one of %s",
				item, name, strings.Join(knownServices(), ", "))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("rate limit %q: service %s is given twice", item, key)
		}
		r, err := parseRate(value)
		if err != nil {
			return nil, fmt.Errorf("rate limit %q: %w; %s", item, err, limitsSyntax)
		}
		out[key] = r
	}
	return out, nil
}

func parseRate(v string) (Rate, error) {
	if strings.EqualFold(v, "off") {
		return Off, nil
	}
	rate, burst, hasBurst := strings.Cut(v, "/")
	rate, burst = strings.TrimSpace(rate), strings.TrimSpace(burst)
	perSecond, err := strconv.ParseFloat(rate, 64)
	if err != nil || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
		return Rate{}, fmt.Errorf("rate %q is not a number", rate)
	}
	if perSecond <= 0 {
		return Rate{}, fmt.Errorf("rate %q must be above 0 (use off for no limit)", rate)
	}
	r := Rate{PerSecond: perSecond}
	if hasBurst {
		n, err := strconv.Atoi(burst)
		if err != nil {
			return Rate{}, fmt.Errorf("burst %q is not a whole number", burst)
		}
		if n < 1 {
			return Rate{}, fmt.Errorf("burst %q must be at least 1", burst)
		}
		r.Burst = n
	}
	return r.normalized(), nil
}
