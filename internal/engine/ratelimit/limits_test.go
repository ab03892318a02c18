package ratelimit_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/ratelimit"
)

func TestServiceKey(t *testing.T) {
	for id, want := range map[string]string{
		"Route 53":                  "route53",
		"Elastic Load Balancing v2": "elasticloadbalancing",
		"Elastic Load Balancing":    "elasticloadbalancing",
		"CloudWatch":                "cloudwatch",
		"route53":                   "route53",
		"ELASTICLOADBALANCINGV2":    "elasticloadbalancing",
		"EC2":                       "ec2",
		"CloudWatch Logs":           "cloudwatchlogs",
		"":                          "",
	} {
		if got := ratelimit.ServiceKey(id); got != want {
			t.Errorf("ServiceKey(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	for in, want := range map[string]map[string]ratelimit.Rate{
		"": {},
		"route53=5,elasticloadbalancing=50/100,cloudwatch=off": {
			"route53":              {PerSecond: 5, Burst: 5},
			"elasticloadbalancing": {PerSecond: 50, Burst: 100},
			"cloudwatch":           ratelimit.Off,
		},
		" Route 53 = 2.5 , ": {"route53": {PerSecond: 2.5, Burst: 3}},
		"cloudwatch=0.2/1":   {"cloudwatch": {PerSecond: 0.2, Burst: 1}},
		"CloudWatch=OFF":     {"cloudwatch": ratelimit.Off},
		"Elastic Load Balancing v2=10 / 4": {
			"elasticloadbalancing": {PerSecond: 10, Burst: 4},
		},
	} {
		got, err := ratelimit.ParseLimits(in)
		if err != nil {
			t.Errorf("ParseLimits(%q): %v", in, err)
			continue
		}
		if !maps.Equal(got, want) {
			t.Errorf("ParseLimits(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseLimitsRejectsBadInput(t *testing.T) {
	for in, want := range map[string]string{
		"route53":                     "want service=rate[/burst] or service=off",
		"=5":                          "want service=rate[/burst] or service=off",
		"route53=":                    "want service=rate[/burst] or service=off",
		"route35=5":                   `unknown service "route35"; want one of cloudwatch, elasticloadbalancing, route53`,
		"ec2=5":                       `unknown service "ec2"`,
		"route53=5,Route 53=6":        "service route53 is given twice",
		"route53=fast":                `rate "fast" is not a number`,
		"route53=5/s":                 `burst "s" is not a whole number`,
		"route53=5/2.5":               `burst "2.5" is not a whole number`,
		"route53=5/0":                 `burst "0" must be at least 1`,
		"route53=0":                   `rate "0" must be above 0 (use off for no limit)`,
		"route53=-1":                  `rate "-1" must be above 0`,
		"route53=NaN":                 `rate "NaN" is not a number`,
		"route53=Inf":                 `rate "Inf" is not a number`,
		"cloudwatch=1,route53=5/-3":   `rate limit "route53=5/-3": burst "-3" must be at least 1`,
		"route53=5;cloudwatch=10":     `rate "5;cloudwatch=10" is not a number`,
		"route53=5,elasticloadbalanc": "want service=rate[/burst] or service=off",
	} {
		_, err := ratelimit.ParseLimits(in)
		if err == nil {
			t.Errorf("ParseLimits(%q): no error, want one containing %q", in, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLimits(%q) error %q, want it to contain %q", in, err, want)
		}
	}
}

func TestDefaultsAndOverrides(t *testing.T) {
	overrides, err := ratelimit.ParseLimits("elasticloadbalancing=50/100,cloudwatch=off")
	if err != nil {
		t.Fatal(err)
	}
	got := ratelimit.New(overrides).Limits()
	want := map[string]ratelimit.Rate{
		"route53":              {PerSecond: 5, Burst: 5},
		"elasticloadbalancing": {PerSecond: 50, Burst: 100},
	}
	if !maps.Equal(got, want) {
		t.Errorf("Limits() = %v, want %v", got, want)
	}
	if got := ratelimit.New(nil).Limits(); !maps.Equal(got, ratelimit.DefaultLimits()) {
		t.Errorf("default Limits() = %v, want %v", got, ratelimit.DefaultLimits())
	}
}

func TestRateString(t *testing.T) {
	for r, want := range map[ratelimit.Rate]string{
		{PerSecond: 5, Burst: 5}:    "5/5",
		{PerSecond: 0.5}:            "0.5/1",
		{PerSecond: 2.5}:            "2.5/3",
		ratelimit.Off:               "off",
		{PerSecond: -1, Burst: 100}: "off",
	} {
		if got := r.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", r, got, want)
		}
		if back, err := ratelimit.ParseLimits("route53=" + r.String()); err != nil || back["route53"].String() != want {
			t.Errorf("%q does not read back: %v, %v", want, back, err)
		}
	}
}
