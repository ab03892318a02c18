package provider_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	cw "github.com/progressive-delivery/terraform-provider-progressive/internal/engine/analysis/cloudwatch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// readExamples concatenates examples/<dir>/*/<file>.
func readExamples(t *testing.T, dir, file string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "examples", dir, "*", file))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples in examples/%s: %v", dir, err)
	}
	var b strings.Builder
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
		b.WriteString("\n")
	}
	return b.String()
}

// The examples in the docs apply for real, against a full engine over moto:
// every resource example, then the data source examples beside them, and a
// second plan is empty. The AWS identifiers the examples name (and their
// smoke-test URLs and bake times) are swapped for the test's own.
func TestAccExamples(t *testing.T) {
	e := newFullEngine(t)
	lb := testenv.NewALB(t)
	lb.RegisterTarget(t, lb.BlueTG, "10.0.1.10")
	lb.RegisterTarget(t, lb.GreenTG, "10.0.1.20")
	zone := testenv.NewZone(t)
	// The canary policy's alarms must exist: the engine refuses unknown ones.
	cwc := cw.NewClient(testenv.AWSConfig(t))
	for _, name := range []string{"checkout-5xx", "checkout-p99-latency"} {
		if _, err := cwc.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		}); err != nil {
			t.Fatal(err)
		}
	}
	slots := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok v41 v42"))
	}))
	defer slots.Close()
	// The dark launch's upstreams: live, its noise instance and dark.
	var chat [3]*httptest.Server
	for i := range chat {
		chat[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"rooms":[1,2,3]}`))
		}))
		defer chat[i].Close()
	}
	swap := strings.NewReplacer(
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-blue/6d0ecf831eec9f09", lb.BlueTG,
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-green/5f8f6d5a5a1b2c3d", lb.GreenTG,
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2", lb.ListenerARN,
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e", lb.ListenerARN,
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chat-v2/1a2b3c4d5e6f7a8b", lb.GreenTG,
		"http://chat-v1.internal:8080", chat[0].URL,
		"http://chat-v1-b.internal:8080", chat[1].URL,
		"http://chat-v2.internal:8080", chat[2].URL,
		"Z0123456789ABCDEFGHIJ", zone.ID,
		"search.example.com", "search."+zone.Name,
		"http://blue.checkout.internal/healthz", slots.URL+"/blue",
		"http://green.checkout.internal/healthz", slots.URL+"/green",
		`bake_time       = "5m"`, `bake_time       = "1s"`,
		`bake_time       = "10m"`, `bake_time       = "1s"`,
		`ttl         = 60`, `ttl         = 1`,
		// In one configuration the release must wait for its environment.
		`environment = "checkout"`, `environment = progressive_release_environment.checkout.name`,
	)
	resources := swap.Replace(readExamples(t, "resources", "resource.tf"))
	dataSources := swap.Replace(readExamples(t, "data-sources", "data-source.tf"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{Config: e.providerConfig() + resources},
			{
				PreConfig: func() { settleDarkLaunch(t, e, "chat-backend") },
				Config:    e.providerConfig() + resources + dataSources,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}

// settleDarkLaunch waits until the example's dark launch has its ALB preview
// rule and has sent synthetic load to its dark upstream, then pauses it and
// waits until its figures stop moving: the data source example prints them,
// and the test's plans must agree on its output.
func settleDarkLaunch(t *testing.T, e *testEngine, name string) {
	t.Helper()
	ctx := context.Background()
	c := e.Client(t)
	deadline := time.Now().Add(60 * time.Second)
	status := func() wire.DarkLaunchStatus {
		t.Helper()
		s, err := c.DarkLaunchStatus(ctx, "default", name)
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("dark launch %s did not settle within 60s: %+v", name, s)
		}
		return s
	}
	for s := status(); !strings.HasPrefix(s.Preview, "ready") || s.Figures.Synthetic == 0; s = status() {
		if s.Preview == "error" {
			t.Fatalf("the preview rule of dark launch %s was not set up: %s", name, s.PreviewMessage)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := c.DarkLaunchAction(ctx, "default", name, "pause"); err != nil {
		t.Fatal(err)
	}
	last, since := status().Figures, time.Now()
	for time.Since(since) < 2*time.Second {
		time.Sleep(250 * time.Millisecond)
		if f := status().Figures; f != last {
			last, since = f, time.Now()
		}
	}
}
