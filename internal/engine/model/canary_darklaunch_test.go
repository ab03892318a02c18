package model_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func goodPolicy() model.CanaryPolicySpec {
	return model.CanaryPolicySpec{Name: "standard", Stages: []model.CanaryStage{
		{Name: "employees", TrafficPercent: 0, BakeTime: model.Duration(10 * time.Minute), Audience: &model.Audience{SourceIPs: []string{"10.0.0.0/8"}}},
		{Name: "early", TrafficPercent: 5, BakeTime: model.Duration(15 * time.Minute)},
		{Name: "fleet", TrafficPercent: 100, BakeTime: model.Duration(15 * time.Minute)},
	}}
}

func wantFieldError(t *testing.T, err error, pointer, detail string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s: %s", pointer, detail)
	}
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%v is not a validation error", err)
	}
	for _, f := range ve.Fields {
		if f.Pointer == pointer && strings.Contains(f.Detail, detail) {
			return
		}
	}
	t.Fatalf("%v; want %s: %s", err, pointer, detail)
}

// Every bad input the canary issue lists is refused with a pointer.
func TestCanaryPolicyValidate(t *testing.T) {
	p := goodPolicy()
	p.Normalize()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := p.Summary(); got != "employees 10m → early 15m → fleet 15m, at least 40m" {
		t.Fatalf("summary %q", got)
	}
	f := 0.15
	for _, tt := range []struct {
		name, pointer, detail string
		mod                   func(*model.CanaryPolicySpec)
	}{
		{"duplicate stage", "/stages/1/name", "unique", func(p *model.CanaryPolicySpec) { p.Stages[1].Name = "employees" }},
		{"decreasing", "/stages/2/traffic_percent", "below the previous", func(p *model.CanaryPolicySpec) { p.Stages[1].TrafficPercent = 50; p.Stages[2].TrafficPercent = 40 }},
		{"outside 0..100", "/stages/1/traffic_percent", "outside 0..100", func(p *model.CanaryPolicySpec) { p.Stages[1].TrafficPercent = 101 }},
		{"last not 100", "/stages/2/traffic_percent", "must send 100%", func(p *model.CanaryPolicySpec) { p.Stages[2].TrafficPercent = 90 }},
		{"audience on last", "/stages/2/audience", "no effect", func(p *model.CanaryPolicySpec) { p.Stages[2].Audience = p.Stages[0].Audience }},
		{"metric without bound", "/acceptance/metrics/0", "has no bound", func(p *model.CanaryPolicySpec) {
			p.Acceptance.Metrics = []model.MetricGate{{Name: "conversion", Namespace: "Shop", MetricName: "C", Statistic: "Average", Period: 60}}
		}},
		{"check interval", "/check_interval", "under 1s", func(p *model.CanaryPolicySpec) { p.CheckInterval = model.Duration(500 * time.Millisecond) }},
		{"drop percent", "/acceptance/metrics/0/baseline/max_drop_percent", "outside 0..100", func(p *model.CanaryPolicySpec) {
			d := 120.0
			p.Acceptance.Metrics = []model.MetricGate{{Name: "c", Namespace: "Shop", MetricName: "C", Statistic: "Average", Period: 60, Baseline: &model.Baseline{Offset: model.Duration(time.Hour), MaxDropPercent: &d}}}
		}},
		{"rise percent", "/acceptance/metrics/0/baseline/max_rise_percent", "outside 0..1000", func(p *model.CanaryPolicySpec) {
			r := 1001.0
			p.Acceptance.Metrics = []model.MetricGate{{Name: "c", Namespace: "Shop", MetricName: "C", Statistic: "Average", Period: 60, Baseline: &model.Baseline{Offset: model.Duration(time.Hour), MaxRisePercent: &r}}}
		}},
		{"statistic", "/acceptance/metrics/0/statistic", "not valid", func(p *model.CanaryPolicySpec) {
			p.Acceptance.Metrics = []model.MetricGate{{Name: "c", Namespace: "Shop", MetricName: "C", Statistic: "Median", Period: 60, Min: &f}}
		}},
		{"approval", "/stages/0/approval", "automatic or manual", func(p *model.CanaryPolicySpec) { p.Stages[0].Approval = "sometimes" }},
		{"insufficient data", "/acceptance/insufficient_data", "ignore, hold or fail", func(p *model.CanaryPolicySpec) { p.Acceptance.InsufficientData = "skip" }},
		{"audience too big", "/stages/0/audience", "ALB allows 5", func(p *model.CanaryPolicySpec) {
			p.Stages[0].Audience = &model.Audience{SourceIPs: []string{"10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"}, HTTPHeaders: []model.HTTPHeader{{Name: "x-e", Values: []string{"a", "b", "c"}}}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := goodPolicy()
			tt.mod(&p)
			wantFieldError(t, p.Validate(), tt.pointer, tt.detail)
		})
	}
	if !model.ValidStatistic("p99.9") || !model.ValidStatistic("p50") || model.ValidStatistic("p101") {
		t.Error("percentile statistics")
	}
}

// An audience needs an ALB environment, and fits ALB's 5 condition values
// together with the environment's own.
func TestCheckAudienceFit(t *testing.T) {
	p := goodPolicy()
	dns := &model.EnvironmentSpec{Name: "dns", Route53: &model.Route53{}}
	if errs := model.CheckAudienceFit(dns, &p); len(errs) != 1 || !strings.Contains(errs[0].Detail, "needs an ALB environment") {
		t.Fatalf("route53: %+v", errs)
	}
	alb := &model.EnvironmentSpec{Name: "web", ALB: &model.ALB{HostHeaders: []string{"a", "b", "c"}, PathPatterns: []string{"/x"}}}
	p.Stages[0].Audience.SourceIPs = []string{"10.0.0.0/8", "192.168.0.0/16"}
	if errs := model.CheckAudienceFit(alb, &p); len(errs) != 1 || !strings.Contains(errs[0].Detail, "6 in all, and ALB allows 5") {
		t.Fatalf("too many values: %+v", errs)
	}
	alb.ALB.HostHeaders = []string{"a"}
	if errs := model.CheckAudienceFit(alb, &p); len(errs) != 0 {
		t.Fatalf("fits: %+v", errs)
	}
}

func goodDarkLaunch() model.DarkLaunchSpec {
	return model.DarkLaunchSpec{Name: "chat-backend", LiveURL: "http://chat-v1.internal:8080", DarkURL: "http://chat-v2.internal:8080", MirrorPercent: 12.5,
		Compare:    model.DarkCompare{IgnoreJSONPaths: []string{"$.timestamp", "$.items[*].etag"}},
		Acceptance: model.DarkAcceptance{MinRequests: 10000, MaxErrorRate: 0.01, MaxP99Latency: model.Duration(300 * time.Millisecond), MaxDiffRate: 0.02}}
}

// Every bad input the dark launch issue lists is refused with a pointer.
func TestDarkLaunchValidate(t *testing.T) {
	d := goodDarkLaunch()
	d.Normalize()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, pointer, detail string
		mod                   func(*model.DarkLaunchSpec)
	}{
		{"mirror percent", "/mirror_percent", "outside 0..100", func(d *model.DarkLaunchSpec) { d.MirrorPercent = 100.5 }},
		{"decimals", "/mirror_percent", "more than 3 decimals", func(d *model.DarkLaunchSpec) { d.MirrorPercent = 1.2345 }},
		{"method", "/methods/0", "unknown HTTP method \"get\" (methods are upper case: GET)", func(d *model.DarkLaunchSpec) { d.Methods = []string{"get"} }},
		{"url", "/dark_url", "not an http:// or https:// URL", func(d *model.DarkLaunchSpec) { d.DarkURL = "ftp://x" }},
		{"same url", "/dark_url", "is the live_url", func(d *model.DarkLaunchSpec) { d.DarkURL = "http://CHAT-V1.internal:8080/" }},
		{"negative bound", "/acceptance/max_error_rate", "not a rate", func(d *model.DarkLaunchSpec) { d.Acceptance.MaxErrorRate = -0.1 }},
		{"negative latency", "/acceptance/max_p99_latency", "cannot be negative", func(d *model.DarkLaunchSpec) { d.Acceptance.MaxP99Latency = -1 }},
		{"jsonpath", "/compare/ignore_json_paths/0", "JSONPath", func(d *model.DarkLaunchSpec) { d.Compare.IgnoreJSONPaths = []string{"$.items["} }},
		{"condition values", "/alb/http_headers", "ALB's limit of 5", func(d *model.DarkLaunchSpec) {
			d.ALB = &model.DarkALB{ListenerARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2", RulePriority: 50,
				TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1",
				HTTPHeaders:    []model.HTTPHeader{{Name: "x-dark", Values: []string{"a", "b", "c", "d", "e", "f"}}}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := goodDarkLaunch()
			tt.mod(&d)
			wantFieldError(t, d.Validate(), tt.pointer, tt.detail)
		})
	}
	if got := model.DarkProgress(3200, 10000, 0.004); got != "3,200 of 10,000 requests, error rate 0.4 %" {
		t.Fatalf("progress %q", got)
	}
}
