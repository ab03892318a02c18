package route53

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go"
)

// Route53API is the part of the Route 53 client the router calls;
// *route53.Client implements it.
type Route53API interface {
	GetHostedZone(ctx context.Context, in *route53.GetHostedZoneInput, opts ...func(*route53.Options)) (*route53.GetHostedZoneOutput, error)
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, opts ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

var _ Route53API = (*route53.Client)(nil)

// Client retry budget: the SDK's standard retryer with its own token bucket
// per client. Route 53 allows five requests a second per account, so the
// retryer backs off further than the ELBv2 one.
const (
	clientMaxAttempts = 6
	clientMaxBackoff  = 10 * time.Second
)

// NewClient builds a Route 53 client for the router with its own retryer.
// Route 53 is a global service; the SDK signs for us-east-1 whatever the
// configured region.
func NewClient(cfg aws.Config, opts ...func(*route53.Options)) *route53.Client {
	opts = append([]func(*route53.Options){func(o *route53.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = clientMaxAttempts
			so.MaxBackoff = clientMaxBackoff
		})
	}}, opts...)
	return route53.NewFromConfig(cfg, opts...)
}

// Errors that Route 53 returns while another change to the zone is still
// being applied, or while the account is rate limited. Only these are
// retried by the router itself; every other error goes back to the caller.
var transientCodes = []string{
	"Throttling",
	"ThrottlingException",
	"PriorRequestNotComplete",
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isTransient(err error) bool {
	c := errorCode(err)
	return c != "" && slices.Contains(transientCodes, c)
}

// backoff yields growing pauses from first, doubling up to limit.
type backoff struct {
	first, limit time.Duration
	next         time.Duration
}

func (b *backoff) wait(ctx context.Context) error {
	if b.next == 0 {
		b.next = b.first
	}
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, b.limit)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryTransient calls fn until it succeeds, fails with an error that is
// not transient, or timeout passes; it then returns fn's last error.
func retryTransient(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := backoff{first: 200 * time.Millisecond, limit: 5 * time.Second}
	for {
		err := fn(ctx)
		if err == nil || !isTransient(err) {
			return err
		}
		if b.wait(ctx) != nil {
			return err
		}
	}
}
