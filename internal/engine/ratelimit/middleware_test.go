package ratelimit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsratelimit "github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/ratelimit"
)

// These tests run real SDK clients against an httptest server of our own
// that answers each request with a minimal valid response (or a 500): it
// stands in for no AWS behaviour, it only gives the SDK something to parse,
// and it counts the requests that reached it.

const (
	listHostedZonesXML = `<?xml version="1.0" encoding="UTF-8"?>
<ListHostedZonesResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><HostedZones/><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesResponse>`
	describeAlarmsXML        = `<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><DescribeAlarmsResult><MetricAlarms/></DescribeAlarmsResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeAlarmsResponse>`
	describeLoadBalancersXML = `<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeLoadBalancersResult><LoadBalancers/></DescribeLoadBalancersResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`
	internalFailureXML       = `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>try again</Message></Error><RequestId>1</RequestId></ErrorResponse>`
)

// server answers body with status 200, after failing the first failures
// requests with a 500. It counts every request.
type server struct {
	*httptest.Server
	requests atomic.Int32
}

func newServer(t *testing.T, body string, failures int32) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := s.requests.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		if n <= failures {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(internalFailureXML))
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

// awsConfig is how the engine is meant to wire the limiter: one limiter,
// its middleware in the shared config's APIOptions. Retries go out at once
// so that a test never sleeps through a backoff.
func awsConfig(l *ratelimit.Limiter, endpoint string, extra ...func(*middleware.Stack) error) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = awsratelimit.None
			})
		},
		APIOptions: append([]func(*middleware.Stack) error{ratelimit.Middleware(l)}, extra...),
	}
}

func TestMiddlewareKeysByServiceAndPriority(t *testing.T) {
	for _, tc := range []struct {
		service string
		body    string
		call    func(ctx context.Context, cfg aws.Config) error
	}{
		{ratelimit.Route53, listHostedZonesXML, func(ctx context.Context, cfg aws.Config) error {
			_, err := route53.NewFromConfig(cfg).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
			return err
		}},
		{ratelimit.ElasticLoadBalancing, describeLoadBalancersXML, func(ctx context.Context, cfg aws.Config) error {
			_, err := elbv2.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
			return err
		}},
		{ratelimit.CloudWatch, describeAlarmsXML, func(ctx context.Context, cfg aws.Config) error {
			// Query, as the engine's CloudWatch clients speak it.
			_, err := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
				o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
			}).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
			return err
		}},
	} {
		t.Run(tc.service, func(t *testing.T) {
			l := ratelimit.New(nil)
			srv := newServer(t, tc.body, 0)
			cfg := awsConfig(l, srv.URL)
			ctx := testCtx(t)

			if err := tc.call(ratelimit.WithPriority(ctx, ratelimit.High), cfg); err != nil {
				t.Fatal(err)
			}
			if err := tc.call(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			if err := tc.call(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			for _, s := range l.Stats() {
				var want uint64
				if s.Service == tc.service {
					want = map[ratelimit.Priority]uint64{ratelimit.High: 1, ratelimit.Normal: 2}[s.Priority]
				}
				if s.Calls != want {
					t.Errorf("%s/%s: %d calls, want %d", s.Service, s.Priority, s.Calls, want)
				}
			}
			if n := srv.requests.Load(); n != 3 {
				t.Errorf("server saw %d requests, want 3", n)
			}
		})
	}
}

func TestMiddlewareTakesATokenPerAttempt(t *testing.T) {
	l := ratelimit.New(nil)
	srv := newServer(t, listHostedZonesXML, 2) // two 500s, then success
	client := route53.NewFromConfig(awsConfig(l, srv.URL))
	if _, err := client.ListHostedZones(testCtx(t), &route53.ListHostedZonesInput{}); err != nil {
		t.Fatal(err)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Fatalf("server saw %d requests, want 3 attempts", n)
	}
	if s := stat(t, l, ratelimit.Route53, ratelimit.Normal); s.Calls != 3 {
		t.Errorf("%d tokens taken for 3 attempts", s.Calls)
	}
}

func TestMiddlewareSitsInsideTheRetryLoop(t *testing.T) {
	var finalize []string
	capture := func(s *middleware.Stack) error {
		finalize = s.Finalize.List()
		return nil
	}
	l := ratelimit.New(nil)
	srv := newServer(t, listHostedZonesXML, 0)
	// Added twice (config and client): the second is a no-op.
	client := route53.NewFromConfig(awsConfig(l, srv.URL, ratelimit.Middleware(l), capture))
	if _, err := client.ListHostedZones(testCtx(t), &route53.ListHostedZonesInput{}); err != nil {
		t.Fatal(err)
	}
	i := slices.Index(finalize, ratelimit.MiddlewareID)
	if i < 1 || finalize[i-1] != "Retry" {
		t.Fatalf("finalize step %v: want %s right after Retry", finalize, ratelimit.MiddlewareID)
	}
	if slices.Index(finalize[i+1:], ratelimit.MiddlewareID) >= 0 {
		t.Errorf("finalize step %v holds the limiter twice", finalize)
	}
	if s := stat(t, l, ratelimit.Route53, ratelimit.Normal); s.Calls != 1 {
		t.Errorf("%d tokens taken for one call", s.Calls)
	}
}

func TestMiddlewareWithoutRetryGoesFirst(t *testing.T) {
	stack := middleware.NewStack("test", func() any { return nil })
	if err := stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("Signing", func(
		ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler,
	) (middleware.FinalizeOutput, middleware.Metadata, error) {
		return next.HandleFinalize(ctx, in)
	}), middleware.After); err != nil {
		t.Fatal(err)
	}
	if err := ratelimit.Middleware(ratelimit.New(nil))(stack); err != nil {
		t.Fatal(err)
	}
	if got := stack.Finalize.List(); !slices.Equal(got, []string{ratelimit.MiddlewareID, "Signing"}) {
		t.Errorf("finalize step %v", got)
	}
}

func TestMiddlewareCancelledWhileWaiting(t *testing.T) {
	c := newFakeClock()
	l := ratelimit.New(map[string]ratelimit.Rate{ratelimit.Route53: {PerSecond: 1, Burst: 1}}, ratelimit.WithClock(c))
	srv := newServer(t, listHostedZonesXML, 0)
	client := route53.NewFromConfig(awsConfig(l, srv.URL))
	ctx := testCtx(t)
	if _, err := client.ListHostedZones(ctx, &route53.ListHostedZonesInput{}); err != nil {
		t.Fatal(err)
	}

	// The bucket is empty and the fake clock does not move: the next call
	// waits until its context is cancelled, and never reaches the server.
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := client.ListHostedZones(ctx2, &route53.ListHostedZonesInput{})
		done <- err
	}()
	waitQueued(t, l, ratelimit.Route53, ratelimit.Normal, 1)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if ce := (*smithy.CanceledError)(nil); !errors.As(err, &ce) {
			t.Errorf("got %T, want a *smithy.CanceledError in the chain", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting call did not return")
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
	if s := stat(t, l, ratelimit.Route53, ratelimit.Normal); s.Calls != 1 || s.Cancelled != 1 || s.Queued != 0 {
		t.Errorf("stats %+v, want 1 call, 1 cancelled, none queued", s)
	}
	if c.Armed() != 0 {
		t.Errorf("idle limiter holds %d timers", c.Armed())
	}
}
